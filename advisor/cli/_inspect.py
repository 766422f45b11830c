"""``advisor inspect``: load, validate and profile a dataset."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from advisor.cli._common import (
    DataArg,
    JsonOpt,
    MaxFileOpt,
    check_data,
    check_outputs,
    with_spec_options,
    write_json,
)

if TYPE_CHECKING:
    from rich.console import Console

    from probes.data import DataProfile

_MAX_TASK_ROWS = 30


@with_spec_options
def inspect_command(
    data: DataArg,
    fields: dict[str, Any],
    json_out: JsonOpt = None,
    max_file_mb: MaxFileOpt = 2048.0,
) -> None:
    """Load and validate DATA with the spec options, and print its profile.

    Shows the layout, each task's kind, rows, label balance or target spread and missing rate,
    the features by type, and warnings. Exit code 2 with a one-line reason when the data or
    options are unusable.
    """
    check_data(data, max_file_mb)
    check_outputs(data, {"--json": json_out})
    from advisor._inspect import inspect_data  # pandas: only once the options are known to be good
    from probes.data import Limits

    profile = inspect_data(data, limits=Limits(max_file_mb=max_file_mb), **fields)
    if json_out is not None:
        write_json(profile.model_dump_json(indent=2), json_out)
        if json_out == "-":
            return
    from advisor.cli._streams import stdout_console

    render_profile(profile, stdout_console())


def render_profile(profile: DataProfile, console: Console) -> None:
    """Print a profile as a short header, a task table, features and warnings."""
    from rich.table import Table
    from rich.text import Text  # names and values from the user's data are text, never markup

    src = profile.source
    how = ", ".join(str(x) for x in (src["format"], "gzip" if src["compressed"] else None, src["encoding"]) if x)
    goal = profile.goal
    if profile.target_task:
        goal += f" (target task {profile.target_task!r})"
    if profile.shots:
        goal += f" ({profile.shots} shots)"
    sizes = profile.rows_per_task
    console.print(Text.assemble((src["name"], "bold"), f" ({how}) · {profile.n_rows:,} rows"))
    console.print(Text.assemble("layout ", (str(profile.layout), "bold"), " · goal ", (goal, "bold")))
    console.print(
        f"{profile.n_tasks} task(s); rows per task min {sizes['min']:,} / median {sizes['median']:,.0f} / "
        f"max {sizes['max']:,}"
    )
    table = Table(show_edge=False, pad_edge=False)
    for column in ("task", "kind", "rows", "labels / target", "missing", "metric"):
        table.add_column(column, justify="right" if column in {"rows", "missing"} else "left")
    for task in profile.tasks[:_MAX_TASK_ROWS]:
        if task.label_balance is not None:
            detail = ", ".join(f"{k}: {v:.0%}" for k, v in list(task.label_balance.items())[:6])
        else:
            s = task.target_spread or {}
            detail = f"mean {s['mean']:.3g} ± {s['std']:.3g} [{s['min']:.3g}, {s['max']:.3g}]"
            if task.near_constant:
                detail += " (near-constant)"
        table.add_row(
            Text(task.name), task.kind, f"{task.n_rows:,}", Text(detail), f"{task.missing_rate:.1%}", Text(task.metric)
        )
    console.print(table)
    if profile.n_tasks > _MAX_TASK_ROWS:
        console.print(f"… and {profile.n_tasks - _MAX_TASK_ROWS} more task(s); --json - lists them all.")
    by_type = ", ".join(f"{ftype} {len(cols)}" for ftype, cols in profile.features.items())
    console.print(f"{profile.n_features} feature(s): {by_type} · missing cells {profile.missing_rate:.1%}")
    if profile.warnings:
        console.print("[bold yellow]warnings[/bold yellow]")
        for warning in profile.warnings:
            console.print(Text(f"  • {warning}"), soft_wrap=True)
