"""What one oracle run costs, before and after the nested, pruned protocol, on the same cases.

    python -m benchmarks.bench_oracle_cost [--baseline REF] [--cases ID ...] [--write]

Runs the oracle of each sample case twice, side by side on two cores (one torch thread each, so
both see the same load): the protocol of git revision ``REF`` (default: the last commit of
oracle version 2, checked out into a temporary worktree) and the one in this working tree.
Prints each case's seconds and their ratio, and the suite's total estimated by weighting each
sample case by the share of the suite's cases of its kind. ``--write`` saves the table to
``benchmarks/results/oracle_cost.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "bf68f38"
#: Generated cases from six families, and the three smallest real cases of three goals.
CASES = (
    "gen/categorical/01",
    "gen/clusters/03",
    "gen/new_tasks/02",
    "gen/target_related/04",
    "gen/multi_target/05",
    "gen/large/07",
    "concrete/multi_target",
    "office_caltech/target_dslr",
    "computer_survey/new_tasks",
)

_SNIPPET = """
import json, sys, warnings
warnings.filterwarnings("ignore")
import torch
torch.set_num_threads(1)
from benchmarks.oracle._cases import suite_cases
from benchmarks.oracle._run import _timed_oracle
case = next(c for c in suite_cases("all") if c.id == sys.argv[1])
data, spec = case.load()
out = _timed_oracle(data, spec, case.kind, seed=0)
print(json.dumps({"seconds": out["seconds"], "co_winners": out["co_winners"], "version": out["oracle_version"]}))
"""


def _oracle_seconds(tree: Path, case: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}
    env.setdefault("ADVISOR_SHARED_DATA", str(ROOT.parent / "shared" / "data"))
    done = subprocess.run(
        [sys.executable, "-c", _SNIPPET, case], cwd=tree, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{case} in {tree}: {done.stderr.strip().splitlines()[-1]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default=BASELINE, help=f"git revision of the old protocol (default {BASELINE})")
    parser.add_argument("--cases", nargs="+", default=list(CASES))
    parser.add_argument("--write", action="store_true", help="also write benchmarks/results/oracle_cost.md")
    args = parser.parse_args(argv)
    from benchmarks.oracle._cases import suite_cases

    counts = {"real": 0, "generated": 0}
    for c in suite_cases("all"):
        counts[c.kind] += 1
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "baseline"
        subprocess.run(["git", "worktree", "add", "--detach", str(old), args.baseline], cwd=ROOT, check=True,
                       capture_output=True)  # fmt: skip
        try:
            for case in args.cases:
                started = time.perf_counter()
                with ThreadPoolExecutor(2) as pool:
                    before, after = pool.map(_oracle_seconds, [old, ROOT], [case, case])
                rows.append((case, before, after))
                print(f"{case}: {before['seconds']:.1f} s -> {after['seconds']:.1f} s "
                      f"({after['seconds'] / before['seconds']:.2f}x; {time.perf_counter() - started:.0f} s wall)",
                      flush=True)  # fmt: skip
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT, check=False)
    kinds = {case: ("real" if not case.startswith("gen/") else "generated") for case, _, _ in rows}
    total = {}
    for side in (1, 2):
        est = 0.0
        for kind, n in counts.items():
            mine = [r[side]["seconds"] for r in rows if kinds[r[0]] == kind]
            est += n * sum(mine) / len(mine) if mine else 0.0
        total[side] = est
    lines = [
        "# Oracle cost: the old protocol against the nested, pruned one",
        "",
        f"`python -m benchmarks.bench_oracle_cost` — oracle version {rows[0][1]['version']} (git `{args.baseline}`) "
        f"against version {rows[0][2]['version']} (this tree), each case's two runs side by side on two cores, one "
        "torch thread each. Seconds include loading the data.",
        "",
        "| case | before (s) | after (s) | after / before | co-winners before | co-winners after |",
        "|---|---|---|---|---|---|",
    ]
    for case, before, after in rows:
        lines.append(f"| {case} | {before['seconds']:.1f} | {after['seconds']:.1f} | "
                     f"{after['seconds'] / before['seconds']:.2f} | {', '.join(before['co_winners'])} | "
                     f"{', '.join(after['co_winners'])} |")  # fmt: skip
    lines += [
        "",
        f"Suite estimate ({counts['generated']} generated and {counts['real']} real cases, each kind's mean over "
        f"the sample): **{total[1] / 3600:.1f} h before, {total[2] / 3600:.1f} h after** of one core per oracle run "
        f"(ratio {total[2] / total[1]:.2f}).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        (ROOT / "benchmarks" / "results" / "oracle_cost.md").write_text(text)


if __name__ == "__main__":
    main()
