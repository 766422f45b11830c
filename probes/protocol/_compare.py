"""Paired comparison of paradigms and the co-winner rule (DESIGN.md §3).

The test: **corrected resampled t-test** of Nadeau & Bengio (2003), "Inference for the
generalization error", Machine Learning 52. Paradigms are compared on the same folds, so the
unit is the per-fold difference of goal scores ``d_j`` (j over folds × repeats, J of them).
Fold scores share training data, which makes the plain paired t-test over-confident; the
correction inflates the variance of the mean difference to ``(1/J + n_test/n_train) · s²``.
The interval is ``mean(d) ± t_{J-1, 1-α/2} · sqrt(that)``; the difference is significant when
the interval excludes zero (two-sided, α = 0.05 by default).

Co-winners: the best paradigm by mean score, plus every paradigm whose difference to it is not
significant. Among co-winners the simplest wins: stl < transfer < mtl < meta in deployment
complexity.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from probes.protocol._scores import FoldResult

__all__ = ["COMPLEXITY", "Comparison", "Decision", "co_winners", "compare", "score_interval"]

#: Deployment complexity: lower is simpler. Variants ("mtl/pcgrad") take their paradigm's rank.
COMPLEXITY: dict[str, int] = {"stl": 0, "transfer": 1, "mtl": 2, "meta": 3}

TEST_NAME = "corrected resampled t-test (Nadeau & Bengio 2003)"


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

    @property
    def significant(self) -> bool:
        """Whether the interval excludes zero."""
        return bool(self.ci_low > 0 or self.ci_high < 0)


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
    diffs, ratio = _paired(a, b)
    mean, low, high, p = _corrected_interval(diffs, ratio, alpha)
    return Comparison(mean, low, high, p, len(diffs), alpha)


def score_interval(results: Sequence[FoldResult], *, alpha: float = 0.05) -> tuple[float, float, float]:
    """Mean goal score over folds and its (1 - alpha) interval, with the same correction."""
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


def co_winners(results: Mapping[str, Sequence[FoldResult]], *, alpha: float = 0.05) -> Decision:
    """Apply the co-winner rule to paradigms' fold results (keys are paradigm or variant ids)."""
    means = {
        name: float(np.nanmean([r.aggregate for r in folds])) if folds else float("nan")
        for name, folds in results.items()
    }
    scored = {n: m for n, m in means.items() if not math.isnan(m)}
    if not scored:
        raise ValueError("no candidate has a finite score")
    best = max(scored, key=lambda n: (scored[n], -complexity(n)))
    comparisons = {name: compare(results[best], results[name], alpha=alpha) for name in scored if name != best}
    tied = [best] + [name for name, c in comparisons.items() if not c.significant]
    tied.sort(key=lambda n: (complexity(n), -scored[n]))
    return Decision(best=best, winner=tied[0], co_winners=tuple(tied), means=means, comparisons=comparisons)
