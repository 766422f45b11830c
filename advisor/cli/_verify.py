"""``advisor verify``: the full-budget comparison on the user's own data, as a summary and JSON."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from advisor.cli._common import (
    EXIT_OK,
    BadOption,
    DataArg,
    JobsOpt,
    JsonOpt,
    MaxFileOpt,
    SchedulerOpt,
    check_data,
    check_outputs,
    with_spec_options,
    write_json,
)
from advisor.cli._probe import PARADIGM_IDS, QuietOpt, SeedOpt, StorageOpt, check_storage

VerifyParadigmOpt = Annotated[
    str,
    typer.Option("--paradigm", metavar="LIST", help="Comma-separated paradigms to compare (stl, mtl, transfer, meta)."),
]
RunsOpt = Annotated[
    int,
    typer.Option(
        "--runs",
        metavar="R",
        min=1,
        max=20,
        help="Full-budget runs, each with other folds, search and training seeds (seed, seed + 1, ...); "
        "the truth rule combines them. More runs separate closer paradigms.",
    ),
]


def check_verify_paradigms(spec: str) -> list[str]:
    names = [name.strip() for name in spec.split(",") if name.strip()]
    if not names:
        raise BadOption("--paradigm: name at least one paradigm")
    unknown = [name for name in names if name not in PARADIGM_IDS]
    if unknown:
        raise BadOption(f"--paradigm: unknown paradigm {unknown[0]!r}; choose from {', '.join(PARADIGM_IDS)}")
    return names


@with_spec_options
def verify_command(
    data: DataArg,
    fields: dict[str, Any],
    paradigm: VerifyParadigmOpt = "stl,mtl,transfer,meta",
    runs: RunsOpt = 3,
    seed: SeedOpt = 0,
    json_out: JsonOpt = None,
    quiet: QuietOpt = False,
    max_file_mb: MaxFileOpt = 2048.0,
    jobs: JobsOpt = None,
    scheduler: SchedulerOpt = None,
    storage: StorageOpt = None,
) -> int:
    """Compare the paradigms at full budget on DATA: the benchmark's oracle, R times, and the truth rule.

    All rows, a hyper-parameter search inside every fold, each paradigm's variant chosen on
    validation; run r uses seed + r. A paradigm's score is its mean over runs and folds; the
    co-winners are within 0.005 of the best or not significantly worse over the runs; the
    simplest co-winner is the verified choice. Far more work than `advisor recommend`
    (minutes to hours): --scheduler spreads it over a Dask cluster.
    """
    check_data(data, max_file_mb)
    check_outputs(data, {"--json": json_out})
    wanted = check_verify_paradigms(paradigm)
    if storage is not None:
        check_storage(storage)
    from advisor._sdk import Advisor
    from advisor.cli._progress import stderr_progress
    from advisor.cli._streams import stdout_console
    from probes.data import Limits

    with stderr_progress(enabled=not quiet and json_out != "-") as progress:
        advisor = Advisor(
            seed=seed, progress=progress, limits=Limits(max_file_mb=max_file_mb), n_jobs=jobs, scheduler=scheduler
        )
        result = advisor.verify(data, paradigms=wanted, runs=runs, storage=storage, **fields)
    if json_out is not None:
        write_json(result.to_json(), json_out)
    if json_out != "-":
        if quiet:
            sys.stdout.write(result.headline + "\n")
        else:
            stdout_console().print(result.summary(), markup=False)
    return EXIT_OK
