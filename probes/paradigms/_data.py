"""A fold turned into arrays: what every paradigm trains and predicts on.

The design matrix of a fold is computed once (preprocessing fitted on the fold's training
rows, see :func:`probes.protocol.fold_matrix`) and shared by every paradigm; tasks refer to it
by global row positions, so the multi-target layout's shared rows stay shared.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from probes.data import TaskSet
from probes.protocol import Episode, Fold, MetaFold, fold_matrix

__all__ = ["VALID_DRAWS", "FoldData", "MetaFoldData", "TaskView", "prepare_fold", "redrawn_validation"]

#: Extra support/query draws per validation episode (see :func:`redrawn_validation`).
VALID_DRAWS = 4


@dataclass(frozen=True, eq=False)
class TaskView:
    """One task inside one fold: global row positions and labels of each part."""

    name: str
    kind: str
    n_classes: int
    rows_train: np.ndarray
    rows_valid: np.ndarray
    rows_test: np.ndarray
    y_train: np.ndarray
    y_valid: np.ndarray
    y_test: np.ndarray

    @property
    def n_out(self) -> int:
        """Output units: classes for classification, 1 for regression."""
        return self.n_classes if self.kind == "classification" else 1

    @property
    def is_classification(self) -> bool:
        return self.kind == "classification"


@dataclass(frozen=True, eq=False)
class FoldData:
    """A row-level fold (``all_tasks`` / ``target_task``)."""

    X: np.ndarray
    tasks: tuple[TaskView, ...]
    target: int | None
    fold: Fold

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def n_tasks(self) -> int:
        return len(self.tasks)

    def scored_tasks(self) -> list[int]:
        """Tasks whose test rows are scored (all, or the target)."""
        return [self.target] if self.target is not None else [t for t, v in enumerate(self.tasks) if len(v.rows_test)]


@dataclass(frozen=True, eq=False)
class MetaFoldData:
    """A task-level fold (``new_tasks``): every task's rows, and the fold's task roles and episodes."""

    X: np.ndarray
    tasks: tuple[TaskView, ...]
    """Every task with all its rows as ``rows_train`` (episodes say which are support and query)."""
    train_tasks: tuple[int, ...]
    valid_tasks: tuple[int, ...]
    valid_episodes: tuple[Episode, ...]
    test_episodes: tuple[Episode, ...]
    fold: MetaFold

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    def episode_arrays(self, episode: Episode) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(X_support, y_support, X_query, y_query)`` of an episode."""
        task = self.tasks[episode.task]
        rows, y = task.rows_train, task.y_train
        return self.X[rows[episode.support]], y[episode.support], self.X[rows[episode.query]], y[episode.query]


def prepare_fold(taskset: TaskSet, fold: Fold | MetaFold, *, seed: int = 0) -> FoldData | MetaFoldData:
    """Arrays of ``fold``: the fold's design matrix and each task's parts."""
    X = fold_matrix(taskset, fold, seed=seed)
    if isinstance(fold, MetaFold):
        empty = np.empty(0, dtype=np.int64)
        views = tuple(
            TaskView(t.name, t.kind, t.n_classes, t.rows, empty, empty, t.y, t.y[:0], t.y[:0]) for t in taskset.tasks
        )
        return MetaFoldData(
            X=X,
            tasks=views,
            train_tasks=fold.train_tasks,
            valid_tasks=fold.valid_tasks,
            valid_episodes=fold.valid_episodes,
            test_episodes=fold.test_episodes,
            fold=fold,
        )
    views = tuple(
        TaskView(
            task.name,
            task.kind,
            task.n_classes,
            task.rows[split.train],
            task.rows[split.valid],
            task.rows[split.test],
            task.y[split.train],
            task.y[split.valid],
            task.y[split.test],
        )
        for task, split in zip(taskset.tasks, fold.splits, strict=True)
    )
    return FoldData(X=X, tasks=views, target=taskset.target_index, fold=fold)


def redrawn_validation(data: MetaFoldData, copies: int, seed: int) -> MetaFoldData:
    """``data`` with ``copies`` extra episodes per validation episode, all on the validation tasks.

    Each new episode keeps its original's support size (and class make-up) with fresh rows; its
    query is the task's other rows. A handful of validation episodes choose noisily among dozens
    of (learning rate, step count) pairs; more draws from the same validation tasks steady the
    choice, and test tasks still choose nothing.
    """
    if copies <= 0 or not data.valid_episodes:
        return data
    rng = np.random.default_rng([seed, 7])
    episodes = list(data.valid_episodes)
    for episode in data.valid_episodes:
        y = data.tasks[episode.task].y_train
        for _ in range(copies):
            if data.tasks[episode.task].is_classification:
                labels = y.astype(int)
                classes, counts = np.unique(labels[episode.support], return_counts=True)
                parts = [
                    rng.choice(np.flatnonzero(labels == c), size=k, replace=False)
                    for c, k in zip(classes, counts, strict=True)
                ]
                support = np.sort(np.concatenate(parts))
            else:
                support = np.sort(rng.choice(len(y), size=len(episode.support), replace=False))
            query = np.setdiff1d(np.arange(len(y)), support)
            if len(query):
                episodes.append(Episode(episode.task, support, query))
    return replace(data, valid_episodes=tuple(episodes))
