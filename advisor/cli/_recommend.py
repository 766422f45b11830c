"""``advisor recommend``: the advice, as a readable summary, JSON and an HTML report, with exit-code gates."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from advisor.cli._common import (
    EXIT_GATE,
    EXIT_OK,
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
    write_failure,
    write_json,
)
from advisor.cli._probe import BudgetOpt, SeedOpt, TimeLimitOpt

if TYPE_CHECKING:
    from advisor._recommendation import Recommendation

QuietOpt = Annotated[
    bool,
    typer.Option(
        "--quiet", "-q", metavar="", help="No progress display, and only the headline instead of the summary."
    ),
]
ThenVerifyOpt = Annotated[
    int | None,
    typer.Option(
        "--then-verify",
        metavar="R",
        min=1,
        max=20,
        help="Then verify the top contenders at full budget with R runs (see advisor verify): the choice, the "
        "paradigms tied with it, and the runner-up. Far more work than the probes.",
        show_default=False,
    ),
]
VerifyJsonOpt = Annotated[
    str | None,
    typer.Option("--verify-json", metavar="PATH", help="With --then-verify: write the verification's JSON to PATH."),
]
HtmlOpt = Annotated[
    Path | None, typer.Option("--html", metavar="PATH", help="Write the self-contained HTML report to PATH.")
]
RiskGateOpt = Annotated[
    float | None,
    typer.Option(
        "--fail-on-risk",
        metavar="X",
        help="Exit with code 3 when some task's negative-transfer risk (under the best-scoring sharing paradigm) "
        "exceeds X (0-1), or could not be measured within the time limit: a gate for pipelines.",
    ),
]


@with_spec_options
def recommend_command(
    data: DataArg,
    fields: dict[str, Any],
    budget: BudgetOpt = "fast",
    time_limit: TimeLimitOpt = None,
    seed: SeedOpt = 0,
    json_out: JsonOpt = None,
    html: HtmlOpt = None,
    fail_on_risk: RiskGateOpt = None,
    quiet: QuietOpt = False,
    max_file_mb: MaxFileOpt = 2048.0,
    jobs: JobsOpt = None,
    scheduler: SchedulerOpt = None,
    then_verify: ThenVerifyOpt = None,
    verify_json: VerifyJsonOpt = None,
) -> int:
    """Recommend STL, MTL, transfer or meta-learning for DATA, from probe trainings on it.

    Prints a summary (the choice, the ranking with intervals, the main reasons), writes JSON
    and an HTML report on request. Exit codes: 0 ok; 2 bad input or usage; 1 internal error;
    3 a gate failed (--fail-on-risk).
    """
    check_run_options(budget, time_limit)
    check_data(data, max_file_mb)
    check_outputs(data, {"--json": json_out, "--html": html, "--verify-json": verify_json})
    if verify_json is not None and then_verify is None:
        raise BadOption("--verify-json needs --then-verify R")
    if verify_json == "-" and json_out == "-":
        raise BadOption("--json - and --verify-json - cannot both print on stdout; write one to a file")
    if fail_on_risk is not None and not 0.0 <= fail_on_risk <= 1.0:
        raise BadOption(f"--fail-on-risk must be between 0 and 1 (got {fail_on_risk})")
    if fail_on_risk is not None and getattr(goal := fields.get("goal"), "value", goal) == "new_tasks":
        raise BadOption(
            "--fail-on-risk has nothing to check under --goal new_tasks: negative-transfer risk is measured on "
            "tasks with training rows, not on new ones; leave it out"
        )
    # only now the heavy part (pandas, torch): a bad option or path is refused without it
    from advisor._sdk import Advisor
    from advisor.cli._progress import stderr_progress
    from probes.data import Limits

    with stderr_progress(enabled=not quiet and json_out != "-") as progress:
        advisor = Advisor(
            budget=budget,
            time_limit=time_limit,
            seed=seed,
            progress=progress,
            limits=Limits(max_file_mb=max_file_mb),
            n_jobs=jobs,
            scheduler=scheduler,
        )
        rec = advisor.recommend(data, **fields)
    if json_out is not None:  # first: a report that cannot be written does not lose the JSON
        write_json(rec.to_json(), json_out)
    if html is not None:
        try:
            rec.to_html(html)
        except OSError as exc:
            raise write_failure("the HTML report", html, exc) from None
    if json_out != "-" and not quiet:
        render_recommendation(rec, html)
    elif json_out != "-":
        sys.stdout.write(rec.headline + "\n")
    if then_verify is not None:
        contenders = top_contenders(rec)
        with stderr_progress(enabled=not quiet and "-" not in (json_out, verify_json)) as progress:
            advisor.progress = progress  # a fresh display for the second, longer piece of work
            checked = advisor.verify(data, paradigms=contenders, runs=then_verify, **fields)
        if verify_json is not None:
            write_json(checked.to_json(), verify_json)
        if "-" not in (json_out, verify_json):
            sys.stdout.write("\n" + (checked.headline if quiet else checked.summary()) + "\n")
    return risk_gate(rec, fail_on_risk)


def top_contenders(rec: Recommendation) -> list[str]:
    """What ``--then-verify`` compares: the choice, the paradigms tied with it, and the best-scored other one."""
    chosen = [rec.paradigm, *rec.equivalent_to]
    scored = sorted(
        (e for e in rec.ranking if e.applicable and e.probe_score is not None and e.paradigm not in chosen),
        key=lambda e: -e.probe_score,  # type: ignore[operator]
    )
    if scored:
        chosen.append(scored[0].paradigm)
    return list(dict.fromkeys(chosen))


def risk_gate(rec: Recommendation, threshold: float | None) -> int:
    """Exit code of ``--fail-on-risk``: 3 when a task's risk (its best-ranked sharing paradigm's) exceeds it.

    A gate that could not measure the risk fails too (closed): when single-task learning or every
    applicable sharing paradigm went unscored within the time limit, no task's risk is known.
    """
    if threshold is None:
        return EXIT_OK
    unscored = [e.paradigm for e in rec.ranking if e.applicable and e.probe_score is None]
    unknown = [t for t in rec.tasks if t.negative_transfer_risk is None]
    if unscored and unknown:
        sys.stderr.write(
            f"advisor: gate failed: negative-transfer risk could not be measured for {len(unknown)} task(s): "
            f"{', '.join(unscored)} not scored within the time limit; raise --time-limit\n"
        )
        return EXIT_GATE
    over = [t for t in rec.tasks if t.negative_transfer_risk is not None and t.negative_transfer_risk > threshold]
    if not over:
        return EXIT_OK
    names = ", ".join(f"{t.name} ({t.negative_transfer_risk:.2f})" for t in over[:5])
    paradigm = next((e.paradigm for e in rec.ranking if e.paradigm != "stl" and e.probe_score is not None), "sharing")
    sys.stderr.write(
        f"advisor: gate failed: negative-transfer risk (under {paradigm}) above {threshold} for {len(over)} "
        f"task(s): {names}\n"
    )
    return EXIT_GATE


def render_recommendation(rec: Recommendation, html: Path | None) -> None:
    from advisor.cli._streams import stdout_console

    console = stdout_console()
    console.print(rec.summary(), markup=False)  # plain text holding the data's names: never markup
    if html is not None:
        console.print(f"\nHTML report: {html}", markup=False)
