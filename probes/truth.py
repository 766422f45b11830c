"""The truth rule: several oracle runs, their mean scores and a practical-equivalence margin.

One oracle run names co-winners from its own folds and search, and another run often disagrees
when paradigms are close. The truth of a case therefore combines ``R`` runs (the oracle with
seeds ``0 .. R-1``: other folds, another search and other training seeds each time):

* a paradigm's score is its mean over every run and fold (its representative in each run is the
  variant that run chose on validation); only paradigms every run scored take part;
* the best is the highest mean (the simpler paradigm on an exact tie);
* a paradigm is a co-winner when its mean is within ``delta`` (0.005) of the best, or when a
  test that carries training noise does not find it worse (two-sided, ``alpha`` = 0.05):

  - ``test="runs"`` (the rule): a t-test over the ``R`` runs' mean differences (each run is an
    independent repetition of split, search and training; ``R - 1`` degrees of freedom). With
    one run there is nothing to spread over, and that run's own paired test decides (the
    protocol's bootstrap over test rows, or its test over held-out tasks);
  - ``test="run_folds"`` (the rule as first written): the corrected resampled t-test of Nadeau
    & Bengio (2003, "Inference for the generalization error") over every run × fold, variance
    ``(1/J + 1/(K-1)) s²`` for ``J = R·K`` repeated K-fold differences (Bouckaert & Frank 2004);

* the choice is the simplest co-winner (stl < transfer < mtl < meta).

docs/truth.md states the rule, why the test changed, and the criteria the rule has to meet.
The benchmark builds each case's truth with it, and ``advisor verify`` its verdict on a user's
data; ``benchmarks.oracle._truth`` measures the rule's own reproducibility.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from probes.protocol import complexity

__all__ = ["ALPHA", "DELTA", "RULE", "RUNS_PER_REAL_CASE", "TESTS", "Truth", "fold_scores", "truth"]

#: Practical-equivalence margin on the goal's score (R², AUC): gaps this small are not acted on.
DELTA = 0.005
#: Level of the two-sided test.
ALPHA = 0.05
#: Oracle runs behind the truth of each of the suite's real cases (generated cases: one or more).
RUNS_PER_REAL_CASE = 5
#: The tests a co-winner may pass instead of the margin: the rule's, and the rule as first written.
TESTS = ("runs", "run_folds")
RULE = (
    "mean goal score over R oracle runs x K folds; co-winners: within delta of the best mean, or not "
    "significantly worse by a t-test over the R runs' mean differences (alpha 0.05; one run: its own "
    "paired test); the simplest co-winner is the choice"
)


@dataclass(frozen=True)
class Truth:
    """What ``runs`` oracle runs say about one case."""

    runs: int
    scores: dict[str, float]
    """Each paradigm's mean score over every run and fold."""
    best: str
    co_winners: tuple[str, ...]
    """Simplest first."""
    gaps: dict[str, dict[str, float]]
    """For every other paradigm: ``mean`` gap to the best, its interval ``low``/``high`` and ``p``."""

    @property
    def choice(self) -> str:
        return self.co_winners[0]


def fold_scores(result: dict[str, Any]) -> dict[str, list[float]]:
    """Per paradigm, the fold scores of the variant one oracle run chose to represent it."""
    variants = {v["variant"]: v for v in result.get("variants", [])}
    out = {}
    for p, entry in result.get("paradigms", {}).items():
        scores = variants.get(entry.get("variant"), {}).get("fold_scores") or []
        if entry.get("score") is not None and scores and all(s is not None for s in scores):
            out[p] = [float(s) for s in scores]
    return out


def _gap_test(values: np.ndarray, inflation: float, alpha: float) -> tuple[float, float, float, float]:
    """Mean of the paired differences ``values``, its two-sided interval and p-value.

    The variance of the mean is ``(1/J + inflation) s²``: ``inflation`` 0 for independent units
    (the runs' mean differences), ``1/(K-1)`` for the corrected resampled t-test over run-folds.
    """
    j = len(values)
    mean = float(np.mean(values))
    if j < 2:
        return mean, -math.inf, math.inf, 1.0
    var = float(np.var(values, ddof=1))
    se = math.sqrt((1.0 / j + inflation) * var)
    if se == 0.0:
        return mean, mean, mean, (1.0 if mean == 0.0 else 0.0)
    t_crit = float(stats.t.ppf(1 - alpha / 2, df=j - 1))
    p = float(2 * stats.t.sf(abs(mean / se), df=j - 1))
    return mean, mean - t_crit * se, mean + t_crit * se, p


def _one_run(result: dict[str, Any], common: set[str], delta: float) -> Truth:
    """One run: its own scores, its best and its own paired test decide (plus the margin)."""
    scores = {p: float(result["paradigms"][p]["score"]) for p in common}
    best = max(sorted(scores, key=complexity), key=lambda p: (scores[p], -complexity(p)))
    named = set(result.get("co_winners") or ())
    gaps, tied = {}, [best]
    for p in sorted(common - {best}, key=complexity):
        gap = result["paradigms"][p].get("gap_to_best") if result.get("best") == best else None
        significant = bool(gap["significant"]) if gap else p not in named
        low = -math.inf if not gap or gap.get("ci_low") is None else float(gap["ci_low"])
        high = math.inf if not gap or gap.get("ci_high") is None else float(gap["ci_high"])
        gaps[p] = {"mean": scores[best] - scores[p], "low": low, "high": high, "p": 0.0 if significant else 1.0}
        if scores[best] - scores[p] <= delta or not significant:
            tied.append(p)
    return Truth(runs=1, scores=scores, best=best, co_winners=tuple(sorted(tied, key=complexity)), gaps=gaps)


def truth(
    results: Sequence[dict[str, Any]], *, delta: float = DELTA, alpha: float = ALPHA, test: str = "runs"
) -> Truth:
    """The truth rule applied to one case's oracle runs (cached result dicts, any number ≥ 1).

    A paradigm takes part when every run scored it on all of that run's folds (a variant that
    failed on a fold has no scores at all, so this only matters for runs cut short).
    """
    if not results:
        raise ValueError("the truth needs at least one oracle run")
    if test not in TESTS:
        raise ValueError(f"unknown test {test!r}; choose one of {', '.join(TESTS)}")
    per_run = [fold_scores(r) for r in results]
    full = [max((len(v) for v in s.values()), default=0) for s in per_run]
    common = set.intersection(*({p for p, v in s.items() if len(v) == k} for s, k in zip(per_run, full, strict=True)))
    if not common:
        raise ValueError("no paradigm was scored by every oracle run")
    if test == "runs" and len(results) == 1:
        return _one_run(results[0], common, delta)
    runs = [{p: np.asarray(s[p], dtype=float) for p in common} for s in per_run]
    scores = {p: float(np.mean(np.concatenate([r[p] for r in runs]))) for p in common}
    best = max(sorted(scores, key=complexity), key=lambda p: (scores[p], -complexity(p)))
    gaps, tied = {}, [best]
    for p in sorted(common - {best}, key=complexity):
        diffs = [r[best] - r[p] for r in runs]
        if test == "runs":
            values, inflation = np.asarray([float(np.mean(d)) for d in diffs]), 0.0
        else:
            values, inflation = np.concatenate(diffs), 1.0 / max(float(np.mean(full)) - 1.0, 1.0)
        mean, low, high, pval = _gap_test(values, inflation, alpha)
        mean = scores[best] - scores[p]  # the gap of the means (the same unless runs have unequal folds)
        gaps[p] = {"mean": mean, "low": low, "high": high, "p": pval}
        if mean <= delta or not low > 0:
            tied.append(p)
    return Truth(
        runs=len(results),
        scores=scores,
        best=best,
        co_winners=tuple(sorted(tied, key=complexity)),
        gaps=gaps,
    )
