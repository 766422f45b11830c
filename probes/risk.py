"""Negative-transfer risk and probability of being best, from paired fold scores (DESIGN.md §5).

* **Risk** of a task under a sharing paradigm: the probability that sharing scores below STL
  on that task (Efron & Tibshirani 1993). With the folds' out-of-fold predictions (row folds):
  the paired bootstrap over the task's test rows, centred on the observed difference. Without
  them: a bootstrap over the paired per-fold differences (resample the folds, count how often
  the mean difference is negative; ties count half).
* **p_best** of a paradigm: the share of bootstrap resamples of the folds in which its mean
  goal score is the highest.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from probes.protocol import FoldResult
from probes.protocol._bootstrap import bootstrap_aggregates

__all__ = ["N_BOOTSTRAP", "negative_transfer_risk", "paired_task_differences", "probability_best"]

N_BOOTSTRAP = 2000


def paired_task_differences(other: Sequence[FoldResult], stl: Sequence[FoldResult], task: str) -> np.ndarray:
    """Per-fold ``other - stl`` score differences of ``task`` on the folds both scored."""
    by_key = {f.key: f for f in stl}
    diffs = []
    for fold in other:
        ref = by_key.get(fold.key)
        if ref is None:
            continue
        a, b = fold.task_scores.get(task, math.nan), ref.task_scores.get(task, math.nan)
        if math.isfinite(a) and math.isfinite(b):
            diffs.append(a - b)
    return np.asarray(diffs, dtype=float)


def _bootstrap_below_zero(diffs: np.ndarray, rng: np.random.Generator, n: int) -> float:
    if len(diffs) == 0:
        return math.nan
    idx = rng.integers(0, len(diffs), size=(n, len(diffs)))
    means = diffs[idx].mean(axis=1)
    return float(np.mean(means < 0) + 0.5 * np.mean(means == 0))


def _row_risk(other: Sequence[FoldResult], stl: Sequence[FoldResult], task: str, seed: int, n: int) -> float | None:
    """P(other below STL on ``task``) from the paired test-row bootstrap, when predictions were kept."""
    by_key = {f.key: f for f in stl if f.predictions and task in f.predictions}
    pairs = [(f.predictions[task], by_key[f.key].predictions[task])  # type: ignore[index]
             for f in other if f.predictions and task in f.predictions and f.key in by_key]  # fmt: skip
    if not pairs:
        return None
    a, b = bootstrap_aggregates([{task: x} for x, _ in pairs], [{task: y} for _, y in pairs], n=n)
    assert b is not None
    diffs = a - b
    diffs = diffs[np.isfinite(diffs)]
    observed = paired_task_differences(other, stl, task)
    if not len(diffs) or not len(observed):
        return math.nan
    diffs = diffs - (np.mean(diffs) - float(np.mean(observed)))
    return float(np.mean(diffs < 0) + 0.5 * np.mean(diffs == 0))


def negative_transfer_risk(
    other: Sequence[FoldResult], stl: Sequence[FoldResult], tasks: Sequence[str], *, seed: int = 0, n: int = N_BOOTSTRAP
) -> dict[str, float]:
    """Per task, P(``other`` scores below ``stl``), NaN when unscored.

    With out-of-fold predictions kept (row folds): the paired bootstrap over the task's test
    rows; otherwise a bootstrap of the paired per-fold differences.
    """
    rng = np.random.default_rng([seed, 11])
    out = {}
    for task in tasks:
        risk = _row_risk(other, stl, task, seed, n)
        out[task] = (
            risk if risk is not None else _bootstrap_below_zero(paired_task_differences(other, stl, task), rng, n)
        )
    return out


def probability_best(
    results: Mapping[str, Sequence[FoldResult]], *, seed: int = 0, n: int = N_BOOTSTRAP
) -> dict[str, float]:
    """P(each candidate has the highest mean goal score), bootstrapping folds scored by every candidate."""
    names = [name for name, folds in results.items() if folds]
    if not names:
        return {name: 0.0 for name in results}
    shared = set.intersection(*({f.key for f in results[name] if math.isfinite(f.aggregate)} for name in names))
    keys = sorted(shared)
    if not keys:
        # No common folds: fall back on means (one "resample").
        means = {name: float(np.nanmean([f.aggregate for f in results[name]])) for name in names}
        best = max(means, key=lambda k: means[k])
        return {name: float(name == best) for name in results}
    table = np.array([[next(f.aggregate for f in results[name] if f.key == key) for key in keys] for name in names])
    rng = np.random.default_rng([seed, 13])
    idx = rng.integers(0, len(keys), size=(n, len(keys)))
    means = table[:, idx].mean(axis=2)  # (candidates, resamples)
    winners = means.argmax(axis=0)
    counts = np.bincount(winners, minlength=len(names))
    out = {name: float(counts[i] / n) for i, name in enumerate(names)}
    return {name: out.get(name, 0.0) for name in results}
