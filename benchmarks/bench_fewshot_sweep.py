"""Wall time of few-shot probes with and without early stopping of the validation sweep.

    python -m benchmarks.bench_fewshot_sweep [--variants meta/maml,transfer/finetune] [--out benchmarks/results/fewshot_sweep.md]

Under ``new_tasks`` the few-shot learners choose their test-time learning rate and step count by
adapting to the validation tasks' episodes and reading the loss at every checkpoint (meta/maml:
up to 300 SGD steps, three learning rates). Under a time limit that sweep now stops once the
loss has not improved for three checkpoints (:func:`probes.paradigms.stl.sweep_stopper`); the
oracle, which has no limit, still sweeps them all. This script runs each variant on the
``new_tasks`` suite cases the probes see (fast preset, rows capped as the probe runner does,
three folds), once with no time limit (full sweep, the baseline) and once under a limit far
beyond what it needs (early stop), one after the other, and reports both wall times and scores: the
scores show whether stopping early changed any choice. Real cases are included when
``../shared/data`` is present.
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings
from pathlib import Path

import torch

from benchmarks.datasets import shared_data_dir
from benchmarks.oracle._cases import generated_cases, real_cases
from probes.budget import Budget, budget_preset
from probes.data import load_taskset
from probes.paradigms import VARIANTS
from probes.paradigms._run import prepare_folds, run_variant
from probes.paradigms._training import warm_up
from probes.runner import _PRESET_PARAMS, subsample_taskset

DEFAULT_CASES = ("gen/new_tasks/00", "gen/new_tasks/03", "gen/sinusoids/00", "school/new_tasks", "radon/new_tasks")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(DEFAULT_CASES))
    parser.add_argument("--variants", default="meta/maml,transfer/finetune")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/fewshot_sweep.md"))
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    warm_up()  # torch's one-off start-up cost must not land in the first timed run
    preset = budget_preset("fast")
    available = {c.id: c for c in generated_cases() + (real_cases() if shared_data_dir() else [])}
    rows = []
    for case_id in args.cases.split(","):
        if case_id not in available:
            print(f"{case_id}: skipped (needs ../shared/data)")
            continue
        data, spec = available[case_id].load()
        taskset = subsample_taskset(load_taskset(data, **spec), preset.max_rows_per_task, seed=0)
        folds = prepare_folds(taskset, preset, seed=0)
        for name in args.variants.split(","):
            params = _PRESET_PARAMS["fast"].get(name)
            runs = {}
            for label, seconds in (("full sweep", None), ("early stop", 1e6)):
                start = time.perf_counter()
                result = run_variant(
                    taskset, VARIANTS[name], folds, budget=Budget(seconds), preset=preset, params=params
                )
                runs[label] = (time.perf_counter() - start, result.score)
            (full_s, full_score), (early_s, early_score) = runs["full sweep"], runs["early stop"]
            rows.append((case_id, name, full_s, early_s, full_s / early_s, full_score, early_score))
            print(
                f"{case_id} {name}: full sweep {full_s:.1f} s, early stop {early_s:.1f} s ({full_s / early_s:.2f}x); "
                f"score {full_score:.4f} / {early_score:.4f}",
                flush=True,
            )

    lines = [
        "# Few-shot validation sweep: full vs early-stopped",
        "",
        f"Fast preset (3 folds, rows capped at {preset.max_rows_per_task} per task), one thread, "
        f"torch {torch.__version__}, {platform.machine()}; one run each, full sweep first.",
        "",
        "| case | variant | full sweep (s) | early stop (s) | speed-up | score full / early |",
        "| --- | --- | ---: | ---: | ---: | --- |",
        *(f"| {c} | {v} | {f:.1f} | {e:.1f} | {r:.2f}x | {sf:.4f} / {se:.4f} |" for c, v, f, e, r, sf, se in rows),
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
