"""Splits of the evaluation protocol (DESIGN.md §3): one definition for probes and oracle.

* ``all_tasks`` / ``target_task`` -> :class:`Fold`: K folds of rows, repeated with new seeds.
  Multi-target layout: one row split shared by every task (a row is test for all targets at
  once, so no target's label of a test row is ever used in training). Task-column layout:
  each task is split on its own, stratified by class for classification. Under
  ``target_task`` in the task-column layout the source tasks are never tested, so all their
  rows train. Every fold also holds out a validation part of the training rows (stratified),
  the same for every paradigm, for early stopping and hyper-parameter search.
* ``new_tasks`` -> :class:`MetaFold`: K folds of *tasks*. Each held-out task gives support
  sets of ``shots`` rows (per class for classification) and query sets of the rest; a share
  of the meta-training tasks is held out as validation tasks for choosing adaptation settings,
  so nothing is tuned on test tasks.

Indices in a split are positions inside the task (``task.y[split.train]``); ``task.rows``
maps them to rows of the shared feature frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from probes.data._taskset import Task, TaskSet

__all__ = [
    "MIN_QUERY_ROWS",
    "MIN_TASKS",
    "MIN_TASK_ROWS",
    "Episode",
    "Fold",
    "MetaFold",
    "TaskSplit",
    "make_folds",
    "min_task_rows",
]

#: Rows a task needs under ``all_tasks`` / ``target_task``.
MIN_TASK_ROWS = 10
#: Query rows a held-out task needs beyond its support set under ``new_tasks``.
MIN_QUERY_ROWS = 2
#: Tasks each goal needs.
MIN_TASKS: dict[str, int] = {"all_tasks": 1, "target_task": 2, "new_tasks": 5}


def min_task_rows(goal: str, kind: str, shots: int | None, n_classes: int = 2) -> int:
    """Rows a task needs so that every fold or episode of the protocol is defined."""
    if goal == "new_tasks":
        per_class = n_classes if kind == "classification" else 1
        return (shots or 1) * per_class + MIN_QUERY_ROWS
    return MIN_TASK_ROWS


@dataclass(frozen=True, eq=False)
class TaskSplit:
    """Positions of one task's rows for training, validation and test in one fold."""

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray


@dataclass(frozen=True, eq=False)
class Fold:
    """One row-level fold: a :class:`TaskSplit` per task, aligned with ``taskset.tasks``."""

    repeat: int
    index: int
    splits: tuple[TaskSplit, ...]

    @property
    def key(self) -> tuple[int, int]:
        return (self.repeat, self.index)


@dataclass(frozen=True, eq=False)
class Episode:
    """A few-shot episode on one task: adapt on ``support``, score on ``query``."""

    task: int
    support: np.ndarray
    query: np.ndarray


@dataclass(frozen=True, eq=False)
class MetaFold:
    """One task-level fold: meta-train tasks, validation episodes and test episodes."""

    repeat: int
    index: int
    train_tasks: tuple[int, ...]
    valid_tasks: tuple[int, ...]
    test_tasks: tuple[int, ...]
    valid_episodes: tuple[Episode, ...]
    test_episodes: tuple[Episode, ...]

    @property
    def key(self) -> tuple[int, int]:
        return (self.repeat, self.index)


def make_folds(
    taskset: TaskSet,
    *,
    n_folds: int = 5,
    n_repeats: int = 1,
    seed: int = 0,
    valid_fraction: float = 0.2,
    episodes_per_task: int = 1,
) -> list[Fold] | list[MetaFold]:
    """The protocol's folds for ``taskset`` and its goal.

    Parameters
    ----------
    n_folds, n_repeats:
        K folds, each repeated with a new shuffle (the budget chooses both).
    seed:
        Same seed, same folds.
    valid_fraction:
        Share of each fold's training rows (or meta-training tasks) held out for validation.
    episodes_per_task:
        Support/query draws per held-out task (``new_tasks``).
    """
    if n_folds < 2:
        raise ValueError(f"n_folds must be at least 2, got {n_folds}")
    if n_repeats < 1:
        raise ValueError(f"n_repeats must be at least 1, got {n_repeats}")
    if taskset.goal == "new_tasks":
        return _meta_folds(taskset, n_folds, n_repeats, seed, valid_fraction, episodes_per_task)
    if taskset.layout == "multi_target":
        return _shared_row_folds(taskset, n_folds, n_repeats, seed, valid_fraction)
    return _per_task_row_folds(taskset, n_folds, n_repeats, seed, valid_fraction)


# ------------------------------------------------------------------------------------- helpers


def _rng(*keys: int) -> np.random.Generator:
    return np.random.default_rng([int(k) for k in keys])


def _strata(task: Task) -> np.ndarray:
    return task.y.astype(int) if task.kind == "classification" else np.zeros(task.n_rows, dtype=int)


def _assign_folds(labels: np.ndarray, n_folds: int, rng: np.random.Generator) -> np.ndarray:
    """Fold id per item, stratified by ``labels``: each label's items are dealt round-robin."""
    fold_of = np.empty(len(labels), dtype=int)
    offset = int(rng.integers(n_folds))
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        members = members[rng.permutation(len(members))]
        fold_of[members] = (np.arange(len(members)) + offset) % n_folds
        offset = (offset + len(members)) % n_folds
    return fold_of


def _stratified_take(
    positions: np.ndarray, labels: np.ndarray, fraction: float, rng: np.random.Generator
) -> np.ndarray:
    """A stratified random share of ``positions`` (at least one per class with >= 2 members)."""
    taken = []
    for label in np.unique(labels):
        members = positions[labels == label]
        if len(members) < 2:
            continue
        k = max(1, round(fraction * len(members)))
        k = min(k, len(members) - 1)
        taken.append(rng.choice(members, size=k, replace=False))
    return np.sort(np.concatenate(taken)) if taken else np.empty(0, dtype=int)


def _shared_row_folds(taskset: TaskSet, n_folds: int, n_repeats: int, seed: int, valid_fraction: float) -> list[Fold]:
    union = np.unique(np.concatenate([t.rows for t in taskset.tasks]))
    strata = np.zeros(len(union), dtype=int)
    first_clf = next((t for t in taskset.tasks if t.kind == "classification"), None)
    if first_clf is not None:  # stratify on the first classification target; missing = own stratum
        pos = np.searchsorted(union, first_clf.rows)
        strata[:] = -1
        strata[pos] = first_clf.y.astype(int)
    folds: list[Fold] = []
    for repeat in range(n_repeats):
        rng = _rng(seed, repeat, 1)
        fold_of = _assign_folds(strata, n_folds, rng)
        for k in range(n_folds):
            test_rows = union[fold_of == k]
            rest = np.flatnonzero(fold_of != k)
            valid_rows = union[_stratified_take(rest, strata[rest], valid_fraction, rng)]
            splits = []
            for task in taskset.tasks:
                is_test = np.isin(task.rows, test_rows)
                is_valid = np.isin(task.rows, valid_rows)
                splits.append(
                    TaskSplit(
                        train=np.flatnonzero(~is_test & ~is_valid),
                        valid=np.flatnonzero(is_valid),
                        test=np.flatnonzero(is_test),
                    )
                )
            folds.append(Fold(repeat=repeat, index=k, splits=tuple(splits)))
    return folds


def _per_task_row_folds(taskset: TaskSet, n_folds: int, n_repeats: int, seed: int, valid_fraction: float) -> list[Fold]:
    target = taskset.target_index
    folds: list[Fold] = []
    for repeat in range(n_repeats):
        per_task: list[list[TaskSplit]] = []
        for t, task in enumerate(taskset.tasks):
            rng = _rng(seed, repeat, 2, t)
            strata = _strata(task)
            everything = np.arange(task.n_rows)
            if target is not None and t != target:
                valid = _stratified_take(everything, strata, valid_fraction, rng)
                train = np.setdiff1d(everything, valid)
                per_task.append([TaskSplit(train, valid, np.empty(0, dtype=int))] * n_folds)
                continue
            fold_of = _assign_folds(strata, n_folds, rng)
            task_splits = []
            for k in range(n_folds):
                rest = np.flatnonzero(fold_of != k)
                valid = _stratified_take(rest, strata[rest], valid_fraction, rng)
                task_splits.append(
                    TaskSplit(train=np.setdiff1d(rest, valid), valid=valid, test=np.flatnonzero(fold_of == k))
                )
            per_task.append(task_splits)
        for k in range(n_folds):
            folds.append(Fold(repeat=repeat, index=k, splits=tuple(s[k] for s in per_task)))
    return folds


def _episode(task_index: int, task: Task, shots: int, rng: np.random.Generator) -> Episode:
    if task.kind == "classification":
        support = []
        for label in np.unique(task.y.astype(int)):
            members = np.flatnonzero(task.y.astype(int) == label)
            k = min(shots, max(len(members) - 1, 1))
            support.append(rng.choice(members, size=k, replace=False))
        support_arr = np.sort(np.concatenate(support))
    else:
        support_arr = np.sort(rng.choice(task.n_rows, size=shots, replace=False))
    query = np.setdiff1d(np.arange(task.n_rows), support_arr)
    return Episode(task=task_index, support=support_arr, query=query)


def _episodes(
    taskset: TaskSet, task_ids: Sequence[int], shots: int, per_task: int, rng: np.random.Generator
) -> tuple[Episode, ...]:
    return tuple(_episode(t, taskset.tasks[t], shots, rng) for t in task_ids for _ in range(per_task))


def _meta_folds(
    taskset: TaskSet, n_folds: int, n_repeats: int, seed: int, valid_fraction: float, episodes_per_task: int
) -> list[MetaFold]:
    n_tasks = len(taskset.tasks)
    n_folds = min(n_folds, n_tasks)
    shots = int(taskset.spec.shots or 1)
    folds: list[MetaFold] = []
    for repeat in range(n_repeats):
        rng = _rng(seed, repeat, 3)
        order = rng.permutation(n_tasks)
        groups = np.array_split(order, n_folds)
        for k, test in enumerate(groups):
            pool = np.setdiff1d(order, test)
            pool = pool[rng.permutation(len(pool))]
            n_valid = min(max(1, round(valid_fraction * len(pool))), max(len(pool) - 2, 0))
            valid, train = np.sort(pool[:n_valid]), np.sort(pool[n_valid:])
            test = np.sort(test)
            folds.append(
                MetaFold(
                    repeat=repeat,
                    index=k,
                    train_tasks=tuple(int(t) for t in train),
                    valid_tasks=tuple(int(t) for t in valid),
                    test_tasks=tuple(int(t) for t in test),
                    valid_episodes=_episodes(taskset, valid, shots, episodes_per_task, rng),
                    test_episodes=_episodes(taskset, test, shots, episodes_per_task, rng),
                )
            )
    return folds
