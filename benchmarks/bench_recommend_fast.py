"""``advisor recommend --budget fast`` on every shared dataset: one process (``--jobs 1``) against every core.

    python -m benchmarks.bench_recommend_fast --repeat 3 --out benchmarks/results/recommend_fast.md
    python -m benchmarks.bench_recommend_fast --only school landmine --repeat 1

Each case runs the real command in a fresh process (start-up, loading and the JSON count), first
with ``--jobs 1`` (every unit of work in one process, as before the probes ran on a pool) and then
with the default (every core), alternating, ``--repeat`` times each; the table gives the median
wall time of each, whether the run was partial, and whether the two recommendations are the same
once timing fields are dropped (they must be: the work is fixed by the budget, not the clock).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.bench_recommend_real import cli_args
from benchmarks.datasets import REAL_CASES, shared_data_dir

#: Keys whose values are wall times (dropped before two recommendations are compared).
TIMING_KEYS = ("seconds", "seconds_used", "seconds_limit")


def without_timing(value: Any) -> Any:
    """``value`` (parsed JSON) without wall times: ``seconds*`` keys and the phases' seconds."""
    if isinstance(value, dict):
        return {k: without_timing(v) for k, v in value.items() if not k.startswith("seconds")}
    if isinstance(value, list):
        return [without_timing(v) for v in value]
    return value


def run_once(args: list[str], jobs: int | None) -> tuple[float, dict[str, Any] | None, str]:
    """Wall seconds, the recommendation JSON (``None`` on failure) and stderr's tail."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rec.json"
        command = [sys.executable, "-m", "advisor", "recommend", *args, "--budget", "fast", "--json", str(out),
                   "--quiet"] + ([] if jobs is None else ["--jobs", str(jobs)])  # fmt: skip
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        if done.returncode != 0 or not out.exists():
            return seconds, None, done.stderr.strip()[-300:]
        return seconds, json.loads(out.read_text()), ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="Markdown table to write (default: print only).")
    parser.add_argument("--only", nargs="*", default=None, help="Cases whose name contains one of these.")
    parser.add_argument("--repeat", type=int, default=3, help="Runs of each configuration (median reported).")
    parser.add_argument("--jobs", type=int, default=None, help="--jobs of the 'after' runs (default: every core).")
    parser.add_argument(
        "--baseline-repeat", type=int, default=None, help="Runs of the --jobs 1 baseline (default: --repeat)."
    )
    args = parser.parse_args()
    baseline = args.repeat if args.baseline_repeat is None else args.baseline_repeat
    root = shared_data_dir()
    if root is None:
        sys.exit("../shared/data is not present")
    from probes.runner import resolve_jobs

    cores = resolve_jobs(args.jobs, "cpu")
    rows = []
    for case in REAL_CASES:
        if args.only and not any(o in case.name for o in args.only):
            continue
        cli = cli_args(case, root)
        before: list[float] = []
        after: list[float] = []
        recs: dict[str, dict[str, Any] | None] = {}
        error = ""
        for i in range(max(args.repeat, baseline)):
            for label, jobs, times in (("before", 1, before), ("after", args.jobs, after)):
                if i >= (baseline if label == "before" else args.repeat):
                    continue
                seconds, rec, err = run_once(cli, jobs)
                times.append(seconds)
                recs.setdefault(label, rec)
                error = error or err
        rec = recs.get("after") or recs.get("before")
        if rec is None:
            rows.append((case.name, "", "", statistics.median(before), statistics.median(after), "FAILED", error, ""))
            print(rows[-1], flush=True)
            continue
        same = (
            "yes"
            if recs.get("before") is not None and without_timing(recs["before"]) == without_timing(recs["after"])
            else "NO"
        )
        scored = sum(1 for e in rec["ranking"] if e.get("probe_score") is not None)
        rows.append(
            (
                case.name,
                str(len(rec.get("tasks") or []) or case.expected_tasks),
                str(scored),
                statistics.median(before),
                statistics.median(after),
                "yes" if rec["budget"]["partial"] else "no",
                same,
                rec["paradigm"],
            )
        )
        name, tasks, n_scored, b, a, partial, same_, paradigm = rows[-1]
        print(
            f"{name:28s} tasks={tasks:>4s} scored={n_scored} jobs1={b:6.1f}s jobs{cores}={a:6.1f}s "
            f"partial={partial} same={same_} {paradigm}",
            flush=True,
        )

    lines = [
        "# `advisor recommend --budget fast`: one process against every core\n",
        f"Median wall time of the whole command (process start, loading, probes, JSON) on {platform.system()} "
        f"{platform.machine()} with {cores} cores: `--jobs 1` (every unit of work in one process, {baseline} run(s)) "
        f"against `--jobs {cores}` ({args.repeat} run(s)), alternating, measured in the same run on an idle "
        "machine. *Same* compares the two "
        "recommendations with their wall times dropped (`python -m benchmarks.bench_recommend_fast`).\n",
        f"| dataset / spec | tasks | paradigms scored | --jobs 1 (s) | --jobs {cores} (s) | partial | same | paradigm |",
        "| --- | ---: | ---: | ---: | ---: | --- | --- | --- |",
    ]
    for name, tasks, scored, b, a, partial, same, paradigm in rows:
        lines.append(f"| {name} | {tasks} | {scored} | {b:.1f} | {a:.1f} | {partial} | {same} | {paradigm} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
