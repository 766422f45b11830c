"""From a user's table to a :class:`TaskSet`: reading, the spec, tasks, feature types, preprocessing."""

from probes.data._features import FEATURE_TYPES, Preprocessor, infer_feature_type, infer_feature_types
from probes.data._profile import DataProfile, TaskProfile, profile_taskset
from probes.data._read import FORMATS, Limits, SourceInfo, check_frame, check_path, read_table
from probes.data._spec import DEFAULT_SHOTS, DatasetSpec, Goal, Layout
from probes.data._taskset import Task, TaskSet, build_taskset, infer_task_kind, load_taskset

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
