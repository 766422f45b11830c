"""The budgeted probe runner: data + spec + budget -> every probe and signal the recommender reads.

A budget preset is a fixed amount of work, so the same data, spec, seed and preset give the
same report, bit for bit, whatever the machine's load and however many processes run it. The
work is cut into independent units — one fold of one variant, one signal, one learning-curve
point, one fold of the group check — run by :func:`probes._units.run_units` on every core
(``n_jobs``) and merged in plan order. Units are handed out in an *anytime* order — the STL
baseline first, then the sharing paradigm the goal makes most likely, then the others and the
signals — which matters only under a time limit the user sets: a unit cut by it keeps what it
finished, units it never reached are skipped, and the report says which steps were partial.
Learning curves and the group check wait for the variants they build on.
Large tasks are subsampled to the preset's ``max_rows_per_task`` first; the learning curves
then extrapolate to the full size.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from probes._units import Outcome, Unit, default_jobs, run_units, start_workers
from probes.budget import Budget, BudgetPreset, budget_preset
from probes.data import Task, TaskSet
from probes.exceptions import BudgetExhausted
from probes.paradigms import (
    PARADIGMS,
    VARIANTS,
    FoldData,
    MetaFoldData,
    ParadigmResult,
    RunContext,
    Variant,
    prepare_folds,
    run_variant,
)
from probes.paradigms._run import UnitError, fold_call, merge_folds, variant_units
from probes.paradigms._training import warm_up
from probes.protocol import NonFinitePredictionError, best_by_validation

__all__ = [
    "Phase",
    "ProbeReport",
    "paradigm_variants",
    "preset_params",
    "resolve_jobs",
    "run_probes",
    "subsample_taskset",
]

Progress = Callable[[str, float, str], None]

#: Sharing paradigms in the order each goal makes them most worth probing.
_ORDER: dict[str, tuple[str, ...]] = {
    "all_tasks": ("mtl", "transfer"),
    "target_task": ("transfer", "mtl"),
    "new_tasks": ("meta", "transfer", "mtl"),
}
#: Probed after the signals and the second STL learner: costly, and rarely the answer for these goals.
_LATE: dict[str, tuple[str, ...]] = {"all_tasks": ("meta",), "target_task": ("meta",), "new_tasks": ()}
#: Variant parameters a budget preset implies (fewer pretrainings when time is short).
_PRESET_PARAMS: dict[str, dict[str, dict[str, Any]]] = {"fast": {"transfer/finetune": {"source_groups": 2}}}


def preset_params(preset: BudgetPreset | str) -> dict[str, dict[str, Any]]:
    """Per variant id, the parameters ``preset`` sets for the probes (``advisor probe`` uses the same)."""
    return {variant: dict(p) for variant, p in _PRESET_PARAMS.get(budget_preset(preset).name, {}).items()}


@dataclass
class Phase:
    """One step of a probe run: what ran, for how long, and whether it finished."""

    name: str
    status: str = "pending"
    seconds: float = 0.0
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"phase": self.name, "status": self.status, "seconds": round(self.seconds, 3), "note": self.note}


@dataclass
class ProbeReport:
    """Everything a probe run measured, for the recommender."""

    taskset: TaskSet
    """The task set as probed (after any subsampling)."""
    full_rows: dict[str, int]
    """Rows per task before subsampling."""
    preset: BudgetPreset
    seed: int
    time_limit: float | None
    results: dict[str, ParadigmResult] = field(default_factory=dict)
    signals: dict[str, Any] = field(default_factory=dict)
    groups: list[list[str]] = field(default_factory=list)
    group_check: dict[str, Any] | None = None
    phases: list[Phase] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    n_folds: int = 0

    @property
    def subsampled(self) -> bool:
        return any(self.full_rows[t.name] > t.n_rows for t in self.taskset.tasks)

    @property
    def partial(self) -> bool:
        return any(p.status in {"partial", "skipped"} for p in self.phases if not p.note.startswith("not applicable"))

    def representative(self, paradigm: str) -> ParadigmResult | None:
        """The paradigm's best finished variant by mean validation score (its learner is part of the answer).

        Variants are compared over the folds all of them finished, on their validation parts
        (:func:`~probes.protocol.best_by_validation`): test scores never choose a variant.
        """
        finished = {r.variant: r for r in self.results.values() if r.paradigm == paradigm and r.folds}
        best = best_by_validation({name: r.folds for name, r in finished.items()})
        return None if best is None else finished[best]

    def why_not(self, paradigm: str) -> str | None:
        """Why a paradigm has no score: not applicable, not run, failed, or cut by the time limit."""
        if self.representative(paradigm) is not None:
            return None
        tried = [r for r in self.results.values() if r.paradigm == paradigm]
        if not tried:
            return "not probed (time limit reached before it ran)"
        reasons = [r.skipped for r in tried if r.skipped]
        if reasons and len(reasons) == len(tried):
            return reasons[0]
        failures = [f"{r.variant}: {r.failed}" for r in tried if r.failed]
        if failures and len(failures) + len(reasons) == len(tried):
            return f"failed ({'; '.join(failures)})"
        return "no fold finished within the time limit"


# ------------------------------------------------------------------------------------- subsampling


def _take(rows: np.ndarray, y: np.ndarray, kind: str, limit: int, rng: np.random.Generator) -> np.ndarray:
    """Positions of at most ``limit`` rows, stratified by class for classification."""
    n = len(rows)
    if n <= limit:
        return np.arange(n)
    if kind != "classification":
        return np.sort(rng.choice(n, size=limit, replace=False))
    chosen = []
    labels = y.astype(int)
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        k = max(1, round(limit * len(members) / n))
        chosen.append(rng.choice(members, size=min(k, len(members)), replace=False))
    return np.sort(np.concatenate(chosen))[: max(limit, len(chosen))]


def subsample_taskset(taskset: TaskSet, max_rows: int | None, *, seed: int = 0) -> TaskSet:
    """The task set with each task cut to at most ``max_rows`` rows (multi-target: shared rows stay shared)."""
    if max_rows is None or all(t.n_rows <= max_rows for t in taskset.tasks):
        return taskset
    rng = np.random.default_rng([seed, 5])
    if taskset.layout == "multi_target":
        union = np.unique(np.concatenate([t.rows for t in taskset.tasks]))
        keep = np.sort(rng.choice(union, size=min(len(union), max_rows), replace=False))
        tasks = tuple(_restrict(t, np.flatnonzero(np.isin(t.rows, keep))) for t in taskset.tasks)
    else:
        tasks = tuple(_restrict(t, _take(t.rows, t.y, t.kind, max_rows, rng)) for t in taskset.tasks)
    return taskset.with_tasks(tasks)


def _restrict(task: Task, positions: np.ndarray) -> Task:
    from dataclasses import replace

    return replace(task, rows=task.rows[positions], y=task.y[positions])


# ------------------------------------------------------------------------------------- the plan


def paradigm_variants(taskset: TaskSet, paradigm: str, preset: BudgetPreset) -> list[Variant]:
    """The variants a probe runs for ``paradigm`` (more on larger budgets)."""
    clf = all(t.kind == "classification" for t in taskset.tasks)
    names: list[str]
    if paradigm == "stl":
        names = ["stl/mlp", "stl/gbdt"]
    elif paradigm == "mtl":
        names = ["mtl/hard"] if preset.name == "fast" else ["mtl/hard", "mtl/uncertainty", "mtl/soft"]
    elif paradigm == "transfer":
        names = ["transfer/finetune"] if preset.name == "fast" else ["transfer/finetune", "transfer/head"]
        if taskset.goal == "target_task" and "transfer/head" not in names:
            names.append("transfer/head")  # scarce targets: frozen features are the natural alternative
    else:
        names = ["meta/protonet"] if clf else ["meta/maml"]
    return [VARIANTS[n] for n in names]


@dataclass(frozen=True)
class _Merge:
    """A variant's unit keys and the merge of their outcomes into its :class:`ParadigmResult`."""

    keys: tuple[Hashable, ...]
    merge: Callable[[dict[Hashable, Outcome]], ParadigmResult]


@dataclass
class _Step:
    """One phase of the report: its units, and how their outcomes become part of the report."""

    name: str
    units: list[Unit]
    finish: Callable[[dict[Hashable, Outcome]], str]
    """Called in plan order once every unit ended; returns the phase's note. Raises
    ``BudgetExhausted`` when the time limit cut it, anything else when it failed."""
    rank: int = 1
    """Where it starts when there is no time limit (the anytime order matters only under one):
    0 for costly variants (late in the anytime order), so the run does not end waiting on one
    while other cores idle; 1 for the rest; 2 for quick signals nothing waits for, which fill
    the cores at the end. The report is merged in plan order whatever the rank."""


def resolve_jobs(n_jobs: int | None, device: torch.device | str | None = None) -> int:
    """Processes a probe run uses: ``n_jobs``, or every core (one on a GPU, which serialises the work anyway)."""
    if n_jobs is not None:
        if int(n_jobs) < 1:
            raise ValueError(f"n_jobs must be 1 or more, got {n_jobs}")
        return int(n_jobs)
    dev = torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return 1 if dev.type != "cpu" else default_jobs()


def run_probes(
    taskset: TaskSet,
    *,
    budget: str | BudgetPreset = "fast",
    time_limit: float | None = None,
    seed: int = 0,
    paradigms: tuple[str, ...] = PARADIGMS,
    signals: bool = True,
    progress: Progress | None = None,
    device: torch.device | str | None = None,
    cancel: Callable[[], bool] | None = None,
    n_jobs: int | None = None,
    scheduler: Any = None,
) -> ProbeReport:
    """Probe every applicable paradigm and measure the signals.

    The work is fixed by the budget preset; the result depends only on the data, the spec, the
    seed and the preset — never on the machine's load, nor on ``n_jobs``.

    Parameters
    ----------
    budget:
        ``fast`` | ``standard`` | ``thorough`` (or a :class:`BudgetPreset`): folds, epochs, search.
    time_limit:
        Optional wall-time limit in seconds (default: the preset's, which is none for the
        built-in presets). Work it cuts is kept and the report says which steps were partial.
    progress:
        Called with ``(phase, fraction, message)`` as work advances.
    cancel:
        ``() -> bool``; once true, the run stops at its next check with
        :class:`~probes.exceptions.Cancelled` (nothing partial is returned).
    n_jobs:
        Units of work (a fold of a variant, a signal, a learning-curve point) run at once in
        worker processes. ``None``: every core this process may use (one on a GPU); 1: all in
        this process.
    scheduler:
        A ``dask.distributed`` scheduler address (``tcp://host:8786``) or ``Client``: the units
        run on that cluster instead (same results; ``n_jobs`` unused).
    """
    started = time.perf_counter()
    preset = budget_preset(budget)
    limit = preset.seconds if time_limit is None else time_limit
    notify = progress or (lambda phase, fraction, message: None)
    jobs = resolve_jobs(n_jobs, device)
    if scheduler is None:
        start_workers(jobs)  # workers import torch while this process prepares the folds
    warm_up()
    total = Budget(limit, cancelled=cancel)
    probed = subsample_taskset(taskset, preset.max_rows_per_task, seed=seed)
    report = ProbeReport(
        taskset=probed,
        full_rows={t.name: t.n_rows for t in taskset.tasks},
        preset=preset,
        seed=seed,
        time_limit=limit,
    )
    if report.subsampled:
        report.warnings.append(
            f"Tasks larger than {preset.max_rows_per_task:,} rows were subsampled for the probes; "
            "learning curves extrapolate to the full size."
        )
    notify("prepare", 0.0, "preparing folds")
    prep = Phase("prepare folds")
    t0 = time.perf_counter()
    folds = prepare_folds(probed, preset, seed=seed)
    prep.seconds, prep.status = time.perf_counter() - t0, "done"
    report.phases.append(prep)
    report.n_folds = len(folds)

    steps = _plan(report, folds, paradigms, signals, device)
    # Without a time limit the order only decides how well the cores are kept busy (see _Step.rank).
    order = sorted(steps, key=lambda step: step.rank) if limit is None else steps
    units = [u for step in order for u in step.units]
    owner = {u.key: step.name for step in steps for u in step.units}
    finished = [0]

    def on_done(key: Hashable, outcome: Outcome) -> None:
        finished[0] += 1
        notify("probe", finished[0] / max(len(units), 1), owner[key])

    total.check_cancelled("the probes")
    outcomes = run_units(units, n_jobs=jobs, budget=total, on_done=on_done, scheduler=scheduler)
    for step in steps:  # plan order: the report never depends on the order units ended
        phase = Phase(step.name)
        report.phases.append(phase)
        own = [outcomes[u.key] for u in step.units]
        phase.seconds = sum(o.seconds for o in own)
        if own and all(o.status == "skipped" and o.error == "time limit reached" for o in own):
            phase.status, phase.note = "skipped", "time limit reached"
            continue
        try:
            phase.note = step.finish(outcomes)
            phase.status = "partial" if phase.note.startswith("partial") else "done"
        except BudgetExhausted:
            phase.status, phase.note = "partial", "cut by the time limit"
        except Exception as exc:  # one failed step must not sink the recommendation
            phase.status = "failed"
            phase.note = f"{type(exc).__name__}: {exc}" if not isinstance(exc, UnitError) else str(exc)
            report.warnings.append(f"{step.name} failed and was left out: {phase.note}")
            trace = exc.trace if isinstance(exc, UnitError) else traceback.format_exc(limit=3)
            report.signals.setdefault("errors", []).append({"step": step.name, "trace": trace})
    notify("done", 1.0, "probes finished")
    report.seconds = time.perf_counter() - started
    return report


def _done(outcome: Outcome) -> Any:
    """The value of a finished unit; raises what stopped it otherwise."""
    if outcome.status == "error":
        raise UnitError(outcome.error, outcome.trace)
    if outcome.status != "done":
        raise BudgetExhausted(outcome.error or "time limit reached")
    return outcome.value


def _plan(
    report: ProbeReport,
    folds: list[FoldData | MetaFoldData],
    paradigms: tuple[str, ...],
    signals: bool,
    device: torch.device | str | None,
) -> list[_Step]:
    ts, preset, seed = report.taskset, report.preset, report.seed
    merges: dict[str, _Merge] = {}

    def variant_step(variant: Variant) -> _Step:
        params = preset_params(preset).get(variant.id)
        units, merge = variant_units(ts, variant, folds, seed=seed, preset=preset, params=params, device=device)
        merges[variant.id] = _Merge(tuple(u.key for u in units), merge)

        def finish(outcomes: dict[Hashable, Outcome]) -> str:
            result = merge(outcomes)
            report.results[variant.id] = result
            if result.skipped:
                return f"not applicable: {result.skipped}"
            if result.failed:
                raise NonFinitePredictionError(result.failed)
            if result.budget_exhausted:
                return f"partial: {len(result.folds)}/{result.n_folds_planned} folds"
            return f"{len(result.folds)} folds"

        return _Step(variant.id, units, finish)

    def variants_of(paradigm: str) -> list[Variant]:
        return paradigm_variants(ts, paradigm, preset) if paradigm in paradigms else []

    # The anytime order: under a time limit the STL baseline, which every comparison needs,
    # starts first, then the sharing paradigm the goal makes most likely, then the rest.
    stl = variants_of("stl")
    steps = [variant_step(stl[0])] if stl else []
    extra: list[Variant] = list(stl[1:])
    for paradigm in _ORDER[ts.goal.value]:
        main, *others = variants_of(paradigm) or [None]
        if main is not None:
            steps.append(variant_step(main))
        extra += others
    if signals:
        steps += _signal_steps(report, folds, device)
    steps += [variant_step(v) for v in extra]
    for paradigm in _LATE[ts.goal.value]:
        steps += [replace(variant_step(v), rank=0) for v in variants_of(paradigm)]
    if signals:
        steps += _late_signal_steps(report, folds, device, merges)
    return steps


# --------------------------------------------------------------------------------------- signals


def _ctx(budget: Budget, seed: int, preset: BudgetPreset, device: torch.device | str | None) -> RunContext:
    dev = torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return RunContext(
        budget=budget, seed=seed, device=dev, max_epochs=preset.max_epochs, patience=preset.patience,
        sweep_stop=preset.sweep_stop,
        selection_split=preset.selection_split,
    )  # fmt: skip


def _labels_unit(budget: Budget, ts: TaskSet) -> Any:
    from probes.signals import label_relatedness

    return label_relatedness(ts, budget=budget)


def _shift_unit(budget: Budget, fold: FoldData, seed: int) -> Any:
    from probes.signals import input_shift

    return input_shift(fold, seed=seed, budget=budget)


def _affinity_unit(budget: Budget, fold: FoldData, seed: int, preset: BudgetPreset, device: Any) -> Any:
    from probes.signals import task_affinity

    return task_affinity(fold, _ctx(budget, seed, preset, device))


def _transferability_unit(
    budget: Budget, fold: FoldData, target: int, sources: list[int], seed: int, preset: BudgetPreset, device: Any
) -> Any:
    from probes.signals import source_transferability

    return source_transferability(fold, target, sources, _ctx(budget, seed, preset, device))


def _signal_steps(report: ProbeReport, folds: list, device: torch.device | str | None) -> list[_Step]:
    ts, seed, preset = report.taskset, report.seed, report.preset
    steps: list[_Step] = []
    if ts.n_tasks < 2:
        return steps
    if ts.layout == "multi_target":

        def labels(outcomes: dict[Hashable, Outcome]) -> str:
            report.signals["labels"] = _done(outcomes["labels"])
            return "label correlation, mutual information, conditional entropy"

        steps.append(_Step("signal: label relatedness", [Unit("labels", _labels_unit, (ts,))], labels, rank=2))
    elif isinstance(folds[0], FoldData):

        def shift(outcomes: dict[Hashable, Outcome]) -> str:
            report.signals["shift"] = _done(outcomes["shift"])
            return "proxy A-distance and MMD between tasks' inputs"

        steps.append(_Step("signal: input shift", [Unit("shift", _shift_unit, (folds[0], seed))], shift, rank=2))
    if isinstance(folds[0], FoldData):

        def affinity(outcomes: dict[Hashable, Outcome]) -> str:
            from probes.signals import suggest_groups

            signal = _done(outcomes["affinity"])
            report.signals["affinity"] = signal
            report.groups = suggest_groups(signal)
            return f"TAG affinity and gradient conflict: {signal.n_measurements} measurements over {signal.steps} steps"

        unit = Unit("affinity", _affinity_unit, (folds[0], seed, preset, device))
        steps.append(_Step("signal: task affinity", [unit], affinity))
    return steps


def _late_signal_steps(
    report: ProbeReport,
    folds: list,
    device: torch.device | str | None,
    merges: dict[str, _Merge],
) -> list[_Step]:
    ts, seed, preset = report.taskset, report.seed, report.preset
    steps: list[_Step] = []

    def results_now(outcomes: dict[Hashable, Outcome]) -> dict[str, ParadigmResult]:
        """The result of every variant whose units all ended, as it will be reported (merged again:
        nothing in the report changes). A caller reads only the variants its units wait for."""
        out = {}
        for name, m in merges.items():
            if any(k not in outcomes for k in m.keys):
                continue
            try:
                out[name] = m.merge(outcomes)
            except UnitError:
                continue  # a failed variant has no result
        return out

    if isinstance(folds[0], FoldData):
        steps.append(_curves_step(report, folds, device, merges, results_now))
    if ts.goal == "target_task" and isinstance(folds[0], FoldData):
        target = int(ts.target_index or 0)
        sources = [t for t in range(ts.n_tasks) if t != target]

        def transferability(outcomes: dict[Hashable, Outcome]) -> str:
            report.signals["transferability"] = _done(outcomes["transferability"])
            return "LogME, H-score and k-NN of source features on the target"

        unit = Unit("transferability", _transferability_unit, (folds[0], target, sources, seed, preset, device))
        steps.append(_Step("signal: transferability", [unit], transferability, rank=2))
    if ts.n_tasks >= 3 and isinstance(folds[0], FoldData) and ts.goal == "all_tasks":
        steps.append(_group_step(report, folds, device, merges, results_now))
    return steps


def _curves_step(
    report: ProbeReport,
    folds: list,
    device: torch.device | str | None,
    merges: dict[str, _Merge],
    results_now: Callable[[dict[Hashable, Outcome]], dict[str, ParadigmResult]],
) -> _Step:
    """Learning curves of STL's representative and the best sharing one (fold 0, three fractions).

    The full-fraction point is the probe's own fold 0 (same fold, seed and parameters), so only
    the smaller fractions train; each (curve, fraction) is a unit of its own. STL's curve waits
    only for the STL variants, the sharing one for the sharing variants.
    """
    from probes.signals.curves import CURVE_FRACTIONS, curve_fold

    ts, seed, preset = report.taskset, report.seed, report.preset
    options = {"seed": seed, "preset": preset, "device": device}
    roles = {
        "stl": tuple(k for name, m in merges.items() if name.startswith("stl/") for k in m.keys),
        "sharing": tuple(k for name, m in merges.items() if not name.startswith("stl/") for k in m.keys),
    }

    picked: dict[str, ParadigmResult | None] = {}

    def chosen(outcomes: dict[Hashable, Outcome], role: str) -> ParadigmResult | None:
        """The role's variant, chosen once: every unit it reads has ended when it is first asked."""
        if role not in picked:
            probed = replace(report, results=results_now(outcomes))
            if role == "stl":
                picked[role] = probed.representative("stl")
            else:
                sharing = [r for p in ("mtl", "transfer", "meta") if (r := probed.representative(p)) is not None]
                picked[role] = max(sharing, key=lambda r: r.score) if sharing else None
        return picked[role]

    def build(role: str, fraction: float) -> Callable[[dict[Hashable, Outcome]], tuple[Any, ...] | None]:
        def make(outcomes: dict[Hashable, Outcome]) -> tuple[Any, ...] | None:
            result = chosen(outcomes, role)
            if result is None:
                return None
            if fraction == 1.0 and _probe_fold0(result, folds) is not None:
                return None  # the probe trained exactly this: reuse its fold 0
            data = curve_fold(folds[0], fraction, seed)
            return (ts, VARIANTS[result.variant], data, 0, dict(result.params), options)

        return make

    units = [
        Unit(("curve", role, fraction), fold_call, needs=needs, build=build(role, fraction))
        for role, needs in roles.items()
        for fraction in CURVE_FRACTIONS
    ]

    def finish(outcomes: dict[Hashable, Outcome]) -> str:
        from probes.signals.curves import curve_from_folds

        full = float(sum(report.full_rows.values()))  # labelled rows of the full data set
        out = []
        for role in roles:
            result = chosen(outcomes, role)
            if result is None:
                continue
            per_fraction = {}
            for fraction in CURVE_FRACTIONS:
                outcome = outcomes[("curve", role, fraction)]
                if fraction == 1.0 and outcome.status == "skipped" and outcome.error == "not needed":
                    per_fraction[fraction] = (_probe_fold0(result, folds), outcome.seconds, False)
                    continue
                if outcome.status == "error":
                    raise UnitError(outcome.error, outcome.trace)
                value = outcome.value.result if outcome.done and outcome.value.nonfinite is None else None
                per_fraction[fraction] = (value, outcome.seconds, not outcome.done)
            out.append(
                curve_from_folds(
                    ts, result.variant, folds[:1], per_fraction, seed=seed, full_size=full, anchor=result.score
                )
            )
        report.signals["curves"] = out
        return f"learning curves of {', '.join(c.variant for c in out)}"

    return _Step("signal: learning curves", units, finish)


def _probe_fold0(result: ParadigmResult, folds: list) -> Any:
    """The probe's result on fold 0 (the learning curve's full-fraction point), if it finished."""
    key = folds[0].fold.key
    return next((f for f in result.folds if f.key == key), None)


def _group_step(
    report: ProbeReport,
    folds: list,
    device: torch.device | str | None,
    merges: dict[str, _Merge],
    results_now: Callable[[dict[Hashable, Outcome]], dict[str, ParadigmResult]],
) -> _Step:
    """Grouped training (the affinity's suggested groups) against all tasks together, fold by fold."""
    from probes.signals import suggest_groups

    ts, seed, preset = report.taskset, report.seed, report.preset
    variant = VARIANTS["mtl/groups"]
    options = {"seed": seed, "preset": preset, "device": device}
    base_keys = merges["mtl/hard"].keys if "mtl/hard" in merges else ()

    def groups_of(outcomes: dict[Hashable, Outcome]) -> list[list[str]] | None:
        found = outcomes.get("affinity")
        if found is None or not found.done:
            return None
        return suggest_groups(found.value)

    decided: list[tuple[list[list[str]] | None, str | None]] = []

    def applicable(outcomes: dict[Hashable, Outcome]) -> tuple[list[list[str]] | None, str | None]:
        """The groups to train, or why not; decided once (the units it reads have all ended by then)."""
        if not decided:
            groups = groups_of(outcomes)
            base = results_now(outcomes).get("mtl/hard")
            if groups is None or len(groups) < 2 or not [g for g in groups if len(g) >= 2]:
                decided.append((None, "no grouping suggested (one group, or affinity not measured)"))
            elif base is None or not base.folds:
                decided.append((None, "skipped: mtl/hard has no score to compare with"))
            else:
                decided.append((groups, None))
        return decided[0]

    def build(i: int) -> Callable[[dict[Hashable, Outcome]], tuple[Any, ...] | None]:
        def make(outcomes: dict[Hashable, Outcome]) -> tuple[Any, ...] | None:
            groups, _ = applicable(outcomes)
            if groups is None:
                return None
            return (ts, variant, folds[i], i, {**variant.defaults, "groups": groups}, options)

        return make

    searched = preset.n_trials > 0 and variant.search_space is not None
    needs = ("affinity", *base_keys)
    if searched:  # a search first: the whole variant is one unit, as run_variant runs it
        units = [Unit(("mtl/groups", "all"), _whole_variant, needs=needs, build=lambda o: _whole_args(o))]
    else:
        units = [Unit(("mtl/groups", i), fold_call, needs=needs, build=build(i)) for i in range(len(folds))]

    def _whole_args(outcomes: dict[Hashable, Outcome]) -> tuple[Any, ...] | None:
        groups, _ = applicable(outcomes)
        return None if groups is None else (ts, variant, folds, {"groups": groups}, seed, preset, device)

    def finish(outcomes: dict[Hashable, Outcome]) -> str:
        from probes.protocol import compare

        groups, why = applicable(outcomes)
        if groups is None:
            assert why is not None
            return why
        base = report.results["mtl/hard"]
        if searched:
            result = _done(outcomes[("mtl/groups", "all")])
        else:
            planned = ParadigmResult(variant=variant.id, n_folds_planned=len(folds))
            planned.params = {**variant.defaults, "groups": groups}
            result = merge_folds(planned, [outcomes[("mtl/groups", i)] for i in range(len(folds))])
        report.results["mtl/groups"] = result
        if not result.folds:
            return "partial: no fold finished"
        c = compare(result.folds, base.folds)
        shared = {f.key for f in result.folds} & {f.key for f in base.folds}
        report.group_check = {
            "groups": groups,
            "score_groups": result.score,
            "score_all_together": base.score,
            "difference": c.mean_difference,
            "ci_low": c.ci_low,
            "ci_high": c.ci_high,
            "folds": len(shared),
            "paired_units": c.n_pairs,  # test rows (the bootstrap's units), or folds for the fold-level test
            "test": c.test,
            "better": bool(c.significant and c.mean_difference > 0),
        }
        return f"grouped training vs all tasks together: {c.mean_difference:+.3f}"

    return _Step("check: task groups", units, finish)


def _whole_variant(
    budget: Budget,
    ts: TaskSet,
    variant: Variant,
    folds: list,
    params: dict[str, Any],
    seed: int,
    preset: BudgetPreset,
    device: Any,
) -> ParadigmResult:
    return run_variant(ts, variant, folds, budget=budget, seed=seed, preset=preset, params=params, device=device)
