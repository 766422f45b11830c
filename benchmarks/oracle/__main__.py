"""``python -m benchmarks.oracle run|report|preset`` — see :mod:`benchmarks.oracle`."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.oracle", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="probe and oracle every case without a valid cached result")
    run.add_argument("--kind", choices=["real", "corpus", "generated", "all"], default="all",
                     help="all: real and generated (the corpus runs on its own)")  # fmt: skip
    run.add_argument("--case", action="append", help="only this case id (repeatable; a trailing * matches a prefix)")
    run.add_argument("--workers", type=int, default=1)
    run.add_argument("--force", action="store_true", help="recompute even when a valid cached result exists")
    only = run.add_mutually_exclusive_group()
    only.add_argument("--probes-only", action="store_true", help="run the advisor's probes, not the oracle")
    only.add_argument(
        "--oracle-only", action="store_true", help="run the oracle, not the probes (e.g. on a bigger machine)"
    )
    run.add_argument(
        "--machine", help="with --oracle-only elsewhere: label recorded with those oracles (RESULTS.md marks them)"
    )
    run.add_argument(
        "--scheduler", help="a Dask scheduler address: the oracles' units run on that cluster (same results)"
    )
    report = sub.add_parser("report", help="meta-dataset, RESULTS.md and results.json from the cache (seconds)")
    report.add_argument("--no-refresh", action="store_true", help="use the committed meta-dataset as it is")
    pre = sub.add_parser("preset", help="the oracle on a named clear-cut scenario (benchmarks.scenarios.PRESETS)")
    pre.add_argument("name")
    pre.add_argument("--out", help="also write the result as JSON here")
    args = parser.parse_args(argv)
    if args.command == "run" and args.machine and not args.oracle_only:
        parser.error("--machine labels oracles run away from the probes: use it with --oracle-only")
    try:
        _dispatch(args)
    except ValueError as exc:  # a case or preset name that does not exist: one line, usage-error status
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _dispatch(args: argparse.Namespace) -> None:
    if args.command == "run":
        from benchmarks.oracle._run import run_suite

        run_suite(
            args.kind,
            only=args.case,
            workers=args.workers,
            force=args.force,
            oracle=not args.probes_only,
            probes=not args.oracle_only,
            machine=args.machine,
            scheduler=args.scheduler,
        )
    elif args.command == "report":
        from benchmarks.oracle._report import report as make_report

        make_report(refresh=not args.no_refresh)
    elif args.command == "preset":
        from benchmarks.oracle._run import run_preset

        run_preset(args.name, out=args.out)


if __name__ == "__main__":
    main()
