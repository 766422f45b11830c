"""From a user's table to a :class:`TaskSet`: reading, the spec, tasks, feature types, preprocessing.

Names are imported lazily (PEP 562), so ``from probes.data import Limits, check_path`` stays
light (no pandas): the command line checks a data path before it loads anything heavy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "DEFAULT_SHOTS",
    "FEATURE_TYPES",
    "FORMATS",
    "DataProfile",
    "DatasetSpec",
    "Goal",
    "Layout",
    "Limits",
    "Preprocessor",
    "SourceInfo",
    "Task",
    "TaskProfile",
    "TaskSet",
    "build_taskset",
    "check_frame",
    "check_path",
    "infer_feature_type",
    "infer_feature_types",
    "infer_task_kind",
    "load_taskset",
    "profile_taskset",
    "read_table",
]

_HOME = {
    **dict.fromkeys(("FEATURE_TYPES", "Preprocessor", "infer_feature_type", "infer_feature_types"), "_features"),
    **dict.fromkeys(("DataProfile", "TaskProfile", "profile_taskset"), "_profile"),
    **dict.fromkeys(("FORMATS", "Limits", "check_path"), "_paths"),
    **dict.fromkeys(("SourceInfo", "check_frame", "read_table"), "_read"),
    **dict.fromkeys(("DEFAULT_SHOTS", "DatasetSpec", "Goal", "Layout"), "_spec"),
    **dict.fromkeys(("Task", "TaskSet", "build_taskset", "infer_task_kind", "load_taskset"), "_taskset"),
}

if TYPE_CHECKING:
    from probes.data._features import FEATURE_TYPES, Preprocessor, infer_feature_type, infer_feature_types
    from probes.data._paths import FORMATS, Limits, check_path
    from probes.data._profile import DataProfile, TaskProfile, profile_taskset
    from probes.data._read import SourceInfo, check_frame, read_table
    from probes.data._spec import DEFAULT_SHOTS, DatasetSpec, Goal, Layout
    from probes.data._taskset import Task, TaskSet, build_taskset, infer_task_kind, load_taskset


def __getattr__(name: str) -> Any:
    try:
        module = _HOME[name]
    except KeyError:
        raise AttributeError(f"module 'probes.data' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"probes.data.{module}"), name)
    globals()[name] = value  # once is enough
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
