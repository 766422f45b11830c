"""Small generated scenarios and the planted-truth masks the signal tests compare against."""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.scenarios import Scenario, make_scenario
from probes.data import TaskSet, load_taskset
from probes.paradigms import FoldData, prepare_folds


def scenario_fold(**params: Any) -> tuple[Scenario, TaskSet, FoldData]:
    """A generated scenario, its TaskSet and the first fold of the ``fast`` protocol."""
    scenario = make_scenario(**params)
    taskset = load_taskset(scenario.frame, scenario.spec)
    fold = prepare_folds(taskset, "fast")[0]
    assert isinstance(fold, FoldData)
    return scenario, taskset, fold


def pair_masks(scenario: Scenario, names: tuple[str, ...] | list[str]) -> dict[str, np.ndarray]:
    """Boolean task-pair masks from the planted truth: same cluster (aligned), conflicting, different cluster."""
    names = list(names)
    cluster = np.array([scenario.truth.clusters[n] for n in names])
    off = ~np.eye(len(names), dtype=bool)
    conflict = np.zeros((len(names), len(names)), dtype=bool)
    for a, b in scenario.truth.conflicts:
        conflict[names.index(a), names.index(b)] = conflict[names.index(b), names.index(a)] = True
    same = (cluster[:, None] == cluster[None, :]) & off
    return {"aligned": same & ~conflict, "conflict": conflict, "between": ~(cluster[:, None] == cluster[None, :])}


def planted_groups(scenario: Scenario) -> set[frozenset[str]]:
    groups: dict[int, set[str]] = {}
    for name, cluster in scenario.truth.clusters.items():
        groups.setdefault(cluster, set()).add(name)
    return {frozenset(g) for g in groups.values()}
