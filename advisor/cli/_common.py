"""Pieces shared by CLI commands: spec options, JSON output, and error-to-exit-code handling.

Exit codes (every command): 0 ok; 1 internal error; 2 bad input or usage (one line on stderr,
no traceback unless ``--debug``); 3 a gate failed.
"""

from __future__ import annotations

import errno
import functools
import inspect
import json
import math
import os
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = [
    "EXIT_GATE",
    "EXIT_INTERNAL",
    "EXIT_OK",
    "EXIT_USAGE",
    "BadOption",
    "check_run_options",
    "spec_fields",
    "with_spec_options",
    "write_failure",
    "write_json",
]

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_GATE = 0, 1, 2, 3

#: The goals, as ``--goal`` takes them (the values of ``probes.data.Goal``, kept here so that a bad
#: goal is refused before the data layer, and pandas, are imported).
GOALS = ("all_tasks", "target_task", "new_tasks")
SMALL_TASKS = ("drop", "error")
TASK_KINDS = ("classification", "regression")

DataArg = Annotated[
    str,
    typer.Argument(
        help="Data file: CSV, TSV, Parquet or JSON Lines, optionally gzipped (.gz).", metavar="DATA", show_default=False
    ),
]
TargetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--target",
        "-t",
        metavar="COL",
        help="Target column; repeat it for several targets (--target a --target b: multi-target layout).",
    ),
]
TaskColumnOpt = Annotated[
    str | None,
    typer.Option("--task-column", metavar="COL", help="Column naming each row's task (task-column layout)."),
]
GoalOpt = Annotated[
    str,
    typer.Option(
        "--goal",
        metavar="GOAL",
        help="What to do well on: all_tasks (every task in the data), target_task (one task, named by "
        "--target-task) or new_tasks (tasks not in the data, from --shots labelled rows each).",
        show_default=True,
    ),
]
TargetTaskOpt = Annotated[
    str | None, typer.Option("--target-task", metavar="TASK", help="The task to do well on (goal target_task).")
]
ShotsOpt = Annotated[
    int | None,
    typer.Option("--shots", metavar="N", help="Labelled rows per new task (goal new_tasks; default 5)."),
]
FeatureOpt = Annotated[
    list[str] | None,
    typer.Option("--feature", metavar="COL", help="Feature column (repeat); default: every other column."),
]
IgnoreOpt = Annotated[list[str] | None, typer.Option("--ignore", metavar="COL", help="Column to leave out (repeat).")]
TaskTypeOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--task-type",
        metavar="KIND",
        help="classification | regression for every target, or TARGET=KIND (repeat). Default: inferred.",
    ),
]
SmallTasksOpt = Annotated[
    str | None,
    typer.Option(
        "--small-tasks",
        metavar="MODE",
        help="drop | error: what to do with a task too small for the folds (default drop).",
    ),
]
MetricOpt = Annotated[
    str | None, typer.Option("--metric", metavar="NAME", help="Metric override, e.g. accuracy, rmse, f1_macro.")
]
JsonOpt = Annotated[
    str | None,
    typer.Option("--json", metavar="PATH", help="Write the result as JSON to PATH; '-' prints only JSON on stdout."),
]
JobsOpt = Annotated[
    int | None,
    typer.Option(
        "--jobs",
        metavar="N",
        min=1,
        help="Run the probes in N processes [default: every core]. The result is the same for any N.",
        show_default=False,
    ),
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        metavar="ADDRESS",
        help="Run the probes on a Dask cluster, e.g. tcp://10.0.0.5:8786 (env ADVISOR_DASK_ADDRESS; the dask "
        "extra). The result is the same as on this machine.",
        show_default=False,
    ),
]
MaxFileOpt = Annotated[
    float, typer.Option("--max-file-mb", metavar="MB", help="Refuse files larger than MB megabytes.")
]


class BadOption(Exception):
    """A command-line value that is wrong in a way click cannot see (reported with exit code 2)."""


def check_run_options(budget: str, time_limit: float | None) -> None:
    """The budget and time limit of ``probe`` and ``recommend``, checked before any data is read."""
    from probes.budget import USER_BUDGETS

    if budget not in USER_BUDGETS:
        raise BadOption(f"--budget must be {', '.join(USER_BUDGETS[:-1])} or {USER_BUDGETS[-1]} (got {budget!r})")
    if time_limit is not None and not 0 < time_limit < math.inf:
        raise BadOption(f"--time-limit must be a positive number of seconds (got {time_limit})")


def check_max_file_mb(max_file_mb: float) -> None:
    if not 0 < max_file_mb < math.inf:
        raise BadOption(f"--max-file-mb must be a positive number of megabytes (got {max_file_mb})")


def check_data(data: str, max_file_mb: float) -> None:
    """The DATA argument, checked before anything heavy is imported: a supported suffix and an existing,
    readable file within ``--max-file-mb`` (a missing ``x.csv`` next to an ``x.csv.gz`` is pointed to it).
    Raises the data layer's own errors (exit code 2)."""
    from probes.data._paths import Limits, check_path, format_of

    check_max_file_mb(max_file_mb)
    check_path(data, Limits(max_file_mb=max_file_mb))
    format_of(data)


def check_outputs(data: str, outputs: dict[str, str | Path | None]) -> None:
    """The output paths (option -> path; ``None`` or '-' skipped), checked before any work is done.

    Each must be a file path in an existing, writable folder, must not be the input data (writing
    the report over the user's data would lose it) and must not be another output's path.
    """
    seen: dict[Path, str] = {}
    for flag, value in outputs.items():
        if value is None or str(value) == "-":
            continue
        if not str(value).strip():
            raise BadOption(f"{flag} needs a file path (got an empty one)")
        path = Path(value)
        if path.is_dir():
            raise BadOption(f"{flag} '{path}' is a folder; give a file path")
        folder = path.parent
        if not folder.is_dir():
            raise BadOption(f"{flag} '{path}': the folder '{folder}' does not exist")
        # the file is written in place: an existing file must be writable, a new one needs a writable folder
        if not os.access(path if path.exists() else folder, os.W_OK):
            raise BadOption(f"{flag} '{path}' is not writable")
        if path.exists() and not path.is_file():
            continue  # /dev/null, /dev/stdout: a sink, never the data, and fine to name twice
        try:
            same = path.exists() and os.path.samefile(path, data)
        except OSError:
            same = False
        if same or path.resolve() == Path(data).resolve():
            raise BadOption(f"{flag} '{path}' is the input data file; choose another path so the data is kept")
        if path.resolve() in seen:
            raise BadOption(f"{flag} and {seen[path.resolve()]} name the same file '{path}'")
        seen[path.resolve()] = flag


def spec_fields(
    *,
    target: list[str] | None,
    task_column: str | None,
    goal: str,
    target_task: str | None,
    shots: int | None,
    feature: list[str] | None,
    ignore: list[str] | None,
    task_type: list[str] | None,
    metric: str | None,
    small_tasks: str | None = None,
) -> dict[str, Any]:
    """The ``DatasetSpec`` fields the options describe."""
    if not target:
        raise BadOption("no target given: pass --target COLUMN (repeat it for several targets)")
    for value in target:
        if "," in value:
            repeated = " ".join(f"--target {part.strip()}" for part in value.split(",") if part.strip())
            raise BadOption(
                f"--target takes one column, got {value!r}; for several targets repeat the option: {repeated}"
            )
    fields: dict[str, Any] = {"targets": list(target), "goal": _goal(goal)}
    if small_tasks is not None and small_tasks not in SMALL_TASKS:
        raise BadOption(f"--small-tasks must be drop or error (got {small_tasks!r})")
    if task_column is not None:
        fields["task_column"] = task_column
    if target_task is not None:
        fields["target_task"] = target_task
    if shots is not None:
        fields["shots"] = shots
    if feature:
        fields["features"] = list(feature)
    if ignore:
        fields["ignore"] = list(ignore)
    if metric is not None:
        fields["metric"] = metric
    if task_type:
        fields["task_types"] = _task_types(task_type)
    if small_tasks is not None:
        fields["small_tasks"] = small_tasks
    return fields


def _goal(goal: str) -> str:
    """``--goal``, with ``all-tasks`` or ``All_Tasks`` read as ``all_tasks``; a one-line refusal listing the goals."""
    value = goal.strip().lower().replace("-", "_")
    if value not in GOALS:
        raise BadOption(f"--goal must be one of {', '.join(GOALS)} (got {goal!r})")
    return value


def _task_types(values: list[str]) -> str | dict[str, str]:
    for value in values:
        kind = value.rpartition("=")[2]
        if kind and kind not in TASK_KINDS:
            raise BadOption(
                f"--task-type {value!r}: use KIND for every target, or TARGET=KIND per target, where KIND is "
                "classification or regression"
            )
    if len(values) == 1 and "=" not in values[0]:
        return values[0]
    mapping: dict[str, str] = {}
    for value in values:
        name, sep, kind = value.partition("=")
        if not sep or not name or not kind:
            raise BadOption(f"--task-type {value!r}: use KIND for every target, or TARGET=KIND per target")
        if mapping.get(name, kind) != kind:
            raise BadOption(f"--task-type gives {name!r} two kinds, {mapping[name]} and {kind}; give one")
        mapping[name] = kind
    return mapping


#: Failed writes that are the machine's, not the command line's: a full disk or quota, an I/O error.
_SYSTEM_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG})


def write_failure(what: str, destination: Any, exc: OSError) -> Exception:
    """The error for a failed write of ``what``: the system's (exit 1) for a full disk or an I/O error, a bad
    option (exit 2) for a path the user can change (no such folder, no permission)."""
    if exc.errno in _SYSTEM_ERRNOS:
        return OSError(exc.errno, exc.strerror, str(destination))
    return BadOption(f"cannot write {what} to '{destination}': {exc.strerror or exc}")


def write_json(payload: dict[str, Any] | str, destination: str) -> None:
    """Write JSON to ``destination`` ('-' = stdout)."""
    text = payload if isinstance(payload, str) else json.dumps(payload, indent=2, allow_nan=False)
    if destination == "-":
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
        return
    try:
        Path(destination).write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise write_failure("JSON", destination, exc) from None


_SPEC_OPTIONS: list[tuple[str, Any, Any]] = [
    ("target", TargetOpt, None),
    ("task_column", TaskColumnOpt, None),
    ("goal", GoalOpt, "all_tasks"),
    ("target_task", TargetTaskOpt, None),
    ("shots", ShotsOpt, None),
    ("feature", FeatureOpt, None),
    ("ignore", IgnoreOpt, None),
    ("task_type", TaskTypeOpt, None),
    ("metric", MetricOpt, None),
    ("small_tasks", SmallTasksOpt, None),
]


def with_spec_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Give ``command`` the dataset-spec options; it receives them as ``fields`` (DatasetSpec fields).

    The options come right after the command's first parameter (the DATA argument), so every
    command that loads data takes exactly the same spec options.
    """
    signature = inspect.signature(command)
    hints = typing.get_type_hints(command, include_extras=True)  # real objects, even under postponed annotations
    own = [
        p.replace(annotation=hints.get(p.name, p.annotation))
        for p in signature.parameters.values()
        if p.name != "fields"
    ]
    injected = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
        for name, annotation, default in _SPEC_OPTIONS
    ]
    rest = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own[1:]]

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        options = {name: kwargs.pop(name) for name, _, _ in _SPEC_OPTIONS}
        return command(*args, fields=spec_fields(**options), **kwargs)

    wrapper.__signature__ = signature.replace(parameters=[own[0], *injected, *rest])  # type: ignore[attr-defined]
    return wrapper
