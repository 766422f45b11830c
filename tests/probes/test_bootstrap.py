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
