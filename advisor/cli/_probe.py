"""``advisor probe``: run paradigms under the protocol and print their raw scores."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from advisor._checks import PARADIGM_IDS
from advisor.cli._common import (
    BadOption,
    DataArg,
    JobsOpt,
    JsonOpt,
    MaxFileOpt,
    SchedulerOpt,
    check_data,
    check_outputs,
    check_run_options,
    with_spec_options,
    write_json,
)
from probes.budget import BUDGETS, USER_BUDGETS
from probes.seeds import MAX_SEED

if TYPE_CHECKING:
    from probes.paradigms import Variant

ParadigmOpt = Annotated[
    str,
    typer.Option(
        "--paradigm",
        metavar="LIST",
        help="Comma-separated paradigms (stl, mtl, transfer, meta) or variants (mtl/pcgrad).",
    ),
]


def _budget_help() -> str:
    caps = ", ".join(
        f"{name} {BUDGETS[name].max_rows_per_task:,}" if BUDGETS[name].max_rows_per_task else f"{name} all"
        for name in USER_BUDGETS
    )
    return (
        f"{' | '.join(USER_BUDGETS)}: folds, epochs, search trials, and the rows probed per task "
        f"(larger tasks are subsampled: {caps})."
    )


BudgetOpt = Annotated[str, typer.Option("--budget", metavar="NAME", help=_budget_help())]
TimeLimitOpt = Annotated[
    float | None,
    typer.Option(
        "--time-limit",
        metavar="S",
        help="Stop the probes after S seconds of wall time, keeping the folds they finished. The budget sets "
        "an amount of work, not a time: without this option nothing is stopped by the clock. [default: no limit]",
        show_default=False,
    ),
]
SeedOpt = Annotated[
    int,
    typer.Option(
        "--seed", metavar="N", help="Seed for splits, initialisation and search (0 to 2^32 - 1).", min=0, max=MAX_SEED
    ),
]
TrialsOpt = Annotated[
    int | None,
    typer.Option("--trials", metavar="N", help="Optuna trials per variant in each fold (default: the budget's)."),
]
StorageOpt = Annotated[
    str | None,
    typer.Option("--storage", metavar="URL", help="Optuna storage URL (e.g. sqlite:///studies.db); default in memory."),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", metavar="", help="No progress display.")]


def check_paradigms(spec: str) -> None:
    """``--paradigm`` names a paradigm, or a variant of one (``mtl/pcgrad``): the paradigm part is checked
    here, without the trainers; a variant's own name is checked by :func:`resolve_variants`."""
    names = [part.strip() for part in spec.split(",") if part.strip()]
    if not names:
        raise BadOption("--paradigm: name at least one paradigm")
    for name in names:
        if name.partition("/")[0] not in PARADIGM_IDS:
            raise BadOption(
                f"--paradigm: unknown paradigm or variant {name!r}; choose from {', '.join(PARADIGM_IDS)}, or a "
                "variant of one such as mtl/pcgrad"
            )


def resolve_variants(spec: str) -> list[Variant]:
    """Variants named by ``--paradigm`` (paradigm ids expand to their default variants)."""
    from probes.paradigms import DEFAULT_VARIANTS, PARADIGMS, VARIANTS

    chosen: list[Variant] = []
    for name in (part.strip() for part in spec.split(",")):
        if not name:
            continue
        if name in VARIANTS:
            names = [name]
        elif name in PARADIGMS:
            names = list(DEFAULT_VARIANTS.get(name, ()))
        else:
            known = ", ".join([*PARADIGMS, *sorted(VARIANTS)])
            raise BadOption(f"--paradigm: unknown paradigm or variant {name!r}; choose from {known}")
        chosen += [VARIANTS[n] for n in names if VARIANTS[n] not in chosen]
    if not chosen:
        raise BadOption("--paradigm: name at least one paradigm")
    return chosen


def check_storage(url: str) -> None:
    """An Optuna storage URL that SQLAlchemy can use, checked before any training (not deep in a search)."""
    from pathlib import Path

    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(url)
        parsed.get_dialect()
    except (ArgumentError, NoSuchModuleError, ImportError, ValueError) as exc:
        raise BadOption(
            f"--storage {url!r} is not a database URL this install can use (e.g. sqlite:///studies.db): {exc}"
        ) from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        folder = Path(parsed.database).parent
        if not folder.is_dir():
            raise BadOption(f"--storage {url!r}: the folder '{folder}' does not exist")


@with_spec_options
def probe_command(
    data: DataArg,
    fields: dict[str, Any],
    paradigm: ParadigmOpt = "stl,mtl,transfer,meta",
    budget: BudgetOpt = "fast",
    time_limit: TimeLimitOpt = None,
    seed: SeedOpt = 0,
    trials: TrialsOpt = None,
    storage: StorageOpt = None,
    json_out: JsonOpt = None,
    quiet: QuietOpt = False,
    max_file_mb: MaxFileOpt = 2048.0,
    jobs: JobsOpt = None,
    scheduler: SchedulerOpt = None,
) -> None:
    """Train each paradigm on DATA under the evaluation protocol and print its scores.

    Every variant is scored on the same folds; scores are the goal's aggregate (higher is
    better) with a 95% interval: a paired bootstrap over test rows (row folds), a t-test over
    held-out tasks (new_tasks). A variant stopped by the time limit keeps the folds it finished
    and is flagged. Tasks larger than the budget's row cap are subsampled first, exactly as
    `advisor recommend` does (fast: 400 rows per task).
    """
    check_run_options(budget, time_limit)
    check_data(data, max_file_mb)
    check_outputs(data, {"--json": json_out})
    if trials is not None and trials < 0:
        raise BadOption(f"--trials must be 0 or more (got {trials})")
    if storage is not None:
        check_storage(storage)
    check_paradigms(paradigm)
    from advisor._checks import check_scheduler

    scheduler = check_scheduler(scheduler)
    # only now the heavy part (pandas, torch, optuna): a bad option is refused without it
    from advisor.cli._progress import stderr_progress
    from probes.budget import budget_preset
    from probes.data import Limits, load_taskset
    from probes.paradigms import run_variants
    from probes.runner import preset_params, subsample_taskset

    variants = resolve_variants(paradigm)
    full = load_taskset(data, limits=Limits(max_file_mb=max_file_mb), **fields)
    # The budget's row cap, drawn as `advisor recommend` draws it (same seed: the same rows and folds).
    taskset = subsample_taskset(full, budget_preset(budget).max_rows_per_task, seed=seed)
    with stderr_progress(enabled=not quiet and json_out != "-") as progress:
        run = run_variants(
            taskset,
            variants,
            preset=budget,
            time_limit=time_limit,
            seed=seed,
            n_trials=trials,
            storage=storage,
            progress=progress,
            params=preset_params(budget),  # as `advisor recommend` sets them (fast: two transfer pretrainings)
            n_jobs=jobs,
            scheduler=scheduler,
        )
    cut = any(t.n_rows < f.n_rows for t, f in zip(taskset.tasks, full.tasks, strict=True))
    payload = probe_payload(taskset, run, time_limit, subsampled=cut)
    if json_out is not None:
        write_json(payload, json_out)
        if json_out == "-":
            return
    render_probe(payload)


def probe_payload(taskset: Any, run: Any, time_limit: float | None, *, subsampled: bool = False) -> dict[str, Any]:
    """The JSON of ``advisor probe`` (``subsampled``: some task was cut to the budget's ``max_rows_per_task``)."""
    from probes.protocol import co_winners

    scored = run.scored()
    decision = co_winners(scored) if scored else None
    return {
        "dataset": taskset.source.name,
        "layout": taskset.layout.value,
        "goal": taskset.goal.value,
        "target_task": taskset.spec.target_task,
        "n_tasks": taskset.n_tasks,
        "budget": run.preset.name,
        "time_limit": time_limit,  # the user's limit, or None: the budget fixes the work, not the time
        "seed": run.seed,
        "folds": run.n_folds,
        "max_rows_per_task": run.preset.max_rows_per_task,
        "subsampled": subsampled,
        "seconds": round(run.seconds, 3),
        "paradigms": [r.to_dict() for r in run.results],
        "best": decision.best if decision else None,
        "co_winners": list(decision.co_winners) if decision else [],
        "test": _test_name(decision),
    }


def _test_name(decision: Any) -> str | None:
    """The paired test behind the co-winners, as the protocol picked it for these folds (``None``: nothing compared)."""
    names = sorted({f"{c.test}, alpha {c.alpha:g}" for c in decision.comparisons.values()}) if decision else []
    return "; ".join(names) or None


def render_probe(payload: dict[str, Any]) -> None:
    from rich.table import Table
    from rich.text import Text  # names from the user's data are text, never markup

    from advisor.cli._streams import stdout_console

    console = stdout_console()
    goal = payload["goal"] + (f" (target {payload['target_task']!r})" if payload["target_task"] else "")
    console.print(
        Text.assemble(
            (payload["dataset"], "bold"),
            f" · {payload['n_tasks']} task(s) · goal {goal} · budget {payload['budget']} · "
            f"{payload['folds']} folds · seed {payload['seed']} · {payload['seconds']:.1f} s",
        )
    )
    table = Table(show_edge=False, pad_edge=False)
    for column in ("variant", "score", "95% interval", "folds", "seconds", "note"):
        table.add_column(column, justify="right" if column in {"score", "folds", "seconds"} else "left")
    for row in payload["paradigms"]:
        if row["skipped"]:
            table.add_row(row["variant"], "—", "", "", "", Text(f"not run: {row['skipped']}"))
            continue
        interval = "" if row["ci_low"] is None else Text(f"[{row['ci_low']:.3f}, {row['ci_high']:.3f}]")
        score = "—" if row["score"] is None else f"{row['score']:.3f}"
        mark = " *" if row["variant"] in payload["co_winners"] else ""
        note = (
            Text(f"failed: {row['failed']}")
            if row.get("failed")
            else ("stopped by the time limit" if row["budget_exhausted"] else "")
        )
        table.add_row(
            row["variant"] + mark,
            score,
            interval,
            f"{row['folds_finished']}/{row['folds_planned']}",
            f"{row['seconds']:.1f}",
            note,
        )
    console.print(table)
    if payload["subsampled"]:
        uncapped = [f"--budget {name}" for name in USER_BUDGETS if BUDGETS[name].max_rows_per_task is None]
        console.print(
            f"Tasks larger than {payload['max_rows_per_task']:,} rows were subsampled for the probes (budget "
            f"{payload['budget']}, as in advisor recommend)"
            + (f"; {' or '.join(uncapped)} probes every row." if uncapped else ".")
        )
    if payload["co_winners"]:
        test = f"; {payload['test']}" if payload["test"] else " (only one variant scored: nothing to compare)"
        console.print(f"* co-winners (best: {payload['best']}){test}")
