"""The evaluation protocol: splits, metrics, fold scores, the paired test and the co-winner rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks.scenarios import make_scenario, make_sinusoids
from probes.data import load_taskset
from probes.protocol import (
    METRICS,
    FoldResult,
    NonFinitePredictionError,
    co_winners,
    compare,
    make_folds,
    on_shared_folds,
    score_fold,
    score_interval,
    score_meta_fold,
)


@pytest.fixture
def clf_taskset():
    s = make_scenario(task_kind="classification", n_tasks=3, rows_per_task=90, positive_rate=0.3, seed=3)
    return load_taskset(s.frame, s.spec)


def test_task_column_folds_partition_each_task(clf_taskset) -> None:
    folds = make_folds(clf_taskset, n_folds=3, n_repeats=2, seed=0)
    assert len(folds) == 6
    for t, task in enumerate(clf_taskset.tasks):
        for repeat in range(2):
            tests = [f.splits[t].test for f in folds if f.repeat == repeat]
            assert sorted(np.concatenate(tests).tolist()) == list(range(task.n_rows))
        for fold in folds:
            s = fold.splits[t]
            assert not set(s.train) & set(s.test) and not set(s.valid) & set(s.test) and not set(s.train) & set(s.valid)
            # stratified: the positive share of each test part is close to the task's
            share = task.y[s.test].mean()
            assert abs(share - task.y.mean()) < 0.12


def test_folds_are_reproducible_and_seed_dependent(clf_taskset) -> None:
    a = make_folds(clf_taskset, n_folds=3, seed=5)
    b = make_folds(clf_taskset, n_folds=3, seed=5)
    c = make_folds(clf_taskset, n_folds=3, seed=6)
    assert all(np.array_equal(x.splits[0].test, y.splits[0].test) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(x.splits[0].test, y.splits[0].test) for x, y in zip(a, c, strict=True))


def test_multi_target_folds_share_one_row_split() -> None:
    s = make_scenario(layout="multi_target", n_tasks=3, rows_per_task=120, missing_labels=0.3, seed=1)
    ts = load_taskset(s.frame, s.spec)
    for fold in make_folds(ts, n_folds=4):
        test_rows = [set(task.rows[split.test]) for task, split in zip(ts.tasks, fold.splits, strict=True)]
        train_rows = [set(task.rows[split.train]) for task, split in zip(ts.tasks, fold.splits, strict=True)]
        all_test = set().union(*test_rows)
        # a row that is test for one target is never training for another
        assert all(not (tr & all_test) for tr in train_rows)


def test_target_task_sources_train_on_all_rows() -> None:
    s = make_scenario(n_tasks=3, rows_per_task=100, target_rows=30, goal="target_task", seed=2)
    ts = load_taskset(s.frame, s.spec)
    folds = make_folds(ts, n_folds=3)
    for fold in folds:
        for t, split in enumerate(fold.splits):
            if t == ts.target_index:
                assert len(split.test) > 0
            else:
                assert len(split.test) == 0 and len(split.train) + len(split.valid) == ts.tasks[t].n_rows


def test_meta_folds_hold_out_whole_tasks_with_support_and_query() -> None:
    s = make_sinusoids(n_tasks=20, rows_per_task=15, shots=5)
    ts = load_taskset(s.frame, s.spec)
    folds = make_folds(ts, n_folds=4, episodes_per_task=2)
    assert sorted(t for f in folds for t in f.test_tasks) == list(range(20))
    for fold in folds:
        assert not set(fold.test_tasks) & (set(fold.train_tasks) | set(fold.valid_tasks))
        assert not set(fold.valid_tasks) & set(fold.train_tasks) and fold.valid_tasks
        assert len(fold.test_episodes) == 2 * len(fold.test_tasks)
        for ep in fold.test_episodes:
            assert len(ep.support) == 5 and len(ep.query) == 10 and not set(ep.support) & set(ep.query)


def test_classification_support_is_shots_per_class(clf_taskset) -> None:
    frame = pd.concat([make_scenario(task_kind="classification", n_tasks=6, rows_per_task=40, seed=4).frame])
    ts = load_taskset(frame, targets="y", task_column="task", goal="new_tasks", shots=3)
    fold = make_folds(ts, n_folds=3)[0]
    for ep in fold.test_episodes:
        labels = ts.tasks[ep.task].y[ep.support]
        assert np.bincount(labels).tolist() == [3, 3]


@pytest.mark.parametrize("name", sorted(METRICS))
def test_metrics_are_higher_is_better(name: str) -> None:
    metric = METRICS[name]
    rng = np.random.default_rng(0)
    if "regression" in metric.kinds:
        y = rng.normal(size=200)
        good, bad = y + 0.1 * rng.normal(size=200), y + 2 * rng.normal(size=200)
    else:
        y = rng.integers(0, 3, size=200)
        good = np.full((200, 3), 0.05)
        good[np.arange(200), y] = 0.9
        bad = np.full((200, 3), 1 / 3) + 0.01 * rng.random((200, 3))
    assert metric(y, good) > metric(y, bad)


def test_metric_values() -> None:
    y = np.array([0, 0, 1, 1])
    proba = np.array([[0.9, 0.1], [0.6, 0.4], [0.35, 0.65], [0.2, 0.8]])
    assert METRICS["roc_auc"](y, proba) == 1.0
    assert METRICS["accuracy"](y, proba) == 1.0
    assert METRICS["r2"](np.array([1.0, 2, 3]), np.array([1.0, 2, 3])) == 1.0
    assert np.isnan(METRICS["r2"](np.array([2.0, 2, 2]), np.array([1.0, 2, 3])))
    assert METRICS["rmse"](np.array([0.0, 0]), np.array([3.0, 4])) == pytest.approx(-np.sqrt(12.5))
    assert np.isnan(METRICS["roc_auc"](np.array([1, 1]), np.array([[0.2, 0.8], [0.4, 0.6]])))


def test_all_tasks_aggregate_floors_r2_and_skips_near_constant() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "task": np.repeat(["a", "b", "flat"], 30),
            "x": rng.normal(size=90),
            "y": np.concatenate([rng.normal(0, 3, 30), rng.normal(0, 3, 30), rng.normal(0, 0.01, 30)]),
        }
    )
    ts = load_taskset(frame, targets="y", task_column="task")
    fold = make_folds(ts, n_folds=3)[0]
    preds = {
        0: ts.tasks[0].y[fold.splits[0].test],  # perfect
        1: ts.tasks[1].y[fold.splits[1].test] * 0 + 100.0,  # terrible: R² << -1
        2: np.zeros(len(fold.splits[2].test)),
    }
    result = score_fold(ts, fold, preds)
    assert result.task_scores["a"] == pytest.approx(1.0)
    assert result.task_scores["b"] < -1
    assert result.aggregate == pytest.approx((1.0 + -1.0) / 2)  # floored, flat task left out


def test_new_tasks_pools_r2_over_query_rows() -> None:
    s = make_sinusoids(n_tasks=10, rows_per_task=12, shots=4)
    ts = load_taskset(s.frame, s.spec)
    fold = make_folds(ts, n_folds=2)[0]
    preds = [ts.tasks[ep.task].y[ep.query] * 0.5 for ep in fold.test_episodes]
    result = score_meta_fold(ts, fold, preds)
    ys = [ts.tasks[ep.task].y[ep.query] for ep in fold.test_episodes]
    sse = sum(float(np.sum((y - 0.5 * y) ** 2)) for y in ys)
    sst = sum(float(np.sum((y - y.mean()) ** 2)) for y in ys)
    assert result.aggregate == pytest.approx(1 - sse / sst)


def _results(scores: list[float], n_train: int = 80, n_test: int = 20) -> list[FoldResult]:
    return [FoldResult(0, i, {}, s, n_train, n_test) for i, s in enumerate(scores)]


def test_paired_comparison_detects_a_consistent_gain() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(0.6, 0.05, size=10)
    better = compare(_results(list(base + 0.05 + rng.normal(0, 0.005, 10))), _results(list(base)))
    assert better.significant and better.ci_low > 0 and better.mean_difference == pytest.approx(0.05, abs=0.01)
    same = compare(_results(list(base + rng.normal(0, 0.02, 10))), _results(list(base)))
    assert not same.significant and same.ci_low < 0 < same.ci_high


def test_corrected_interval_is_wider_than_the_naive_one() -> None:
    rng = np.random.default_rng(1)
    diffs = rng.normal(0.02, 0.03, size=10)
    corrected = compare(_results(list(diffs)), _results([0.0] * 10))
    naive = compare(_results(list(diffs), n_test=0), _results([0.0] * 10, n_test=0))
    assert corrected.ci_high - corrected.ci_low > naive.ci_high - naive.ci_low


def test_single_fold_comparison_is_never_significant() -> None:
    c = compare(_results([0.9]), _results([0.1]))
    assert not c.significant and c.n_pairs == 1


def test_co_winners_prefer_the_simplest_paradigm() -> None:
    rng = np.random.default_rng(2)
    base = rng.normal(0.7, 0.03, size=5)
    decision = co_winners(
        {
            "meta": _results(list(base + 0.01 + rng.normal(0, 0.02, 5))),
            "mtl": _results(list(base + 0.005 + rng.normal(0, 0.02, 5))),
            "stl": _results(list(base)),
            "transfer": _results(list(base - 0.2 + rng.normal(0, 0.001, 5))),
        }
    )
    assert decision.best in {"meta", "mtl"}
    assert set(decision.co_winners) == {"stl", "mtl", "meta"}
    assert decision.winner == "stl"
    assert decision.comparisons["transfer"].significant


def test_clear_winner_stands_alone() -> None:
    base = np.linspace(0.5, 0.6, 5)
    noise = np.array([0.01, -0.01, 0.005, 0.0, -0.005])
    decision = co_winners({"stl": _results(list(base)), "mtl": _results(list(base + 0.1 + noise))})
    assert decision.co_winners == ("mtl",) and decision.winner == "mtl"
    mean, low, high = score_interval(_results(list(base)))
    assert low < mean < high and mean == pytest.approx(0.55)


def test_co_winners_rank_on_the_folds_every_candidate_finished() -> None:
    # A time limit cut stl after the easy fold 0: its one-fold mean (0.85) is not comparable with
    # mtl's three-fold mean (0.54). On fold 0 itself mtl is ahead, so mtl is best, and stl, which
    # the paired test finds worse there, is no co-winner.
    rng = np.random.default_rng(7)
    easy = 0.85 + rng.normal(0, 0.002, 10)
    mtl = [FoldResult(0, 0, {}, float(easy.mean() + 0.05), 80, 20), *_results([0.9, 0.37, 0.34])[1:]]
    stl = [FoldResult(0, 0, {}, float(easy.mean()), 80, 20)]
    decision = co_winners({"stl": stl, "mtl": mtl})
    assert decision.best == "mtl" and decision.shared_folds == 1
    assert decision.means["mtl"] == pytest.approx(decision.means["stl"] + 0.05)
    assert "mtl" in decision.co_winners  # never dropped for being better than the one it was compared with
    # Nothing cut: means over every fold, shared_folds None.
    assert co_winners({"stl": _results([0.5, 0.6]), "mtl": _results([0.6, 0.7])}).shared_folds is None


def test_variants_are_chosen_on_validation_scores_never_on_test_scores() -> None:
    from probes.protocol import best_by_validation

    def folds(test: float, valid: float | None) -> list[FoldResult]:
        return [FoldResult(0, i, {}, test, 80, 20, valid_aggregate=valid) for i in range(3)]

    assert best_by_validation({"stl/mlp": folds(0.9, 0.6), "stl/gbdt": folds(0.7, 0.8)}) == "stl/gbdt"
    # without a validation score a variant ranks last; with none at all the first (default) one wins
    assert best_by_validation({"stl/mlp": folds(0.9, None), "stl/gbdt": folds(0.7, 0.1)}) == "stl/gbdt"
    assert best_by_validation({"stl/mlp": folds(0.7, None), "stl/gbdt": folds(0.9, None)}) == "stl/mlp"
    assert best_by_validation({"stl/mlp": []}) is None


def test_on_shared_folds_cuts_to_the_common_folds() -> None:
    shared, n = on_shared_folds({"a": _results([0.1, 0.2, 0.3]), "b": _results([0.5, 0.6]), "c": []})
    assert n == 2 and [f.index for f in shared["a"]] == [0, 1] and shared["c"] == []
    whole, none = on_shared_folds({"a": _results([0.1, 0.2]), "b": _results([0.3, 0.4])})
    assert none is None and len(whole["a"]) == 2


def test_target_task_point_score_floors_r2_like_its_interval() -> None:
    s = make_scenario(n_tasks=3, rows_per_task=90, goal="target_task", seed=0)
    ts = load_taskset(s.frame, s.spec)
    target = ts.tasks[ts.target_index]
    rng = np.random.default_rng(0)
    results = []
    for fold in make_folds(ts, n_folds=3, seed=0):
        y = target.y[fold.splits[ts.target_index].test]
        noise = rng.normal(scale=(3.0 if fold.index == 0 else 0.5) * y.std(), size=len(y))  # fold 0: R² << -1
        results.append(score_fold(ts, fold, {ts.target_index: y + noise}))
    assert results[0].task_scores[target.name] < -1
    assert results[0].aggregate == -1.0
    mean, low, high = score_interval(results)
    assert low <= mean <= high


def test_non_finite_predictions_are_an_error_not_a_dropped_task() -> None:
    s = make_scenario(n_tasks=3, rows_per_task=90, seed=0)
    ts = load_taskset(s.frame, s.spec)
    fold = make_folds(ts, n_folds=3, seed=0)[0]
    preds = {t: ts.tasks[t].y[fold.splits[t].test] for t in range(ts.n_tasks)}
    preds[2] = np.full(len(preds[2]), np.nan)
    with pytest.raises(NonFinitePredictionError, match=f"'{ts.tasks[2].name}'"):
        score_fold(ts, fold, preds)

    m = make_sinusoids(n_tasks=10, rows_per_task=12, shots=4)
    mts = load_taskset(m.frame, m.spec)
    mfold = make_folds(mts, n_folds=2)[0]
    episode_preds = [mts.tasks[ep.task].y[ep.query] for ep in mfold.test_episodes]
    episode_preds[0] = episode_preds[0] + np.inf
    with pytest.raises(NonFinitePredictionError):
        score_meta_fold(mts, mfold, episode_preds)
