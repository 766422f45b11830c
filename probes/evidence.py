"""The evidence a probe run gives, computed once: paired deltas, co-winners, risk, curves.

Everything the recommender's rules and its learned model read about a probe run is measured
here, from the :class:`~probes.runner.ProbeReport`, and nowhere else: each paradigm's
representative variant, the protocol's co-winner rule over them (Nadeau & Bengio 2003's
corrected resampled test, or a paired bootstrap over test rows), each sharing paradigm's paired
difference to single-task learning, per-task negative-transfer risk, the learning curves'
full-size extrapolations, the harmful sources of the affinity signal, and whether any paradigm
beats a constant predictor at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from probes.paradigms import PARADIGMS, ParadigmResult
from probes.protocol import Comparison, FoldResult, best_by_validation, co_winners, compare
from probes.protocol._compare import Decision
from probes.risk import negative_transfer_risk, probability_best
from probes.runner import ProbeReport

__all__ = ["CONSTANT_SCORE", "SHARING", "ProbeEvidence", "gather_evidence"]

SHARING = ("mtl", "transfer", "meta")
#: The score of a constant predictor under each metric with a fixed chance level (R² of the mean,
#: ROC-AUC of a constant score). Metrics without one (RMSE, log loss) cannot say "learns nothing".
CONSTANT_SCORE: dict[str, float] = {"r2": 0.0, "roc_auc": 0.5}
#: Variants a probe runs only as a check of another choice: they represent their paradigm only
#: when the check says they are better (``mtl/groups``: the suggested task groups).
_CHECKS = {"mtl/groups"}


@dataclass(frozen=True)
class ProbeEvidence:
    """What one probe run measured, in the form the rules and the learned model read."""

    representatives: dict[str, ParadigmResult]
    """Per paradigm, the variant whose score stands for it (its best finished one)."""
    noise: Decision
    """The protocol's co-winner rule over the representatives."""
    p_best: dict[str, float]
    """Bootstrap probability (over shared folds) of having the best probe score."""
    deltas: dict[str, Comparison]
    """Per sharing paradigm, the paired difference ``paradigm - stl``."""
    scored_tasks: list[str]
    """The tasks the advice is about: the target under ``target_task``, else every task."""
    risk: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per sharing paradigm, per task: P(it scores below STL on that task)."""
    risk_by_variant: dict[str, dict[str, float]] = field(default_factory=dict)
    extrapolated: dict[str, float] = field(default_factory=dict)
    """Per variant, its learning curve's score at the full data size."""
    harmful: dict[str, list[str]] = field(default_factory=dict)
    """Per task, the tasks whose updates raise its loss (negative TAG affinity)."""
    constant_score: float | None = None
    """The goal metric's constant-predictor score, when every scored task's metric has one."""
    unlearned_tasks: list[str] = field(default_factory=list)
    """Scored tasks on which every paradigm scores at or below a constant predictor."""

    @property
    def folds(self) -> dict[str, list[FoldResult]]:
        return {p: r.folds for p, r in self.representatives.items()}

    @property
    def learns_nothing(self) -> bool:
        """Every paradigm's probe score is at or below a constant predictor's (only for metrics that have one)."""
        if self.constant_score is None or not self.representatives:
            return False
        return all(not (r.score > self.constant_score) for r in self.representatives.values())


def representatives(report: ProbeReport) -> dict[str, ParadigmResult]:
    """Each paradigm's best finished variant; a check variant only when its check found it better."""
    allowed = set()
    if report.group_check and report.group_check.get("better"):
        allowed.add("mtl/groups")
    out: dict[str, ParadigmResult] = {}
    for paradigm in PARADIGMS:
        finished = {
            r.variant: r
            for r in report.results.values()
            if r.paradigm == paradigm and r.folds and (r.variant not in _CHECKS or r.variant in allowed)
        }
        best = best_by_validation({name: r.folds for name, r in finished.items()})
        if best is not None:
            out[paradigm] = finished[best]
    return out


def gather_evidence(report: ProbeReport) -> ProbeEvidence:
    """Measure, once, everything the recommender reads off ``report``.

    Raises ``ValueError`` when no paradigm finished a fold (the caller says why).
    """
    ts = report.taskset
    reps = representatives(report)
    if not reps:
        raise ValueError("no paradigm finished a fold")
    folds = {p: r.folds for p, r in reps.items()}
    stl = reps.get("stl")
    deltas = {p: compare(r.folds, stl.folds) for p, r in reps.items() if stl is not None and p != "stl"}
    names = [t.name for t in ts.tasks]
    scored = [ts.tasks[ts.target_index].name] if ts.target_index is not None else names
    risk: dict[str, dict[str, float]] = {}
    by_variant: dict[str, dict[str, float]] = {}
    if stl is not None and ts.goal.value != "new_tasks":
        risk = {
            p: negative_transfer_risk(reps[p].folds, stl.folds, scored, seed=report.seed) for p in SHARING if p in reps
        }
        by_variant = {
            r.variant: negative_transfer_risk(r.folds, stl.folds, scored, seed=report.seed)
            for r in report.results.values()
            if r.paradigm in SHARING and r.folds and r.variant not in _CHECKS
        }
    curves = report.signals.get("curves") or []
    extrapolated = {c.variant: v for c in curves if (v := curve_prediction(c)) is not None}
    metrics = {t.metric for t in ts.tasks if t.name in scored}
    constant = CONSTANT_SCORE.get(next(iter(metrics))) if len(metrics) == 1 else None
    return ProbeEvidence(
        representatives=reps,
        noise=co_winners(folds),
        p_best=probability_best(folds, seed=report.seed),
        deltas=deltas,
        scored_tasks=scored,
        risk=risk,
        risk_by_variant=by_variant,
        extrapolated=extrapolated,
        harmful=_harmful(report.signals.get("affinity"), scored),
        constant_score=constant,
        unlearned_tasks=_unlearned(reps, ts, scored),
    )


def task_mean(result: ParadigmResult, task: str) -> float | None:
    """A variant's mean score on one task over its finished folds, ``None`` when never finite."""
    values = [v for v in result.task_fold_scores().get(task, []) if math.isfinite(v)]
    return float(np.mean(values)) if values else None


def _unlearned(reps: dict[str, ParadigmResult], ts: Any, scored: list[str]) -> list[str]:
    out = []
    for task in ts.tasks:
        chance = CONSTANT_SCORE.get(task.metric)
        if task.name not in scored or chance is None:
            continue
        means = [m for r in reps.values() if (m := task_mean(r, task.name)) is not None]
        if means and all(m <= chance for m in means):
            out.append(task.name)
    return out


def _harmful(affinity: Any, tasks: list[str]) -> dict[str, list[str]]:
    if affinity is None:
        return {}
    from probes.signals import harmful_sources

    names = list(affinity.names)
    return {t: harmful_sources(affinity, names, t) for t in tasks if t in names}


def curve_prediction(signal: Any) -> float | None:
    """A learning curve's score extrapolated to the full data (or to the probe's full training size)."""
    value = (
        signal.predicted_at_full_data if signal.predicted_at_full_data is not None else signal.predicted_at_train_full
    )
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), 6)
