"""The probe runner: anytime order, time shares, partial results, subsampling."""

from __future__ import annotations

import time
from unittest.mock import patch

import numpy as np

from benchmarks.scenarios import make_scenario, preset
from probes.budget import BudgetPreset, budget_preset
from probes.data import load_taskset
from probes.paradigms import ParadigmResult, Variant, prepare_folds, run_variant
from probes.protocol import FoldResult
from probes.runner import ProbeReport, run_probes, subsample_taskset

TINY = BudgetPreset(
    "tiny", n_folds=3, n_repeats=1, max_epochs=5, patience=3, n_trials=0, max_rows_per_task=50, seconds=60
)


def test_runner_probes_every_paradigm_and_reports_phases() -> None:
    s = make_scenario(n_tasks=4, rows_per_task=80, seed=2)
    ts = load_taskset(s.frame, s.spec)
    seen = []
    report = run_probes(ts, budget=TINY, signals=False, progress=lambda *a: seen.append(a))
    assert {"stl", "mtl", "transfer", "meta"} <= {r.paradigm for r in report.results.values()}
    assert all(report.representative(p) is not None for p in ("stl", "mtl", "transfer", "meta"))
    assert [p.name for p in report.phases][:3] == ["prepare folds", "stl/mlp", "mtl/hard"]
    assert seen[0][0] == "prepare" and seen[-1] == ("done", 1.0, "probes finished")
    assert not report.partial and report.n_folds == 3


def test_goal_decides_which_sharing_paradigm_runs_first() -> None:
    sin = preset("sinusoids")
    report = run_probes(load_taskset(sin.frame, sin.spec), budget=TINY, signals=False, paradigms=("stl", "meta", "mtl"))
    assert [p.name for p in report.phases][1:3] == ["stl/mlp", "meta/maml"]
    target = make_scenario(n_tasks=3, rows_per_task=60, target_rows=20, goal="target_task", seed=1)
    report = run_probes(load_taskset(target.frame, target.spec), budget=TINY, signals=False)
    assert [p.name for p in report.phases][2] == "transfer/finetune"


def test_time_limit_flags_partial_work_and_keeps_an_answer() -> None:
    # Small folds (one STL fold is a fraction of its ~2.5 s share even on a loaded machine), but ten of
    # them for each of eight variants: far more work than the 12 s limit allows.
    s = make_scenario(n_tasks=4, rows_per_task=60, seed=3)
    ts = load_taskset(s.frame, s.spec)
    slow = BudgetPreset("slow", n_folds=5, n_repeats=2, max_epochs=60, patience=60, n_trials=0)
    started = time.monotonic()
    report = run_probes(ts, budget=slow, time_limit=12.0, signals=False)
    assert time.monotonic() - started < 12.0 * 1.5  # the limit holds, up to a step's granularity and start-up
    assert report.partial
    assert any(p.status in {"partial", "skipped"} for p in report.phases)
    assert report.representative("stl") is not None  # the baseline always gets its share first


def test_subsampling_caps_rows_and_keeps_classes() -> None:
    s = make_scenario(n_tasks=3, rows_per_task=500, task_kind="classification", positive_rate=0.1, seed=4)
    ts = load_taskset(s.frame, s.spec)
    small = subsample_taskset(ts, 100, seed=0)
    for big, cut in zip(ts.tasks, small.tasks, strict=True):
        assert cut.n_rows <= 101 and set(cut.rows) <= set(big.rows)
        assert abs(cut.y.mean() - big.y.mean()) < 0.05 and cut.y.sum() >= 5
    multi = make_scenario(layout="multi_target", n_tasks=3, rows_per_task=400, missing_labels=0.2, seed=5)
    mts = subsample_taskset(load_taskset(multi.frame, multi.spec), 120, seed=0)
    union = np.unique(np.concatenate([t.rows for t in mts.tasks]))
    assert len(union) <= 120  # shared rows stay shared
    report = run_probes(load_taskset(multi.frame, multi.spec), budget=TINY, signals=False)
    assert report.subsampled and any("subsampled" in w for w in report.warnings)


def test_a_variant_cut_after_an_easy_fold_does_not_represent_its_paradigm() -> None:
    # stl/mlp finished fold 0 only (0.90, an easy fold); stl/gbdt every fold, and fold 0 better (0.92).
    # Variants are compared on validation scores (here equal to the test scores) over shared folds.
    cut = ParadigmResult(
        "stl/mlp", [FoldResult(0, 0, {}, 0.90, 80, 20, valid_aggregate=0.90)], n_folds_planned=3, budget_exhausted=True
    )
    whole = ParadigmResult(
        "stl/gbdt", [FoldResult(0, i, {}, s, 80, 20, valid_aggregate=s) for i, s in enumerate([0.92, 0.40, 0.45])],
        n_folds_planned=3,
    )  # fmt: skip
    report = ProbeReport(
        taskset=None, full_rows={}, preset=budget_preset("fast"), seed=0, time_limit=None,  # type: ignore[arg-type]
        results={"stl/mlp": cut, "stl/gbdt": whole},
    )  # fmt: skip
    assert cut.score > whole.score  # on its own folds the cut one looks far better ...
    assert report.representative("stl") is whole  # ... but on the fold both ran, gbdt is ahead


def _diverging_variant(diverges) -> Variant:
    """Exact predictions, except ``nan`` for the last task when ``diverges(params, calls)``."""
    calls = []

    def fit_predict(data, params, ctx):
        calls.append(1)
        last = max(data.scored_tasks())
        return {
            t: np.full(len(data.tasks[t].y_test), np.nan) if t == last and diverges(params, len(calls))
            else data.tasks[t].y_test + (0.0 if params.get("x", 0.0) > 0.5 else 0.5 * data.tasks[t].y_test.std())
            for t in data.scored_tasks()
        }  # fmt: skip

    return Variant(
        id="stl/diverging",
        description="test double",
        fit_predict=fit_predict,
        search_space=lambda trial: {"x": trial.suggest_float("x", 0.0, 1.0)},
    )


def test_a_variant_that_predicts_nan_on_one_fold_fails_as_a_whole() -> None:
    s = make_scenario(n_tasks=3, rows_per_task=60, seed=0)
    ts = load_taskset(s.frame, s.spec)
    folds = prepare_folds(ts, TINY)
    result = run_variant(ts, _diverging_variant(lambda params, calls: calls == 2), folds, preset=TINY)
    assert result.failed is not None and "fold 2" in result.failed and ts.tasks[-1].name in result.failed
    assert result.folds == [] and not result.complete and result.to_dict()["failed"] == result.failed


def test_the_search_does_not_prefer_a_configuration_that_diverges_on_a_task() -> None:
    s = make_scenario(n_tasks=3, rows_per_task=60, seed=0)
    ts = load_taskset(s.frame, s.spec)
    folds = prepare_folds(ts, TINY)
    # x > 0.5 is exact on two tasks and nan on the third: dropping the nan task would score it best.
    variant = _diverging_variant(lambda params, calls: params.get("x", 0.0) > 0.5)
    result = run_variant(ts, variant, folds, preset=TINY, n_trials=8, params={"x": 0.9})
    assert result.trials == 3 * 8 and all(p["x"] <= 0.5 for p in result.fold_params)  # each fold searches
    assert result.failed is None and len(result.folds) == 3
    assert any("trials failed" in note for note in result.notes)


def _two_faced_variant(folds) -> Variant:
    """Exact on the fold's test rows when ``x > 0.5``, exact on every other row it predicts otherwise.

    A test double that knows the true test rows (from ``folds``); the runner hands it a view in
    which part of the validation rows sits beside the test rows, to be scored for selection.
    """

    def fit_predict(data, params, ctx):
        out = {}
        for t in data.scored_tasks():
            v = data.tasks[t]
            on_test = np.isin(v.rows_test, folds[data.fold.index].tasks[t].rows_test)
            exact = on_test if params.get("x", 0.0) > 0.5 else ~on_test
            out[t] = np.where(exact, v.y_test, v.y_test + 2.0 * v.y_test.std() + 1.0)
        return out

    return Variant(
        id="stl/two_faced", description="test double", fit_predict=fit_predict,
        search_space=lambda trial: {"x": trial.suggest_float("x", 0.0, 1.0)},
    )  # fmt: skip


def test_the_search_chooses_on_validation_rows_and_never_on_test_rows() -> None:
    s = make_scenario(n_tasks=3, rows_per_task=60, seed=0)
    ts = load_taskset(s.frame, s.spec)
    folds = prepare_folds(ts, TINY)
    # The defaults (x = 0.9) are exact on the test rows: a search that read test scores keeps them.
    result = run_variant(ts, _two_faced_variant(folds), folds, preset=TINY, n_trials=6, params={"x": 0.9})
    assert len(result.fold_params) == 3 and all(p["x"] <= 0.5 for p in result.fold_params)
    assert all(f.valid_aggregate == 1.0 for f in result.folds)  # exact on the selection rows ...
    assert result.score < 0.5  # ... and poor on test, as chosen
    unsearched = run_variant(ts, _two_faced_variant(folds), folds, preset=TINY, params={"x": 0.9})
    assert unsearched.score == 1.0 and unsearched.valid_score < 0.5


def test_selection_rows_are_half_of_each_tasks_validation_rows_and_never_stop_training() -> None:
    from probes.paradigms._run import _selection_rows

    s = make_scenario(n_tasks=3, rows_per_task=60, seed=0)
    ts = load_taskset(s.frame, s.spec)
    fold = prepare_folds(ts, TINY)[0]
    view, held = _selection_rows(fold, seed=5)
    again, _ = _selection_rows(fold, seed=5)
    for t, (v, w) in enumerate(zip(fold.tasks, view.tasks, strict=True)):
        picked = w.rows_test[: held[t]]
        assert held[t] == len(v.rows_valid) // 2 and len(w.rows_valid) == len(v.rows_valid) - held[t]
        assert set(picked) | set(w.rows_valid) == set(v.rows_valid) and not set(picked) & set(w.rows_valid)
        assert list(w.rows_test[held[t] :]) == list(v.rows_test)  # the test rows follow, unchanged
        assert list(again.tasks[t].rows_valid) == list(w.rows_valid)  # the same split for every variant


def test_the_runner_reports_a_diverged_variant_as_failed() -> None:
    s = make_scenario(n_tasks=3, rows_per_task=60, seed=0)
    ts = load_taskset(s.frame, s.spec)
    variant = _diverging_variant(lambda params, calls: True)
    with patch(
        "probes.runner.paradigm_variants", lambda taskset, paradigm, preset: [variant] if paradigm == "stl" else []
    ):
        report = run_probes(ts, budget=TINY, signals=False, paradigms=("stl",))
    phase = next(p for p in report.phases if p.name == "stl/diverging")
    assert phase.status == "failed" and "non-finite predictions" in phase.note
    assert any("stl/diverging failed and was left out" in w for w in report.warnings)
    assert report.why_not("stl").startswith("failed (stl/diverging: non-finite predictions")  # not "time limit"
