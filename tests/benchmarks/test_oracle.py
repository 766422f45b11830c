"""The oracle, the suite's cases and cache, the metrics, and the learned recommender's artifact."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from advisor._learned import LearnedModel, candidates, choose, feature_names, load_model
from benchmarks.oracle import run_oracle
from benchmarks.oracle._cases import FAMILIES, Case, generated_cases, real_cases
from benchmarks.oracle._evaluate import (
    Record,
    decisions,
    evaluate,
    fit_model,
    meta_dataset,
    method_metrics,
    records_from_meta,
    write_results,
)
from benchmarks.scenarios import make_scenario
from probes.data import load_taskset

ROOT = Path(__file__).resolve().parents[2]


def test_oracle_scores_every_applicable_paradigm_and_names_co_winners() -> None:
    s = make_scenario(n_tasks=2, rows_per_task=40, relatedness=0.9, seed=3)
    out = run_oracle(load_taskset(s.frame, s.spec), n_trials=2, max_epochs=4, patience=2, paradigms=("stl", "mtl"))
    assert set(out["paradigms"]) == {"stl", "mtl"}
    assert out["winner"] in out["co_winners"] and out["best"] in out["co_winners"]
    variants = {v["variant"]: v for v in out["variants"]}
    assert set(variants) == {"stl/mlp", "stl/gbdt", "mtl/hard"}
    assert all(v["trials"] == 2 * 3 and len(v["fold_scores"]) == 3 for v in variants.values())  # 2 per fold
    assert all(len(v["fold_valid_scores"]) == 3 and len(v["fold_params"]) == 3 for v in variants.values())
    # each paradigm is represented by its variant with the best validation score
    chosen = max(("stl/mlp", "stl/gbdt"), key=lambda v: variants[v]["valid_score"])
    assert out["paradigms"]["stl"]["variant"] == chosen
    assert out["paradigms"]["stl"]["score"] == pytest.approx(variants[chosen]["score"])
    json.dumps(out)  # cacheable as it is


def test_generated_cases_are_many_stable_and_span_every_knob() -> None:
    from benchmarks.scenarios import make_sinusoids

    cases = generated_cases()
    assert len(cases) >= 150 and len({c.id for c in cases}) == len(cases)
    assert [c.key for c in cases] == [c.key for c in generated_cases()]  # the list never changes
    assert {c.id.split("/")[1] for c in cases} == set(FAMILIES)
    used = {k for c in cases for k in c.params}
    knobs = set(inspect.signature(make_scenario).parameters) - {
        "name",
        "seed",
        "n_informative",
        "loud_frequency",
        "shots",
    }
    assert knobs - used == set(), f"knobs never varied: {knobs - used}"
    assert "make_sinusoids" in {c.params.get("generator") for c in cases}
    assert set(inspect.signature(make_sinusoids).parameters) >= {"n_tasks", "shots"}
    goals = {c.spec["goal"] for c in cases}
    assert goals == {"all_tasks", "target_task", "new_tasks"}


def test_more_cases_of_a_family_leave_the_earlier_ones_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    """Raising a family's count appends cases: the cached results of the earlier ones stay valid."""
    from benchmarks.oracle import _cases

    full = {c.id: c.key for c in generated_cases()}
    fewer = {family: max(1, count // 2) for family, count in FAMILIES.items()}
    monkeypatch.setattr(_cases, "FAMILIES", fewer)
    smaller = {c.id: c.key for c in _cases.generated_cases()}
    assert len(smaller) == sum(fewer.values()) < len(full)
    assert all(full[case_id] == key for case_id, key in smaller.items())


def test_every_generated_case_loads() -> None:
    for case in generated_cases()[::7]:
        data, spec = case.load()
        assert load_taskset(data, **spec).n_tasks >= 1


def test_real_cases_cover_the_readme_specs() -> None:
    ids = {c.id for c in real_cases()}
    for needed in ("school/all_tasks", "school/new_tasks", "landmine/target_task", "parkinsons/multi_target",
                   "parkinsons/per_subject", "amazon/target_books", "office_caltech/target_dslr",
                   "computer_survey/new_tasks", "radon/new_tasks"):  # fmt: skip
        assert needed in ids
    per_dataset: dict[str, int] = {}
    for c in real_cases():
        per_dataset[c.path or ""] = per_dataset.get(c.path or "", 0) + 1
    assert max(per_dataset.values()) <= 3 and len(per_dataset) == 15


def test_case_key_changes_with_the_spec() -> None:
    a = Case("gen/x/00", "generated", {"goal": "all_tasks"}, params={"n_tasks": 3, "seed": 1})
    b = Case("gen/x/00", "generated", {"goal": "all_tasks"}, params={"n_tasks": 4, "seed": 1})
    assert (
        a.key != b.key
        and a.key == Case("gen/x/00", "generated", {"goal": "all_tasks"}, params={"seed": 1, "n_tasks": 3}).key
    )


# ------------------------------------------------------------------------------------- metrics


def _record(
    case: str, co: list[str], scores: dict[str, float], rules: str = "stl", kind: str = "generated", **features
) -> Record:
    return Record(
        case=case, kind=kind, goal="all_tasks", features=dict(features), rules_choice=rules, rules_confidence=0.6,
        applicable=list(scores), probe_score=dict(scores), probe_p_best={p: 1.0 / len(scores) for p in scores},
        oracle_score=dict(scores), co_winners=co, probe_seconds=10.0, oracle_seconds=200.0,
    )  # fmt: skip


def test_metrics_count_co_winners_regret_and_brier() -> None:
    records = [
        _record("gen/a/00", ["mtl"], {"stl": 0.5, "mtl": 0.7}, rules="stl"),
        _record("gen/a/01", ["stl", "mtl"], {"stl": 0.6, "mtl": 0.61}, rules="mtl"),
    ]
    m = method_metrics(records, decisions("rules_only", records), uses_probes=True)
    assert m["accuracy"] == 0.5 and m["decisive_accuracy"] == 0.0 and m["decisive_cases"] == 1
    assert m["mean_regret"] == pytest.approx(0.1) and m["worst_regret"] == pytest.approx(0.2)
    assert m["cost_ratio_median"] == pytest.approx(0.05)
    assert m["brier"] == pytest.approx(((0.6 - 0) ** 2 + (0.6 - 1) ** 2) / 2)
    r = method_metrics(records, decisions("random", records), uses_probes=False)
    assert r["accuracy"] == pytest.approx(0.75)  # expected value of a uniform choice
    assert method_metrics(records, decisions("always_mtl", records), uses_probes=False)["accuracy"] == 1.0


def test_meta_dataset_round_trips(tmp_path: Path) -> None:
    records = [
        _record("gen/a/00", ["mtl"], {"stl": 0.5, "mtl": 0.7}, mtl_delta=0.1),
        _record("x/y", ["stl"], {"stl": 0.5}, kind="real"),
    ]
    frame = meta_dataset(records)
    frame.to_csv(tmp_path / "m.csv", index=False)
    back = records_from_meta(pd.read_csv(tmp_path / "m.csv"))
    assert [(r.case, r.kind, r.co_winners, r.applicable, r.oracle_score) for r in back] == [
        (r.case, r.kind, r.co_winners, r.applicable, r.oracle_score) for r in records
    ]
    assert back[0].features["mtl_delta"] == 0.1
    assert back[0].extra == {} and back[1].extra == {}


def test_results_mark_oracles_run_on_another_machine(tmp_path: Path) -> None:
    elsewhere = _record("gen/a/01", ["mtl"], {"stl": 0.5, "mtl": 0.7})
    elsewhere.extra["oracle_machine"] = "16 cores"
    records = [_record("gen/a/00", ["stl"], {"stl": 0.6, "mtl": 0.5}), elsewhere]
    frame = meta_dataset(records)
    frame.to_csv(tmp_path / "m.csv", index=False)
    back = records_from_meta(pd.read_csv(tmp_path / "m.csv"))
    assert [r.extra for r in back] == [{}, {"oracle_machine": "16 cores"}]  # the label survives the CSV
    write_results(evaluate(back, None), tmp_path)
    text = (tmp_path / "RESULTS.md").read_text()
    assert "| 200.0 |" in text and "| 200.0 † |" in text
    assert "† 1 oracles ran on another machine than the probes (16 cores)" in text


def test_run_can_skip_the_probes_and_labels_the_oracles_machine(monkeypatch) -> None:
    import benchmarks.oracle._run as run_module

    written: list[tuple[str, dict]] = []
    monkeypatch.setattr(run_module, "load_cached", lambda kind, case: None)
    monkeypatch.setattr(run_module, "_write", lambda kind, case, payload: written.append((kind, payload)))
    monkeypatch.setattr(run_module, "_timed_oracle", lambda data, spec, kind, *, seed, scheduler=None: {"seconds": 1.0})
    monkeypatch.setattr(run_module, "run_probe_case", lambda case: pytest.fail("the probes must not run"))
    case = generated_cases()[0]
    status = run_module.run_case(case, probes=False, machine="16 cores")
    assert status == {"case": case.id, "oracle": status["oracle"]} and status["oracle"].endswith(" s")
    assert [k for k, _ in written] == ["oracle"] and written[0][1]["machine"] == "16 cores"
    run_module.run_case(case, probes=False)
    assert "machine" not in written[1][1]  # run here: no label
    with pytest.raises(ValueError, match="nothing to run"):
        run_module.run_suite("generated", oracle=False, probes=False)


# ---------------------------------------------------------------------------------- the model


def _synthetic_records(n: int = 60) -> list[Record]:
    """MTL is a co-winner exactly when its probe delta is positive: a model must learn that."""
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        d = float(rng.normal(0, 0.1))
        co = ["mtl"] if d > 0.02 else (["stl"] if d < -0.02 else ["stl", "mtl"])
        feats = {
            "mtl_scored": 1.0,
            "mtl_delta": d,
            "mtl_delta_z": d / 0.05,
            "mtl_delta_low": d - 0.05,
            "goal_all_tasks": 1.0,
        }
        out.append(_record(f"gen/s/{i:02d}", co, {"stl": 0.5, "mtl": 0.5 + d}, **feats))
    return out


def test_model_learns_the_signal_and_round_trips_as_json() -> None:
    records = _synthetic_records()
    model = fit_model(records)
    good = {"mtl_scored": 1.0, "mtl_delta": 0.2, "mtl_delta_z": 4.0, "mtl_delta_low": 0.15, "goal_all_tasks": 1.0}
    bad = {**good, "mtl_delta": -0.2, "mtl_delta_z": -4.0, "mtl_delta_low": -0.25}
    assert model.probability(good, "mtl") > 0.8 > 0.2 > model.probability(bad, "mtl")
    assert choose(model.probabilities(good, ["stl", "mtl"])) == "mtl"
    again = LearnedModel.from_dict(json.loads(json.dumps(model.to_dict())))
    assert again.probability(good, "mtl") == pytest.approx(model.probability(good, "mtl"))
    evaluation = evaluate(records, None)
    assert evaluation["metrics"]["generated"]["advisor"]["accuracy"] >= 0.9  # out of fold


def test_model_artifact_refuses_other_features() -> None:
    model = fit_model(_synthetic_records()).to_dict()
    model["feature_names"] = model["feature_names"][:-1]
    with pytest.raises(ValueError, match="rebuild"):
        LearnedModel.from_dict(model)


def test_veto_drops_noise_gains_only_on_subsampled_scored_tasks() -> None:
    base = {"mtl_delta": 0.01, "mtl_delta_low": -0.01, "transfer_delta": -0.02, "transfer_delta_low": -0.05}
    applicable = ["stl", "mtl", "transfer"]
    # While the scored tasks had all their rows, the model weighs every probe result, a loss included.
    assert candidates({**base, "subsampled": 1.0, "decision_subsampled": 0.0}, applicable) == applicable
    # A gain inside noise (or a loss) is vetoed when the tasks advised on were themselves cut (R6).
    assert candidates({**base, "subsampled": 1.0, "decision_subsampled": 0.5}, applicable) == ["stl"]
    # A gain beyond noise survives either way.
    sure = {**base, "mtl_delta_low": 0.002, "decision_subsampled": 1.0}
    assert candidates(sure, applicable) == ["stl", "mtl"]


def test_choose_prefers_the_simpler_paradigm_in_the_protocols_order() -> None:
    # DESIGN.md §3: stl < transfer < mtl < meta in deployment complexity.
    assert choose({"meta": 0.7, "stl": 0.7, "mtl": 0.5}) == "stl"
    assert choose({"mtl": 0.70, "transfer": 0.65}, margin=0.1) == "transfer"
    assert choose({"mtl": 0.70, "transfer": 0.55}, margin=0.1) == "mtl"
    assert choose({"meta": 0.80, "mtl": 0.75, "stl": 0.50}, margin=0.1) == "mtl"


def test_decision_subsampled_counts_only_the_scored_tasks() -> None:
    from types import SimpleNamespace

    from advisor._features import decision_subsampled

    def rec(goal: str, rows: list[int], cap: int | None = 400) -> SimpleNamespace:
        tasks = [SimpleNamespace(n_rows=n) for n in rows]
        return SimpleNamespace(goal=goal, tasks=tasks, budget=SimpleNamespace(max_rows_per_task=cap))

    assert decision_subsampled(rec("target_task", [150])) == 0.0  # a small target: only sources were cut
    assert decision_subsampled(rec("all_tasks", [1500, 300, 900, 100])) == 0.5
    assert decision_subsampled(rec("all_tasks", [1500], cap=None)) == 0.0
    assert decision_subsampled(rec("new_tasks", [5000, 5000])) == 0.0  # new tasks arrive with a few shots


def test_shipped_model_matches_the_features_when_present() -> None:
    model = load_model()
    if model is None:
        pytest.skip("no model shipped yet")
    assert list(model.feature_names) == feature_names()
    assert model.meta["cases"] >= 10 and np.all(np.isfinite(model.coef))


def test_a_single_task_stays_stl_whatever_a_model_says() -> None:
    from advisor._recommender import recommend_from_report
    from probes.data import load_taskset, profile_taskset
    from probes.runner import run_probes

    s = make_scenario(n_tasks=1, rows_per_task=60, seed=2)
    ts = load_taskset(s.frame, s.spec)
    report = run_probes(ts, budget="fast", seed=0)
    rec = recommend_from_report(report, profile_taskset(ts), versions={}, model=fit_model(_synthetic_records()))
    assert rec.paradigm == "stl" and rec.confidence == 1.0 and rec.verdict == "clear"
    assert all(e.p_cowinner is None for e in rec.ranking if e.paradigm != "stl")


def test_the_benchmark_decides_as_a_live_answer() -> None:
    # The verdict and choice the benchmark reads off a cached case's features equal the live answer's.
    from advisor._features import meta_features
    from advisor._recommender import recommend_from_report, rules_recommendation
    from benchmarks.oracle._evaluate import Record, advisor_choice
    from probes.data import load_taskset, profile_taskset
    from probes.runner import run_probes

    model = load_model()
    if model is None:
        pytest.skip("no model shipped yet")
    from dataclasses import replace as _replace

    from probes.budget import budget_preset

    # Tasks cut to 50 of their 80 rows, so the R6 veto (a rule at run time, read off the features
    # in the benchmark) is in play on both sides.
    s = make_scenario(n_tasks=4, rows_per_task=80, seed=3)
    ts = load_taskset(s.frame, s.spec)
    report = run_probes(ts, budget=_replace(budget_preset("fast"), max_rows_per_task=50), seed=0, signals=False)
    live = recommend_from_report(report, profile_taskset(ts), versions={})
    draft = rules_recommendation(report, profile_taskset(ts), versions={})
    scores = {e.paradigm: e.probe_score for e in draft.ranking if e.applicable and e.probe_score is not None}
    record = Record(case="x", kind="generated", goal=draft.goal, features=meta_features(draft),
                    rules_choice=draft.paradigm, rules_confidence=draft.confidence, applicable=list(scores),
                    probe_score=scores, probe_p_best={}, oracle_score={}, co_winners=[], probe_seconds=0.0,
                    oracle_seconds=1.0)  # fmt: skip
    chosen, confidence, verdict, tied = advisor_choice(model, record)
    assert (chosen, verdict, list(tied)) == (live.paradigm, live.verdict, live.equivalent_to)
    ruled_out = [e.paradigm for e in live.ranking if e.vetoed_by]
    assert ruled_out == [p for p in record.applicable if p not in candidates(record.features, record.applicable)]
    assert confidence == pytest.approx(live.confidence, abs=1e-4)


# ------------------------------------------------------------------ committed results reproduce


def test_report_reproduces_the_committed_results_from_the_meta_dataset(tmp_path: Path) -> None:
    import shutil

    from benchmarks.oracle._report import report

    committed = ROOT / "benchmarks"
    if not (committed / "meta_dataset.csv").is_file():
        pytest.skip("no meta-dataset committed yet")
    shutil.copy(committed / "meta_dataset.csv", tmp_path / "meta_dataset.csv")
    report(refresh=False, directory=tmp_path)
    assert json.loads((tmp_path / "results.json").read_text()) == json.loads((committed / "results.json").read_text())
    assert (tmp_path / "RESULTS.md").read_text() == (committed / "RESULTS.md").read_text()


def test_shipped_model_is_rebuilt_exactly_from_the_meta_dataset(tmp_path: Path) -> None:
    from benchmarks.train_recommender import main as train

    shipped = ROOT / "advisor" / "models" / "recommender.json"
    if not shipped.is_file():
        pytest.skip("no model shipped yet")
    train(["--out", str(tmp_path / "model.json")])
    rebuilt, original = (json.loads(p.read_text()) for p in (tmp_path / "model.json", shipped))
    assert rebuilt["feature_names"] == original["feature_names"]
    assert np.allclose(rebuilt["coef"], original["coef"], atol=1e-6)
    assert rebuilt["meta"]["cases"] == original["meta"]["cases"]


def test_oracle_command_rejects_unknown_names_in_one_line(capsys) -> None:
    from benchmarks.oracle.__main__ import main

    for argv, expected in [
        (["preset", "unrelated_rch"], r"error: unknown preset .unrelated_rch.; choose from .*unrelated_rich"),
        (["run", "--case", "school/no_such_spec"], r"error: no case matches school/no_such_spec"),
        (["run", "--machine", "16 cores"], r"(?s)usage: .*error: --machine labels oracles .* with --oracle-only"),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert re.fullmatch(expected + "\n", err), err


def _oracle_run(co: list[str], scores: dict[str, float] | None = None) -> dict:
    """A cached oracle result: co-winners simplest first, the first is the run's winner."""
    scores = scores or {p: 0.5 for p in ("stl", "mtl", "transfer")}
    return {"co_winners": co, "winner": co[0], "paradigms": {p: {"score": v} for p, v in scores.items()}}


def test_oracle_replicate_run_keeps_to_the_named_cases_and_labels_the_machine(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from benchmarks import oracle_replicate as rep

    cases = [Case(f"real{i}/all_tasks", "real", {"goal": "all_tasks"}, path=f"r{i}.csv") for i in range(3)]
    written: dict[str, dict] = {}
    monkeypatch.setattr(rep, "real_cases", lambda: cases)
    monkeypatch.setattr(rep, "load_cached", lambda kind, case: {"seconds": 1.0} if kind == "oracle" else None)
    monkeypatch.setattr(rep, "quiet_single_thread", lambda: None)
    monkeypatch.setattr(rep, "ProcessPoolExecutor", ThreadPoolExecutor)
    monkeypatch.setattr(
        rep, "run_oracle_case", lambda case, *, seed, machine: {"co_winners": ["stl"], "seed": seed, "machine": machine}
    )
    monkeypatch.setattr(rep, "_write", lambda kind, case, result: written.update({f"{kind}:{case.id}": result}))

    rep.main(["run", "--seed", "3", "--case", "real2/all_tasks", "--case", "real0/all_tasks", "--machine", "16 cores"])
    assert sorted(written) == ["oracle_seed3:real0/all_tasks", "oracle_seed3:real2/all_tasks"]
    assert all(r == {"co_winners": ["stl"], "seed": 3, "machine": "16 cores"} for r in written.values())

    with pytest.raises(SystemExit) as exit_info:
        rep.main(["run", "--seed", "3", "--case", "gen/x"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'gen/x'" in capsys.readouterr().err


def test_oracle_replicate_agreement_scores_each_run_against_the_others() -> None:
    from benchmarks.oracle_replicate import agreement

    cases = [
        ("same", [_oracle_run(["mtl"]), _oracle_run(["mtl"])]),  # both agree: 2 hits
        ("wider", [_oracle_run(["stl", "mtl"]), _oracle_run(["mtl"])]),  # seed 0 picks stl, not a seed-1 co-winner
        ("apart", [_oracle_run(["transfer"]), _oracle_run(["mtl"])]),  # neither
    ]
    result = agreement(cases)
    assert (result["cases"], result["runs"], result["comparisons"]) == (3, 2, 6)
    assert result["accuracy"] == pytest.approx(3 / 6)
    assert [(r["inside"][0, 1], r["inside"][1, 0]) for r in result["rows"]] == [
        (True, True),
        (False, True),
        (False, False),
    ]
    assert result["mean_regret"] == 0.0  # every paradigm scores 0.5 in every run

    # Regret: run i's choice against run j's best, in run j's scores.
    a = _oracle_run(["stl"], {"stl": 0.80, "mtl": 0.78})
    b = _oracle_run(["mtl"], {"stl": 0.70, "mtl": 0.75, "transfer": 0.71})
    two = agreement([("r", [a, b])])
    assert two["mean_regret"] == pytest.approx((0.05 + 0.02) / 2)  # stl in b: 0.75 - 0.70; mtl in a: 0.80 - 0.78
    # A choice the other run did not score counts as that run's STL.
    c = _oracle_run(["transfer"], {"stl": 0.60, "transfer": 0.90})
    assert agreement([("s", [c, a])])["mean_regret"] == pytest.approx((0.0 + 0.30) / 2)

    three = agreement([("c", [_oracle_run(["stl"]), _oracle_run(["stl", "mtl"]), _oracle_run(["mtl"])])])
    assert three["comparisons"] == 6  # every ordered pair of runs
    assert three["accuracy"] == pytest.approx(3 / 6)  # 0 in 1, 1 in 0, 2 in 1


def _folded_run(co: list[str], folds: dict[str, list[float]]) -> dict:
    """An oracle result with fold scores (one variant per paradigm), its own co-winners ``co``."""
    run = _oracle_run(co, {p: sum(v) / len(v) for p, v in folds.items()})
    run["variants"] = [{"variant": f"{p}/x", "fold_scores": v} for p, v in folds.items()]
    for p in folds:
        run["paradigms"][p]["variant"] = f"{p}/x"
    return run


def test_oracle_replicate_truth_result_is_the_truth_of_the_runs() -> None:
    from benchmarks.oracle_replicate import truth_result

    runs = [_folded_run(["mtl"], {"stl": [0.70, 0.70], "mtl": [0.80, 0.80]}) for _ in range(3)]
    out = truth_result(runs)
    assert out["co_winners"] == ["mtl"]  # 0.10 ahead with no spread over runs
    assert out["paradigms"]["stl"]["score"] == pytest.approx(0.70)


def test_oracle_replicate_scores_each_run_against_the_truth_of_the_others() -> None:
    from benchmarks.oracle_replicate import held_out_truth

    runs = [
        _folded_run(["mtl"], {"stl": [0.70, 0.70], "mtl": [0.80, 0.80]}),
        _folded_run(["mtl"], {"stl": [0.70, 0.70], "mtl": [0.75, 0.75]}),
        _folded_run(["stl"], {"stl": [0.72, 0.72], "mtl": [0.70, 0.70]}),
    ]
    result = held_out_truth([("c", runs)])
    # runs 1+2: mtl 0.725 vs stl 0.71, gaps 0.05 and -0.02 per run -> not significant -> stl chosen,
    # not run 0's co-winner; runs 0+2: mtl 0.75 vs 0.71, gaps 0.10 and -0.02 -> stl, not run 1's;
    # runs 0+1: mtl ahead by 0.10 and 0.05 (t over two runs: 0.075 +- 12.7 * 0.025) -> stl again,
    # which is run 2's co-winner.
    assert result["accuracy"] == [0.0, 0.0, 1.0]
    assert result["regret"] == pytest.approx([0.10, 0.05, 0.0])
    assert result["mean_accuracy"] == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="2 oracle runs"):
        held_out_truth([("c", runs[:1])])


def test_oracle_replicate_interval_spread_compares_runs_with_one_runs_interval() -> None:
    from benchmarks.oracle_replicate import interval_spread

    def run(gap: float) -> dict:
        return {"best": "stl", "co_winners": ["stl"], "winner": "stl",
                "paradigms": {"stl": {"score": 0.80},
                              "mtl": {"score": 0.80 - gap, "gap_to_best": {"ci_low": 0.0, "ci_high": 2 * 1.96 * 0.01}}}}  # fmt: skip

    # gaps 0.01, 0.03, 0.05 over the runs: standard deviation 0.02 against a standard error of 0.01
    result = interval_spread([("c", [run(0.01), run(0.03), run(0.05)])])
    assert result["pairs"] == 1 and result["median"] == pytest.approx(2.0) and result["above_one"] == 1.0
    steady = interval_spread([("c", [run(0.03), run(0.03), run(0.031)])])
    assert steady["median"] < 0.1 and steady["above_one"] == 0.0


def test_oracle_replicate_fold_test_relabels_from_the_fold_scores() -> None:
    from benchmarks.oracle_replicate import fold_test_labels

    def result(stl: list[float], mtl: list[float]) -> dict:
        return {"co_winners": ["mtl"], "winner": "mtl",
                "paradigms": {"stl": {"score": sum(stl) / 3, "variant": "stl/mlp"},
                              "mtl": {"score": sum(mtl) / 3, "variant": "mtl/hard"}},
                "variants": [{"variant": "stl/mlp", "fold_scores": stl}, {"variant": "mtl/hard", "fold_scores": mtl}]}  # fmt: skip

    noisy = result([0.70, 0.80, 0.75], [0.78, 0.77, 0.79])  # mtl ahead by 0.03, but the fold differences vary
    relabelled = fold_test_labels(noisy)
    assert relabelled["co_winners"] == ["stl", "mtl"] and relabelled["winner"] == "stl"
    assert noisy["co_winners"] == ["mtl"]  # the input is untouched
    clear = fold_test_labels(result([0.70, 0.71, 0.72], [0.80, 0.81, 0.82]))  # ahead by 0.10 in every fold
    assert clear["co_winners"] == ["mtl"] and clear["winner"] == "mtl"


def test_oracle_replicate_rescores_a_record_against_the_other_run() -> None:
    from benchmarks.oracle._evaluate import Record, decisions, method_metrics
    from benchmarks.oracle_replicate import _against

    record = Record(
        case="c", kind="real", goal="all_tasks", features={}, rules_choice="stl", rules_confidence=0.5,
        applicable=["stl", "mtl"], probe_score={"stl": 0.5, "mtl": 0.6}, probe_p_best={"stl": 0.3, "mtl": 0.7},
        oracle_score={"stl": 0.6, "mtl": 0.5}, co_winners=["stl"], probe_seconds=1.0, oracle_seconds=10.0,
    )  # fmt: skip
    other = {"co_winners": ["mtl"], "paradigms": {"stl": {"score": 0.4}, "mtl": {"score": 0.7}}}
    moved = _against(record, other)
    assert moved.co_winners == ["mtl"] and moved.oracle_score == {"stl": 0.4, "mtl": 0.7}
    assert record.co_winners == ["stl"]  # the original is untouched
    made = decisions("probe_argmax", [record])
    assert method_metrics([record], made, uses_probes=True)["accuracy"] == 0.0
    after = method_metrics([moved], made, uses_probes=True)
    assert after["accuracy"] == 1.0 and after["mean_regret"] == 0.0
