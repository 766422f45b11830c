"""The paired test-row bootstrap: replicated metrics equal the protocol's, and it has power with few folds."""

from __future__ import annotations

import numpy as np
import pytest

from probes.protocol import METRICS, FoldResult, compare, score_interval
from probes.protocol._bootstrap import TaskPredictions, bootstrap_aggregates, metric_replicates
from probes.risk import negative_transfer_risk


@pytest.mark.parametrize("name", sorted(METRICS))
def test_replicate_of_the_identity_resample_is_the_metric(name: str) -> None:
    rng = np.random.default_rng(0)
    n = 60
    if "regression" in METRICS[name].kinds:
        y = rng.normal(size=n)
        pred = y + rng.normal(scale=0.5, size=n)
    else:
        y = rng.integers(0, 3, size=n)
        pred = rng.dirichlet(np.ones(3), size=n)
    ones = np.ones((2, n))
    assert metric_replicates(name, y, pred, ones) == pytest.approx([METRICS[name](y, pred)] * 2)


def test_binary_auc_replicates_match_sklearn() -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, size=80)
    p1 = np.clip(0.3 * y + rng.random(80) * 0.7, 0, 1)
    pred = np.column_stack([1 - p1, p1])
    idx = rng.integers(0, 80, size=(5, 80))
    weights = np.stack([np.bincount(i, minlength=80) for i in idx]).astype(float)
    expected = [roc_auc_score(y[i], p1[i]) for i in idx]
    assert metric_replicates("roc_auc", y, pred, weights) == pytest.approx(expected)
    ties = np.round(p1, 1)  # ties count half, as in sklearn
    tied = np.column_stack([1 - ties, ties])
    assert metric_replicates("roc_auc", y, tied, weights) == pytest.approx([roc_auc_score(y[i], ties[i]) for i in idx])


def _fold(i: int, y: np.ndarray, pred: np.ndarray) -> FoldResult:
    cell = TaskPredictions(y, pred, "r2", key=(0, i, "t"))
    return FoldResult(0, i, {"t": METRICS["r2"](y, pred)}, METRICS["r2"](y, pred), 80, 20, predictions={"t": cell})


def test_a_consistent_gain_is_significant_with_three_folds() -> None:
    rng = np.random.default_rng(2)
    good, bad = [], []
    for i in range(3):
        y = rng.normal(size=40)
        good.append(_fold(i, y, y + rng.normal(scale=0.3, size=40)))
        bad.append(_fold(i, y, y + rng.normal(scale=0.8, size=40)))
    c = compare(good, bad)
    assert c.significant and c.ci_low > 0 and "bootstrap" in c.test
    same = compare(good, good)
    assert same.mean_difference == 0 and not same.significant
    mean, low, high = score_interval(good)
    assert low < mean < high
    risk = negative_transfer_risk(bad, good, ["t"])
    assert risk["t"] > 0.95 and negative_transfer_risk(good, bad, ["t"])["t"] < 0.05


def test_noise_only_differences_are_not_significant() -> None:
    rng = np.random.default_rng(3)
    a, b = [], []
    for i in range(3):
        y = rng.normal(size=40)
        a.append(_fold(i, y, y + rng.normal(scale=0.5, size=40)))
        b.append(_fold(i, y, y + rng.normal(scale=0.5, size=40)))
    assert not compare(a, b).significant


def test_replicates_are_deterministic_and_paired() -> None:
    y = np.linspace(0, 1, 30)
    folds = [{"t": TaskPredictions(y, y * 0.9, "r2", key=(0, 0, "t"))}]
    twin = [{"t": TaskPredictions(y, y * 0.9, "r2", key=(0, 0, "t"))}]
    a1, b1 = bootstrap_aggregates(folds, twin, n=50)
    a2, _ = bootstrap_aggregates(folds, None, n=50)
    assert np.array_equal(a1, b1) and np.array_equal(a1, a2)


def _repeated_row_folds(y: np.ndarray, pred: np.ndarray, repeats: int, k: int = 5) -> list[FoldResult]:
    """``repeats`` shuffles of the same rows into ``k`` folds, every row tested once per repeat."""
    out = []
    for r in range(repeats):
        order = np.random.default_rng(r).permutation(len(y))
        for i in range(k):
            idx = np.sort(order[i::k])
            s = METRICS["r2"](y[idx], pred[idx])
            cell = TaskPredictions(y[idx], pred[idx], "r2", key=(r, i, "t"), rows=idx)
            out.append(FoldResult(r, i, {"t": s}, s, len(y) - len(idx), len(idx), predictions={"t": cell}))
    return out


def test_a_repeat_of_the_split_is_not_new_evidence() -> None:
    # The same rows scored again in a second repeat used to be resampled independently, narrowing
    # the interval by about 1/sqrt(2) (0.228 -> 0.158) with no new information.
    rng = np.random.default_rng(0)
    y = rng.normal(size=300)
    a, b = y + rng.normal(scale=0.70, size=300), y + rng.normal(scale=0.72, size=300)
    once = compare(_repeated_row_folds(y, a, 1), _repeated_row_folds(y, b, 1))
    twice = compare(_repeated_row_folds(y, a, 2), _repeated_row_folds(y, b, 2))
    assert twice.ci_high - twice.ci_low == pytest.approx(once.ci_high - once.ci_low, rel=0.05)
    low, high = score_interval(_repeated_row_folds(y, a, 2))[1:]
    low1, high1 = score_interval(_repeated_row_folds(y, a, 1))[1:]
    assert high - low == pytest.approx(high1 - low1, rel=0.05)


def test_a_task_held_out_in_every_repeat_is_one_unit() -> None:
    rng = np.random.default_rng(0)
    ta, tb = rng.normal(0.60, 0.05, 12), rng.normal(0.58, 0.05, 12)

    def folds(scores: np.ndarray, repeats: int) -> list[FoldResult]:
        out = []
        for r in range(repeats):
            for k, chunk in enumerate(np.array_split(np.random.default_rng(r).permutation(12), 3)):
                ts = {f"task{t}": float(scores[t]) for t in chunk}
                weights = {name: 1.0 for name in ts}
                out.append(FoldResult(r, k, ts, float(np.mean(list(ts.values()))), 8, len(chunk), task_weights=weights))
        return out

    once, twice = compare(folds(ta, 1), folds(tb, 1)), compare(folds(ta, 2), folds(tb, 2))
    assert twice.n_pairs == once.n_pairs == 12
    assert (twice.ci_low, twice.ci_high) == pytest.approx((once.ci_low, once.ci_high))
    assert score_interval(folds(ta, 2)) == pytest.approx(score_interval(folds(ta, 1)))
