"""``advisor demo``: the whole path on an embedded example shipped with the package."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from advisor.cli._common import write_failure

OutOpt = Annotated[Path, typer.Option("--out", "-o", metavar="DIR", help="Folder for the example data and the report.")]

EXAMPLE = "related_tasks.csv.gz"


def demo_command(
    out: OutOpt = Path("advisor-demo"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
) -> None:
    """Recommend a paradigm for an embedded example (12 related regression tasks, 40 rows each).

    Copies the example to OUT, probes every paradigm on it with the fast budget, prints the
    recommendation and writes OUT/report.html and OUT/recommendation.json.
    """
    from advisor._sdk import Advisor
    from advisor.cli._progress import stderr_progress
    from advisor.cli._streams import stdout_console

    console = stdout_console()
    path = out / EXAMPLE
    try:
        out.mkdir(parents=True, exist_ok=True)
        with resources.as_file(resources.files("advisor.examples") / EXAMPLE) as source:
            shutil.copyfile(source, path)
    except OSError as exc:
        raise write_failure("the example", out, exc) from None
    console.print(f"example data: {path} (12 related regression tasks with 40 rows each)\n", markup=False)
    with stderr_progress(enabled=not quiet) as progress:
        rec = Advisor(budget="fast", seed=0, progress=progress).recommend(path, targets="y", task_column="task")
    console.print(rec.summary(), markup=False)
    rec.to_html(out / "report.html")
    rec.to_json(out / "recommendation.json")
    console.print(f"\nwrote {out / 'report.html'} and {out / 'recommendation.json'}", markup=False)
    console.print(f"next: advisor recommend {path} --target y --task-column task --html report.html", markup=False)
