"""Probes: data to TaskSet, the evaluation protocol, paradigm trainers and relatedness signals.

The bottom layer of the architecture (DESIGN.md §1): it never imports ``advisor`` or ``api``.
Names are imported lazily, so ``import probes.exceptions`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "DatasetSpec",
    "Goal",
    "Layout",
    "Limits",
    "Task",
    "TaskSet",
    "co_winners",
    "compare",
    "exceptions",
    "fold_matrix",
    "load_taskset",
    "make_folds",
    "profile_taskset",
    "read_table",
]

_HOME = {
    **{name: "probes.data" for name in ("DatasetSpec", "Goal", "Layout", "Limits", "Task", "TaskSet")},
    **{name: "probes.data" for name in ("load_taskset", "profile_taskset", "read_table")},
    **{name: "probes.protocol" for name in ("co_winners", "compare", "fold_matrix", "make_folds")},
}

if TYPE_CHECKING:
    from probes import exceptions
    from probes.data import DatasetSpec, Goal, Layout, Limits, Task, TaskSet, load_taskset, profile_taskset, read_table
    from probes.protocol import co_winners, compare, fold_matrix, make_folds


def __getattr__(name: str) -> Any:
    if name == "exceptions":
        return importlib.import_module("probes.exceptions")
    if name not in _HOME:
        raise AttributeError(f"module 'probes' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name]), name)


def __dir__() -> list[str]:
    return sorted(__all__)
