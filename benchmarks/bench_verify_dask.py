"""``advisor verify`` on a Dask cluster of one and of two workers: the speed-up, and the same answers.

    python -m benchmarks.bench_verify_dask [--cases ID ...] [--runs R] [--write]

Starts a ``LocalCluster`` of N single-threaded worker processes (N = 1, then 2) and runs
``Advisor.verify`` (the real cases' full budget, ``--runs`` runs, seed 0) on each sample case
with the cluster's address, timing each. Checks that both clusters give the same verification
(timings aside). ``--write`` saves the table to ``benchmarks/results/verify_dask.md``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: The four real cases with the shortest oracles: the benchmark fits in a few minutes.
CASES = ("concrete/multi_target", "heart/all_tasks", "bike/multi_target", "wine/all_tasks")


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k not in {"seconds", "seconds_used"}}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _peak_rss_mb() -> float:
    """This process's peak resident memory (run on each worker)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", nargs="+", default=list(CASES))
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--write", action="store_true", help="also write benchmarks/results/verify_dask.md")
    args = parser.parse_args(argv)

    from distributed import Client, LocalCluster

    from advisor import Advisor
    from benchmarks.oracle._cases import suite_cases

    cases = {c.id: c for c in suite_cases("real")}
    seconds: dict[int, dict[str, float]] = {}
    answers: dict[int, dict[str, Any]] = {}
    peak_mb: dict[int, float] = {}
    for workers in (1, 2):
        seconds[workers], answers[workers] = {}, {}
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            advisor = Advisor(seed=0, scheduler=cluster.scheduler_address)
            for case_id in args.cases:
                data, spec = cases[case_id].load()
                started = time.perf_counter()
                result = advisor.verify(data, runs=args.runs, **spec)
                seconds[workers][case_id] = time.perf_counter() - started
                answers[workers][case_id] = _plain(json.loads(result.to_json()))
                print(f"{workers} worker(s) {case_id}: {seconds[workers][case_id]:.1f} s, {result.paradigm} "
                      f"({', '.join(result.co_winners)})", flush=True)  # fmt: skip
            with Client(cluster.scheduler_address, set_as_default=False) as client:
                peaks = client.run(_peak_rss_mb)
            peak_mb[workers] = max(peaks.values())
    same = all(answers[1][c] == answers[2][c] for c in args.cases)
    total1, total2 = sum(seconds[1].values()), sum(seconds[2].values())
    lines = [
        "# `advisor verify` on Dask: one worker against two",
        "",
        f"`python -m benchmarks.bench_verify_dask` — `Advisor.verify` ({args.runs} run(s), seed 0, the real cases' "
        "full budget) with a `LocalCluster` of 1, then 2 single-threaded worker processes on this machine "
        f"(2 cores). Same verification on both clusters, timings aside: **{'yes' if same else 'NO'}**.",
        "",
        "| case | 1 worker (s) | 2 workers (s) | speed-up | choice | co-winners |",
        "|---|---|---|---|---|---|",
    ]
    for case_id in args.cases:
        a, b = seconds[1][case_id], seconds[2][case_id]
        answer = answers[2][case_id]
        lines.append(f"| {case_id} | {a:.1f} | {b:.1f} | {a / b:.2f}× | {answer['paradigm']} | "
                     f"{', '.join(answer['co_winners'])} |")  # fmt: skip
    lines.append(f"| **all** | **{total1:.1f}** | **{total2:.1f}** | **{total1 / total2:.2f}×** | | |")
    lines += [
        "",
        f"Peak resident memory of one worker process over the run: {peak_mb[1]:,.0f} MB (1 worker), "
        f"{peak_mb[2]:,.0f} MB (2 workers).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        (ROOT / "benchmarks" / "results" / "verify_dask.md").write_text(text)


if __name__ == "__main__":
    main()
