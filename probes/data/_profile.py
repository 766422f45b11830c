"""Data profile of a TaskSet: what ``advisor inspect`` prints and the recommender reads (DESIGN.md §5)."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field

from probes.data._taskset import TaskSet

__all__ = ["DataProfile", "TaskProfile", "profile_taskset"]


class TaskProfile(BaseModel):
    """One task in the profile."""

    name: str
    kind: str
    n_rows: int
    metric: str
    label_balance: dict[str, float] | None = Field(
        default=None, description="Share of rows per class (classification)."
    )
    target_spread: dict[str, float] | None = Field(
        default=None, description="mean, std, min and max of the target (regression)."
    )
    missing_rate: float = Field(description="Share of missing feature cells on the task's rows.")
    near_constant: bool = False


class DataProfile(BaseModel):
    """Layout, tasks, features and warnings of a loaded dataset."""

    source: dict[str, str | int | bool | None]
    layout: str
    goal: str
    target_task: str | None = None
    shots: int | None = None
    n_rows: int
    n_tasks: int
    rows_per_task: dict[str, int | float]
    tasks: list[TaskProfile]
    features: dict[str, list[str]] = Field(description="Feature columns by type.")
    n_features: int
    missing_rate: float
    dropped_tasks: dict[str, str]
    warnings: list[str]


def profile_taskset(taskset: TaskSet) -> DataProfile:
    """Summarise ``taskset``: per task rows, balance or spread and missing rate; features by type."""
    missing = taskset.features.isna().to_numpy()
    tasks = []
    for task in taskset.tasks:
        balance = spread = None
        if task.kind == "classification":
            counts = task.class_counts()
            balance = {str(label): round(n / task.n_rows, 4) for label, n in counts.items()}
        else:
            spread = {
                "mean": float(np.mean(task.y)),
                "std": float(np.std(task.y)),
                "min": float(np.min(task.y)),
                "max": float(np.max(task.y)),
            }
        tasks.append(
            TaskProfile(
                name=task.name,
                kind=task.kind,
                n_rows=task.n_rows,
                metric=task.metric,
                label_balance=balance,
                target_spread=spread,
                missing_rate=round(float(missing[task.rows].mean()) if missing.size else 0.0, 4),
                near_constant=task.near_constant,
            )
        )
    by_type: dict[str, list[str]] = {}
    for column, ftype in taskset.feature_types.items():
        by_type.setdefault(ftype, []).append(column)
    sizes = np.array([t.n_rows for t in taskset.tasks])
    src = taskset.source
    return DataProfile(
        source={
            "name": src.name,
            "format": src.format,
            "compressed": src.compressed,
            "encoding": src.encoding,
            "bytes": src.n_bytes,
        },
        layout=taskset.layout.value,
        goal=taskset.goal.value,
        target_task=taskset.spec.target_task,
        shots=taskset.spec.shots,
        n_rows=len(taskset.features),
        n_tasks=taskset.n_tasks,
        rows_per_task={"min": int(sizes.min()), "median": float(np.median(sizes)), "max": int(sizes.max())},
        tasks=tasks,
        features=by_type,
        n_features=len(taskset.feature_types),
        missing_rate=round(float(missing.mean()) if missing.size else 0.0, 4),
        dropped_tasks=dict(taskset.dropped_tasks),
        warnings=list(taskset.warnings),
    )
