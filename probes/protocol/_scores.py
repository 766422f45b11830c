"""Scoring a fold: per-task metrics and the goal's aggregate (DESIGN.md §3).

* ``all_tasks``: the mean of per-task scores. Two guards keep one task from dominating: R²
  below -1 counts as -1 (a model worse than predicting the mean by more than the target's own
  variance is "useless" either way), and near-constant regression tasks are left out of the
  mean (they still get their own score).
* ``target_task``: the target task's score.
* ``new_tasks``: regression with R² is pooled over every query row of the fold,
  ``1 - ΣSSE / ΣSST`` (SST about each task's own mean), so tasks whose target barely varies
  cannot blow the mean up; other metrics average over episodes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from probes.protocol._metrics import METRICS, pooled_r2_parts

if TYPE_CHECKING:
    from probes.data._taskset import TaskSet
    from probes.protocol._splits import Fold, MetaFold

__all__ = ["R2_FLOOR", "FoldResult", "aggregate_task_scores", "score_fold", "score_meta_fold"]

#: Per-task R² below this counts as this value in means.
R2_FLOOR = -1.0


@dataclass(frozen=True)
class FoldResult:
    """Scores of one paradigm on one fold: per task, and the goal's aggregate.

    ``n_train`` and ``n_test`` (rows, or tasks under ``new_tasks``) feed the variance
    correction of the paired test.
    """

    repeat: int
    index: int
    task_scores: dict[str, float]
    aggregate: float
    n_train: int
    n_test: int

    @property
    def key(self) -> tuple[int, int]:
        return (self.repeat, self.index)


def aggregate_task_scores(taskset: TaskSet, task_scores: Mapping[str, float]) -> float:
    """The goal's aggregate of per-task scores (``all_tasks`` / ``target_task``)."""
    if taskset.target_index is not None:
        return float(task_scores.get(taskset.tasks[taskset.target_index].name, np.nan))
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
    n_train = n_test = 0
    for t, task in enumerate(taskset.tasks):
        split = fold.splits[t]
        if t not in predictions or len(split.test) == 0:
            continue
        scores[task.name] = METRICS[task.metric](task.y[split.test], predictions[t])
        n_train += len(split.train) + len(split.valid)
        n_test += len(split.test)
    return FoldResult(fold.repeat, fold.index, scores, aggregate_task_scores(taskset, scores), n_train, n_test)


def score_meta_fold(taskset: TaskSet, fold: MetaFold, predictions: Sequence[np.ndarray]) -> FoldResult:
    """Score few-shot predictions: ``predictions[e]`` is aligned with ``fold.test_episodes[e].query``."""
    if len(predictions) != len(fold.test_episodes):
        raise ValueError(f"expected {len(fold.test_episodes)} episode predictions, got {len(predictions)}")
    per_task: dict[str, list[float]] = {}
    sse = sst = 0.0
    pooled = True
    for episode, pred in zip(fold.test_episodes, predictions, strict=True):
        task = taskset.tasks[episode.task]
        y = task.y[episode.query]
        per_task.setdefault(task.name, []).append(METRICS[task.metric](y, pred))
        if task.metric == "r2":
            e, s = pooled_r2_parts(y, pred)
            sse, sst = sse + e, sst + s
        else:
            pooled = False
    task_scores = {
        name: float(np.nanmean(v)) if not np.all(np.isnan(v)) else float("nan") for name, v in per_task.items()
    }
    if pooled and sst > 0:
        aggregate = 1.0 - sse / sst
    else:
        episode_scores = [s for v in per_task.values() for s in v if not np.isnan(s)]
        aggregate = float(np.mean(episode_scores)) if episode_scores else float("nan")
    return FoldResult(
        fold.repeat,
        fold.index,
        task_scores,
        float(aggregate),
        n_train=len(fold.train_tasks) + len(fold.valid_tasks),
        n_test=len(fold.test_tasks),
    )
