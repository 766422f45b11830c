"""The dataset spec: which columns are targets, what the tasks are, and what the user wants.

Defined here, beside the loader that consumes it, and re-exported by ``advisor.schemas`` so
that SDK, CLI, API and client share one contract (see DESIGN.md §2).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from probes.exceptions import InvalidSpecError
from probes.protocol._metrics import METRICS

__all__ = ["DEFAULT_SHOTS", "DatasetSpec", "Goal", "Layout", "TaskKind"]

TaskKind = Literal["classification", "regression"]

#: Support rows per held-out task under ``goal="new_tasks"`` when ``shots`` is not given.
DEFAULT_SHOTS = 5


class Goal(StrEnum):
    """What the user wants to do well on."""

    ALL_TASKS = "all_tasks"
    """Every given task (the score is the mean over tasks)."""
    TARGET_TASK = "target_task"
    """One named task; the other tasks are sources."""
    NEW_TASKS = "new_tasks"
    """New tasks that arrive with only ``shots`` labelled rows each."""


class Layout(StrEnum):
    """How tasks are laid out in the table."""

    MULTI_TARGET = "multi_target"
    """Several target columns over the same rows; one task per target."""
    TASK_COLUMN = "task_column"
    """One target; a column names the task of each row."""


class DatasetSpec(BaseModel):
    """Which columns are what, and the goal of the recommendation.

    Examples
    --------
    >>> DatasetSpec(targets=["motor_UPDRS", "total_UPDRS"]).layout
    <Layout.MULTI_TARGET: 'multi_target'>
    >>> DatasetSpec(targets="exam_score", task_column="school_id", goal="new_tasks").shots
    5

    Constructing a spec with inconsistent fields raises :class:`~probes.exceptions.InvalidSpecError`
    with every problem listed.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)

    targets: list[str] = Field(
        min_length=1,
        description="Target column(s). Several targets = multi-target layout (one task per target).",
    )
    task_column: str | None = Field(
        default=None,
        description="Column naming the task of each row (task-column layout; needs exactly one target).",
    )
    features: list[str] | None = Field(
        default=None, description="Feature columns. Default: every column that is not a target, task column or ignored."
    )
    ignore: list[str] = Field(default_factory=list, description="Columns to leave out of the features.")
    task_types: TaskKind | dict[str, TaskKind] | None = Field(
        default=None,
        description=(
            "'classification' or 'regression' for every target, or a mapping target -> kind. "
            "Inferred when absent: non-numeric or two-valued targets are classification, others regression."
        ),
    )
    goal: Goal = Field(default=Goal.ALL_TASKS, description="all_tasks | target_task | new_tasks.")
    target_task: str | None = Field(default=None, description="The task to do well on (goal='target_task').")
    shots: int | None = Field(
        default=None,
        ge=1,
        description=(
            f"Labelled rows per new task (goal='new_tasks'; per class for classification). Default {DEFAULT_SHOTS}."
        ),
    )
    metric: str | None = Field(
        default=None,
        description="Metric override; default R² for regression and one-vs-rest macro ROC-AUC for classification.",
    )
    small_tasks: Literal["drop", "error"] = Field(
        default="drop",
        description="What to do with a task that has fewer rows than the protocol needs: drop it with a warning, or fail.",
    )

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise InvalidSpecError(_format_validation_error(exc), details={"errors": _error_list(exc)}) from None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetSpec:
        """Build a spec from a JSON-like mapping, raising ``InvalidSpecError`` on bad fields."""
        if not isinstance(data, dict):
            raise InvalidSpecError(f"The spec must be a JSON object, got {type(data).__name__}.")
        return cls(**data)

    @field_validator("targets", "ignore", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [value]
        return value

    @field_validator("features", mode="before")
    @classmethod
    def _features_one_or_many(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [value]
        return value

    @field_validator("task_types", mode="before")
    @classmethod
    def _known_kinds(cls, value: Any) -> Any:
        kinds = ("classification", "regression")
        hint = (
            "task_types must be 'classification' or 'regression' (for every target), or a mapping "
            "target -> kind (CLI: --task-type KIND, or --task-type TARGET=KIND per target)"
        )
        if value is None:
            return value
        if isinstance(value, str):
            if value not in kinds:
                raise ValueError(f"{hint}; got {value!r}")
            return value
        if isinstance(value, dict):
            bad = {k: v for k, v in value.items() if v not in kinds}
            if bad:
                raise ValueError(f"{hint}; got {bad!r}")
            return value
        raise ValueError(f"{hint}; got {type(value).__name__}")

    @field_validator("target_task", mode="before")
    @classmethod
    def _task_name_as_text(cls, value: Any) -> Any:
        # Task names come from the task column's values, which may be numbers (school_id=12).
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            return _task_name(value)
        return value

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str | None) -> str | None:
        if value is not None and value not in METRICS:
            raise ValueError(f"unknown metric {value!r}; choose one of {', '.join(sorted(METRICS))}")
        return value

    @model_validator(mode="before")
    @classmethod
    def _default_shots(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("goal") in (Goal.NEW_TASKS, "new_tasks") and data.get("shots") is None:
            data = {**data, "shots": DEFAULT_SHOTS}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> DatasetSpec:
        problems: list[str] = []
        if len(set(self.targets)) != len(self.targets):
            problems.append(f"targets (CLI: --target) lists a column twice: {self.targets}")
        if self.task_column is not None:
            if self.task_column in self.targets:
                problems.append(
                    f"task_column {self.task_column!r} is also a target; the task column names tasks, "
                    "pick a different column or drop task_column (CLI: --task-column)"
                )
            if len(self.targets) > 1:
                problems.append(
                    "mixed layout: several targets and a task_column (CLI: --target repeated and --task-column); "
                    "use several targets over the same rows "
                    "(multi-target) or one target plus a task column, not both"
                )
        if self.goal is Goal.TARGET_TASK and self.target_task is None:
            problems.append(
                "goal 'target_task' needs target_task (CLI: --target-task): the name of the task to do well on"
            )
        if self.target_task is not None and self.goal is not Goal.TARGET_TASK:
            problems.append(
                f"target_task={self.target_task!r} (CLI: --target-task) only applies with goal='target_task' "
                f"(CLI: --goal target_task); goal is {self.goal.value!r}"
            )
        if self.shots is not None and self.goal is not Goal.NEW_TASKS:
            problems.append(
                f"shots (CLI: --shots) only applies with goal='new_tasks' (CLI: --goal new_tasks); "
                f"goal is {self.goal.value!r}"
            )
        special = set(self.targets) | ({self.task_column} if self.task_column else set())
        if self.features is not None and not self.features:
            problems.append(
                "features is an empty list; name at least one feature column (CLI: --feature), or leave features "
                "out to use every column that is not a target, the task column or ignored"
            )
        if self.features is not None:
            twice = sorted({f for f in self.features if self.features.count(f) > 1})
            if twice:
                problems.append(f"features (CLI: --feature) list {twice} more than once; name each feature once")
            clash = sorted(special & set(self.features))
            if clash:
                problems.append(
                    f"features include the target/task column(s) {clash}; remove them from features (CLI: --feature)"
                )
            both = sorted(set(self.features) & set(self.ignore))
            if both:
                problems.append(f"columns {both} are both in features and in ignore (CLI: --feature and --ignore)")
        clash = sorted(special & set(self.ignore))
        if clash:
            problems.append(f"ignore (CLI: --ignore) lists the target/task column(s) {clash}")
        if isinstance(self.task_types, dict):
            unknown = sorted(set(self.task_types) - set(self.targets))
            if unknown:
                problems.append(
                    f"task_types (CLI: --task-type TARGET=KIND) names {unknown}, which are not targets; "
                    f"keys must be among {self.targets}"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def layout(self) -> Layout:
        """Multi-target when there is no task column, else task-column."""
        return Layout.TASK_COLUMN if self.task_column is not None else Layout.MULTI_TARGET

    def kind_override(self, target: str) -> TaskKind | None:
        """The task kind the user fixed for ``target``, if any."""
        if isinstance(self.task_types, str):
            return self.task_types
        if isinstance(self.task_types, dict):
            return self.task_types.get(target)
        return None


def _task_name(value: Any) -> str:
    """The canonical text name of a task value: 12.0 -> '12', ' books ' -> 'books'."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _error_list(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(p) for p in err["loc"]) or None, "message": _clean(err["msg"])}
        for err in exc.errors(include_url=False)
    ]


def _clean(msg: str) -> str:
    return msg.removeprefix("Value error, ")


#: The command-line flag of each spec field, named beside the field in messages (the SDK and API spelling).
_CLI_FLAGS = {
    "targets": "--target",
    "task_column": "--task-column",
    "features": "--feature",
    "ignore": "--ignore",
    "task_types": "--task-type",
    "goal": "--goal",
    "target_task": "--target-task",
    "shots": "--shots",
    "metric": "--metric",
    "small_tasks": "--small-tasks",
}


def _format_validation_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"])
        msg = _clean(err["msg"])
        if err["type"] in {"enum", "literal_error"} and "input" in err:
            msg = f"{msg} (got {err['input']!r})"
        if err["type"] == "extra_forbidden":
            msg = f"unknown field; known fields are {', '.join(DatasetSpec.model_fields)}"
        flag = _CLI_FLAGS.get(str(err["loc"][0])) if err["loc"] else None
        if flag and "CLI:" not in msg:
            loc = f"{loc} (CLI: {flag})"
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "Invalid dataset spec: " + "; ".join(parts) + "."
