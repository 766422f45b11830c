"""Scoring a fold: per-task metrics and the goal's aggregate (DESIGN.md §3).

* ``all_tasks``: the mean of per-task scores. Two guards keep one task from dominating: R²
  below -1 counts as -1 (a model worse than predicting the mean by more than the target's own
  variance is "useless" either way), and near-constant regression tasks are left out of the
  mean (they still get their own score).
* ``target_task``: the target task's score (R² floored at -1 as above, so the point score and
  its bootstrap interval, whose replicates are floored, agree).
* ``new_tasks``: regression with R² is pooled over every query row of the fold,
  ``1 - ΣSSE / ΣSST`` (SST about each task's own mean), so tasks whose target barely varies
  cannot blow the mean up; other metrics average over episodes. Equivalently, the aggregate
  is the weighted mean of the held-out tasks' scores (weights: their SST, or episode counts).

Non-finite predictions are an error (:class:`NonFinitePredictionError`), never a ``nan`` score:
a ``nan`` task drops out of the mean, so a model that diverged on the hardest task would score
*higher* than one that merely did badly on it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from probes.protocol._bootstrap import TaskPredictions
from probes.protocol._metrics import METRICS, pooled_r2_parts

if TYPE_CHECKING:
    from probes.data._taskset import TaskSet
    from probes.protocol._splits import Fold, MetaFold

__all__ = [
    "R2_FLOOR",
    "FoldResult",
    "NonFinitePredictionError",
    "aggregate_task_scores",
    "check_finite",
    "score_fold",
    "score_meta_fold",
]

#: Per-task R² below this counts as this value in means.
R2_FLOOR = -1.0


class NonFinitePredictionError(ValueError):
    """A model predicted ``nan`` or ``inf`` (training diverged): the variant failed on that fold."""


def check_finite(task: str, pred: np.ndarray) -> np.ndarray:
    """``pred`` as an array, or :class:`NonFinitePredictionError` naming ``task`` if any value is not finite."""
    pred = np.asarray(pred)
    if pred.dtype.kind in "fc" and not np.isfinite(pred).all():
        bad = int(pred.size - np.isfinite(pred).sum())
        raise NonFinitePredictionError(
            f"non-finite predictions for task '{task}' ({bad} of {pred.size} values; training diverged)"
        )
    return pred


@dataclass(frozen=True, eq=False)
class FoldResult:
    """Scores of one paradigm on one fold: per task, and the goal's aggregate.

    ``n_train`` and ``n_test`` (rows, or tasks under ``new_tasks``) feed the variance
    correction of the paired test. ``task_weights`` is set under ``new_tasks``: each held-out
    task's weight in the aggregate (its query SST for pooled R², its episode count otherwise),
    so the aggregate is the weighted mean of ``task_scores`` and the paired test can use the
    held-out tasks as its units.
    """

    repeat: int
    index: int
    task_scores: dict[str, float]
    aggregate: float
    n_train: int
    n_test: int
    task_weights: dict[str, float] | None = None
    predictions: dict[str, TaskPredictions] | None = None
    """Out-of-fold labels and predictions per task (row folds), for the paired bootstrap."""
    valid_aggregate: float | None = None
    """The same model's goal score on the fold's validation part (rows, or validation tasks'
    episodes): what chooses among search trials and among a paradigm's variants, so test
    scores never choose anything. ``None`` when not measured."""

    @property
    def key(self) -> tuple[int, int]:
        return (self.repeat, self.index)


def aggregate_task_scores(taskset: TaskSet, task_scores: Mapping[str, float]) -> float:
    """The goal's aggregate of per-task scores (``all_tasks`` / ``target_task``)."""
    if taskset.target_index is not None:
        target = taskset.tasks[taskset.target_index]
        score = float(task_scores.get(target.name, np.nan))
        return max(score, R2_FLOOR) if target.metric == "r2" and not np.isnan(score) else score
    values = []
    fallback = []
    for task in taskset.tasks:
        score = task_scores.get(task.name, np.nan)
        if np.isnan(score):
            continue
        if task.metric == "r2":
            score = max(score, R2_FLOOR)
        (fallback if task.near_constant else values).append(score)
    chosen = values or fallback
    return float(np.mean(chosen)) if chosen else float("nan")


def score_fold(taskset: TaskSet, fold: Fold, predictions: Mapping[int, np.ndarray]) -> FoldResult:
    """Score row-fold predictions: ``predictions[t]`` is aligned with ``fold.splits[t].test``.

    Tasks without predictions (sources under ``target_task``) are skipped.
    """
    scores: dict[str, float] = {}
    kept: dict[str, TaskPredictions] = {}
    n_train = n_test = 0
    for t, task in enumerate(taskset.tasks):
        split = fold.splits[t]
        if t not in predictions or len(split.test) == 0:
            continue
        y, pred = task.y[split.test], check_finite(task.name, predictions[t])
        scores[task.name] = METRICS[task.metric](y, pred)
        kept[task.name] = TaskPredictions(
            y, pred, task.metric, task.near_constant, key=(fold.repeat, fold.index, task.name), rows=split.test
        )
        n_train += len(split.train) + len(split.valid)
        n_test += len(split.test)
    return FoldResult(
        fold.repeat, fold.index, scores, aggregate_task_scores(taskset, scores), n_train, n_test, predictions=kept
    )


def score_meta_fold(taskset: TaskSet, fold: MetaFold, predictions: Sequence[np.ndarray]) -> FoldResult:
    """Score few-shot predictions: ``predictions[e]`` is aligned with ``fold.test_episodes[e].query``."""
    if len(predictions) != len(fold.test_episodes):
        raise ValueError(f"expected {len(fold.test_episodes)} episode predictions, got {len(predictions)}")
    # Per held-out task: pooled over its episodes (SSE, SST) for R², else the episode scores.
    parts: dict[str, list[tuple[float, float]]] = {}
    scores: dict[str, list[float]] = {}
    for episode, pred in zip(fold.test_episodes, predictions, strict=True):
        task = taskset.tasks[episode.task]
        y, pred = task.y[episode.query], check_finite(task.name, pred)
        if task.metric == "r2":
            parts.setdefault(task.name, []).append(pooled_r2_parts(y, pred))
        else:
            scores.setdefault(task.name, []).append(METRICS[task.metric](y, pred))
    task_scores: dict[str, float] = {}
    weights: dict[str, float] = {}
    for name, pairs in parts.items():
        sse, sst = (float(sum(x)) for x in zip(*pairs, strict=True))
        task_scores[name] = 1.0 - sse / sst if sst > 0 else float("nan")
        weights[name] = sst
    for name, values in scores.items():
        finite = [v for v in values if not np.isnan(v)]
        task_scores[name] = float(np.mean(finite)) if finite else float("nan")
        weights[name] = float(len(finite))
    usable = {n: w for n, w in weights.items() if w > 0 and not np.isnan(task_scores[n])}
    total = sum(usable.values())
    # Pooled R² over every query row equals the SST-weighted mean of the tasks' R².
    aggregate = sum(task_scores[n] * w for n, w in usable.items()) / total if total > 0 else float("nan")
    return FoldResult(
        fold.repeat,
        fold.index,
        task_scores,
        float(aggregate),
        n_train=len(fold.train_tasks) + len(fold.valid_tasks),
        n_test=len(fold.test_tasks),
        task_weights=weights,
    )
