"""The oracle: every applicable paradigm at full budget under the one protocol.

What ``advisor verify`` runs on a user's data and what the benchmark's truth is made of. All
rows, full training with early stopping (by default up to 400 epochs, patience 30; the
benchmark's settings per kind of case are ``benchmarks.oracle._run.ORACLE_CONFIG``), 3 folds, and
inside each fold an optuna search of ``n_trials`` trials per variant: every trial fits on the
fold's training part and is judged on its validation part, and the best trial's model is the
fold's model (nested cross-validation: no row or task a fold tests on chooses anything). Each
paradigm is represented by the variant with the best mean *validation* score. One run's
co-winners (paired comparison, the simpler paradigm when gains are inside noise) are recorded;
several runs are combined by the truth rule (:mod:`probes.truth`, docs/truth.md). The result is
a plain JSON-able dict, cached by the caller. Every (variant, fold) is a unit of its own
(:func:`probes.paradigms.run_variants`): on ``n_jobs`` processes or a Dask cluster, with the
same result as in one process.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from probes.budget import BUDGETS, Budget, BudgetPreset
from probes.data import TaskSet
from probes.paradigms import PARADIGMS, VARIANTS, ParadigmResult, prepare_folds, run_variant, run_variants
from probes.protocol import best_by_validation, co_winners, compare, score_interval
from probes.runner import paradigm_variants

__all__ = ["FULL_BUDGET", "ORACLE_VERSION", "oracle_preset", "oracle_variants", "run_oracle"]

#: Bump when the oracle's protocol or configuration changes: cached results of another version are recomputed.
ORACLE_VERSION = "3"

Progress = Callable[[str], None]

#: The full budget on real data: the benchmark's real cases and ``advisor verify`` (:func:`run_oracle`'s keywords).
FULL_BUDGET: dict[str, Any] = {
    "n_folds": 3,
    "n_trials": 2,
    "pruner": "halving",
    "max_epochs": 300,
    "patience": 25,
    "variant_params": {"transfer/finetune": {"source_groups": 2}, "transfer/head": {"source_groups": 2}},
}


def oracle_preset(
    n_folds: int = 3, n_trials: int = 10, *, max_epochs: int = 400, patience: int = 30, pruner: str = "median"
) -> BudgetPreset:
    """The oracle's budget: all rows, long training, a real search (``n_trials`` per variant and fold)."""
    return replace(
        BUDGETS["oracle"], n_folds=n_folds, n_trials=n_trials, max_epochs=max_epochs, patience=patience,
        max_rows_per_task=None, seconds=None, pruner=pruner,
    )  # fmt: skip


def oracle_variants(taskset: TaskSet, paradigm: str) -> list[str]:
    """Variants the oracle tries for ``paradigm``: those the default (fast) probe runs, so the two compare like with like."""
    return [v.id for v in paradigm_variants(taskset, paradigm, BUDGETS["fast"])]


def _variant_record(result: ParadigmResult) -> dict[str, Any]:
    mean, low, high = score_interval(result.folds) if result.folds else (math.nan, math.nan, math.nan)
    return {
        "variant": result.variant,
        "score": _num(mean),
        "ci_low": _num(low),
        "ci_high": _num(high),
        "fold_scores": [_num(f.aggregate) for f in result.folds],
        "valid_score": _num(result.valid_score),
        "fold_valid_scores": [_num(f.valid_aggregate) for f in result.folds],
        "fold_sizes": [[f.n_train, f.n_test] for f in result.folds],
        "fold_params": [dict(p) for p in result.fold_params],
        "task_scores": _task_means(result),
        "seconds": round(result.seconds, 3),
        "trials": result.trials,
        "params": {k: v for k, v in result.params.items() if isinstance(v, (int, float, str, bool)) or v is None},
        "complete": result.complete,
        "skipped": result.skipped,
        **({"failed": result.failed} if result.failed else {}),  # a diverged variant (older records lack the key)
    }


def _task_means(result: ParadigmResult) -> dict[str, float | None]:
    out: dict[str, list[float]] = {}
    for fold in result.folds:
        for task, value in fold.task_scores.items():
            if value is not None and math.isfinite(value):
                out.setdefault(task, []).append(float(value))
    return {t: _num(sum(v) / len(v)) for t, v in out.items()}


def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 6)


def run_oracle(
    taskset: TaskSet,
    *,
    seed: int = 0,
    n_folds: int = 3,
    n_trials: int = 10,
    max_epochs: int = 400,
    patience: int = 30,
    pruner: str = "median",
    variant_params: dict[str, dict[str, Any]] | None = None,
    time_cap: float | None = None,
    paradigms: tuple[str, ...] = PARADIGMS,
    progress: Progress | None = None,
    n_jobs: int | None = 1,
    scheduler: Any = None,
    advance: Callable[[float, str], None] | None = None,
    storage: str | None = None,
    cancel: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Score every applicable paradigm at full budget and apply the co-winner rule.

    ``time_cap`` (seconds per variant, ``None`` = no cap) only guards against a runaway
    variant; a capped variant keeps its finished folds and is flagged ``complete: false``
    (capped runs go variant by variant, in this process).
    ``variant_params`` sets where a variant's search starts (its first trial), e.g.
    ``transfer/finetune``'s source groups; the search may choose otherwise on validation, and
    each fold's choice is recorded (``fold_params``). ``n_jobs`` processes (``None``: every
    core) or a Dask ``scheduler`` run the (variant, fold) units; ``advance(fraction, message)``
    is called as they end. ``storage`` (an optuna RDB URL) keeps every fold's search as a study
    named ``data:variant:seedS:foldK`` (a run again replaces its studies). ``cancel() -> bool``
    stops the run between units with ``Cancelled``.
    """
    say = progress or (lambda message: None)
    preset = oracle_preset(n_folds, n_trials, max_epochs=max_epochs, patience=patience, pruner=pruner)
    started = time.perf_counter()
    folds = prepare_folds(taskset, preset, seed=seed)
    names = [name for paradigm in paradigms for name in oracle_variants(taskset, paradigm)]
    variants: dict[str, ParadigmResult] = {}
    if time_cap is None:
        say(f"{len(names)} variants, {n_trials} trials in each of {len(folds)} folds")

        def on_unit(phase: str, fraction: float, message: str) -> None:
            if advance is not None and phase == "probe":
                advance(fraction, message)

        run = run_variants(
            taskset, [VARIANTS[name] for name in names], preset=preset, seed=seed, n_trials=n_trials,
            prepared=folds, params=variant_params, n_jobs=n_jobs, scheduler=scheduler, progress=on_unit,
            storage=storage, cancel=cancel,
        )  # fmt: skip
        variants = run.by_variant()
    else:
        for name in names:
            say(f"{name}: {n_trials} trials in each of {len(folds)} folds")
            variants[name] = run_variant(
                taskset,
                VARIANTS[name],
                folds,
                budget=Budget(time_cap),
                seed=seed,
                preset=preset,
                n_trials=n_trials,
                params=(variant_params or {}).get(name),
            )
    records: list[dict[str, Any]] = []
    for name in names:
        records.append(_variant_record(variants[name]))
        say(f"{name}: {records[-1]['score']} in {variants[name].seconds:.1f} s")
    best_of: dict[str, ParadigmResult] = {}
    for paradigm in dict.fromkeys(r.paradigm for r in variants.values()):
        own = {name: r for name, r in variants.items() if r.paradigm == paradigm and not (r.skipped or r.failed)}
        best = best_by_validation({name: r.folds for name, r in own.items()})  # on validation, as the probes
        if best is not None:
            best_of[paradigm] = own[best]
    out: dict[str, Any] = {
        "oracle_version": ORACLE_VERSION,
        "config": {"n_folds": n_folds, "n_trials": n_trials, "max_epochs": preset.max_epochs,
                   "patience": preset.patience, "pruner": pruner, "seed": seed, "time_cap": time_cap,
                   "variant_params": variant_params or {}},
        "variants": records,
        "paradigms": {},
        "co_winners": [],
        "winner": None,
        "best": None,
    }  # fmt: skip
    if best_of:
        decision = co_winners({p: r.folds for p, r in best_of.items()})
        for p, r in best_of.items():
            mean, low, high = score_interval(r.folds)
            entry: dict[str, Any] = {
                "variant": r.variant,
                "score": _num(mean),
                "ci_low": _num(low),
                "ci_high": _num(high),
            }
            if p != decision.best:
                c = compare(best_of[decision.best].folds, r.folds)
                entry["gap_to_best"] = {"mean": _num(c.mean_difference), "ci_low": _num(c.ci_low),
                                        "ci_high": _num(c.ci_high), "significant": bool(c.significant)}  # fmt: skip
            out["paradigms"][p] = entry
        out["co_winners"] = list(decision.co_winners)
        out["winner"] = decision.winner
        out["best"] = decision.best
    out["seconds"] = round(time.perf_counter() - started, 3)
    return out
