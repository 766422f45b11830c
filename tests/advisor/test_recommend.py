"""Recommendations on generated clear-cut scenarios, the JSON contract, and determinism."""

from __future__ import annotations

import json

import jsonschema
import pytest

from advisor import Advisor, Recommendation
from benchmarks.scenarios import preset

_CACHE: dict[str, Recommendation] = {}


def recommend(name: str, **kwargs) -> Recommendation:
    """One fast-budget recommendation per scenario, shared by the tests below.

    No time limit: the fast budget is a fixed amount of work, so a loaded CI machine gives the
    same answer, only later.
    """
    if name not in _CACHE:
        s = preset(name)
        _CACHE[name] = Advisor(budget="fast", seed=0, **kwargs).recommend(s.frame, s.spec)
    return _CACHE[name]


def test_single_task_gets_stl() -> None:
    rec = recommend("single_task")
    assert rec.paradigm == "stl" and rec.confidence == 1.0
    assert {e.paradigm: e.applicable for e in rec.ranking} == {
        "stl": True,
        "mtl": False,
        "transfer": False,
        "meta": False,
    }
    assert any(e.rule == "R1-one-task" for e in rec.rationale)


def test_many_related_low_data_tasks_get_sharing() -> None:
    rec = recommend("related_small")
    assert rec.paradigm in {"mtl", "transfer"}
    stl = next(e for e in rec.ranking if e.paradigm == "stl")
    assert not stl.co_winner  # sharing is significantly better than single-task learning


def test_unrelated_data_rich_tasks_get_stl() -> None:
    # The full-budget oracle agrees (benchmarks/results/preset_unrelated_rich.json): stl is the only
    # co-winner, though the subsampled probes show fine-tuned transfer +0.016 inside noise.
    assert recommend("unrelated_rich").paradigm == "stl"


def test_scarce_target_with_related_sources_gets_transfer_or_mtl() -> None:
    rec = recommend("scarce_target_related")
    assert rec.paradigm in {"transfer", "mtl"} and rec.target_task == "t00"
    assert [t.name for t in rec.tasks] == ["t00"]
    assert any(e.rule == "R4-scarce-target" for e in rec.rationale)


def test_loud_unrelated_sources_get_an_oracle_co_winner_and_flag_transfer_risk() -> None:
    rec = recommend("scarce_target_loud")
    # The full-budget oracle on this preset (`python -m benchmarks.oracle preset scarce_target_loud`,
    # benchmarks/results/preset_scarce_target_loud.json) names stl, fine-tuned transfer (-0.0015 vs
    # stl, inside noise) and meta co-winners, and mtl significantly worse (-0.018): the advice must
    # be one of the co-winners, never mtl.
    assert rec.paradigm in {"stl", "transfer", "meta"}
    target = rec.tasks[0]
    # Frozen source features lose in every fold: the risk is measured, named and explained.
    assert target.risk_by_variant["transfer/head"] >= 0.8
    assert any(e.rule == "R3-risk" and "transfer/head" in e.statement for e in rec.rationale)


def test_sinusoid_family_of_new_tasks_gets_meta() -> None:
    rec = recommend("sinusoids")
    assert rec.paradigm == "meta" and rec.variant == "meta/maml"
    assert any(e.rule == "R5-new-tasks" and e.supports == "meta" for e in rec.rationale)


def test_json_has_the_contract_fields_and_validates_against_the_schema() -> None:
    rec = recommend("related_small")
    payload = json.loads(rec.to_json())
    jsonschema.validate(payload, Recommendation.json_schema())
    for key in ("schema_version", "paradigm", "variant", "confidence", "ranking", "rationale", "tasks",
                "relatedness", "groups", "warnings", "budget", "seed", "versions"):  # fmt: skip
        assert key in payload, key
    assert {"paradigm", "probe_score", "ci_low", "ci_high", "p_best", "applicable", "reason"} <= set(
        payload["ranking"][0]
    )
    assert {"statement"} <= set(payload["rationale"][0])
    assert {"name", "kind", "n_rows", "stl_score", "best_paradigm", "negative_transfer_risk",
            "risk_by_paradigm", "harmful_sources"} <= set(payload["tasks"][0])  # fmt: skip
    assert set(payload["tasks"][0]["risk_by_paradigm"]) == {"mtl", "transfer", "meta"}
    assert {"tasks", "affinity"} <= set(payload["relatedness"]) and payload["relatedness"]["affinity"]
    assert "seconds_used" in payload["budget"]
    assert abs(sum(e["p_best"] for e in payload["ranking"]) - 1.0) < 1e-6


def _without_timings(value):
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if k not in {"seconds", "seconds_used"}}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def test_same_data_spec_and_seed_give_the_same_recommendation() -> None:
    s = preset("classification")
    a = Advisor(budget="fast", seed=3).recommend(s.frame, s.spec)
    b = Advisor(budget="fast", seed=3).recommend(s.frame, s.spec)
    assert not a.budget.partial
    assert _without_timings(json.loads(a.to_json())) == _without_timings(json.loads(b.to_json()))


def test_progress_is_reported(tmp_path) -> None:
    seen = []
    s = preset("single_task")
    Advisor(budget="fast", progress=lambda *event: seen.append(event)).recommend(s.frame, s.spec)
    phases = [e[0] for e in seen]
    assert phases[0] == "prepare" and phases[-1] == "done" and "probe" in phases
    assert all(0.0 <= e[1] <= 1.0 for e in seen)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"budget": "huge"}, "unknown budget 'huge'"),
        ({"budget": "oracle"}, "unknown budget 'oracle'; choose one of fast, standard, thorough"),
        ({"seed": -1}, "seed must be an integer from 0 to 4294967295"),
        ({"seed": 1.5}, "seed must be an integer from 0 to 4294967295"),
        ({"seed": 2**32}, "seed must be an integer from 0 to 4294967295"),  # sklearn takes no larger seed
        ({"limits": {"max_rowz": 10}}, "limits has unknown fields \\['max_rowz'\\]"),
        ({"limits": 10}, "limits must be a probes.data.Limits or a mapping"),
        ({"device": "tpu"}, "device 'tpu' is not a torch device"),
        ({"time_limit": 0}, "time_limit must be a positive number"),
        ({"time_limit": float("nan")}, "time_limit must be a positive number"),
        ({"time_limit": "60"}, "time_limit must be a positive number"),
    ],
)
def test_bad_options_are_rejected_with_a_specific_error(options: dict, match: str) -> None:
    from advisor.exceptions import InvalidRequestError

    with pytest.raises(InvalidRequestError, match=match) as info:
        Advisor(**options)
    assert isinstance(info.value, ValueError) and info.value.details["field"] == next(iter(options))


def test_summary_and_html(tmp_path) -> None:
    rec = recommend("related_small")
    text = rec.summary()
    assert rec.headline in text and "P(co-winner)" in text and rec.confidence_method in text
    assert text.startswith(("Clear:", "Equivalent:", "Uncertain:")) and "3/3 folds" in text
    html = rec.to_html(tmp_path / "r.html")
    assert (tmp_path / "r.html").read_text() == html
    for section in ('id="ranking"', 'id="affinity"', 'id="tasks"', 'id="curves"', 'id="rationale"'):
        assert section in html


def test_probes_that_all_failed_are_not_reported_as_the_time_limit() -> None:
    from advisor._recommender import recommend_from_report
    from advisor.exceptions import BudgetExhausted, ProbesFailedError
    from probes.budget import budget_preset
    from probes.data import load_taskset, profile_taskset
    from probes.runner import Phase, ProbeReport

    s = preset("related_small", seed=0)
    ts = load_taskset(s.frame, s.spec)

    def report(*phases: Phase) -> ProbeReport:
        full = {t.name: t.n_rows for t in ts.tasks}
        return ProbeReport(ts, full, budget_preset("fast"), 0, 5.0, phases=list(phases))

    failed = Phase("stl/mlp", status="failed", note="RuntimeError: device-side assert")
    with pytest.raises(ProbesFailedError, match="the first: stl/mlp: RuntimeError: device-side assert"):
        recommend_from_report(report(failed, Phase("affinity", status="done")), profile_taskset(ts), versions={})
    with pytest.raises(BudgetExhausted, match="within the time limit") as info:  # some work was cut by the limit
        recommend_from_report(report(failed, Phase("mtl/hard", status="partial")), profile_taskset(ts), versions={})
    # At the fast budget there is no smaller budget to suggest; the message gives the limit used, and that
    # without it the budget's fixed work runs to the end.
    assert "(5 s)" in str(info.value) and "Without one, the fast budget runs its fixed amount of work" in str(
        info.value
    )
    assert "or use" not in str(info.value)


def test_one_scored_paradigm_among_several_is_not_called_certain() -> None:
    # Probes that scored only STL leave nothing compared: the confidence is the model's estimate
    # for STL, not the 1.0 that a single-task problem (nothing else applies) gets.
    from advisor._recommender import recommend_from_report
    from probes.data import load_taskset, profile_taskset
    from probes.runner import run_probes

    s = preset("related_small", seed=0)
    ts = load_taskset(s.frame, s.spec)
    report = run_probes(ts, budget="fast", seed=0, paradigms=("stl",), signals=False)
    rec = recommend_from_report(report, profile_taskset(ts), versions={})
    assert rec.paradigm == "stl" and 0.0 < rec.confidence < 1.0 and rec.verdict == "uncertain"
    statement = next(e.statement for e in rec.rationale if e.rule == "M1-learned")
    assert "Not scored by the probes: transfer, mtl, meta." in statement
    assert recommend("single_task").confidence == 1.0
