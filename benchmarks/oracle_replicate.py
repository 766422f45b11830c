"""How reproducible is the oracle itself? A second oracle run per real case, with another seed.

    python -m benchmarks.oracle_replicate run --workers 2     # the seed-1 oracles (cached, resumable)
    python -m benchmarks.oracle_replicate report --write      # benchmarks/REPLICATE.md

The benchmark scores a choice as right when it is one of the oracle's co-winners (DESIGN.md §3,
§7). The oracle is itself a noisy estimate: other folds and another search (``seed``) can name
other co-winners when paradigms are close. Scoring a second, independent oracle run's choice
against the first one's co-winners measures the accuracy a method that *knew a full-budget
result* would reach: the level against which any probe-based advisor's accuracy has to be read.
The seed-1 oracles are cached in ``benchmarks/cache/oracle_seed1/`` through the main cache's
functions (same keys and version checks), and are not used anywhere else.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from benchmarks.oracle._cases import Case, real_cases
from benchmarks.oracle._run import _write, load_cached, quiet_single_thread, run_oracle_case

ROOT = Path(__file__).resolve().parents[1]
KIND = "oracle_seed1"  # the cache folder under benchmarks/cache/
SEED = 1


def _run_one(case: Case) -> str:
    quiet_single_thread()
    started = time.perf_counter()
    result = run_oracle_case(case, seed=SEED)
    _write(KIND, case, result)
    return f"{case.id}: {time.perf_counter() - started:.0f} s, co-winners {', '.join(result['co_winners'])}"


def run(workers: int) -> None:
    """Run the missing seed-1 oracles, longest (by the seed-0 oracle's time) first."""
    seconds = {c.id: float(o["seconds"]) for c in real_cases() if (o := load_cached("oracle", c)) is not None}
    cases = [c for c in real_cases() if c.id in seconds and load_cached(KIND, c) is None]
    cases.sort(key=lambda c: -seconds[c.id])
    print(f"{len(cases)} seed-{SEED} oracles to run with {workers} worker(s)", flush=True)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_run_one, c) for c in cases]
        for i, future in enumerate(as_completed(futures), 1):
            try:
                print(f"[{i}/{len(cases)}] {future.result()}", flush=True)
            except Exception as exc:  # one failure must not lose the others
                print(f"[{i}/{len(cases)}] failed: {type(exc).__name__}: {exc}", flush=True)


def agreement(pairs: list[tuple[str, dict[str, Any], dict[str, Any]]]) -> dict[str, Any]:
    """Agreement of two oracle runs per case: each run's choice (``winner``) scored against the other's co-winners."""
    rows, hits = [], []
    for case_id, first, second in pairs:
        a, b = first["winner"], second["winner"]  # each run's own choice under the co-winner rule
        ab, ba = a in second["co_winners"], b in first["co_winners"]
        hits += [ab, ba]
        rows.append({"case": case_id, "seed0": first["co_winners"], "seed1": second["co_winners"],
                     "seed0_choice_in_seed1": ab, "seed1_choice_in_seed0": ba,
                     "scores0": {p: v["score"] for p, v in first["paradigms"].items()},
                     "scores1": {p: v["score"] for p, v in second["paradigms"].items()}})  # fmt: skip
    return {"cases": len(pairs), "accuracy": sum(hits) / len(hits) if hits else None, "rows": rows}


def _against(record: Any, oracle: dict[str, Any]) -> Any:
    """``record`` with its oracle outcome (co-winners, per-paradigm scores) taken from ``oracle``."""
    from dataclasses import replace

    scores = {p: float(v["score"]) for p, v in oracle["paradigms"].items() if v.get("score") is not None}
    return replace(record, co_winners=list(oracle["co_winners"]), oracle_score=scores)


def report_lines() -> list[str]:
    """The agreement of the seed-0 and seed-1 oracles, and every method scored against each (markdown)."""
    import numpy as np
    import pandas as pd

    from advisor._learned import load_model
    from benchmarks.oracle._evaluate import (
        METHODS,
        PROBE_METHODS,
        advisor_choice,
        constant_brier,
        decisions,
        method_metrics,
        records_from_meta,
    )

    pairs = []
    for case in real_cases():
        first, second = load_cached("oracle", case), load_cached(KIND, case)
        if first is not None and second is not None:
            pairs.append((case.id, first, second))
    if not pairs:
        raise SystemExit("no real case has both oracles cached; run `python -m benchmarks.oracle_replicate run`")
    result = agreement(pairs)
    model = load_model()
    if model is None:
        raise SystemExit("no shipped model; run `python benchmarks/train_recommender.py`")
    by_case = {r.case: r for r in records_from_meta(pd.read_csv(ROOT / "benchmarks" / "meta_dataset.csv"))}
    missing = [case_id for case_id, _, _ in pairs if case_id not in by_case]
    if missing:
        raise SystemExit(
            f"not in benchmarks/meta_dataset.csv: {', '.join(missing)}; run `python -m benchmarks.oracle report`"
        )
    records = [by_case[case_id] for case_id, _, _ in pairs]
    advisor = {r.case: advisor_choice(model, r) for r in records}
    runs = {
        "seed 0": [_against(r, first) for r, (_, first, _) in zip(records, pairs, strict=True)],
        "seed 1": [_against(r, second) for r, (_, _, second) in zip(records, pairs, strict=True)],
    }
    n = len(pairs)
    lines = [
        "# Oracle replicate: how reproducible is the oracle itself?",
        "",
        "Written by `python -m benchmarks.oracle_replicate report --write` from the committed caches",
        "(`benchmarks/cache/oracle/`: seed 0, the benchmark's oracle; `benchmarks/cache/oracle_seed1/`:",
        "seed 1, same protocol, other folds and another search). Real cases only.",
        "",
        "## Agreement of the two oracle runs",
        "",
        f"{n} real cases. One oracle run's choice (its simplest co-winner) is a co-winner of the other run "
        f"in **{100 * result['accuracy']:.1f}%** of {2 * n} comparisons (both directions). That is the decision "
        "accuracy of a method that knew a full-budget result, and the level against which the advisor's "
        "accuracy has to be read.",
        "",
        "## Every method against each oracle run",
        "",
        "| method | accuracy vs seed 0 | accuracy vs seed 1 | mean | regret vs seed 0 | regret vs seed 1 "
        "| Brier vs seed 0 | Brier vs seed 1 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in METHODS:
        metrics = {
            run: method_metrics(recs, decisions(m, recs, advisor), uses_probes=m in PROBE_METHODS)
            for run, recs in runs.items()
        }
        acc = [metrics[run]["accuracy"] for run in runs]
        brier = [metrics[run]["brier"] for run in runs]
        lines.append(
            f"| {m} | {100 * acc[0]:.1f}% | {100 * acc[1]:.1f}% | {100 * float(np.mean(acc)):.1f}% "
            f"| {metrics['seed 0']['mean_regret']:.4f} | {metrics['seed 1']['mean_regret']:.4f} | "
            + " | ".join("—" if b is None else f"{b:.3f}" for b in brier)
            + " |"
        )
    constant = [constant_brier(recs, decisions("advisor", recs, advisor)) for recs in runs.values()]
    lines += [
        "",
        f"Best constant confidence for the advisor's choices: Brier {constant[0]:.3f} vs seed 0, "
        f"{constant[1]:.3f} vs seed 1.",
        "",
        "## Per case",
        "",
        "| case | seed-0 co-winners | seed-1 co-winners | seed-0 scores | seed-1 scores | advisor |",
        "|---|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        s0 = ", ".join(f"{p} {v:.3f}" for p, v in row["scores0"].items() if v is not None)
        s1 = ", ".join(f"{p} {v:.3f}" for p, v in row["scores1"].items() if v is not None)
        lines.append(
            f"| {row['case']} | {', '.join(row['seed0'])} | {', '.join(row['seed1'])} | {s0} | {s1} "
            f"| {advisor[row['case']][0]} |"
        )
    return lines


def report(write: bool = False) -> None:
    """Print the replicate report; with ``write``, also save it to ``benchmarks/REPLICATE.md``."""
    text = "\n".join(report_lines()) + "\n"
    print(text, end="")
    if write:
        (ROOT / "benchmarks" / "REPLICATE.md").write_text(text)
        print(f"\nwrote {ROOT / 'benchmarks' / 'REPLICATE.md'}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the missing seed-1 oracles of the real cases").add_argument(
        "--workers", type=int, default=1
    )
    sub.add_parser("report", help="print the agreement table").add_argument(
        "--write", action="store_true", help="also write benchmarks/REPLICATE.md"
    )
    args = parser.parse_args(argv)
    if args.command == "run":
        run(args.workers)
    else:
        report(write=args.write)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
