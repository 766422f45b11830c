"""Each rule of the recommender on its own, from hand-made probe evidence."""

from __future__ import annotations

from types import SimpleNamespace

from advisor._rules import (
    RULES,
    listed,
    new_tasks,
    noise,
    nothing_learned,
    one_task,
    risk,
    rules_choice,
    scarce_target,
    small_budget_curves,
    small_budget_veto,
)
from probes.evidence import ProbeEvidence
from probes.protocol import Comparison
from probes.protocol._compare import Decision


def _cmp(diff: float, low: float, high: float) -> Comparison:
    return Comparison(diff, low, high, 0.04, 300, 0.05)


def _ev(**kw) -> ProbeEvidence:
    reps = kw.pop("reps", None) or {
        p: SimpleNamespace(variant=f"{p}/x", folds=[1, 2, 3], score=s, n_folds_planned=3)
        for p, s in {"stl": 0.70, "mtl": 0.75, "transfer": 0.71}.items()
    }
    base = dict(
        representatives=reps,
        noise=kw.pop("noise", None)
        or Decision(best="mtl", winner="mtl", co_winners=("mtl",), means={p: r.score for p, r in reps.items()},
                    comparisons={"stl": _cmp(0.05, 0.02, 0.08), "transfer": _cmp(0.04, 0.01, 0.07)}),
        p_best={"mtl": 1.0},
        deltas={"mtl": _cmp(0.05, 0.02, 0.08), "transfer": _cmp(0.01, -0.01, 0.03)},
        scored_tasks=["a", "b"],
    )  # fmt: skip
    base.update(kw)
    return ProbeEvidence(**base)


def _report(*, goal: str = "all_tasks", n_tasks: int = 2, rows: int = 1000, cap: int | None = 400, **kw):
    tasks = [SimpleNamespace(name=n) for n in ("a", "b", "c")[:n_tasks]]
    ts = SimpleNamespace(
        n_tasks=n_tasks, goal=SimpleNamespace(value=goal), target_index=kw.pop("target_index", None), tasks=tasks,
        spec=SimpleNamespace(shots=5),
    )  # fmt: skip
    full = kw.pop("full_rows", None) or {t.name: rows for t in tasks}
    return SimpleNamespace(
        taskset=ts, full_rows=full, preset=SimpleNamespace(max_rows_per_task=cap),
        subsampled=cap is not None and any(v > cap for v in full.values()), signals=kw.pop("signals", {}), results={},
    )  # fmt: skip


def test_every_rule_is_listed_once() -> None:
    assert len(RULES) == len(set(RULES)) and small_budget_veto in RULES and nothing_learned in RULES


def test_r1_only_for_one_task() -> None:
    assert one_task(_ev(), _report()) == []
    (o,) = one_task(_ev(), _report(n_tasks=1))
    assert (o.rule, o.kind, o.supports) == ("R1-one-task", "preference", "stl")


def test_r2_names_the_runner_up_and_the_simpler_co_winner() -> None:
    (o,) = noise(_ev(), _report())
    assert o.kind == "preference" and o.supports == "mtl" and "beats the runner-up transfer by +0.040" in o.statement
    tie = Decision(best="mtl", winner="stl", co_winners=("stl", "mtl"), means={"stl": 0.74, "mtl": 0.75},
                   comparisons={"stl": _cmp(0.01, -0.01, 0.03)})  # fmt: skip
    (o,) = noise(_ev(noise=tie), _report())
    assert o.supports == "stl" and "the simpler paradigm wins the tie" in o.statement


def test_r6_vetoes_gains_inside_noise_on_subsampled_tasks_only() -> None:
    (o,) = small_budget_veto(_ev(), _report(rows=1000, cap=400))
    assert (o.kind, o.vetoes) == ("veto", ("transfer",)) and "400 rows" in o.statement
    assert small_budget_veto(_ev(), _report(rows=300, cap=400)) == []  # nothing the advice is about was cut
    # Only a source was cut: the target had all its rows.
    assert small_budget_veto(_ev(scored_tasks=["a"]), _report(full_rows={"a": 300, "b": 5000}, cap=400)) == []


def test_r6_curves_prefer_stl_when_it_catches_up_at_full_size() -> None:
    ev = _ev(extrapolated={"stl/x": 0.80, "mtl/x": 0.78})
    (o,) = small_budget_curves(ev, _report())
    assert (o.kind, o.supports) == ("preference", "stl")
    assert rules_choice(ev, [o]) == "stl"
    assert small_budget_curves(_ev(extrapolated={"stl/x": 0.70, "mtl/x": 0.78}), _report()) == []
    assert rules_choice(ev, []) == "mtl"


def test_r3_lists_every_task_at_risk_past_eight_with_and_more() -> None:
    names = [f"t{i:02d}" for i in range(12)]
    ev = _ev(risk={"mtl": {n: 0.9 for n in names}, "transfer": {"a": 0.5}}, scored_tasks=names)
    (o,) = risk(ev, _report())
    assert "12 task(s)" in o.statement and "and 4 more" in o.statement
    assert o.numbers["tasks"].split(", ") == names  # no name vanishes from the numbers


def test_r4_only_for_a_scarce_target() -> None:
    report = _report(goal="target_task", target_index=0, full_rows={"a": 50, "b": 1000})
    (o,) = scarce_target(_ev(scored_tasks=["a"]), report)
    assert o.rule == "R4-scarce-target" and o.supports is None  # transfer's gain reaches zero
    report = _report(goal="target_task", target_index=0, full_rows={"a": 500, "b": 1000})
    assert scarce_target(_ev(scored_tasks=["a"]), report) == []


def test_r5_only_under_new_tasks() -> None:
    ev = _ev(deltas={"meta": _cmp(0.04, 0.01, 0.07)})
    (o,) = new_tasks(ev, _report(goal="new_tasks"))
    assert o.supports == "meta" and "5 labelled rows" in o.statement
    assert new_tasks(ev, _report()) == []


def test_r7_says_when_no_paradigm_beats_a_constant_predictor() -> None:
    reps = {p: SimpleNamespace(variant=f"{p}/x", folds=[1], score=s, n_folds_planned=1)
            for p, s in {"stl": -0.2, "mtl": -0.05}.items()}  # fmt: skip
    (o,) = nothing_learned(_ev(reps=reps, constant_score=0.0), _report())
    assert "No paradigm learns this target" in o.statement
    reps["mtl"].score = 0.01
    assert nothing_learned(_ev(reps=reps, constant_score=0.0), _report()) == []
    (o,) = nothing_learned(_ev(reps=reps, constant_score=0.0, unlearned_tasks=["b"]), _report())
    assert "On 1 task(s)" in o.statement


def test_listed_never_drops_a_name_silently() -> None:
    assert listed(["a", "b"]) == "a, b"
    assert listed([str(i) for i in range(10)], 8) == "0, 1, 2, 3, 4, 5, 6, 7 and 2 more"
