"""``python -m benchmarks.oracle report``: cache -> meta-dataset -> metrics -> RESULTS.md / results.json."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from advisor._learned import load_model
from benchmarks.oracle._evaluate import (
    evaluate,
    load_records,
    meta_dataset,
    records_from_meta,
    truth_summary,
    write_results,
)
from benchmarks.oracle._oracle import ORACLE_VERSION

__all__ = ["real_runs", "report"]

BENCH = Path(__file__).resolve().parents[1]


def real_runs() -> list[list[dict]]:
    """Every real case's valid cached oracle runs (the committed cache), cases with none left out."""
    from benchmarks.oracle._cases import real_cases
    from benchmarks.oracle._run import oracle_runs

    return [runs for case in real_cases() if (runs := [r for r in oracle_runs(case) if r.get("paradigms")])]


def report(*, refresh: bool = True, directory: Path = BENCH) -> dict:
    """Rebuild the meta-dataset from the cache (unless ``refresh`` is false) and write the results."""
    started = time.perf_counter()
    meta_path = directory / "meta_dataset.csv"
    if refresh:
        frame = meta_dataset(load_records("all") + load_records("corpus"))
        frame.to_csv(meta_path, index=False, float_format="%.6g")
    frame = pd.read_csv(meta_path)
    records = records_from_meta(frame)
    # The truth's criteria come from the cached runs: only when the meta-dataset rests on them too.
    current = any(r.kind == "real" for r in records) and all(
        r.oracle_version == ORACLE_VERSION for r in records if r.kind == "real"
    )
    evaluation = evaluate(records, load_model(), truth=truth_summary(real_runs()) if current else None)
    write_results(evaluation, directory)
    m = evaluation["metrics"]
    for kind in [k for k in ("real", "corpus", "generated") if k in m]:
        print(f"{kind}: {m[kind]['advisor']['cases']} cases")
        for method, x in m[kind].items():
            if not method.startswith("_"):
                print(
                    f"  {method:22s} acc {x['accuracy']}  decisive {x['decisive_accuracy']}  regret {x['mean_regret']}/{x['worst_regret']}  cost {x['cost_ratio_median']}  brier {x['brier']}"
                )
        print(f"  constant Brier {m[kind]['_constant_brier']}")
    print(f"wrote {directory / 'RESULTS.md'} and {directory / 'results.json'} in {time.perf_counter() - started:.1f} s")
    return evaluation
