"""``advisor recommend --budget fast`` on every dataset in ../shared/data: wall time, choice, validity.

    python -m benchmarks.bench_recommend_real [--out benchmarks/results/recommend_fast.md] [--only NAME ...]

Each case runs the real command in a fresh process (so start-up and loading count), writes its
JSON, and checks it against the Recommendation schema. Prints a table and writes it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.datasets import REAL_CASES, RealCase, shared_data_dir


def cli_args(case: RealCase, root: Path) -> list[str]:
    """The ``advisor recommend`` arguments that express ``case.spec``."""
    spec: dict[str, Any] = case.spec
    args = [str(case.file(root))]
    for target in spec["targets"]:
        args += ["--target", target]
    for key, flag in [("task_column", "--task-column"), ("goal", "--goal"), ("target_task", "--target-task"),
                      ("shots", "--shots")]:  # fmt: skip
        if key in spec:
            args += [flag, str(spec[key])]
    for column in spec.get("features", []):
        args += ["--feature", column]
    for column in spec.get("ignore", []):
        args += ["--ignore", column]
    if "task_types" in spec:
        args += ["--task-type", spec["task_types"]]
    return args


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/recommend_fast.md"))
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()
    root = shared_data_dir()
    if root is None:
        sys.exit("../shared/data is not present")
    from advisor.schemas import Recommendation

    rows = []
    for case in REAL_CASES:
        if args.only and not any(o in case.name for o in args.only):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "rec.json"
            command = [sys.executable, "-m", "advisor", "recommend", *cli_args(case, root), "--budget", "fast",
                       "--json", str(out), "--quiet"]  # fmt: skip
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            seconds = time.perf_counter() - started
            if done.returncode != 0 or not out.exists():
                rows.append((case.name, seconds, "FAILED", done.stderr.strip()[-200:], "", "", ""))
                print(rows[-1], flush=True)
                continue
            rec = Recommendation.model_validate_json(out.read_text())
        ranking = ", ".join(f"{e.paradigm} {e.probe_score:.3f}" for e in rec.ranking if e.probe_score is not None)
        rows.append(
            (
                case.name,
                seconds,
                rec.paradigm,
                rec.variant or "",
                f"{rec.confidence:.2f}",
                "yes" if rec.budget.partial else "no",
                ranking,
            )
        )
        print(
            f"{case.name:28s} {seconds:5.1f}s {rec.paradigm:8s} {rec.variant} conf={rec.confidence:.2f} partial={rec.budget.partial}",
            flush=True,
        )

    lines = [
        "# `advisor recommend --budget fast` on the shared datasets\n",
        "Wall time of the whole command (process start, loading, probes, JSON); the JSON of every case "
        "validated against the Recommendation schema. Probe scores are the goal's metric (R² or ROC-AUC).\n",
        "| dataset / spec | seconds | paradigm | variant | confidence | partial | probe scores |",
        "| --- | ---: | --- | --- | ---: | --- | --- |",
    ]
    for name, seconds, paradigm, variant, conf, partial, ranking in rows:
        lines.append(f"| {name} | {seconds:.1f} | {paradigm} | {variant} | {conf} | {partial} | {ranking} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.only:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
