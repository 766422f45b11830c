"""Recommender v1: the rules of DESIGN.md §6 applied to a probe report, each emitting its evidence.

Rules, in order:

* **R1 one task** — only single-task learning applies.
* **R2 noise** — the protocol's co-winner rule: the best paradigm by probe score and every
  paradigm not significantly worse (the protocol's paired test) tie; the simplest of them wins
  (stl < transfer < mtl < meta).
* **R3 risk** — tasks whose negative-transfer risk under the chosen sharing paradigm is high
  (> 0.8) are named, with the sources that hurt them; train them alone.
* **R4 scarce target** — under ``target_task``, when the target has few rows next to its sources
  and transfer gains over STL, say so (transfer is also the simpler sharing paradigm).
* **R5 new tasks** — under ``new_tasks``, meta-learning wins only when it beats the simpler
  paradigms beyond noise; the evidence says by how much.
* **R6 small-budget bias** — when the probes ran on fewer rows than the data has and the
  learning curves extrapolate STL's score at full size to at least the sharing winner's, STL is
  chosen: sharing looks better on small data than it is on full data.

Confidence (v1) is the probability that no rival beats the chosen paradigm by more than one
score point, from the same corrected t distribution as the test: uncalibrated until a learned
model replaces it.
"""

from __future__ import annotations

import math
import platform
from typing import Any

import numpy as np

from advisor._recommendation import (
    BudgetUsed,
    Evidence,
    LearningCurve,
    RankingEntry,
    Recommendation,
    Relatedness,
    TaskGroup,
    TaskReport,
)
from probes.data import DataProfile
from probes.exceptions import BudgetExhausted, ProbesFailedError
from probes.paradigms import PARADIGMS, ParadigmResult
from probes.protocol import co_winners, compare, complexity
from probes.protocol._compare import ROW_TEST_NAME, TASK_TEST_NAME
from probes.risk import negative_transfer_risk, probability_best
from probes.runner import ProbeReport

__all__ = ["HIGH_RISK", "recommend_from_report"]

#: A task whose negative-transfer risk exceeds this is called out (rule R3).
HIGH_RISK = 0.8
#: Confidence counts the chance that the choice is not worse than a rival by more than this.
CONFIDENCE_TOLERANCE = 0.01
SHARING = ("mtl", "transfer", "meta")
_NAMES = {
    "stl": "single-task models",
    "mtl": "one multi-task model",
    "transfer": "transfer from the source tasks",
    "meta": "meta-learning",
}


def _num(x: float | None, digits: int = 6) -> float | None:
    if x is None or not math.isfinite(x):
        return None
    return round(float(x), digits)


def _mean_task(result: ParadigmResult, task: str) -> float | None:
    values = [v for v in result.task_fold_scores().get(task, []) if math.isfinite(v)]
    return float(np.mean(values)) if values else None


def _confidence(candidates: dict[str, list], chosen: str) -> float:
    """P(the chosen paradigm is not worse than any rival by more than ``CONFIDENCE_TOLERANCE``).

    For each rival, the probability that ``chosen - rival`` exceeds ``-CONFIDENCE_TOLERANCE``
    under the protocol comparison's own sampling distribution (the paired bootstrap's
    replicates, or the t distribution of the task-level test); the probabilities are multiplied
    (rivals treated as independent). Uncalibrated: a learned model replaces it once benchmark
    scenarios with known full-budget winners exist.
    """
    confidence = 1.0
    for rival, folds in candidates.items():
        if rival != chosen:
            confidence *= compare(candidates[chosen], folds).probability_above(-CONFIDENCE_TOLERANCE)
    return confidence


def recommend_from_report(report: ProbeReport, profile: DataProfile, *, versions: dict[str, str]) -> Recommendation:
    """Apply the rules to ``report`` and build the :class:`Recommendation`."""
    ts = report.taskset
    reps: dict[str, ParadigmResult] = {p: r for p in PARADIGMS if (r := report.representative(p)) is not None}
    candidates = {p: r.folds for p, r in reps.items()}
    evidence: list[Evidence] = []
    warnings = list(ts.warnings) + list(report.warnings)
    if not candidates:
        failed = [ph for ph in report.phases if ph.status == "failed"]
        if failed and not any(ph.status in ("partial", "skipped") for ph in report.phases):
            raise ProbesFailedError(
                f"Every paradigm's probe failed, so there is nothing to compare; the first: {failed[0].name}: "
                f"{failed[0].note}",
                details={"failed": {ph.name: ph.note for ph in failed}},
            )
        preset, limit = report.preset, report.time_limit
        default = f" Without one, the {preset.name} budget runs its fixed amount of work to the end." if limit else ""
        smaller = " or use the fast budget" if preset.name in ("standard", "thorough") else ""
        within = f" ({limit:g} s)" if limit else ""
        raise BudgetExhausted(
            f"No paradigm finished a single fold within the time limit{within}; raise the time limit "
            f"(time_limit; CLI: --time-limit){smaller}.{default}",
            details={"time_limit_s": limit, "seconds_used": round(report.seconds, 3), "budget": preset.name},
        )

    decision = co_winners(candidates)
    chosen = decision.winner
    # "scored highest (0.812)" names a mean over the folds every paradigm finished when a time limit cut some.
    over = (
        f" on the {decision.shared_folds} fold{'s' if decision.shared_folds != 1 else ''} every paradigm finished"
        if decision.shared_folds is not None
        else ""
    )
    p_best = probability_best(candidates, seed=report.seed)
    stl = reps.get("stl")
    deltas = {p: compare(r.folds, stl.folds) for p, r in reps.items() if stl is not None and p != "stl"}

    # R1: one task.
    if ts.n_tasks == 1:
        evidence.append(
            Evidence(
                statement="There is a single task, so nothing can be shared: single-task learning is the only option.",
                rule="R1-one-task",
                supports="stl",
                numbers={"tasks": 1},
            )
        )
    # R2: noise.
    best = decision.best
    if best != chosen:
        c = decision.comparisons.get(chosen)
        evidence.append(
            Evidence(
                statement=(
                    f"{best} scored highest ({decision.means[best]:.3f}{over}) but {chosen} is within noise of it "
                    f"(difference {c.mean_difference:+.3f}, 95% interval [{c.ci_low:+.3f}, {c.ci_high:+.3f}] over "
                    f"{c.n_pairs:,} {_units(c)}); the simpler paradigm wins the tie."
                    if c is not None
                    else f"{chosen} ties with {best}; the simpler paradigm wins."
                ),
                rule="R2-noise",
                supports=chosen,  # type: ignore[arg-type]
                numbers={
                    "best": best,
                    "best_score": _num(decision.means[best]),
                    "chosen_score": _num(decision.means[chosen]),
                    "difference": _num(c.mean_difference) if c else None,
                    "ci_low": _num(c.ci_low) if c else None,
                    "ci_high": _num(c.ci_high) if c else None,
                },
            )
        )
    elif len(candidates) > 1:
        others = [p for p in candidates if p != chosen]
        margins = {p: decision.comparisons[p] for p in others if p in decision.comparisons}
        closest = min(margins, key=lambda p: margins[p].mean_difference) if margins else None
        if closest is not None:
            c = margins[closest]
            verdict = (
                f"beats the runner-up {closest} by {c.mean_difference:+.3f}"
                if c.significant
                else f"leads the runner-up {closest} by {c.mean_difference:+.3f}, within noise (both are co-winners; "
                f"{chosen} is the simpler or the better-scoring one)"
            )
            evidence.append(
                Evidence(
                    statement=(
                        f"{chosen} scored highest ({decision.means[chosen]:.3f}{over}) and {verdict} "
                        f"(95% interval [{c.ci_low:+.3f}, {c.ci_high:+.3f}], {c.test})."
                    ),
                    rule="R2-noise",
                    supports=chosen,  # type: ignore[arg-type]
                    numbers={
                        "runner_up": closest,
                        "difference": _num(c.mean_difference),
                        "ci_low": _num(c.ci_low),
                        "ci_high": _num(c.ci_high),
                        "p_value": _num(c.p_value),
                    },
                )
            )
    for p, c in deltas.items():
        gain = "gains" if c.mean_difference > 0 else "loses"
        sig = "significant" if c.significant else "within noise"
        evidence.append(
            Evidence(
                statement=f"{_NAMES[p].capitalize()} {gain} {abs(c.mean_difference):.3f} against single-task learning "
                f"(95% interval [{c.ci_low:+.3f}, {c.ci_high:+.3f}]; {sig}).",
                rule="probe/delta-vs-stl",
                supports=p if c.significant and c.mean_difference > 0 else "stl",  # type: ignore[arg-type]
                numbers={
                    "paradigm": p,
                    "difference": _num(c.mean_difference),
                    "ci_low": _num(c.ci_low),
                    "ci_high": _num(c.ci_high),
                },
            )
        )

    # R6: small-budget bias, from learning curves.
    curves = report.signals.get("curves") or []
    extrapolated = {c.variant: v for c in curves if (v := _curve_prediction(c)) is not None}
    if chosen != "stl" and stl is not None and report.subsampled:
        chosen_variant = reps[chosen].variant
        s_full, c_full = extrapolated.get(stl.variant), extrapolated.get(chosen_variant)
        if s_full is not None and c_full is not None and s_full >= c_full:
            evidence.append(
                Evidence(
                    statement=(
                        f"The probes ran on a subsample; at the full data size the learning curves extrapolate "
                        f"single-task learning to {s_full:.3f} and {chosen} to {c_full:.3f}: the gain of sharing "
                        "closes with more data, so single-task learning is recommended."
                    ),
                    rule="R6-small-budget-bias",
                    supports="stl",
                    numbers={"stl_full": _num(s_full), f"{chosen}_full": _num(c_full)},
                )
            )
            chosen = "stl"

    # Risk per task (R3) and per-task rows.
    task_names = [t.name for t in ts.tasks]
    scored_names = [ts.tasks[ts.target_index].name] if ts.target_index is not None else task_names
    risk_by = {
        p: negative_transfer_risk(reps[p].folds, stl.folds, scored_names, seed=report.seed)
        for p in SHARING
        if p in reps and stl is not None and ts.goal.value != "new_tasks"
    }
    risk_by_variant = {
        r.variant: negative_transfer_risk(r.folds, stl.folds, scored_names, seed=report.seed)
        for r in report.results.values()
        if r.paradigm in SHARING and r.folds and stl is not None and ts.goal.value != "new_tasks"
    }
    ranking_order = sorted(reps, key=lambda p: -reps[p].score)
    best_sharing = next((p for p in ranking_order if p in risk_by), None)
    affinity = report.signals.get("affinity")
    harmful = _harmful(affinity, scored_names)
    tasks = []
    for task in ts.tasks:
        if task.name not in scored_names:
            continue
        scores = {p: _num(_mean_task(r, task.name)) for p, r in reps.items()}
        finite = {p: s for p, s in scores.items() if s is not None}
        best_p = max(finite, key=lambda p: (finite[p], -complexity(p))) if finite else None
        risks = {p: _num(risk_by[p].get(task.name), 4) for p in risk_by}
        tasks.append(
            TaskReport(
                name=task.name,
                kind=task.kind,
                n_rows=report.full_rows.get(task.name, task.n_rows),
                metric=task.metric,
                stl_score=scores.get("stl"),
                scores=scores,
                best_paradigm=best_p,  # type: ignore[arg-type]
                negative_transfer_risk=risks.get(best_sharing) if best_sharing else None,
                risk_by_paradigm={p: risks.get(p) for p in SHARING},
                risk_by_variant={v: _num(r.get(task.name), 4) for v, r in sorted(risk_by_variant.items())},
                harmful_sources=harmful.get(task.name, []),
                near_constant=task.near_constant,
            )
        )
    if chosen in SHARING and chosen in risk_by:
        risky = [t for t in tasks if (t.risk_by_paradigm.get(chosen) or 0) > HIGH_RISK]
        if risky:
            names = ", ".join(f"{t.name} ({t.risk_by_paradigm[chosen]:.2f})" for t in risky[:8])
            evidence.append(
                Evidence(
                    statement=f"{len(risky)} task(s) score below single-task learning under {chosen} in nearly every "
                    f"fold: {names}. Train those tasks on their own.",
                    rule="R3-risk",
                    supports="stl",
                    numbers={"tasks_at_risk": len(risky), "threshold": HIGH_RISK},
                )
            )
            warnings.append(f"High negative-transfer risk under {chosen} for: {names}.")

    for variant, risks in sorted(risk_by_variant.items()):
        paradigm = variant.split("/", 1)[0]
        if paradigm in reps and reps[paradigm].variant == variant:
            continue
        risky = [t for t in scored_names if (risks.get(t) or 0) > HIGH_RISK]
        if risky and len(risky) >= max(1, len(scored_names) // 2):
            r = report.results[variant]
            delta = compare(r.folds, stl.folds) if stl is not None else None
            evidence.append(
                Evidence(
                    statement=(
                        f"{variant} scores below single-task learning on {len(risky)} of {len(scored_names)} task(s) "
                        f"in nearly every fold (difference {delta.mean_difference:+.3f}): if you use {paradigm}, do not "
                        f"use this form of it."
                        if delta is not None
                        else f"{variant} scores below single-task learning on {len(risky)} task(s)."
                    ),
                    rule="R3-risk",
                    supports=None,
                    numbers={
                        "variant": variant,
                        "tasks_at_risk": len(risky),
                        "difference": _num(delta.mean_difference) if delta else None,
                    },
                )
            )

    # R4: scarce target.
    if ts.goal.value == "target_task" and ts.target_index is not None:
        target = ts.tasks[ts.target_index]
        source_rows = [report.full_rows[t.name] for t in ts.tasks if t.name != target.name]
        median_source = float(np.median(source_rows)) if source_rows else 0.0
        scarce = report.full_rows[target.name] * 4 <= median_source
        c = deltas.get("transfer")
        if scarce and c is not None:
            helps = c.significant and c.mean_difference > 0
            evidence.append(
                Evidence(
                    statement=(
                        f"The target {target.name!r} has {report.full_rows[target.name]:,} rows against a median of "
                        f"{median_source:,.0f} per source; transfer from the sources "
                        + (
                            f"gains {c.mean_difference:+.3f} on it."
                            if helps
                            else f"does not gain beyond noise ({c.mean_difference:+.3f})."
                        )
                    ),
                    rule="R4-scarce-target",
                    supports="transfer" if helps else None,
                    numbers={"target_rows": report.full_rows[target.name], "median_source_rows": median_source},
                )
            )
    # R5: new tasks.
    if ts.goal.value == "new_tasks" and "meta" in deltas:
        c = deltas["meta"]
        evidence.append(
            Evidence(
                statement=(
                    f"New tasks arrive with {ts.spec.shots} labelled rows each; meta-learning "
                    + (
                        f"adapts better than learning them from scratch ({c.mean_difference:+.3f})."
                        if c.significant and c.mean_difference > 0
                        else f"does not beat learning from scratch beyond noise ({c.mean_difference:+.3f})."
                    )
                ),
                rule="R5-new-tasks",
                supports="meta" if c.significant and c.mean_difference > 0 else None,
                numbers={"shots": ts.spec.shots, "difference": _num(c.mean_difference)},
            )
        )
    evidence += _signal_evidence(report, harmful)

    ranking = _ranking(report, reps, decision, p_best, deltas, extrapolated)
    confidence = _confidence(candidates, chosen)
    variant = reps[chosen].variant if chosen in reps else None
    headline = _headline(chosen, variant, deltas, confidence, ts.n_tasks)
    if report.partial:
        warnings.append("The time limit cut some probes short; see budget.phases. A larger budget sharpens the answer.")
    return Recommendation(
        paradigm=chosen,  # type: ignore[arg-type]
        variant=variant,
        confidence=round(confidence, 4),
        confidence_method=(
            "P(no rival beats the choice by more than 0.01) under the protocol's paired comparisons "
            "(bootstrap over test rows, or over held-out tasks); uncalibrated (recommender v1)"
        ),
        headline=headline,
        goal=ts.goal.value,
        layout=ts.layout.value,
        target_task=ts.spec.target_task,
        ranking=ranking,
        rationale=evidence,
        tasks=tasks,
        relatedness=_relatedness(report),
        groups=[TaskGroup(tasks=g, mean_affinity=_group_affinity(affinity, g)) for g in report.groups],
        group_check=_jsonable(report.group_check),
        learning_curves=[_curve(c) for c in curves],
        warnings=list(dict.fromkeys(warnings)),
        budget=BudgetUsed(
            name=report.preset.name,
            seconds_limit=report.time_limit,
            seconds_used=round(report.seconds, 3),
            folds=report.n_folds,
            max_rows_per_task=report.preset.max_rows_per_task,
            subsampled=report.subsampled,
            partial=report.partial,
            phases=[p.to_dict() for p in report.phases],
        ),
        data=profile,
        seed=report.seed,
        versions=versions,
    )


def _units(c: Any) -> str:
    """What the comparison's ``n_pairs`` counts: paired test rows, held-out tasks, or folds (its test)."""
    return {ROW_TEST_NAME: "paired test rows", TASK_TEST_NAME: "held-out tasks"}.get(c.test, "folds")


def _headline(chosen: str, variant: str | None, deltas: dict, confidence: float, n_tasks: int) -> str:
    what = f"Recommendation: {_NAMES[chosen]} ({variant})"
    c = deltas.get(chosen)
    if chosen == "stl":
        better = [p for p, d in deltas.items() if d.significant and d.mean_difference > 0]
        why = "no sharing paradigm beats it beyond noise" if not better else "it ties the best paradigm"
        if n_tasks == 1:
            why = "there is one task"
    elif c is not None:
        why = f"{c.mean_difference:+.3f} over single-task learning (95% interval [{c.ci_low:+.3f}, {c.ci_high:+.3f}])"
    else:
        why = "single-task learning could not be scored"
    return f"{what}: {why}. Confidence {confidence:.2f}."


def _ranking(report, reps, decision, p_best, deltas, extrapolated) -> list[RankingEntry]:
    entries = []
    for p in PARADIGMS:
        r = reps.get(p)
        if r is None:
            reason = report.why_not(p) or "not probed"
            applicable = not (reason.startswith(f"{p}/") or "needs" in reason or "only applies" in reason)
            entries.append(
                RankingEntry(paradigm=p, variant=None, applicable=applicable, reason=reason)  # type: ignore[arg-type]
            )
            continue
        mean, low, high = r.interval
        d = deltas.get(p)
        entries.append(
            RankingEntry(
                paradigm=p,  # type: ignore[arg-type]
                variant=r.variant,
                applicable=True,
                reason="stopped by the time limit before every fold finished" if r.budget_exhausted else None,
                probe_score=_num(mean),
                ci_low=_num(low),
                ci_high=_num(high),
                delta_vs_stl=_num(d.mean_difference) if d else (0.0 if p == "stl" else None),
                delta_ci_low=_num(d.ci_low) if d else None,
                delta_ci_high=_num(d.ci_high) if d else None,
                predicted_score=_num(extrapolated.get(r.variant)) if report.subsampled else None,
                p_best=round(p_best.get(p, 0.0), 4),
                co_winner=p in decision.co_winners,
                folds=len(r.folds),
                complete=r.complete,
                seconds=round(r.seconds, 3),
            )
        )
    scored = sorted([e for e in entries if e.probe_score is not None], key=lambda e: -(e.probe_score or 0))
    return scored + [e for e in entries if e.probe_score is None]


def _harmful(affinity: Any, tasks: list[str]) -> dict[str, list[str]]:
    if affinity is None:
        return {}
    from probes.signals import harmful_sources

    names = list(affinity.names)
    return {t: harmful_sources(affinity, names, t) for t in tasks if t in names}


def _group_affinity(affinity: Any, group: list[str]) -> float | None:
    if affinity is None or len(group) < 2:
        return None
    names = list(affinity.names)
    idx = [names.index(t) for t in group if t in names]
    block = np.asarray(affinity.lookahead)[np.ix_(idx, idx)]
    off = block[~np.eye(len(idx), dtype=bool)]
    return _num(float(np.nanmean(off))) if off.size else None


def _signal_evidence(report: ProbeReport, harmful: dict[str, list[str]]) -> list[Evidence]:
    out = []
    affinity = report.signals.get("affinity")
    if affinity is not None:
        A = np.asarray(affinity.lookahead, dtype=float)
        off = A[~np.eye(len(A), dtype=bool)]
        if off.size:
            cos = np.asarray(affinity.cosine, dtype=float)[~np.eye(len(A), dtype=bool)]
            out.append(
                Evidence(
                    statement=(
                        f"Task affinity (TAG lookahead) averages {np.nanmean(off):+.3f} between tasks "
                        f"({np.mean(off > 0):.0%} of pairs help each other); task gradients on the shared trunk have "
                        f"mean cosine {np.nanmean(cos):+.2f}."
                    ),
                    rule="signal/affinity",
                    numbers={
                        "mean_affinity": _num(float(np.nanmean(off))),
                        "share_helping": _num(float(np.mean(off > 0))),
                        "mean_gradient_cosine": _num(float(np.nanmean(cos))),
                    },
                )
            )
    for task, sources in harmful.items():
        if sources:
            out.append(
                Evidence(
                    statement=f"Updates on {', '.join(sources[:5])} raise the loss of {task!r} (negative affinity).",
                    rule="signal/harmful-sources",
                    supports="stl",
                    numbers={"task": task, "sources": len(sources)},
                )
            )
    shift = report.signals.get("shift")
    if shift is not None:
        pad = np.asarray(shift.pad, dtype=float)
        off = pad[~np.eye(len(pad), dtype=bool)]
        if off.size and np.isfinite(off).any():
            out.append(
                Evidence(
                    statement=f"Tasks' inputs differ: mean proxy A-distance {np.nanmean(off):.2f} (0 = same distribution, 2 = separable).",
                    rule="signal/input-shift",
                    numbers={"mean_proxy_a_distance": _num(float(np.nanmean(off)))},
                )
            )
    labels = report.signals.get("labels")
    if labels is not None:
        corr = np.asarray(labels.correlation, dtype=float)
        off = np.abs(corr[~np.eye(len(corr), dtype=bool)])
        if off.size and np.isfinite(off).any():
            out.append(
                Evidence(
                    statement=f"Targets measured on the same rows correlate with mean |r| = {np.nanmean(off):.2f}.",
                    rule="signal/label-correlation",
                    numbers={"mean_abs_correlation": _num(float(np.nanmean(off)))},
                )
            )
    return out


def _matrix(value: Any) -> list[list[float | None]] | None:
    if value is None:
        return None
    arr = np.asarray(value, dtype=float)
    return [[_num(float(x), 4) for x in row] for row in arr]


def _relatedness(report: ProbeReport) -> Relatedness:
    ts = report.taskset
    affinity, labels, shift = (report.signals.get(k) for k in ("affinity", "labels", "shift"))
    transfer = report.signals.get("transferability")
    notes = []
    if affinity is None:
        notes.append("task affinity not measured")
    return Relatedness(
        tasks=ts.task_names,
        affinity=_matrix(affinity.lookahead) if affinity is not None else None,
        affinity_method="TAG lookahead (Fifty et al. 2021), averaged over training" if affinity is not None else None,
        gradient_cosine=_matrix(affinity.cosine) if affinity is not None else None,
        conflict_share=_matrix(affinity.conflict_share) if affinity is not None else None,
        label_correlation=_matrix(labels.correlation) if labels is not None else None,
        mutual_information=_matrix(labels.mutual_information) if labels is not None else None,
        input_shift=_matrix(shift.pad) if shift is not None else None,
        transferability=_transferability(transfer),
        notes=notes,
    )


def _transferability(signal: Any) -> dict[str, float | None] | None:
    """Flat scores: ``logme_pretrained``, ``logme_random``, ``logme_gain``, likewise ``h_score`` and ``knn``."""
    if signal is None:
        return None
    out: dict[str, float | None] = {}
    for score in ("logme", "h_score", "knn"):
        pre, rnd = signal.scores["pretrained"].get(score), signal.scores["random"].get(score)
        out[f"{score}_pretrained"] = _num(pre)
        out[f"{score}_random"] = _num(rnd)
        out[f"{score}_gain"] = _num(pre - rnd) if pre is not None and rnd is not None else None
    return out


def _curve_prediction(signal: Any) -> float | None:
    """The curve's score extrapolated to the full data (or to the probe's full training size)."""
    value = (
        signal.predicted_at_full_data if signal.predicted_at_full_data is not None else signal.predicted_at_train_full
    )
    return _num(value)


def _curve(signal: Any) -> LearningCurve:
    points = [p for p in signal.points if math.isfinite(p.n_train)]  # a point cut by the budget has no size
    return LearningCurve(
        variant=signal.variant,
        fractions=[float(p.fraction) for p in points],
        n_train=[round(float(p.n_train)) for p in points],
        scores=[_num(p.score) for p in points],
        fit=dict(zip("abc", (float(v) for v in signal.fit), strict=True)) if signal.fit is not None else None,
        full_size=_size(signal.n_train_full_data or signal.n_train_full),
        extrapolated=_curve_prediction(signal),
    )


def _size(value: float | None) -> int | None:
    return round(float(value)) if value is not None and math.isfinite(value) else None


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return _num(value)
    if isinstance(value, (np.floating, np.integer)):
        return _num(float(value))
    return value


def versions() -> dict[str, str]:
    """Versions that can change results."""
    import numpy
    import pandas
    import sklearn
    import torch

    from advisor import __version__

    return {
        "advisor": __version__,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
        "scikit-learn": sklearn.__version__,
        "torch": torch.__version__,
    }
