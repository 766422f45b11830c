"""``advisor demo``: the whole path on an embedded example shipped with the package."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Folder for the example data and outputs.")]

EXAMPLE = "related_tasks.csv.gz"


def demo_command(out: OutOpt = Path("advisor-demo")) -> None:
    """Copy the embedded example (12 related regression tasks, 40 rows each) to OUT and inspect it.

    Rerun any command on OUT/related_tasks.csv.gz afterwards.
    """
    from rich.console import Console

    from advisor._inspect import inspect_data
    from advisor.cli._inspect import render_profile

    console = Console(highlight=False)
    out.mkdir(parents=True, exist_ok=True)
    path = out / EXAMPLE
    with resources.as_file(resources.files("advisor.examples") / EXAMPLE) as source:
        shutil.copyfile(source, path)
    console.print(f"example data: {path} (12 related regression tasks with 40 rows each)\n")
    render_profile(inspect_data(path, targets=["y"], task_column="task"), console)
    console.print(f"\nnext: advisor inspect {path} --target y --task-column task --json -")
