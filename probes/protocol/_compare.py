"""Paired comparison of paradigms and the co-winner rule (DESIGN.md §3).

The test: **corrected resampled t-test** of Nadeau & Bengio (2003), "Inference for the
generalization error", Machine Learning 52. Paradigms are compared on the same folds, so the
unit is the per-fold difference of goal scores ``d_j`` (j over folds × repeats, J of them).
Fold scores share training data, which makes the plain paired t-test over-confident; the
correction inflates the variance of the mean difference to ``(1/J + n_test/n_train) · s²``.
The interval is ``mean(d) ± t_{J-1, 1-α/2} · sqrt(that)``; the difference is significant when
the interval excludes zero (two-sided, α = 0.05 by default).

Under ``new_tasks`` the units are the held-out tasks instead: new tasks arrive from a
population, and every held-out task is scored by models that never saw it. The pooled score is
the weighted mean of the tasks' scores (weights: their query SST for R²), so the test is a
weighted paired t-test over held-out tasks — far more units than folds.

Row folds (``all_tasks``, ``target_task``) keep their out-of-fold predictions, and paradigms
are compared with a **paired bootstrap over test rows** (see :mod:`probes.protocol._bootstrap`):
resample every (fold, task) cell's test rows, recompute the exact goal score for both
paradigms on the same rows, and read the interval off the 1,000 replicated differences. The
fold-level t-test below is used only when predictions were not kept.

Co-winners: the best paradigm by mean score, plus every paradigm whose difference to it is not
significant. Among co-winners the simplest wins (stl < transfer < mtl < meta in deployment
complexity), unless a simpler paradigm scores higher on average than that co-winner.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from probes.protocol._bootstrap import bootstrap_aggregates
from probes.protocol._scores import FoldResult

__all__ = [
    "COMPLEXITY",
    "Comparison",
    "Decision",
    "best_by_validation",
    "co_winners",
    "compare",
    "on_shared_folds",
    "score_interval",
]

#: Deployment complexity: lower is simpler. Variants ("mtl/pcgrad") take their paradigm's rank.
COMPLEXITY: dict[str, int] = {"stl": 0, "transfer": 1, "mtl": 2, "meta": 3}

TEST_NAME = "corrected resampled t-test (Nadeau & Bengio 2003)"
TASK_TEST_NAME = "paired t-test over held-out tasks, weighted as in the pooled score"
ROW_TEST_NAME = "paired bootstrap over test rows (1,000 replicates)"


@dataclass(frozen=True)
class Comparison:
    """``a - b`` on paired folds, with a (1 - alpha) interval."""

    mean_difference: float
    ci_low: float
    ci_high: float
    p_value: float
    n_pairs: int
    alpha: float
    test: str = TEST_NAME
    replicates: np.ndarray | None = field(default=None, repr=False, compare=False)
    """Centred bootstrap replicates of the difference (row folds), when that test was used."""

    def probability_above(self, threshold: float) -> float:
        """P(true difference > ``threshold``) under this comparison's sampling distribution."""
        if self.replicates is not None and len(self.replicates):
            return float(np.mean(self.replicates > threshold))
        if self.n_pairs < 2 or not math.isfinite(self.ci_high - self.ci_low):
            return 0.5
        df = self.n_pairs - 1
        se = (self.ci_high - self.ci_low) / 2 / float(stats.t.ppf(1 - self.alpha / 2, df=df))
        if se <= 0:
            return float(self.mean_difference > threshold)
        return float(stats.t.cdf((self.mean_difference - threshold) / se, df=df))

    @property
    def significant(self) -> bool:
        """Whether the interval excludes zero."""
        return bool(self.ci_low > 0 or self.ci_high < 0)


def _task_units(a: Sequence[FoldResult], b: Sequence[FoldResult]) -> tuple[np.ndarray, np.ndarray] | None:
    """Paired per-held-out-task differences and weights (``new_tasks``), or ``None`` for row folds."""
    if not a or not b or any(f.task_weights is None for f in (*a, *b)):
        return None
    by_key = {f.key: f for f in b}
    # One unit per held-out task: repeats of the split hold the same task out again, which is not a new
    # task; its repeats' differences are averaged with their weights (the pooled mean is unchanged).
    units: dict[str, list[tuple[float, float]]] = {}
    for fold in a:
        other = by_key.get(fold.key)
        if other is None:
            continue
        for task, weight in (fold.task_weights or {}).items():
            x, y = fold.task_scores.get(task, math.nan), other.task_scores.get(task, math.nan)
            if weight > 0 and math.isfinite(x) and math.isfinite(y):
                units.setdefault(task, []).append((x - y, weight))
    return _pool_repeats(units)


def _pool_repeats(units: dict[str, list[tuple[float, float]]]) -> tuple[np.ndarray, np.ndarray]:
    """Per task, the weighted mean of its (value, weight) pairs and their summed weight (one pair: as is)."""
    values = [d[0][0] if len(d) == 1 else sum(x * w for x, w in d) / sum(w for _, w in d) for d in units.values()]
    weights = [d[0][1] if len(d) == 1 else sum(w for _, w in d) for d in units.values()]
    return np.asarray(values, dtype=float), np.asarray(weights, dtype=float)


def _weighted_interval(values: np.ndarray, weights: np.ndarray, alpha: float) -> tuple[float, float, float, float]:
    """Weighted mean of independent units, its t interval and p-value against zero."""
    n = len(values)
    if n < 2 or weights.sum() <= 0:
        mean = float(np.average(values, weights=weights)) if n else float("nan")
        return mean, -math.inf, math.inf, 1.0
    w = weights / weights.sum()
    mean = float(np.sum(w * values))
    se = math.sqrt(float(np.sum(w**2 * (values - mean) ** 2)) * n / (n - 1))
    if se == 0.0:
        return mean, mean, mean, 1.0 if mean == 0.0 else 0.0
    t_crit = float(stats.t.ppf(1 - alpha / 2, df=n - 1))
    p = float(2 * stats.t.sf(abs(mean / se), df=n - 1))
    return mean, mean - t_crit * se, mean + t_crit * se, p


def _row_bootstrap(a: Sequence[FoldResult], b: Sequence[FoldResult], alpha: float) -> Comparison | None:
    """The paired test-row bootstrap of ``a - b`` on the folds both scored with kept predictions."""
    by_key = {f.key: f for f in b if f.predictions}
    pairs = [(f, by_key[f.key]) for f in a if f.predictions and f.key in by_key]
    if not pairs:
        return None
    ra, rb = bootstrap_aggregates([x.predictions for x, _ in pairs], [y.predictions for _, y in pairs])  # type: ignore[misc]
    assert rb is not None
    diffs = ra - rb
    diffs = diffs[np.isfinite(diffs)]
    observed = float(np.mean([x.aggregate - y.aggregate for x, y in pairs]))
    if not len(diffs) or not math.isfinite(observed):
        return Comparison(observed, -math.inf, math.inf, 1.0, 0, alpha, ROW_TEST_NAME)
    diffs = diffs - (np.mean(diffs) - observed)  # centred: resampled metrics are biased on small test sets
    low, high = (float(v) for v in np.quantile(diffs, [alpha / 2, 1 - alpha / 2]))
    p = float(min(1.0, 2 * min(np.mean(diffs <= 0), np.mean(diffs >= 0))))
    units = sum(len(cell.y) for x, _ in pairs for cell in (x.predictions or {}).values())
    return Comparison(observed, low, high, p, units, alpha, ROW_TEST_NAME, replicates=diffs)


def _paired(a: Sequence[FoldResult], b: Sequence[FoldResult]) -> tuple[np.ndarray, float]:
    by_key = {r.key: r for r in b if not math.isnan(r.aggregate)}
    diffs, ratios = [], []
    for r in a:
        other = by_key.get(r.key)
        if other is None or math.isnan(r.aggregate):
            continue
        diffs.append(r.aggregate - other.aggregate)
        if r.n_train > 0:
            ratios.append(r.n_test / r.n_train)
    return np.asarray(diffs, dtype=float), float(np.mean(ratios)) if ratios else 0.0


def _corrected_interval(values: np.ndarray, ratio: float, alpha: float) -> tuple[float, float, float, float]:
    """Mean, interval and p-value (against zero) of ``values`` under the corrected variance."""
    j = len(values)
    mean = float(np.mean(values)) if j else float("nan")
    if j < 2:
        return mean, -math.inf, math.inf, 1.0
    var = float(np.var(values, ddof=1))
    se = math.sqrt((1.0 / j + ratio) * var)
    if se == 0.0:
        p = 1.0 if mean == 0.0 else 0.0
        return mean, mean, mean, p
    t_crit = float(stats.t.ppf(1 - alpha / 2, df=j - 1))
    p = float(2 * stats.t.sf(abs(mean / se), df=j - 1))
    return mean, mean - t_crit * se, mean + t_crit * se, p


def compare(a: Sequence[FoldResult], b: Sequence[FoldResult], *, alpha: float = 0.05) -> Comparison:
    """Paired comparison of paradigm ``a`` against ``b`` over the folds both scored.

    Examples
    --------
    >>> c = compare(mtl_folds, stl_folds)  # doctest: +SKIP
    >>> c.mean_difference, c.significant  # doctest: +SKIP
    (0.031, True)
    """
    rows = _row_bootstrap(a, b, alpha)
    if rows is not None:
        return rows
    units = _task_units(a, b)
    if units is not None:
        diffs, weights = units
        mean, low, high, p = _weighted_interval(diffs, weights, alpha)
        return Comparison(mean, low, high, p, len(diffs), alpha, TASK_TEST_NAME)
    diffs, ratio = _paired(a, b)
    mean, low, high, p = _corrected_interval(diffs, ratio, alpha)
    return Comparison(mean, low, high, p, len(diffs), alpha)


def score_interval(results: Sequence[FoldResult], *, alpha: float = 0.05) -> tuple[float, float, float]:
    """Mean goal score over folds and its (1 - alpha) interval, with the same correction."""
    if results and all(r.predictions for r in results):
        replicates, _ = bootstrap_aggregates([r.predictions for r in results])  # type: ignore[misc]
        replicates = replicates[np.isfinite(replicates)]
        mean = float(np.mean([r.aggregate for r in results]))
        if len(replicates):
            replicates = replicates - (np.mean(replicates) - mean)  # centred on the observed score
            low, high = (float(v) for v in np.quantile(replicates, [alpha / 2, 1 - alpha / 2]))
            return mean, low, high
        return mean, -math.inf, math.inf
    if results and all(r.task_weights is not None for r in results):
        units: dict[str, list[tuple[float, float]]] = {}  # one unit per held-out task, as in _task_units
        for r in results:
            for t, w in (r.task_weights or {}).items():
                if w > 0 and math.isfinite(s := r.task_scores.get(t, math.nan)):
                    units.setdefault(t, []).append((s, w))
        if units:
            values, weights = _pool_repeats(units)
            mean, low, high, _ = _weighted_interval(values, weights, alpha)
            return mean, low, high
    values = np.asarray([r.aggregate for r in results if not math.isnan(r.aggregate)], dtype=float)
    ratios = [r.n_test / r.n_train for r in results if r.n_train > 0]
    mean, low, high, _ = _corrected_interval(values, float(np.mean(ratios)) if ratios else 0.0, alpha)
    return mean, low, high


def complexity(name: str) -> int:
    """Rank of a paradigm or variant id (``"mtl/pcgrad"`` -> rank of ``mtl``)."""
    return COMPLEXITY.get(name.split("/", 1)[0], len(COMPLEXITY))


@dataclass(frozen=True)
class Decision:
    """Outcome of the co-winner rule."""

    best: str
    winner: str
    co_winners: tuple[str, ...]
    means: dict[str, float]
    comparisons: dict[str, Comparison] = field(default_factory=dict)
    """``best - other`` for every other candidate."""
    shared_folds: int | None = None
    """When candidates finished different folds (a time limit cut some): the number of folds every
    candidate finished, which ``means`` are taken over; ``None`` when all finished the same folds."""


def on_shared_folds(results: Mapping[str, Sequence[FoldResult]]) -> tuple[dict[str, list[FoldResult]], int | None]:
    """Each candidate's folds cut to those every candidate with folds finished, and how many those are.

    A time limit can stop a variant after its first folds; its mean over those is not comparable
    with a mean over all of them (folds differ in difficulty), so means that rank candidates are
    taken over the common folds (``None`` as the count when nothing was cut, or nothing is common).
    """
    keyed = {name: {f.key for f in folds} for name, folds in results.items() if folds}
    if not keyed:
        return {name: list(folds) for name, folds in results.items()}, None
    common = set.intersection(*keyed.values())
    if not common or all(keys == common for keys in keyed.values()):
        return {name: list(folds) for name, folds in results.items()}, None
    return {name: [f for f in folds if f.key in common] for name, folds in results.items()}, len(common)


def best_by_validation(results: Mapping[str, Sequence[FoldResult]]) -> str | None:
    """The candidate with the highest mean *validation* score over the folds all candidates finished.

    How a paradigm's variants are compared (never on test scores, which would give a paradigm
    with more variants an edge). A candidate without a finite validation score on every shared
    fold ranks below those with one; among those, and when none has one, the first candidate
    (in the order given: the paradigm's default variant first) wins. ``None`` when no
    candidate finished a fold with a finite test score.
    """
    scored = {name: folds for name, folds in results.items() if folds and math.isfinite(score_interval(folds)[0])}
    if not scored:
        return None
    shared, _ = on_shared_folds(scored)

    def valid(name: str) -> float:
        values = [f.valid_aggregate for f in shared[name]]
        if not values or any(v is None or not math.isfinite(v) for v in values):
            return -math.inf
        return float(np.mean(values))

    order = list(scored)
    return max(order, key=lambda n: (valid(n), -order.index(n)))


def co_winners(results: Mapping[str, Sequence[FoldResult]], *, alpha: float = 0.05) -> Decision:
    """Apply the co-winner rule to paradigms' fold results (keys are paradigm or variant ids).

    The best candidate is the highest mean over the folds every candidate finished
    (:func:`on_shared_folds`); its co-winners are those the paired test does not find
    significantly worse than it.
    """
    shared, n_shared = on_shared_folds(results)
    means = {name: score_interval(folds)[0] if folds else float("nan") for name, folds in shared.items()}
    scored = {n: m for n, m in means.items() if not math.isnan(m)}
    if not scored:
        raise ValueError("no candidate has a finite score")
    best = max(scored, key=lambda n: (scored[n], -complexity(n)))
    comparisons = {name: compare(results[best], results[name], alpha=alpha) for name in scored if name != best}
    tied = [best] + [name for name, c in comparisons.items() if not (c.significant and c.mean_difference > 0)]
    tied.sort(key=lambda n: (complexity(n), -scored[n]))
    # The simplest co-winner wins, unless a simpler candidate outscores it on average (a
    # co-winner worse than simpler options is never the better choice).
    winner = next(n for n in tied if not any(complexity(o) < complexity(n) and scored[o] > scored[n] for o in scored))
    return Decision(
        best=best, winner=winner, co_winners=tuple(tied), means=means, comparisons=comparisons, shared_folds=n_shared
    )
