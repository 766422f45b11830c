"""Learning curves: probe scores at several training-set fractions, fitted and extrapolated.

A variant runs under the evaluation protocol with every task's *training* rows subsampled to
a fraction (validation and test rows unchanged, so every point is scored on the same rows).
The scores are fitted with the inverse power law ``score(n) = a - b·n^(-c)`` that learning
curves of most learners follow (Cortes et al. 1994, "Learning curves: asymptotic values and
rate of convergence"; Hestness et al. 2017, "Deep learning scaling is predictable,
empirically"), and the fit is extrapolated to the full training size — and to the full
dataset when the probe itself ran on a subsample. DESIGN.md §6 uses this to correct the
probe's small-budget bias: sharing tends to look better on little data than on all of it.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from probes.budget import Budget, BudgetPreset, budget_preset
from probes.data import TaskSet
from probes.paradigms._base import Variant
from probes.paradigms._data import FoldData, MetaFoldData, TaskView
from probes.paradigms._registry import get_variant
from probes.paradigms._run import run_variant
from probes.protocol import FoldResult, score_interval
from probes.seeds import fold_seed
from probes.signals._base import jsonable

__all__ = [
    "CURVE_FRACTIONS",
    "LearningCurvePoint",
    "LearningCurveSignal",
    "curve_fold",
    "curve_from_folds",
    "extrapolate",
    "fit_power_law",
    "learning_curve",
    "metric_ceiling",
    "subsample_training",
    "trust_fit",
]

PowerLaw = tuple[float, float, float]
#: Bounds of the exponent ``c``: slower than n^-0.01 is flat, faster than n^-3 is not a learning curve.
_C_BOUNDS = (1e-2, 3.0)
#: The asymptote may lie at most this many score ranges above the best point.
_A_SPREADS = 4.0
#: Best values of the metrics whose best is not 1 (negated errors).
_CEILINGS = {"rmse": 0.0, "mae": 0.0, "log_loss": 0.0}
#: The fractions of training rows a probe run's learning curves measure.
CURVE_FRACTIONS: tuple[float, ...] = (0.25, 0.5, 1.0)


def fit_power_law(
    n: Sequence[float] | np.ndarray, scores: Sequence[float] | np.ndarray, *, ceiling: float | None = None
) -> PowerLaw | None:
    """Fit ``score(n) = a - b·n^(-c)`` with ``b >= 0`` and ``0.01 <= c <= 3``; ``None`` when it cannot.

    Needs at least three finite points at three distinct positive ``n``. The fit runs on
    ``n / max(n)`` (so the parameters are of similar size) and is converted back. The asymptote
    ``a`` is bounded to ``[min(scores), max(scores) + 4·spread]`` (``spread`` the range of the
    scores, at least 0.01) and by ``ceiling``, the metric's best possible value (1 for R² and
    ROC-AUC): three noisy points otherwise admit a nearly flat exponent with an asymptote far
    above anything observed (``a = 40, c = 0.01``), whose extrapolation is meaningless.

    Examples
    --------
    >>> n = np.array([100, 200, 400, 800])
    >>> a, b, c = fit_power_law(n, 0.9 - 2.0 * n**-0.5)
    >>> round(a, 3), round(b, 3), round(c, 3)
    (0.9, 2.0, 0.5)
    """
    from scipy.optimize import OptimizeWarning, curve_fit

    n = np.asarray(n, dtype=float)
    s = np.asarray(scores, dtype=float)
    if n.shape != s.shape or n.ndim != 1:
        raise ValueError(f"n and scores must be 1-d and of one length; got {n.shape} and {s.shape}")
    ok = np.isfinite(n) & np.isfinite(s) & (n > 0)
    n, s = n[ok], s[ok]
    if len(np.unique(n)) < 3:
        return None
    scale = float(n.max())
    u = n / scale

    def law(x: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
        return a - b * x ** (-c)

    spread = max(float(s.max() - s.min()), 1e-2)
    a_low, a_high = float(s.min()), float(s.max()) + _A_SPREADS * spread
    if ceiling is not None:
        a_high = min(a_high, float(ceiling))
    if a_high <= a_low:
        return None
    low = int(np.argmin(u))
    a0 = float(np.clip(float(s.max()) + 0.1 * spread, a_low, a_high))
    p0 = (a0, max(a0 - float(s[low]), 1e-6), 0.5)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            params, _ = curve_fit(
                law,
                u,
                s,
                p0=p0,
                bounds=([a_low, 0.0, _C_BOUNDS[0]], [a_high, np.inf, _C_BOUNDS[1]]),
                maxfev=20000,
            )
    except (RuntimeError, ValueError):
        return None
    a, b_scaled, c = (float(v) for v in params)
    b = b_scaled * scale**c
    if not all(math.isfinite(v) for v in (a, b, c)):
        return None
    return a, b, c


def metric_ceiling(taskset: TaskSet) -> float:
    """The best value the goal's metric can take (1 for R², ROC-AUC, accuracy, F1; 0 for negated errors)."""
    return max(_CEILINGS.get(str(t.metric), 1.0) for t in taskset.tasks) if taskset.tasks else 1.0


def trust_fit(fit: PowerLaw | None, n: Sequence[float], scores: Sequence[float]) -> tuple[PowerLaw | None, str | None]:
    """``(fit, None)`` when the fit may be extrapolated, else ``(None, why)``.

    A fit is dropped when its asymptote sits on the upper bound of :func:`fit_power_law` (the
    points asked for more than the bound allows: no asymptote in sight) or when it misses a
    point by more than half the scores' range (the points do not follow a power law).
    """
    if fit is None:
        return None, None
    pts = [(float(x), float(y)) for x, y in zip(n, scores, strict=True) if math.isfinite(x) and math.isfinite(y)]
    ys = np.array([y for _, y in pts])
    spread = max(float(ys.max() - ys.min()), 1e-2)
    a = fit[0]
    if a >= float(ys.max()) + _A_SPREADS * spread - 1e-3 * spread:
        return None, f"power-law fit dropped: its asymptote ({a:.3f}) is at the bound, so no plateau is in sight"
    worst = max(abs(float(extrapolate(fit, x)) - y) for x, y in pts)
    if worst > 0.5 * spread:
        return None, f"power-law fit dropped: it misses a point by {worst:.3f} (the points are not a learning curve)"
    return fit, None


def extrapolate(fit: PowerLaw | None, n: float | np.ndarray) -> float | np.ndarray:
    """``a - b·n^(-c)`` at ``n`` (NaN without a fit)."""
    if fit is None:
        return np.full(np.shape(n), np.nan) if np.ndim(n) else float("nan")
    a, b, c = fit
    value = a - b * np.asarray(n, dtype=float) ** (-c)
    return float(value) if np.ndim(value) == 0 else value


# ------------------------------------------------------------------------------------- subsets


def _take(y: np.ndarray, k: int, classification: bool, rng: np.random.Generator) -> np.ndarray:
    """``k`` positions of ``y``, random; for classification every class keeps at least one row."""
    n = len(y)
    order = rng.permutation(n)
    if not classification:
        return np.sort(order[:k])
    codes = y.astype(int)[order]
    _, first = np.unique(codes, return_index=True)
    must = order[first]
    rest = order[~np.isin(order, must)]
    return np.sort(np.concatenate([must, rest[: max(0, k - len(must))]]))


def _subsample_view(view: TaskView, fraction: float, rng: np.random.Generator) -> TaskView:
    n = len(view.rows_train)
    k = min(n, max(_min_train_rows(view), round(fraction * n)))
    if k >= n:
        return view
    keep = _take(view.y_train, k, view.is_classification, rng)
    return replace(view, rows_train=view.rows_train[keep], y_train=view.y_train[keep])


def _min_train_rows(view: TaskView) -> int:
    classes = len(np.unique(view.y_train.astype(int))) if view.is_classification else 0
    return max(2, classes)


def subsample_training(data: FoldData | MetaFoldData, fraction: float, seed: int) -> FoldData | MetaFoldData:
    """``data`` with each task's training rows cut to ``fraction`` (validation and test rows kept).

    Under ``new_tasks`` only the meta-training tasks lose rows: the held-out tasks' rows are
    their episodes.
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    rng = np.random.default_rng(seed)
    if isinstance(data, MetaFoldData):
        train = set(data.train_tasks)
        views = tuple(_subsample_view(v, fraction, rng) if t in train else v for t, v in enumerate(data.tasks))
    else:
        views = tuple(_subsample_view(v, fraction, rng) for v in data.tasks)
    return replace(data, tasks=views)


def _training_size(data: FoldData | MetaFoldData) -> int:
    if isinstance(data, MetaFoldData):
        return int(sum(len(data.tasks[t].rows_train) for t in data.train_tasks))
    return int(sum(len(v.rows_train) for v in data.tasks))


# -------------------------------------------------------------------------------------- signal


@dataclass(frozen=True)
class LearningCurvePoint:
    """The variant's protocol score with training rows cut to ``fraction``."""

    fraction: float
    n_train: float
    """Training rows (labelled row-task cells) summed over tasks, mean over folds."""
    score: float
    ci_low: float
    ci_high: float
    folds: int
    seconds: float
    budget_exhausted: bool = False


@dataclass(frozen=True, eq=False)
class LearningCurveSignal:
    """Points of a learning curve, the power-law fit and its extrapolations."""

    variant: str
    points: tuple[LearningCurvePoint, ...]
    fit: PowerLaw | None
    n_train_full: float
    """Training rows of the probe's folds without subsampling."""
    predicted_at_train_full: float
    full_size: float | None = None
    """Labelled rows of the full dataset, when given."""
    n_train_full_data: float | None = None
    """Training rows the full dataset would give under the same protocol."""
    predicted_at_full_data: float | None = None
    seconds: float = 0.0
    budget_exhausted: bool = False
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (NaN as ``None``)."""
        return {
            "variant": self.variant,
            "points": [
                {
                    "fraction": p.fraction,
                    "n_train": jsonable(p.n_train),
                    "score": jsonable(p.score),
                    "ci_low": jsonable(p.ci_low),
                    "ci_high": jsonable(p.ci_high),
                    "folds": p.folds,
                    "seconds": round(p.seconds, 3),
                    "budget_exhausted": p.budget_exhausted,
                }
                for p in self.points
            ],
            "fit": None if self.fit is None else dict(zip(("a", "b", "c"), jsonable(list(self.fit)), strict=True)),
            "n_train_full": jsonable(self.n_train_full),
            "predicted_at_train_full": jsonable(self.predicted_at_train_full),
            "full_size": jsonable(self.full_size),
            "n_train_full_data": jsonable(self.n_train_full_data),
            "predicted_at_full_data": jsonable(self.predicted_at_full_data),
            "seconds": round(self.seconds, 3),
            "budget_exhausted": self.budget_exhausted,
            "notes": list(self.notes),
        }


def learning_curve(
    taskset: TaskSet,
    variant: Variant | str,
    prepared: Sequence[FoldData | MetaFoldData],
    fractions: Sequence[float] = CURVE_FRACTIONS,
    *,
    budget: Budget | None = None,
    seed: int = 0,
    params: dict[str, Any] | None = None,
    preset: BudgetPreset | str = "fast",
    full_size: float | None = None,
    anchor: float | None = None,
    threads: int | None = 1,
    device: str | None = None,
) -> LearningCurveSignal:
    """Score ``variant`` at several training fractions under the protocol and fit a power law.

    Fractions run from the smallest up, each with an equal share of the time left under a
    time limit (small fractions are cheap, so a tight limit still yields the first points); a
    fraction not reached is a NaN point. No hyper-parameter search runs (``params`` or the
    variant's defaults are used), so the points differ only in data.

    Parameters
    ----------
    prepared:
        Folds from :func:`probes.paradigms.prepare_folds` (preprocessing stays fitted on the
        full training rows of each fold, which only the inputs' scaling sees).
    fractions:
        At least three values in (0, 1].
    full_size:
        Labelled rows of the full dataset when the probe ran on a subsample, counted as
        ``sum(task.n_rows for task in full_taskset.tasks)``; the fit is also extrapolated to
        the training rows that size gives under the probe's protocol (same training share).
    anchor:
        The variant's probe score over all folds, when the curve ran on fewer: the
        extrapolations keep the curve's predicted *gain* but start from this score (see
        :func:`curve_from_folds`).

    Examples
    --------
    >>> curve = learning_curve(ts, "mtl/hard", prepare_folds(ts, "fast"))  # doctest: +SKIP
    >>> [round(p.score, 2) for p in curve.points], round(curve.predicted_at_train_full, 2)  # doctest: +SKIP
    ([0.41, 0.55, 0.62], 0.62)
    """
    chosen = _fractions(fractions)
    if not prepared:
        raise ValueError("no prepared folds: pass probes.paradigms.prepare_folds(taskset, preset)")
    variant = get_variant(variant) if isinstance(variant, str) else variant
    preset = budget_preset(preset)
    budget = budget or Budget(preset.seconds)
    started = time.perf_counter()
    per_fraction: dict[float, tuple[list[FoldResult], float, bool]] = {}
    for k, fraction in enumerate(chosen):
        if budget.exhausted():
            per_fraction[fraction] = ([], 0.0, True)
            continue
        folds = [curve_fold(d, fraction, seed, i) for i, d in enumerate(prepared)]
        share = budget.sub(1.0 / (len(chosen) - k))
        result = run_variant(
            taskset, variant, folds, budget=share, seed=seed, params=params, preset=preset, n_trials=0,
            threads=threads, device=device,
        )  # fmt: skip
        if result.skipped:
            raise ValueError(f"{variant.id} cannot run on this dataset: {result.skipped}")
        per_fraction[fraction] = (list(result.folds), result.seconds, result.budget_exhausted)
    signal = curve_from_folds(
        taskset, variant.id, prepared, per_fraction, seed=seed, full_size=full_size, anchor=anchor
    )
    return replace(signal, seconds=time.perf_counter() - started)


def _fractions(fractions: Sequence[float]) -> list[float]:
    chosen = sorted({float(f) for f in fractions})
    if len(chosen) < 3:
        raise ValueError(f"a learning curve needs at least 3 distinct fractions, got {list(fractions)}")
    if not all(0.0 < f <= 1.0 for f in chosen):
        raise ValueError(f"fractions must be in (0, 1], got {list(fractions)}")
    return chosen


def curve_fold(data: FoldData | MetaFoldData, fraction: float, seed: int, index: int = 0) -> FoldData | MetaFoldData:
    """Fold ``index`` of a learning curve at ``fraction``: its training rows cut as :func:`learning_curve` cuts them.

    At fraction 1 it holds exactly the fold's rows, so that point is the probe's own fold.
    """
    return subsample_training(data, fraction, fold_seed(seed, index))


def curve_from_folds(
    taskset: TaskSet,
    variant: str,
    prepared: Sequence[FoldData | MetaFoldData],
    per_fraction: Mapping[float, tuple[Sequence[FoldResult] | FoldResult | None, float, bool]],
    *,
    seed: int = 0,
    full_size: float | None = None,
    anchor: float | None = None,
) -> LearningCurveSignal:
    """A :class:`LearningCurveSignal` from the scored folds of each fraction.

    ``per_fraction`` maps a fraction to ``(fold results, seconds, cut by the time limit)``
    (one fold result, or ``None`` for none, is accepted too). The points' training sizes are
    those of :func:`curve_fold` on ``prepared``. The power law is fitted within bounds
    (:func:`fit_power_law`) and dropped, with a note, when it cannot be trusted
    (:func:`trust_fit`). With ``anchor`` — the variant's probe score over all folds when the
    curve measured fewer — the extrapolations are the anchor plus the fit's gain from the
    probe's training size, so a curve never contradicts the probe it extends.
    """
    chosen = _fractions(list(per_fraction))
    n_full = float(np.mean([_training_size(d) for d in prepared]))
    points: list[LearningCurvePoint] = []
    notes: list[str] = []
    exhausted = False
    for fraction in chosen:
        found, seconds, cut = per_fraction[fraction]
        folds = [] if found is None else [found] if isinstance(found, FoldResult) else list(found)
        exhausted = exhausted or cut
        if not folds:
            nan = float("nan")
            points.append(
                LearningCurvePoint(fraction, nan, nan, nan, nan, folds=0, seconds=seconds, budget_exhausted=cut)
            )
            continue
        n_train = float(np.mean([_training_size(curve_fold(d, fraction, seed, i)) for i, d in enumerate(prepared)]))
        score, low, high = score_interval(folds)
        points.append(
            LearningCurvePoint(
                fraction=fraction,
                n_train=n_train,
                score=score,
                ci_low=low,
                ci_high=high,
                folds=len(folds),
                seconds=seconds,
                budget_exhausted=cut,
            )
        )
    ns, scores = [p.n_train for p in points], [p.score for p in points]
    fit = fit_power_law(ns, scores, ceiling=metric_ceiling(taskset))
    if fit is None:
        notes.append("no power-law fit: fewer than three finite points, or the fit did not converge")
    fit, why = trust_fit(fit, ns, scores)
    if why:
        notes.append(why)
    if exhausted:
        notes.append("the time budget cut some fractions short")
    n_data = None
    if full_size is not None:
        probe_rows = float(sum(t.n_rows for t in taskset.tasks))
        n_data = float(full_size) * n_full / probe_rows if probe_rows else float("nan")
    at_full = float(extrapolate(fit, n_full))
    at_data = None if n_data is None else float(extrapolate(fit, n_data))
    if anchor is not None and math.isfinite(anchor) and fit is not None:
        if at_data is not None:
            at_data = float(anchor) + at_data - at_full
        at_full = float(anchor)
        notes.append(
            f"extrapolations start from the probe's score over all folds ({anchor:.3f}); the points are "
            f"{'fold 0' if len(prepared) == 1 else f'{len(prepared)} folds'}, the fit gives the gain"
        )
    return LearningCurveSignal(
        variant=variant,
        points=tuple(points),
        fit=fit,
        n_train_full=n_full,
        predicted_at_train_full=at_full,
        full_size=None if full_size is None else float(full_size),
        n_train_full_data=n_data,
        predicted_at_full_data=at_data,
        seconds=float(sum(p.seconds for p in points)),
        budget_exhausted=exhausted,
        notes=notes,
    )
