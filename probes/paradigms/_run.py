"""Run paradigm variants under the protocol: search, train per fold, score, keep what finished.

A variant runs fold after fold; a budget that runs out stops it between epochs, and the folds
it finished are kept and flagged (``budget_exhausted``) — nothing finished is thrown away.
Every fold's model is scored on the fold's validation part as well as its test part. A
hyper-parameter search, when asked for, runs inside each fold: its trials fit on the fold's
training part and are judged on its validation part, and the best trial's model is the fold's
model — so no row (or task) a fold tests on ever chooses anything.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from probes._units import Outcome, Unit
from probes.budget import Budget, BudgetPreset, budget_preset
from probes.data import TaskSet
from probes.exceptions import BudgetExhausted
from probes.paradigms._base import Variant
from probes.paradigms._data import VALID_DRAWS, FoldData, MetaFoldData, prepare_fold, redrawn_validation
from probes.paradigms._training import RunContext, warm_up
from probes.protocol import (
    METRICS,
    FoldResult,
    NonFinitePredictionError,
    check_finite,
    make_folds,
    score_fold,
    score_interval,
    score_meta_fold,
)
from probes.protocol._scores import aggregate_task_scores
from probes.seeds import fold_seed

__all__ = [
    "FoldOutcome",
    "ParadigmResult",
    "ProbeRun",
    "UnitError",
    "base_params",
    "fold_call",
    "fold_unit",
    "merge_folds",
    "prepare_folds",
    "run_variant",
    "run_variants",
    "variant_units",
]

Progress = Callable[[str, float, str], None]


@dataclass
class ParadigmResult:
    """Scores of one variant: per fold (and per task inside each fold), time, search and flags."""

    variant: str
    folds: list[FoldResult] = field(default_factory=list)
    seconds: float = 0.0
    params: dict[str, Any] = field(default_factory=dict)
    """The first finished fold's hyper-parameters (each fold's are in ``fold_params``)."""
    trials: int = 0
    """Search trials over every fold."""
    n_folds_planned: int = 0
    budget_exhausted: bool = False
    skipped: str | None = None
    """Why the variant did not run (not applicable), else ``None``."""
    failed: str | None = None
    """Why the variant's results were thrown away (it predicted non-finite values), else ``None``."""
    notes: list[str] = field(default_factory=list)
    fold_params: list[dict[str, Any]] = field(default_factory=list)
    """Per finished fold, the hyper-parameters behind its model (its own search's choice)."""

    @property
    def valid_score(self) -> float:
        """Mean validation score over the finished folds (NaN when none was measured)."""
        values = [f.valid_aggregate for f in self.folds if f.valid_aggregate is not None]
        finite = [v for v in values if math.isfinite(v)]
        return float(np.mean(finite)) if finite and len(finite) == len(self.folds) else math.nan

    @property
    def paradigm(self) -> str:
        return self.variant.split("/", 1)[0]

    @property
    def complete(self) -> bool:
        return self.skipped is None and self.failed is None and len(self.folds) == self.n_folds_planned

    @property
    def interval(self) -> tuple[float, float, float]:
        """Mean goal score and its corrected 95% interval (NaN when no fold finished)."""
        if not self.folds:
            return (math.nan, math.nan, math.nan)
        return score_interval(self.folds)

    @property
    def score(self) -> float:
        return self.interval[0]

    def task_fold_scores(self) -> dict[str, list[float]]:
        """Per task, its score in each finished fold (fold order)."""
        out: dict[str, list[float]] = {}
        for fold in self.folds:
            for name, value in fold.task_scores.items():
                out.setdefault(name, []).append(value)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (``advisor probe --json``)."""
        mean, low, high = self.interval

        def num(x: float) -> float | None:
            return None if x is None or not math.isfinite(x) else round(float(x), 6)

        return {
            "paradigm": self.paradigm,
            "variant": self.variant,
            "score": num(mean),
            "ci_low": num(low),
            "ci_high": num(high),
            "seconds": round(self.seconds, 3),
            "folds_finished": len(self.folds),
            "folds_planned": self.n_folds_planned,
            "budget_exhausted": self.budget_exhausted,
            "skipped": self.skipped,
            "failed": self.failed,
            "trials": self.trials,
            "params": {k: v for k, v in self.params.items() if isinstance(v, (int, float, str, bool)) or v is None},
            "fold_scores": [num(f.aggregate) for f in self.folds],
            "valid_score": num(self.valid_score),
            "fold_valid_scores": [num(f.valid_aggregate) for f in self.folds],
            "fold_params": [dict(p) for p in self.fold_params],
            "tasks": [
                {"name": name, "fold_scores": [num(v) for v in values]}
                for name, values in self.task_fold_scores().items()
            ],
            "notes": list(self.notes),
        }


def prepare_folds(
    taskset: TaskSet, preset: BudgetPreset | str = "fast", *, seed: int = 0
) -> list[FoldData | MetaFoldData]:
    """The protocol's folds for ``taskset`` under ``preset``, as arrays (preprocessing fitted per fold)."""
    preset = budget_preset(preset)
    folds = make_folds(
        taskset,
        n_folds=preset.n_folds,
        n_repeats=preset.n_repeats,
        seed=seed,
        episodes_per_task=preset.episodes_per_task,
    )
    return [prepare_fold(taskset, fold, seed=seed) for fold in folds]


def _selection_rows(data: FoldData, seed: int) -> tuple[FoldData, dict[int, int]]:
    """Each task's validation rows dealt in two, seeded by the fold: the same for every variant and trial.

    The learner's view keeps half as its validation part (early stopping, step sweeps, pruning);
    the other half (``n // 2`` rows; none for a task with one) moves ahead of the test rows and
    only scores. Returns the view and each task's count of selection rows.
    """
    rng = np.random.default_rng([seed, 11])
    views, held = [], {}
    for t, v in enumerate(data.tasks):
        order = rng.permutation(len(v.rows_valid))
        pick, keep = np.sort(order[: len(order) // 2]), np.sort(order[len(order) // 2 :])
        held[t] = len(pick)
        views.append(
            replace(
                v,
                rows_valid=v.rows_valid[keep],
                y_valid=v.y_valid[keep],
                rows_test=np.concatenate([v.rows_valid[pick], v.rows_test]),
                y_test=np.concatenate([v.y_valid[pick], v.y_test]),
            )
        )
    return replace(data, tasks=tuple(views)), held


def _predict_and_score(
    taskset: TaskSet, variant: Variant, data: FoldData | MetaFoldData, params: dict[str, Any], ctx: RunContext
) -> FoldResult:
    """Fit once on the fold; score its test part (the result) and its selection part (``valid_aggregate``).

    Row folds: with the preset's ``selection_split`` (the oracle) each task's validation rows are
    dealt in two (:func:`_selection_rows`); the learner stops early and sweeps on one half and
    predicts the other half together with the test rows, and that half's score is what chooses
    among search trials and among a paradigm's variants, so no choice is scored on the rows that
    stopped the training (a variant that stops early per task on a few rows would otherwise look
    better than it is). Without it (the probes, whose capped tasks have too few validation rows
    to halve without hurting the per-task learners' early stopping) the whole validation part
    does both. No test score ever chooses anything. Task folds (``new_tasks``): the validation tasks are few, so they both
    steady the learners' sweeps and score the choice (their episodes as first drawn).
    """
    if isinstance(data, MetaFoldData):
        assert variant.fit_predict_meta is not None
        picked = tuple(data.valid_episodes)  # scored as they were drawn (the redrawn copies only steady the learners)
        data = redrawn_validation(data, VALID_DRAWS, ctx.seed)  # every learner adapts to the same draws
        view = replace(
            data,
            test_episodes=(*picked, *data.test_episodes),
            fold=replace(data.fold, test_episodes=(*picked, *data.fold.test_episodes)),
        )
        preds = variant.fit_predict_meta(view, params, ctx)
        k = len(picked)
        result = score_meta_fold(taskset, data.fold, preds[k:])
        valid = math.nan
        if k:
            valid_fold = replace(data.fold, test_tasks=data.fold.valid_tasks, test_episodes=picked)
            valid = score_meta_fold(taskset, valid_fold, preds[:k]).aggregate
        return replace(result, valid_aggregate=valid)
    assert variant.fit_predict is not None
    if ctx.selection_split:
        view, held = _selection_rows(data, ctx.seed)
    else:  # the validation rows both stop the training and score the choices
        held = {t: len(v.rows_valid) for t, v in enumerate(data.tasks)}
        view = replace(
            data,
            tasks=tuple(
                replace(
                    v,
                    rows_test=np.concatenate([v.rows_valid, v.rows_test]),
                    y_test=np.concatenate([v.y_valid, v.y_test]),
                )
                for v in data.tasks
            ),
        )
    preds = variant.fit_predict(view, params, ctx)
    tests, valid_scores = {}, {}
    for t, pred in preds.items():
        n, v = held[t], view.tasks[t]
        if len(data.tasks[t].rows_test):
            tests[t] = pred[n:]
        if n:
            task = taskset.tasks[t]
            valid_scores[task.name] = METRICS[task.metric](v.y_test[:n], check_finite(task.name, pred[:n]))
    result = score_fold(taskset, data.fold, tests)
    valid = aggregate_task_scores(taskset, valid_scores) if valid_scores else math.nan
    return replace(result, valid_aggregate=valid)


# ---------------------------------------------------------------------------------- the search


def _search_fold(
    taskset: TaskSet,
    variant: Variant,
    data: FoldData | MetaFoldData,
    params: dict[str, Any],
    ctx: RunContext,
    *,
    n_trials: int,
    pruner: str,
    storage: str | None,
    study_name: str | None = None,
) -> tuple[FoldResult, dict[str, Any], int]:
    """A hyper-parameter search inside one fold: ``(the best trial's scores, its params, trials run)``.

    Every trial fits on the fold's own training part (early stopping on its validation part) and
    is judged by its validation score; the best trial's model is the fold's model, so nothing is
    refitted and the fold's test part never chooses anything (nested cross-validation; Cawley &
    Talbot 2010, "On over-fitting in model selection"). The first trial is the variant as it runs
    unsearched. Variants whose training reports several loops' losses (``prunable=False``) are
    not pruned: their per-epoch losses are not comparable between trials.
    Raises :class:`NonFinitePredictionError` when every trial failed and one diverged,
    :class:`BudgetExhausted` when the time limit stopped the search before any trial finished,
    and ``RuntimeError`` (with the first trial's error) when every trial failed otherwise.
    """
    import optuna

    from probes.paradigms.search import run_study

    assert variant.search_space is not None
    kept: dict[str, Any] = {}
    diverged: list[str] = []
    errors: list[str] = []

    def objective(trial: optuna.Trial) -> float:
        # The first trial is the variant as it runs unsearched; later ones draw from its space.
        trial_params = dict(params) if trial.number == 0 else {**params, **variant.search_space(trial)}

        def report(epoch: int, value: float) -> None:
            trial.report(value, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()

        trial_ctx = replace(ctx, on_epoch=report if variant.prunable else None)
        try:
            result = _predict_and_score(taskset, variant, data, trial_params, trial_ctx)
        except NonFinitePredictionError as exc:
            diverged.append(str(exc))
            raise
        except (optuna.TrialPruned, BudgetExhausted):
            raise
        except Exception as exc:  # optuna records the trial as failed; kept to say why if all fail
            errors.append(f"{type(exc).__name__}: {exc}")
            raise
        value = result.valid_aggregate
        if value is None or not math.isfinite(value):
            value = -math.inf  # no selection rows: the first finished trial is kept
        if "result" not in kept or value > kept["value"]:
            kept.update(result=result, params=trial_params, value=value)
        return float(value) if math.isfinite(value) else -1e12

    study = run_study(
        objective,
        n_trials=n_trials,
        budget=ctx.budget,
        seed=ctx.seed,
        pruner=pruner,
        storage=storage,
        study_name=(study_name or f"{taskset.source.name}:{variant.id}:{ctx.seed}") if storage else None,
    )
    failed = sum(t.state == optuna.trial.TrialState.FAIL for t in study.trials)
    if failed:
        ctx.notes.append(f"search: {failed} of {len(study.trials)} trials failed")
    if "result" not in kept:
        if diverged:
            raise NonFinitePredictionError(diverged[0])
        if errors and not ctx.budget.exhausted():
            raise RuntimeError(f"{variant.id}: every search trial failed; the first: {errors[0]}")
        raise BudgetExhausted(f"{variant.id}: no search trial finished")
    return kept["result"], kept["params"], len(study.trials)


# ------------------------------------------------------------------------------------ the runner


def _device(device: torch.device | str | None) -> torch.device:
    return torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _context(
    budget: Budget, seed: int, preset: BudgetPreset, device: torch.device | str | None, threads: int | None
) -> RunContext:
    return RunContext(
        budget=budget,
        seed=seed,
        device=_device(device),
        threads=threads,
        max_epochs=preset.max_epochs,
        patience=preset.patience,
        sweep_stop=preset.sweep_stop,
        selection_split=preset.selection_split,
    )


@dataclass(frozen=True)
class FoldOutcome:
    """One fold of one variant: its scores (or why its predictions were thrown away), and its search."""

    result: FoldResult | None
    notes: tuple[str, ...] = ()
    nonfinite: str | None = None
    params: dict[str, Any] | None = None
    """The hyper-parameters behind ``result`` (the search's choice on this fold)."""
    trials: int = 0


def fold_unit(
    budget: Budget,
    taskset: TaskSet,
    variant: Variant,
    data: FoldData | MetaFoldData,
    index: int,
    params: dict[str, Any],
    *,
    seed: int,
    preset: BudgetPreset,
    n_trials: int = 0,
    storage: str | None = None,
    device: torch.device | str | None = None,
    threads: int | None = 1,
) -> FoldOutcome:
    """Train and score fold ``index`` of ``variant`` (seeded by ``fold_seed(seed, index)``).

    With ``n_trials > 0`` (and a search space) the fold runs its own search first
    (:func:`_search_fold`) and keeps the best trial's model. A unit of work of its own: the
    same call gives the same result in any process.
    """
    ctx = replace(_context(budget, seed, preset, device, threads), seed=fold_seed(seed, index))
    chosen, trials = dict(params), 0
    try:
        if n_trials > 0 and variant.search_space is not None:
            # One study per run (seed), variant and fold: optuna-dashboard lists them by name.
            name = f"{taskset.source.name}:{variant.id}:seed{seed}:fold{index + 1}"
            result, chosen, trials = _search_fold(
                taskset, variant, data, params, ctx, n_trials=n_trials, pruner=preset.pruner, storage=storage,
                study_name=name,
            )  # fmt: skip
        else:
            result = _predict_and_score(taskset, variant, data, params, ctx)
    except NonFinitePredictionError as exc:
        return FoldOutcome(None, tuple(ctx.notes), nonfinite=str(exc), params=chosen, trials=trials)
    return FoldOutcome(result, tuple(ctx.notes), params=chosen, trials=trials)


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if isinstance(v, (int, float, str, bool)) or v is None}


def _add_fold(result: ParadigmResult, fold: FoldOutcome, index: int) -> bool:
    """Add one fold's outcome to ``result``; ``False`` when it diverged (the variant failed)."""
    result.notes.extend(n for n in fold.notes if n not in result.notes)
    result.trials += fold.trials
    if fold.nonfinite is not None:  # a diverged model: none of its folds can be trusted
        result.failed = f"{fold.nonfinite} on fold {index + 1}"
        result.folds.clear()
        result.fold_params.clear()
        result.notes.append(f"failed: {result.failed}")
        return False
    assert fold.result is not None
    result.folds.append(fold.result)
    result.fold_params.append(_plain(fold.params or {}))
    if len(result.folds) == 1:
        result.params = dict(fold.params or result.params)
    return True


def merge_folds(
    result: ParadigmResult, outcomes: Sequence[Outcome | None], *, note_limit: bool = True
) -> ParadigmResult:
    """Fill ``result`` from its folds' unit outcomes, taken in fold order (never in the order they ended).

    A fold whose predictions were non-finite fails the whole variant; folds cut or not started
    by the time limit flag it ``budget_exhausted`` and the finished ones are kept. A fold that
    raised anything else re-raises it here (as a :class:`UnitError`), as the sequential run did.
    """
    cut = 0
    for i, outcome in enumerate(outcomes):
        if outcome is None or outcome.status in ("exhausted", "skipped"):
            cut += 1
            continue
        if outcome.status == "error":
            raise UnitError(outcome.error, outcome.trace)
        result.seconds += outcome.seconds
        if not _add_fold(result, outcome.value, i):
            return result
    if cut:
        result.budget_exhausted = True
        if note_limit:
            result.notes.append(f"stopped by the time budget after {len(result.folds)} of {len(outcomes)} folds")
    return result


class UnitError(RuntimeError):
    """A unit of probe work raised; ``str()`` is ``'Type: message'`` of the original error."""

    def __init__(self, message: str, trace: str = "") -> None:
        super().__init__(message)
        self.trace = trace


def _trials(variant: Variant, preset: BudgetPreset, n_trials: int | None) -> int:
    trials = preset.n_trials if n_trials is None else n_trials
    return trials if variant.search_space is not None else 0


def run_variant(
    taskset: TaskSet,
    variant: Variant,
    prepared: Sequence[FoldData | MetaFoldData],
    *,
    budget: Budget | None = None,
    seed: int = 0,
    params: dict[str, Any] | None = None,
    preset: BudgetPreset | str = "fast",
    n_trials: int | None = None,
    storage: str | None = None,
    device: torch.device | str | None = None,
    threads: int | None = 1,
    progress: Progress | None = None,
) -> ParadigmResult:
    """Run ``variant`` on the prepared folds of ``taskset`` and score it under the protocol.

    Parameters
    ----------
    prepared:
        From :func:`prepare_folds` (shared between variants so preprocessing runs once per fold).
    budget:
        Deadline for this variant; when it passes, finished folds are kept and flagged.
        Default: the preset's ``seconds`` (``None`` for every built-in preset: no deadline).
    params:
        Hyper-parameters overriding the variant's defaults (a search starts from them).
    n_trials:
        Optuna trials per fold, each judged on that fold's validation part (default: the preset's).
    storage:
        Optuna storage URL; in-memory when ``None``.
    threads:
        Torch intra-op threads while training (restored afterwards). One by default: these
        small networks gain nothing from more, and oversubscribed OpenMP threads stall badly
        when other work shares the cores.
    """
    preset = budget_preset(preset)
    budget = budget or Budget(preset.seconds)
    started = time.perf_counter()
    result = ParadigmResult(variant=variant.id, n_folds_planned=len(prepared))
    reason = variant.why_not(taskset)
    if reason is not None:
        result.skipped = reason
        return result
    base = base_params(variant, params)
    result.params = dict(base)
    trials = _trials(variant, preset, n_trials)
    try:
        for i, data in enumerate(prepared):
            budget.check(f"{variant.id} fold {i + 1}")
            if progress and trials:
                progress("search", i / len(prepared), f"{variant.id}: fold {i + 1}, searching ({trials} trials)")
            fold = fold_unit(
                budget, taskset, variant, data, i, base, seed=seed, preset=preset, n_trials=trials, storage=storage, device=device, threads=threads,
            )  # fmt: skip
            if not _add_fold(result, fold, i):
                break
            if progress:
                progress("train", (i + 1) / len(prepared), f"{variant.id}: fold {i + 1}/{len(prepared)}")
    except BudgetExhausted:
        result.budget_exhausted = True
        result.notes.append(f"stopped by the time budget after {len(result.folds)} of {len(prepared)} folds")
    result.seconds = time.perf_counter() - started
    return result


def base_params(variant: Variant, params: dict[str, Any] | None) -> dict[str, Any]:
    """The variant's defaults overridden by ``params``: where every fold (and its search) starts."""
    return {**variant.defaults, **(params or {})}


@dataclass
class ProbeRun:
    """Results of several variants on the same folds."""

    results: list[ParadigmResult]
    preset: BudgetPreset
    seed: int
    seconds: float
    n_folds: int

    def by_variant(self) -> dict[str, ParadigmResult]:
        return {r.variant: r for r in self.results}

    def scored(self) -> dict[str, list[FoldResult]]:
        """Fold results of every variant that finished at least one fold."""
        return {r.variant: r.folds for r in self.results if r.folds}


def variant_units(
    taskset: TaskSet,
    variant: Variant,
    folds: Sequence[FoldData | MetaFoldData],
    *,
    seed: int,
    preset: BudgetPreset,
    params: dict[str, Any] | None = None,
    n_trials: int | None = None,
    storage: str | None = None,
    device: torch.device | str | None = None,
) -> tuple[list[Unit], Callable[[dict[Hashable, Outcome]], ParadigmResult]]:
    """The units of one variant — one per fold, each with its own search when there is one — and their merge.

    Keys are ``(variant id, fold index)``. The merge builds the :class:`ParadigmResult` from the
    outcomes exactly as :func:`run_variant` would have.
    """
    base = base_params(variant, params)
    skipped = variant.why_not(taskset)
    if skipped is not None:

        def merge_skipped(outcomes: dict[Hashable, Outcome]) -> ParadigmResult:
            return ParadigmResult(variant=variant.id, n_folds_planned=len(folds), skipped=skipped)

        return [], merge_skipped
    options = {"seed": seed, "preset": preset, "device": device, "n_trials": _trials(variant, preset, n_trials),
               "storage": storage}  # fmt: skip
    units = [
        Unit((variant.id, i), fold_call, (taskset, variant, folds[i], i, base, options)) for i in range(len(folds))
    ]

    def merge(outcomes: dict[Hashable, Outcome]) -> ParadigmResult:
        result = ParadigmResult(variant=variant.id, n_folds_planned=len(folds), params=dict(base))
        return merge_folds(result, [outcomes.get((variant.id, i)) for i in range(len(folds))])

    return units, merge


def fold_call(
    budget: Budget,
    taskset: TaskSet,
    variant: Variant,
    data: FoldData | MetaFoldData,
    index: int,
    params: dict[str, Any],
    options: dict[str, Any] | None = None,
) -> FoldOutcome:
    """A unit's entry point: :func:`fold_unit` with its keyword options in one mapping."""
    return fold_unit(budget, taskset, variant, data, index, params, **(options or {}))


def run_variants(
    taskset: TaskSet,
    variants: Sequence[Variant],
    *,
    preset: BudgetPreset | str = "fast",
    time_limit: float | None = None,
    seed: int = 0,
    n_trials: int | None = None,
    storage: str | None = None,
    device: torch.device | str | None = None,
    threads: int | None = 1,
    progress: Progress | None = None,
    prepared: Sequence[FoldData | MetaFoldData] | None = None,
    params: Mapping[str, dict[str, Any]] | None = None,
    n_jobs: int | None = 1,
    scheduler: Any = None,
    cancel: Callable[[], bool] | None = None,
) -> ProbeRun:
    """Run ``variants`` on the same folds; every (variant, fold) is a unit of its own.

    ``time_limit`` (seconds, default: the preset's — none for the built-in presets) is one
    deadline for the whole run, checked cooperatively. ``n_jobs`` units run at once on a
    process pool (``None``: every core; 1: in this process); the results are the same whatever
    ``n_jobs``. ``params`` maps a variant id to parameters overriding its defaults (see
    :func:`run_variant`). ``threads`` is kept for compatibility: every unit runs on one thread.
    ``scheduler`` (a ``dask.distributed`` address or ``Client``) runs the units on that cluster.
    ``cancel() -> bool``, once true, stops the run at its next check with ``Cancelled``.
    """
    from probes._units import default_jobs, run_units, start_workers

    preset = budget_preset(preset)
    limit = preset.seconds if time_limit is None else time_limit
    jobs = default_jobs() if n_jobs is None else max(1, int(n_jobs))
    if storage is not None:
        jobs = 1  # one optuna storage, written by one process
    if scheduler is None:
        start_workers(jobs)
    warm_up()
    budget = Budget(limit, cancelled=cancel)
    started = time.perf_counter()
    if progress:
        progress("prepare", 0.0, f"preparing {preset.n_folds * preset.n_repeats} folds")
    folds = list(prepared) if prepared is not None else prepare_folds(taskset, preset, seed=seed)
    units: list[Unit] = []
    merges = []
    for variant in variants:
        own, merge = variant_units(
            taskset, variant, folds, seed=seed, preset=preset, params=(params or {}).get(variant.id),
            n_trials=n_trials, storage=storage, device=device,
        )  # fmt: skip
        units += own
        merges.append(merge)
    finished = [0]

    def on_done(key: Hashable, outcome: Outcome) -> None:
        finished[0] += 1
        if progress:
            progress("probe", finished[0] / max(len(units), 1), f"{key[0]}: {key[1]} {outcome.status}")

    outcomes = run_units(units, n_jobs=jobs, budget=budget, on_done=on_done, scheduler=scheduler)
    results = []
    for variant, merge in zip(variants, merges, strict=True):
        try:
            results.append(merge(outcomes))
        except UnitError as exc:
            raise RuntimeError(f"{variant.id}: {exc}") from exc
    if progress:
        progress("done", 1.0, "probes finished")
    return ProbeRun(results, preset, seed, time.perf_counter() - started, len(folds))
