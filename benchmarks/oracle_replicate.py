"""How reproducible is the oracle itself? More oracle runs per real case, with other seeds.

    python -m benchmarks.oracle_replicate run --seed 1 --workers 2   # seed-1 oracles (cached, resumable)
    python -m benchmarks.oracle_replicate run --seed 2 --workers 2   # seed-2 oracles
    python -m benchmarks.oracle_replicate report --write             # benchmarks/REPLICATE.md
    python -m benchmarks.oracle_replicate run --seed 3 --machine "16 cores" --case school/all_tasks

The last runs one case's seed-3 oracle and labels it as run on another machine (point
``ADVISOR_SHARED_DATA`` at the data there).

The benchmark scores a choice as right when it is one of the oracle's co-winners (DESIGN.md §3,
§7). The oracle is itself a noisy estimate: other folds and another search (``seed``) can name
other co-winners when paradigms are close. Scoring one oracle run's choice against another run's
co-winners measures the accuracy a method that *knew a full-budget result* would reach: the
level against which any probe-based advisor's accuracy has to be read. With two or more runs
the report also scores every method against the **truth** of all runs (docs/truth.md: mean
scores, co-winners within 0.005 of the best or not worse by a test over the runs), and the
truth of all runs but one against the one left out (the level of a method that knew every other
full-budget result). It also checks
one run's intervals against the runs' spread, and relabels every run with the protocol's
fold-level test instead of its row bootstrap. The seed-``s`` oracles are cached in
``benchmarks/cache/oracle_seed<s>/`` through the main cache's functions (same keys and version
checks), and are not used anywhere else.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from benchmarks.oracle._cases import Case, real_cases, suite_cases
from benchmarks.oracle._evaluate import score_regret
from benchmarks.oracle._run import (
    _write,
    cache_kind,
    cached_seeds,
    load_cached,
    quiet_single_thread,
    run_oracle_case,
)

ROOT = Path(__file__).resolve().parents[1]


def _run_one(case: Case, seed: int, machine: str | None = None) -> str:
    quiet_single_thread()
    started = time.perf_counter()
    result = run_oracle_case(case, seed=seed, machine=machine)
    _write(cache_kind(seed), case, result)
    return f"{case.id}: {time.perf_counter() - started:.0f} s, co-winners {', '.join(result['co_winners'])}"


def run(
    seed: int, workers: int, *, only: list[str] | None = None, machine: str | None = None, kind: str = "real"
) -> None:
    """Run the missing seed-``seed`` oracles, longest (by the seed-0 oracle's time) first.

    ``only`` restricts the run to those case ids; ``machine`` labels oracles run on another
    machine than the benchmark's (as ``python -m benchmarks.oracle run --machine`` does).
    """
    if seed < 1:
        raise SystemExit("--seed must be 1 or more (seed 0 is the benchmark's own oracle: python -m benchmarks.oracle)")
    wanted = [c for c in _cases_of(kind) if not only or c.id in only]
    seconds = {c.id: float(o["seconds"]) for c in wanted if (o := load_cached("oracle", c)) is not None}
    cases = [c for c in wanted if c.id in seconds and load_cached(cache_kind(seed), c) is None]
    cases.sort(key=lambda c: -seconds[c.id])
    print(f"{len(cases)} seed-{seed} oracles to run with {workers} worker(s)", flush=True)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_run_one, c, seed, machine) for c in cases]
        for i, future in enumerate(as_completed(futures), 1):
            try:
                print(f"[{i}/{len(cases)}] {future.result()}", flush=True)
            except Exception as exc:  # one failure must not lose the others
                print(f"[{i}/{len(cases)}] failed: {type(exc).__name__}: {exc}", flush=True)


def _cases_of(kind: str) -> list[Case]:
    return real_cases() if kind == "real" else suite_cases(kind)


def _scores(result: dict[str, Any]) -> dict[str, float]:
    return {p: float(v["score"]) for p, v in result["paradigms"].items() if v.get("score") is not None}


def agreement(cases: list[tuple[str, list[dict[str, Any]]]]) -> dict[str, Any]:
    """Agreement of the oracle runs per case: each run's choice (``winner``) scored against every other run.

    ``cases``: ``(case id, [run 0, run 1, ...])``, the same runs for every case. ``hits[i][j]``
    counts the cases where run ``i``'s choice is a co-winner of run ``j``; ``mean_regret`` is
    the score run ``i``'s choice loses against run ``j``'s best, in run ``j``'s scores (a choice
    run ``j`` did not score counts as its STL fallback, as in the benchmark's regret).
    """
    runs = len(cases[0][1]) if cases else 0
    rows, hits, regrets = [], [], []
    for case_id, results in cases:
        scores = [_scores(r) for r in results]
        inside = {(i, j): results[i]["winner"] in results[j]["co_winners"]
                  for i, j in itertools.permutations(range(runs), 2)}  # fmt: skip
        hits += inside.values()
        regrets += [score_regret(scores[j], results[i]["winner"]) for i, j in inside]
        rows.append({"case": case_id, "co_winners": [r["co_winners"] for r in results],
                     "winners": [r["winner"] for r in results], "inside": inside, "scores": scores})  # fmt: skip
    return {"cases": len(cases), "runs": runs, "comparisons": len(hits),
            "accuracy": sum(hits) / len(hits) if hits else None,
            "mean_regret": sum(regrets) / len(regrets) if regrets else None, "rows": rows}  # fmt: skip


def held_out_truth(cases: list[tuple[str, list[dict[str, Any]]]]) -> dict[str, Any]:
    """Each run scored by the truth of the *other* runs (leave one run out).

    The choice is the truth's choice over the other runs (:func:`benchmarks.oracle._truth.truth`):
    what a method that knew every other full-budget result would pick. ``accuracy[i]`` is how
    often that choice is a co-winner of run ``i`` (by that run's own rule), ``regret[i]`` its mean
    regret in run ``i``'s scores. Needs two runs or more.
    """
    from benchmarks.oracle._truth import truth

    runs = len(cases[0][1]) if cases else 0
    if runs < 2:
        raise ValueError(f"leaving one run out needs 2 oracle runs or more, got {runs}")
    hits, regrets = [[] for _ in range(runs)], [[] for _ in range(runs)]
    for _, results in cases:
        for i, held in enumerate(results):
            choice = truth([r for k, r in enumerate(results) if k != i]).choice
            hits[i].append(choice in held["co_winners"])
            regrets[i].append(score_regret(_scores(held), choice))
    return {"runs": runs, "accuracy": [sum(h) / len(h) for h in hits],
            "regret": [sum(r) / len(r) for r in regrets],
            "mean_accuracy": sum(map(sum, hits)) / (runs * len(cases)),
            "mean_regret": sum(map(sum, regrets)) / (runs * len(cases))}  # fmt: skip


def interval_spread(cases: list[tuple[str, list[dict[str, Any]]]]) -> dict[str, Any]:
    """How the runs' spread compares with one run's interval, per (case, paradigm) gap.

    For each case the reference is the paradigm with the best mean score over the runs; for each
    other paradigm the gap to it varies from run to run (standard deviation ``spread``), while
    one run's paired row bootstrap puts a standard error of about half its 95% gap interval over
    1.96 on it (``stderr``: the median over the runs whose best was the reference). ``ratios``
    is ``spread / stderr``: above 1, one run's co-winner rule is stricter than its replicates
    warrant.
    """
    import numpy as np

    ratios = []
    for _, results in cases:
        scores = [_scores(r) for r in results]
        common = set.intersection(*(set(s) for s in scores))
        ref = max(sorted(common), key=lambda q: sum(s[q] for s in scores))
        for p in sorted(common - {ref}):
            widths = [g["ci_high"] - g["ci_low"] for r in results
                      if r.get("best") == ref and (g := r["paradigms"][p].get("gap_to_best"))]  # fmt: skip
            if widths and len(results) > 1:
                stderr = float(np.median(widths)) / (2 * 1.96)
                spread = float(np.std([s[p] - s[ref] for s in scores], ddof=1))
                if stderr > 0:
                    ratios.append(spread / stderr)
    r = np.asarray(ratios)
    return {"pairs": len(r), "median": float(np.median(r)) if len(r) else None,
            "quartiles": tuple(float(q) for q in np.quantile(r, [0.25, 0.75])) if len(r) else None,
            "above_one": float(np.mean(r > 1)) if len(r) else None}  # fmt: skip


def fold_test_labels(result: dict[str, Any], *, alpha: float = 0.05) -> dict[str, Any]:
    """``result`` with its co-winners and winner from a test over its fold scores instead of its rows.

    The protocol's fallback test: the corrected resampled t test of Nadeau & Bengio (2003, "Inference
    for the generalization error") over each paradigm's best variant's fold scores, with the K-fold
    test/train ratio 1/(K-1). It sees the training noise of each fold, which the row bootstrap
    does not, but with 3 folds it has 2 degrees of freedom. The input is not modified.
    """
    from probes.protocol import FoldResult, co_winners

    variants = {v["variant"]: v for v in result.get("variants", [])}
    folds = {}
    for p, v in result["paradigms"].items():
        fold_scores = variants.get(v.get("variant"), {}).get("fold_scores")
        if v.get("score") is not None and fold_scores:
            k = len(fold_scores)
            folds[p] = [FoldResult(0, i, {}, float(x), k - 1, 1) for i, x in enumerate(fold_scores)]
    decision = co_winners(folds, alpha=alpha)
    return {**result, "co_winners": list(decision.co_winners), "winner": decision.winner}


def truth_result(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The truth of ``results`` shaped as one oracle result (co-winners and mean scores)."""
    from benchmarks.oracle._truth import truth

    t = truth(results)
    return {"co_winners": list(t.co_winners), "paradigms": {p: {"score": v} for p, v in t.scores.items()}}


def _against(record: Any, oracle: dict[str, Any]) -> Any:
    """``record`` with its oracle outcome (co-winners, per-paradigm scores) taken from ``oracle``."""
    from dataclasses import replace

    return replace(record, co_winners=list(oracle["co_winners"]), oracle_score=_scores(oracle))


def _cached_runs() -> tuple[list[int], list[int], list[tuple[str, list[dict[str, Any]]]]]:
    """Every seed's cached oracles, each read once.

    Returns the seeds that cover every real case with a seed-0 oracle, the incomplete seeds, and
    those cases with one result per complete seed.
    """
    cases = real_cases()
    loaded = {s: {c.id: r for c in cases if (r := load_cached(cache_kind(s), c)) is not None} for s in cached_seeds()}
    covered = list(loaded[0])
    seeds = [s for s, found in loaded.items() if all(c in found for c in covered)]
    partial = [s for s in loaded if s not in seeds]
    return seeds, partial, [(c, [loaded[s][c] for s in seeds]) for c in covered]


def report_lines() -> list[str]:
    """The agreement of the oracle runs, and every method scored against each run (markdown)."""
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

    seeds, partial, cases = _cached_runs()
    if len(seeds) < 2 or not cases:
        raise SystemExit("no real case has two oracle runs cached; run `python -m benchmarks.oracle_replicate run`")
    result = agreement(cases)
    model = load_model()
    if model is None:
        raise SystemExit("no shipped model; run `python benchmarks/train_recommender.py`")
    by_case = {r.case: r for r in records_from_meta(pd.read_csv(ROOT / "benchmarks" / "meta_dataset.csv"))}
    missing = [case_id for case_id, _ in cases if case_id not in by_case]
    if missing:
        raise SystemExit(
            f"not in benchmarks/meta_dataset.csv: {', '.join(missing)}; run `python -m benchmarks.oracle report`"
        )
    records = [by_case[case_id] for case_id, _ in cases]
    advisor = {r.case: advisor_choice(model, r) for r in records}
    runs = {f"seed {s}": [_against(r, res[k]) for r, (_, res) in zip(records, cases, strict=True)]
            for k, s in enumerate(seeds)}  # fmt: skip
    runs["truth"] = [_against(r, truth_result(res)) for r, (_, res) in zip(records, cases, strict=True)]
    per_seed = [name for name in runs if name != "truth"]
    n, listed = len(cases), ", ".join(str(s) for s in seeds)
    folders = ", ".join(f"`{cache_kind(s)}/`" for s in seeds)
    lines = [
        "# Oracle replicate: how reproducible is the oracle itself?",
        "",
        "Written by `python -m benchmarks.oracle_replicate report --write` from the committed caches",
        f"(`benchmarks/cache/`: {folders}; seed 0 is the benchmark's oracle, the others the same protocol",
        "with other folds and another search). Real cases only.",
        "",
        f"## Agreement of the {len(seeds)} oracle runs (seeds {listed})",
        "",
        f"{n} real cases. One oracle run's choice (its simplest co-winner) is a co-winner of another run "
        f"in **{100 * result['accuracy']:.1f}%** of {result['comparisons']} comparisons (every ordered pair of "
        f"runs), and its choice loses {result['mean_regret']:.4f} score points on average against the other "
        "run's best (its regret there). That is the decision accuracy and the regret of a method that knew a "
        "full-budget result, and the level against which the advisor's figures have to be read.",
    ]
    if partial:
        lines += [
            "",
            f"Seeds with an incomplete cache, left out: {', '.join(map(str, partial))} (of {len(cases)} cases).",
        ]
    sizes = [len(r.co_winners) for r in runs["truth"]]
    held = held_out_truth(cases)
    lines += [
        "",
        f"The truth of all {len(seeds)} runs (docs/truth.md) names {np.mean(sizes):.2f} co-winners on average, one "
        f"clear winner on {sizes.count(1)} cases; regret there is against the runs' mean scores.",
        "",
        f"Leave one run out: the truth of the other {len(seeds) - 1} runs chooses a co-winner of the left-out run in "
        + ", ".join(f"{100 * a:.1f}% (seed {s})" for s, a in zip(seeds, held["accuracy"], strict=True))
        + f": **{100 * held['mean_accuracy']:.1f}%** on average, regret {held['mean_regret']:.4f}. That is what "
        f"a method that knew {len(seeds) - 1} full-budget results would reach against one more run.",
    ]
    head = " | ".join(f"acc. vs {name}" for name in runs)
    lines += [
        "",
        "## Every method against each oracle run",
        "",
        f"| method | {head} | mean over seeds | mean regret over seeds | mean Brier over seeds |"
        + " Brier vs truth |",
        "|---|" + "---|" * (len(runs) + 4),
    ]

    def scored(m: str, recs: list[Any]) -> dict[str, Any]:
        return method_metrics(recs, decisions(m, recs, advisor), uses_probes=m in PROBE_METHODS)

    for m in METHODS:
        metrics = {name: scored(m, recs) for name, recs in runs.items()}
        acc = [100 * metrics[name]["accuracy"] for name in per_seed]
        regret = [metrics[name]["mean_regret"] for name in per_seed]
        brier = [metrics[name]["brier"] for name in per_seed]
        cells = [f"{100 * metrics[name]['accuracy']:.1f}%" for name in runs]
        cells += [f"{np.mean(acc):.1f}%", f"{np.mean(regret):.4f}", "—" if None in brier else f"{np.mean(brier):.3f}"]
        b = metrics["truth"]["brier"]
        cells.append("—" if b is None else f"{b:.3f}")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    constant = {name: constant_brier(recs, decisions("advisor", recs, advisor)) for name, recs in runs.items()}
    lines += [
        "",
        "Best constant confidence for the advisor's choices (Brier): "
        + ", ".join(f"{c:.3f} vs {name}" for name, c in constant.items() if c is not None)
        + f"; mean over seeds {np.mean([constant[name] for name in per_seed]):.3f}.",
    ]
    spread = interval_spread(cases)
    folded = [(case_id, [fold_test_labels(r) for r in res]) for case_id, res in cases]
    fold_agreement = agreement(folded)
    sizes = [len(r["co_winners"]) for _, res in folded for r in res]
    folded_runs = [
        [_against(r, res[k]) for r, (_, res) in zip(records, folded, strict=True)] for k in range(len(seeds))
    ]
    fold_acc = {m: 100 * float(np.mean([scored(m, recs)["accuracy"] for recs in folded_runs])) for m in METHODS}
    lines += ["", "## Are one run's intervals wide enough?"]
    if spread["pairs"]:
        low, high = spread["quartiles"]
        lines += [
            "",
            f"Over {spread['pairs']} (case, paradigm) gaps to the case's best paradigm on average, the gap's "
            f"standard deviation over the runs is a median **{spread['median']:.2f}×** (quartiles {low:.2f}–"
            f"{high:.2f}) the standard error one run's paired row bootstrap puts on it, and larger for "
            f"{100 * spread['above_one']:.0f}% of them: the bootstrap over test rows does not see the training "
            "noise of one search and one seed, so one run's co-winner sets are too narrow.",
        ]
    lines += [
        "",
        "The protocol's fold-level test instead (corrected resampled t test over each run's fold scores, Nadeau "
        f"& Bengio 2003) errs the other way: mean co-winner set {np.mean(sizes):.2f} paradigms, one clear winner in "
        f"{100 * sizes.count(1) / len(sizes):.0f}% of the runs, self-agreement {100 * fold_agreement['accuracy']:.1f}% "
        f"(regret {fold_agreement['mean_regret']:.4f}), and every method scores high against it (mean over seeds: "
        + ", ".join(f"{m} {a:.1f}%" for m, a in fold_acc.items())
        + ").",
        "",
        "## Per case",
        "",
        "| case | "
        + " | ".join(f"seed-{s} co-winners" for s in seeds)
        + " | truth"
        + " | mean scores | advisor |",
        "|---|" + "---|" * (len(seeds) + 3),
    ]
    for k, row in enumerate(result["rows"]):
        mean = truth_result(cases[k][1])["paradigms"]
        cells = [", ".join(co) for co in row["co_winners"]]
        cells.append(", ".join(runs["truth"][k].co_winners))
        cells.append(", ".join(f"{p} {v['score']:.3f}" for p, v in sorted(mean.items())))
        lines.append(f"| {row['case']} | " + " | ".join(cells) + f" | {advisor[row['case']][0]} |")
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
    runner = sub.add_parser("run", help="run the missing oracles of the real cases for one replicate seed")
    runner.add_argument("--seed", type=int, default=1, help="replicate seed, 1 or more (default 1)")
    runner.add_argument("--workers", type=int, default=1)
    runner.add_argument(
        "--kind", choices=["real", "corpus"], default="real", help="the suite's real cases or the corpus"
    )
    runner.add_argument("--case", action="append", help="only this case id (repeatable)")
    runner.add_argument("--machine", help="label recorded with oracles run on another machine than the benchmark's")
    sub.add_parser("report", help="print the agreement table").add_argument(
        "--write", action="store_true", help="also write benchmarks/REPLICATE.md"
    )
    args = parser.parse_args(argv)
    if args.command == "run" and args.case:
        known = {c.id for c in _cases_of(args.kind)}
        for case_id in args.case:
            if case_id not in known:
                parser.error(f"argument --case: invalid choice: {case_id!r} (not a {args.kind} case id)")
    if args.command == "run":
        run(args.seed, args.workers, only=args.case, machine=args.machine, kind=args.kind)
    else:
        report(write=args.write)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
