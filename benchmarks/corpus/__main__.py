"""``python -m benchmarks.corpus check|list`` — see :mod:`benchmarks.corpus`."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections import Counter
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    from benchmarks.corpus._cases import CorpusCase, check_case, corpus_cases

    parser = argparse.ArgumentParser(prog="python -m benchmarks.corpus", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="load cases with the advisor's loader and list what disqualifies them")
    check.add_argument("--id", action="append", help="only this case id (repeatable)")
    check.add_argument("--file", type=Path, help="check the cases of this JSON file (not yet in cases/)")
    sub.add_parser("list", help="counts by source, layout and goal")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    if getattr(args, "file", None):
        cases = [CorpusCase.from_dict(e, batch=args.file.stem) for e in json.loads(args.file.read_text())]
    else:
        cases = corpus_cases()
    if getattr(args, "id", None):
        cases = [c for c in cases if c.id in set(args.id)]
    if args.command == "list":
        print(f"{len(cases)} cases from {len({c.source for c in cases})} sources")
        print("layouts:", dict(Counter(c.layout for c in cases)), "goals:", dict(Counter(c.goal for c in cases)))
        return
    bad = 0
    for case in cases:
        out = check_case(case)
        bad += bool(out["problems"])
        print(json.dumps(out), flush=True)
    print(f"{len(cases) - bad} of {len(cases)} cases qualify", file=sys.stderr)
    if bad:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
