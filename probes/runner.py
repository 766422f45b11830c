"""The budgeted probe runner: data + spec + budget -> every probe and signal the recommender reads.

Work runs in an *anytime* order — the STL baseline first, then the sharing paradigm the goal
makes most likely, then the others, then cheaper or supporting signals — so that a usable
answer exists early and each later step only sharpens it. Each step gets a fair share of the
time that is left (shares flow forward when a step finishes early); a step cut by the time
limit keeps what it finished, and the report says which steps were partial or skipped.
Large tasks are subsampled to the preset's ``max_rows_per_task`` first; the learning curves
then extrapolate to the full size.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from probes.budget import Budget, BudgetPreset, budget_preset
from probes.data import Task, TaskSet
from probes.exceptions import BudgetExhausted, Cancelled
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
from probes.paradigms._training import warm_up
from probes.protocol import NonFinitePredictionError, best_on_shared_folds

__all__ = ["Phase", "ProbeReport", "paradigm_variants", "preset_params", "run_probes", "subsample_taskset"]

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
        """The paradigm's best finished variant by mean probe score (its learner is part of the answer).

        Variants are compared over the folds all of them finished
        (:func:`~probes.protocol.best_on_shared_folds`).
        """
        finished = {r.variant: r for r in self.results.values() if r.paradigm == paradigm and r.folds}
        best = best_on_shared_folds({name: r.folds for name, r in finished.items()})
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


@dataclass
class _Step:
    name: str
    weight: float
    run: Callable[[Budget], str]
    """Runs under a budget; returns a note. Raises BudgetExhausted when cut."""


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
) -> ProbeReport:
    """Probe every applicable paradigm and measure the signals, within ``time_limit`` seconds.

    Parameters
    ----------
    budget:
        ``fast`` | ``standard`` | ``thorough`` (or a :class:`BudgetPreset`): folds, epochs, search.
    time_limit:
        Wall-time limit in seconds (default: the preset's).
    progress:
        Called with ``(phase, fraction, message)`` as work advances.
    cancel:
        ``() -> bool``; once true, the run stops at its next budget check with
        :class:`~probes.exceptions.Cancelled` (nothing partial is returned).
    """
    started = time.perf_counter()
    preset = budget_preset(budget)
    limit = preset.seconds if time_limit is None else time_limit
    notify = progress or (lambda phase, fraction, message: None)
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
    weights = [s.weight for s in steps]
    for i, step in enumerate(steps):
        phase = Phase(step.name)
        report.phases.append(phase)
        total.check_cancelled(step.name)
        if total.exhausted():
            phase.status, phase.note = "skipped", "time limit reached"
            continue
        notify("probe", i / len(steps), step.name)
        share = total.sub(step.weight / sum(weights[i:]))
        t0 = time.perf_counter()
        try:
            phase.note = step.run(share)
            phase.status = "partial" if phase.note.startswith("partial") else "done"
        except Cancelled:
            raise
        except BudgetExhausted:
            phase.status, phase.note = "partial", "cut by the time limit"
        except Exception as exc:  # one failed step must not sink the recommendation
            phase.status = "failed"
            phase.note = f"{type(exc).__name__}: {exc}"
            report.warnings.append(f"{step.name} failed and was left out: {type(exc).__name__}: {exc}")
            report.signals.setdefault("errors", []).append({"step": step.name, "trace": traceback.format_exc(limit=3)})
        phase.seconds = time.perf_counter() - t0
    notify("done", 1.0, "probes finished")
    report.seconds = time.perf_counter() - started
    return report


def _plan(
    report: ProbeReport,
    folds: list[FoldData | MetaFoldData],
    paradigms: tuple[str, ...],
    signals: bool,
    device: torch.device | str | None,
) -> list[_Step]:
    ts, preset, seed = report.taskset, report.preset, report.seed

    def variant_step(variant: Variant, weight: float) -> _Step:
        params = preset_params(preset).get(variant.id)

        def run(budget: Budget) -> str:
            result = run_variant(
                ts, variant, folds, budget=budget, seed=seed, preset=preset, params=params, device=device
            )
            report.results[variant.id] = result
            if result.skipped:
                return f"not applicable: {result.skipped}"
            if result.failed:
                raise NonFinitePredictionError(result.failed)
            if result.budget_exhausted:
                return f"partial: {len(result.folds)}/{result.n_folds_planned} folds"
            return f"{len(result.folds)} folds"

        return _Step(variant.id, weight, run)

    def variants_of(paradigm: str) -> list[Variant]:
        return paradigm_variants(ts, paradigm, preset) if paradigm in paradigms else []

    # Weights are relative time shares; the STL baseline, which every comparison needs, gets most.
    stl = variants_of("stl")
    steps = [variant_step(stl[0], 4.0)] if stl else []
    extra: list[Variant] = list(stl[1:])
    for paradigm in _ORDER[ts.goal.value]:
        main, *others = variants_of(paradigm) or [None]
        if main is not None:
            steps.append(variant_step(main, 3.0))
        extra += others
    if signals:
        steps += _signal_steps(report, folds, device)
    steps += [variant_step(v, 1.5) for v in extra]
    for paradigm in _LATE[ts.goal.value]:
        steps += [variant_step(v, 3.0) for v in variants_of(paradigm)]
    if signals:
        steps += _late_signal_steps(report, folds, device)
    return steps


# --------------------------------------------------------------------------------------- signals


def _ctx(budget: Budget, seed: int, preset: BudgetPreset, device: torch.device | str | None) -> RunContext:
    dev = torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return RunContext(budget=budget, seed=seed, device=dev, max_epochs=preset.max_epochs, patience=preset.patience)


def _signal_steps(report: ProbeReport, folds: list, device: torch.device | str | None) -> list[_Step]:
    ts = report.taskset
    steps: list[_Step] = []
    if ts.n_tasks < 2:
        return steps
    if ts.layout == "multi_target":

        def labels(budget: Budget) -> str:
            from probes.signals import label_relatedness

            report.signals["labels"] = label_relatedness(ts)
            return "label correlation, mutual information, conditional entropy"

        steps.append(_Step("signal: label relatedness", 0.3, labels))
    elif isinstance(folds[0], FoldData):

        def shift(budget: Budget) -> str:
            from probes.signals import input_shift

            report.signals["shift"] = input_shift(folds[0], seed=report.seed)
            return "proxy A-distance and MMD between tasks' inputs"

        steps.append(_Step("signal: input shift", 0.5, shift))
    if isinstance(folds[0], FoldData):

        def affinity(budget: Budget) -> str:
            from probes.signals import suggest_groups, task_affinity

            signal = task_affinity(folds[0], _ctx(budget, report.seed, report.preset, device))
            report.signals["affinity"] = signal
            report.groups = suggest_groups(signal)
            return f"TAG affinity and gradient conflict: {signal.n_measurements} measurements over {signal.steps} steps"

        steps.append(_Step("signal: task affinity", 1.5, affinity))
    return steps


def _late_signal_steps(report: ProbeReport, folds: list, device: torch.device | str | None) -> list[_Step]:
    ts = report.taskset
    steps: list[_Step] = []
    if isinstance(folds[0], FoldData):

        def curves(budget: Budget) -> str:
            from probes.signals import learning_curve

            names = _curve_variants(report)
            full = float(sum(report.full_rows.values()))  # labelled rows of the full data set
            out = []
            for name in names:
                out.append(
                    learning_curve(
                        ts, VARIANTS[name], folds[:1], budget=budget.sub(1.0 / (len(names) - len(out))),
                        seed=report.seed, preset=report.preset, full_size=full,
                    )
                )  # fmt: skip
            report.signals["curves"] = out
            return f"learning curves of {', '.join(names)}"

        steps.append(_Step("signal: learning curves", 1.5, curves))
    if ts.goal == "target_task" and isinstance(folds[0], FoldData):

        def transferability(budget: Budget) -> str:
            from probes.signals import source_transferability

            target = int(ts.target_index or 0)
            sources = [t for t in range(ts.n_tasks) if t != target]
            report.signals["transferability"] = source_transferability(
                folds[0], target, sources, _ctx(budget, report.seed, report.preset, device)
            )
            return "LogME, H-score and k-NN of source features on the target"

        steps.append(_Step("signal: transferability", 1.0, transferability))
    if ts.n_tasks >= 3 and isinstance(folds[0], FoldData) and ts.goal == "all_tasks":

        def group_check(budget: Budget) -> str:
            groups = [g for g in report.groups if len(g) >= 2]
            if len(report.groups) < 2 or not groups:
                return "no grouping suggested (one group, or affinity not measured)"
            base = report.results.get("mtl/hard")
            if base is None or not base.folds:
                return "skipped: mtl/hard has no score to compare with"
            result = run_variant(
                ts, VARIANTS["mtl/groups"], folds, budget=budget, seed=report.seed, preset=report.preset,
                params={"groups": report.groups}, device=device,
            )  # fmt: skip
            report.results["mtl/groups"] = result
            from probes.protocol import compare

            if not result.folds:
                return "partial: no fold finished"
            c = compare(result.folds, base.folds)
            shared = {f.key for f in result.folds} & {f.key for f in base.folds}
            report.group_check = {
                "groups": report.groups,
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

        steps.append(_Step("check: task groups", 1.0, group_check))
    return steps


def _curve_variants(report: ProbeReport) -> list[str]:
    """STL's representative and the best sharing representative: the pair whose gap may close with data."""
    names = []
    stl = report.representative("stl")
    if stl is not None:
        names.append(stl.variant)
    sharing = [r for p in ("mtl", "transfer", "meta") if (r := report.representative(p)) is not None]
    if sharing:
        names.append(max(sharing, key=lambda r: r.score).variant)
    return names
