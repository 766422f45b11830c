"""DatasetSpec: layout inference and cross-field validation."""

from __future__ import annotations

import pytest

from probes.data import DatasetSpec, Goal, Layout
from probes.exceptions import InvalidSpecError


def test_layout_is_inferred_from_task_column() -> None:
    assert DatasetSpec(targets=["a", "b"]).layout is Layout.MULTI_TARGET
    assert DatasetSpec(targets="y", task_column="t").layout is Layout.TASK_COLUMN


def test_single_strings_become_lists() -> None:
    spec = DatasetSpec(targets="y", ignore="id", features="x")
    assert spec.targets == ["y"] and spec.ignore == ["id"] and spec.features == ["x"]


def test_new_tasks_defaults_shots() -> None:
    spec = DatasetSpec(targets="y", task_column="t", goal="new_tasks")
    assert spec.goal is Goal.NEW_TASKS and spec.shots == 5


def test_numeric_target_task_becomes_its_name() -> None:
    spec = DatasetSpec(targets="y", task_column="t", goal="target_task", target_task=12)
    assert spec.target_task == "12"


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"targets": ["y"], "task_column": "y"}, "task_column 'y' is also a target"),
        ({"targets": ["a", "b"], "task_column": "t"}, "mixed layout"),
        ({"targets": ["y"], "task_column": "t", "goal": "target_task"}, "needs target_task"),
        ({"targets": ["y"], "target_task": "a"}, "only applies with goal='target_task'"),
        ({"targets": ["y"], "shots": 3}, "shots (CLI: --shots) only applies"),
        ({"targets": ["y"], "task_column": "t", "goal": "new_tasks", "shots": 0}, "shots"),
        ({"targets": ["y"], "goal": "everything"}, "'everything'"),
        ({"targets": ["y"], "metric": "auc"}, "unknown metric 'auc'"),
        ({"targets": []}, "targets"),
        ({"targets": ["y", "y"]}, "twice"),
        ({"targets": ["y"], "features": ["y", "x"]}, "features include the target"),
        ({"targets": ["y"], "ignore": ["y"]}, "ignore (CLI: --ignore) lists the target"),
        ({"targets": ["y"], "task_types": {"z": "regression"}}, "not targets"),
        ({"targets": ["y"], "task_types": "ordinal"}, "task_types"),
        ({"targets": ["y"], "colour": "red"}, "unknown field"),
    ],
)
def test_inconsistent_specs_raise_invalid_spec(fields: dict, fragment: str) -> None:
    with pytest.raises(InvalidSpecError) as info:
        DatasetSpec(**fields)
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)
    assert info.value.code == "invalid_spec"


def test_from_dict_rejects_non_objects() -> None:
    with pytest.raises(InvalidSpecError, match="JSON object"):
        DatasetSpec.from_dict(["y"])  # type: ignore[arg-type]


def test_spec_round_trips_through_json() -> None:
    spec = DatasetSpec(targets="y", task_column="t", goal="new_tasks", shots=3, task_types="regression")
    assert DatasetSpec.model_validate_json(spec.model_dump_json()) == spec
