"""Wall time of K per-task MLPs trained as one stacked network vs one after another.

    python -m benchmarks.bench_stl_batching [--repeats 3] [--threads 1] [--out benchmarks/results/stl_batching.md]

Scenario: 10 regression tasks x 2,000 rows (8 features), the protocol's 3 folds. Two regimes:
a fixed 30 epochs with no early stopping (same work for both), and the ``fast`` probe preset
(early stopping; the stacked network trains until its slowest task stops). Runs alternate
between the two implementations and the median of ``--repeats`` is reported, with the score
of each so the speed-up is not bought with accuracy.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import torch

from benchmarks.scenarios import make_scenario
from probes.budget import BudgetPreset, budget_preset
from probes.data import load_taskset
from probes.paradigms import prepare_folds, run_variant
from probes.paradigms.stl import STL_MLP


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/stl_batching.md"))
    args = parser.parse_args()

    scenario = make_scenario(n_tasks=args.tasks, rows_per_task=args.rows, relatedness=0.5, seed=0)
    taskset = load_taskset(scenario.frame, scenario.spec)
    regimes = {
        "30 epochs, no early stopping": BudgetPreset(
            "fixed", n_folds=3, n_repeats=1, max_epochs=30, patience=10_000, n_trials=0
        ),
        "fast preset (early stopping)": budget_preset("fast").with_seconds(None),
    }
    rows = []
    for label, preset in regimes.items():
        folds = prepare_folds(taskset, preset)
        times: dict[bool, list[float]] = {True: [], False: []}
        scores: dict[bool, float] = {}
        for _ in range(args.repeats):
            for batched in (True, False):
                start = time.perf_counter()
                result = run_variant(
                    taskset, STL_MLP, folds, preset=preset, params={"batched": batched}, threads=args.threads
                )
                times[batched].append(time.perf_counter() - start)
                scores[batched] = result.score
        stacked, looped = statistics.median(times[True]), statistics.median(times[False])
        rows.append((label, stacked, looped, looped / stacked, scores[True], scores[False]))

    header = (
        f"STL MLPs, {args.tasks} tasks x {args.rows} rows, 3 folds, torch {torch.__version__}, "
        f"{args.threads} thread(s), {platform.processor() or platform.machine()}, median of {args.repeats}"
    )
    lines = [
        f"# Batched vs looped per-task MLPs\n\n{header}\n",
        "| regime | stacked (s) | looped (s) | speed-up | score stacked | score looped |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, stacked, looped, speedup, s_score, l_score in rows:
        lines.append(f"| {label} | {stacked:.2f} | {looped:.2f} | {speedup:.2f}x | {s_score:.3f} | {l_score:.3f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
