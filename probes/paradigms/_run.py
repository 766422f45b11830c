"""Run paradigm variants under the protocol: search, train per fold, score, keep what finished.

A variant runs fold after fold; a budget that runs out stops it between epochs, and the folds
it finished are kept and flagged (``budget_exhausted``) — nothing finished is thrown away.
Hyper-parameter search, when asked for, runs on the first fold with the validation rows (or
validation tasks) playing the part of the test set, so test rows never choose anything.
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
from probes.paradigms._data import VALID_DRAWS, FoldData, MetaFoldData, TaskView, prepare_fold, redrawn_validation
from probes.paradigms._training import RunContext, warm_up
from probes.protocol import (
    Episode,
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
    "fold_call",
    "fold_unit",
    "merge_folds",
    "prepare_folds",
    "run_variant",
    "run_variants",
    "search_unit",
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
    trials: int = 0
    n_folds_planned: int = 0
    budget_exhausted: bool = False
    skipped: str | None = None
    """Why the variant did not run (not applicable), else ``None``."""
    failed: str | None = None
    """Why the variant's results were thrown away (it predicted non-finite values), else ``None``."""
    notes: list[str] = field(default_factory=list)

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


def _predict_and_score(
    taskset: TaskSet, variant: Variant, data: FoldData | MetaFoldData, params: dict[str, Any], ctx: RunContext
) -> FoldResult:
    if isinstance(data, MetaFoldData):
        assert variant.fit_predict_meta is not None
        data = redrawn_validation(data, VALID_DRAWS, ctx.seed)  # every learner adapts to the same draws
        return score_meta_fold(taskset, data.fold, variant.fit_predict_meta(data, params, ctx))
    assert variant.fit_predict is not None
    return score_fold(taskset, data.fold, variant.fit_predict(data, params, ctx))


# ------------------------------------------------------------------------------- search views


def _validation_view(data: FoldData, seed: int) -> FoldData:
    """The fold with validation rows as test rows and a fifth of training rows as validation."""
    rng = np.random.default_rng(seed)
    views = []
    for v in data.tasks:
        n = len(v.rows_train)
        k = max(1, n // 5) if n >= 5 else 0
        pick = np.zeros(n, dtype=bool)
        pick[rng.choice(n, size=k, replace=False)] = True
        views.append(
            TaskView(
                v.name, v.kind, v.n_classes,
                v.rows_train[~pick], v.rows_train[pick], v.rows_valid,
                v.y_train[~pick], v.y_train[pick], v.y_valid,
            )
        )  # fmt: skip
    return replace(data, tasks=tuple(views))


def _meta_validation_view(data: MetaFoldData, seed: int) -> MetaFoldData:
    """Validation tasks as test tasks; a share of the training tasks becomes the validation tasks."""
    rng = np.random.default_rng(seed)
    train = list(data.train_tasks)
    rng.shuffle(train)
    k = max(1, len(train) // 5) if len(train) >= 3 else 0
    new_valid, new_train = sorted(train[:k]), sorted(train[k:])
    shots = {e.task: len(e.support) for e in (*data.valid_episodes, *data.test_episodes)}
    n_shots = next(iter(shots.values()), 1)
    episodes = []
    for t in new_valid:
        n = len(data.tasks[t].y_train)
        support = np.sort(rng.choice(n, size=min(n_shots, n - 1), replace=False))
        episodes.append(Episode(t, support, np.setdiff1d(np.arange(n), support)))
    # The view's fold must say the same as the view: scoring reads the episodes from it.
    fold = replace(
        data.fold,
        train_tasks=tuple(new_train),
        valid_tasks=tuple(new_valid),
        test_tasks=tuple(data.valid_tasks),
        valid_episodes=tuple(episodes),
        test_episodes=data.valid_episodes,
    )
    return replace(
        data,
        train_tasks=tuple(new_train),
        valid_tasks=tuple(new_valid),
        valid_episodes=tuple(episodes),
        test_episodes=data.valid_episodes,
        fold=fold,
    )


def _search(
    taskset: TaskSet,
    variant: Variant,
    data: FoldData | MetaFoldData,
    params: dict[str, Any],
    ctx: RunContext,
    *,
    n_trials: int,
    storage: str | None,
) -> tuple[dict[str, Any], int]:
    import optuna

    from probes.paradigms.search import run_study

    assert variant.search_space is not None
    if isinstance(data, MetaFoldData):
        view = redrawn_validation(_meta_validation_view(data, ctx.seed), VALID_DRAWS, ctx.seed)
    else:
        view = _validation_view(data, ctx.seed)

    def objective(trial: optuna.Trial) -> float:
        trial_params = {**params, **variant.search_space(trial)}

        def report(epoch: int, value: float) -> None:
            trial.report(value, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()

        trial_ctx = replace(ctx, on_epoch=report, notes=[])
        if isinstance(view, MetaFoldData):
            result = score_meta_fold(taskset, view.fold, variant.fit_predict_meta(view, trial_params, trial_ctx))  # type: ignore[misc]
            value = result.aggregate
        else:
            preds = variant.fit_predict(view, trial_params, trial_ctx)  # type: ignore[misc]
            scores = {}
            from probes.protocol import METRICS

            for t, pred in preds.items():
                task = taskset.tasks[t]
                scores[task.name] = METRICS[task.metric](view.tasks[t].y_test, check_finite(task.name, pred))
            value = aggregate_task_scores(taskset, scores)
        if not math.isfinite(value):
            raise optuna.TrialPruned("no finite validation score")
        return float(value)

    seed_params = {k: params[k] for k in params if k in _space_keys(variant)}
    study = run_study(
        objective,
        n_trials=n_trials,
        budget=ctx.budget,
        seed=ctx.seed,
        storage=storage,
        study_name=f"{taskset.source.name}:{variant.id}:{ctx.seed}" if storage else None,
        first_params=seed_params or None,
    )
    completed = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    failed = sum(t.state == optuna.trial.TrialState.FAIL for t in study.trials)
    if failed:
        ctx.notes.append(f"search: {failed} of {len(study.trials)} trials failed")
    best = {**params, **study.best_params} if completed else params
    return best, len(study.trials)


class _KeyRecorder:
    """Stands in for an optuna trial to learn which parameters a search space suggests."""

    def __init__(self) -> None:
        self.keys: set[str] = set()

    def __getattr__(self, method: str) -> Callable[..., Any]:
        def suggest(name: str, *args: Any, **kwargs: Any) -> Any:
            self.keys.add(name)
            if method == "suggest_categorical":
                return args[0][0]
            return args[0] if args else kwargs.get("low")

        return suggest


def _space_keys(variant: Variant) -> set[str]:
    if variant.search_space is None:
        return set()
    recorder = _KeyRecorder()
    variant.search_space(recorder)  # type: ignore[arg-type]
    return recorder.keys


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
    )


@dataclass(frozen=True)
class FoldOutcome:
    """One fold of one variant: its scores, or why its predictions were thrown away."""

    result: FoldResult | None
    notes: tuple[str, ...] = ()
    nonfinite: str | None = None


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
    device: torch.device | str | None = None,
    threads: int | None = 1,
) -> FoldOutcome:
    """Train and score fold ``index`` of ``variant`` with ``params`` (seeded by ``fold_seed(seed, index)``).

    A unit of work of its own: the same call gives the same result in any process.
    """
    ctx = replace(_context(budget, seed, preset, device, threads), seed=fold_seed(seed, index))
    try:
        result = _predict_and_score(taskset, variant, data, params, ctx)
    except NonFinitePredictionError as exc:
        return FoldOutcome(None, tuple(ctx.notes), nonfinite=str(exc))
    return FoldOutcome(result, tuple(ctx.notes))


def search_unit(
    budget: Budget,
    taskset: TaskSet,
    variant: Variant,
    data: FoldData | MetaFoldData,
    params: dict[str, Any],
    *,
    seed: int,
    preset: BudgetPreset,
    n_trials: int,
    storage: str | None = None,
    device: torch.device | str | None = None,
    threads: int | None = 1,
) -> tuple[dict[str, Any], int, list[str]]:
    """The hyper-parameter search on the first fold: ``(chosen params, trials, notes)``.

    Under a time limit it takes at most 40% of the time left, so the folds keep the rest.
    """
    ctx = _context(budget.sub(0.4), seed, preset, device, threads)
    chosen, trials = _search(taskset, variant, data, params, ctx, n_trials=n_trials, storage=storage)
    return chosen, trials, list(ctx.notes)


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
        fold: FoldOutcome = outcome.value
        result.notes.extend(n for n in fold.notes if n not in result.notes)
        if fold.nonfinite is not None:
            result.failed = f"{fold.nonfinite} on fold {i + 1}"
            result.folds.clear()
            result.notes.append(f"failed: {result.failed}")
            return result
        assert fold.result is not None
        result.folds.append(fold.result)
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
        Hyper-parameters overriding the variant's defaults (and the search's choices).
    n_trials:
        Optuna trials on the first fold's validation data (default: the preset's).
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
    chosen = {**variant.defaults, **(params or {})}
    trials = preset.n_trials if n_trials is None else n_trials
    try:
        if trials > 0 and variant.search_space is not None and prepared:
            if progress:
                progress("search", 0.0, f"{variant.id}: searching hyper-parameters ({trials} trials)")
            chosen, result.trials, notes = search_unit(
                budget, taskset, variant, prepared[0], chosen, seed=seed, preset=preset, n_trials=trials,
                storage=storage, device=device, threads=threads,
            )  # fmt: skip
            result.notes.extend(notes)
        result.params = dict(chosen)
        for i, data in enumerate(prepared):
            budget.check(f"{variant.id} fold {i + 1}")
            fold = fold_unit(
                budget, taskset, variant, data, i, chosen, seed=seed, preset=preset, device=device, threads=threads
            )
            result.notes.extend(n for n in fold.notes if n not in result.notes)
            if fold.nonfinite is not None:  # a diverged model: none of its folds can be trusted
                result.failed = f"{fold.nonfinite} on fold {i + 1}"
                result.folds.clear()
                result.notes.append(f"failed: {result.failed}")
                break
            assert fold.result is not None
            result.folds.append(fold.result)
            if progress:
                progress("train", (i + 1) / len(prepared), f"{variant.id}: fold {i + 1}/{len(prepared)}")
    except BudgetExhausted:
        result.budget_exhausted = True
        result.notes.append(f"stopped by the time budget after {len(result.folds)} of {len(prepared)} folds")
    result.seconds = time.perf_counter() - started
    return result


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
    """The units of one variant — its search (when it has one) then one per fold — and their merge.

    Keys are ``(variant id, "search")`` and ``(variant id, fold index)``. The merge builds the
    :class:`ParadigmResult` from the outcomes exactly as :func:`run_variant` would have.
    """
    base = {**variant.defaults, **(params or {})}
    trials = preset.n_trials if n_trials is None else n_trials
    search = trials > 0 and variant.search_space is not None and bool(folds)
    skipped = variant.why_not(taskset)
    if skipped is not None:

        def merge_skipped(outcomes: dict[Hashable, Outcome]) -> ParadigmResult:
            return ParadigmResult(variant=variant.id, n_folds_planned=len(folds), skipped=skipped)

        return [], merge_skipped
    skey = (variant.id, "search")
    options = {"seed": seed, "preset": preset, "device": device}

    def chosen(outcomes: dict[Hashable, Outcome]) -> dict[str, Any] | None:
        if not search:
            return base
        found = outcomes[skey]
        return found.value[0] if found.done else None

    def fold_args(i: int) -> Callable[[dict[Hashable, Outcome]], tuple[Any, ...] | None]:
        def build(outcomes: dict[Hashable, Outcome]) -> tuple[Any, ...] | None:
            p = chosen(outcomes)
            return None if p is None else (taskset, variant, folds[i], i, p, options)

        return build

    units = []
    if search:
        units.append(
            Unit(skey, _search_call, (taskset, variant, folds[0], base, seed, preset, trials, storage, device))
        )
    for i in range(len(folds)):
        units.append(Unit((variant.id, i), fold_call, needs=(skey,) if search else (), build=fold_args(i)))

    def merge(outcomes: dict[Hashable, Outcome]) -> ParadigmResult:
        result = ParadigmResult(variant=variant.id, n_folds_planned=len(folds), params=dict(base))
        if search:
            found = outcomes[skey]
            if found.status == "error":
                raise UnitError(found.error, found.trace)
            if not found.done:
                result.budget_exhausted = True
                result.notes.append(f"stopped by the time budget after 0 of {len(folds)} folds")
                return result
            result.params, result.trials, notes = dict(found.value[0]), found.value[1], found.value[2]
            result.notes.extend(notes)
            result.seconds += found.seconds
        return merge_folds(result, [outcomes.get((variant.id, i)) for i in range(len(folds))])

    return units, merge


def _search_call(
    budget: Budget,
    taskset: TaskSet,
    variant: Variant,
    data: FoldData | MetaFoldData,
    params: dict[str, Any],
    seed: int,
    preset: BudgetPreset,
    n_trials: int,
    storage: str | None,
    device: torch.device | str | None,
) -> tuple[dict[str, Any], int, list[str]]:
    return search_unit(
        budget, taskset, variant, data, params, seed=seed, preset=preset, n_trials=n_trials, storage=storage,
        device=device,
    )  # fmt: skip


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
) -> ProbeRun:
    """Run ``variants`` on the same folds; every (variant, fold) is a unit of its own.

    ``time_limit`` (seconds, default: the preset's — none for the built-in presets) is one
    deadline for the whole run, checked cooperatively. ``n_jobs`` units run at once on a
    process pool (``None``: every core; 1: in this process); the results are the same whatever
    ``n_jobs``. ``params`` maps a variant id to parameters overriding its defaults (see
    :func:`run_variant`). ``threads`` is kept for compatibility: every unit runs on one thread.
    """
    from probes._units import default_jobs, run_units, start_workers

    preset = budget_preset(preset)
    limit = preset.seconds if time_limit is None else time_limit
    jobs = default_jobs() if n_jobs is None else max(1, int(n_jobs))
    if storage is not None:
        jobs = 1  # one optuna storage, written by one process
    start_workers(jobs)
    warm_up()
    budget = Budget(limit)
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

    outcomes = run_units(units, n_jobs=jobs, budget=budget, on_done=on_done)
    results = []
    for variant, merge in zip(variants, merges, strict=True):
        try:
            results.append(merge(outcomes))
        except UnitError as exc:
            raise RuntimeError(f"{variant.id}: {exc}") from exc
    if progress:
        progress("done", 1.0, "probes finished")
    return ProbeRun(results, preset, seed, time.perf_counter() - started, len(folds))
