"""The same command gives the same recommendation on an idle and on a saturated machine.

    python -m benchmarks.bench_reproducible [--only school landmine]

For school (``exam_score`` by ``school_id``) and landmine (``label`` by ``task_id``) from
``../shared/data``, runs ``advisor recommend --budget fast --json`` twice with the real CLI: once
as it is, once while a busy loop occupies every core in other processes. Prints the diff of the
two JSON files with wall times dropped (``seconds*`` keys, the phases' seconds): it must be empty,
since a budget is a fixed amount of work and no step looks at the clock.
"""

from __future__ import annotations

import argparse
import difflib
import json
import multiprocessing
import sys
from typing import Any

from benchmarks.bench_recommend_fast import run_once, without_timing
from benchmarks.bench_recommend_real import cli_args
from benchmarks.datasets import REAL_CASES, shared_data_dir

CASES = ("school/all_tasks", "landmine/all_tasks")


def _spin(stop: Any) -> None:
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x += 1


class Busy:
    """A busy loop in each of ``n`` processes while the block runs."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __enter__(self) -> Busy:
        self.stop = multiprocessing.Event()
        self.procs = [multiprocessing.Process(target=_spin, args=(self.stop,), daemon=True) for _ in range(self.n)]
        for p in self.procs:
            p.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for p in self.procs:
            p.join(timeout=5)


def diff(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Unified diff of two recommendations without their wall times (empty: identical)."""
    left = json.dumps(without_timing(a), indent=1, sort_keys=True).splitlines()
    right = json.dumps(without_timing(b), indent=1, sort_keys=True).splitlines()
    return list(difflib.unified_diff(left, right, "idle", "busy", lineterm=""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()
    root = shared_data_dir()
    if root is None:
        sys.exit("../shared/data is not present")
    from probes.runner import resolve_jobs

    cores = resolve_jobs(None, "cpu")
    failed = False
    for case in REAL_CASES:
        if case.name not in CASES or (args.only and not any(o in case.name for o in args.only)):
            continue
        cli = cli_args(case, root)
        idle_s, idle, err = run_once(cli, None)
        with Busy(cores):
            busy_s, busy, err2 = run_once(cli, None)
        if idle is None or busy is None:
            print(f"{case.name}: FAILED {err or err2}")
            failed = True
            continue
        lines = diff(idle, busy)
        print(f"{case.name}: idle {idle_s:.1f} s, with {cores} busy loops {busy_s:.1f} s; "
              f"partial {idle['budget']['partial']}/{busy['budget']['partial']}; diff lines: {len(lines)}")  # fmt: skip
        print("\n".join(lines))
        failed = failed or bool(lines)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
