"""The recommender: probe evidence -> rules -> decision -> wording -> the ``Recommendation``.

Four stages, each in its own module, run once and in order:

1. **evidence** (:mod:`probes.evidence`): paired deltas, co-winners, risk and curves, measured
   once from the probe report;
2. **rules** (:mod:`advisor._rules`): each rule a small function returning its vetoes,
   preference or evidence;
3. **decision** (:mod:`advisor._decision`): the learned model's P(full-budget co-winner) for
   every candidate the rules leave, and the verdict (clear, equivalent, uncertain);
4. **wording** (:mod:`advisor._wording`): the headline and sentences, built from the decision.

:func:`rules_recommendation` stops after the rules (the benchmark's cached "rules only" answer,
whose meta-features the learned model reads); :func:`recommend_from_report` runs all four.
"""

from __future__ import annotations

import math
import platform
from typing import Any

import numpy as np

from advisor._decision import Decision, decide
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
from advisor._rules import HIGH_RISK, RuleOutcome, apply_rules, listed, rules_choice
from advisor._wording import confidence_sentence, headline, model_statement
from probes.data import DataProfile
from probes.evidence import SHARING, ProbeEvidence, curve_prediction, gather_evidence, task_mean
from probes.exceptions import BudgetExhausted, ProbesFailedError
from probes.paradigms import PARADIGMS
from probes.protocol import compare, complexity
from probes.runner import ProbeReport

__all__ = ["HIGH_RISK", "recommend_from_report", "rules_recommendation"]

#: The rules-only confidence counts the chance the choice is not worse than a rival by more than this.
CONFIDENCE_TOLERANCE = 0.01
_USE_SHIPPED: Any = object()


def _num(x: float | None, digits: int = 6) -> float | None:
    if x is None or not math.isfinite(x):
        return None
    return round(float(x), digits)


def _rules_confidence(ev: ProbeEvidence, chosen: str) -> float:
    """P(the choice is not worse than any rival by more than ``CONFIDENCE_TOLERANCE``), rivals independent.

    From the protocol comparison's own sampling distribution; uncalibrated. The answer's
    confidence when no learned model is installed, and the "rules only" benchmark method's.
    """
    folds = ev.folds
    confidence = 1.0
    for rival, rival_folds in folds.items():
        if rival != chosen:
            confidence *= compare(folds[chosen], rival_folds).probability_above(-CONFIDENCE_TOLERANCE)
    return confidence


def _no_scores(report: ProbeReport) -> Exception:
    failed = [ph for ph in report.phases if ph.status == "failed"]
    if failed and not any(ph.status in ("partial", "skipped") for ph in report.phases):
        return ProbesFailedError(
            f"Every paradigm's probe failed, so there is nothing to compare; the first: {failed[0].name}: "
            f"{failed[0].note}",
            details={"failed": {ph.name: ph.note for ph in failed}},
        )
    preset, limit = report.preset, report.time_limit
    default = f" Without one, the {preset.name} budget runs its fixed amount of work to the end." if limit else ""
    smaller = " or use the fast budget" if preset.name in ("standard", "thorough") else ""
    within = f" ({limit:g} s)" if limit else ""
    return BudgetExhausted(
        f"No paradigm finished a single fold within the time limit{within}; raise the time limit "
        f"(time_limit; CLI: --time-limit){smaller}.{default}",
        details={"time_limit_s": limit, "seconds_used": round(report.seconds, 3), "budget": preset.name},
    )


def _stages(report: ProbeReport) -> tuple[ProbeEvidence, list[RuleOutcome]]:
    if not any(r.folds for r in report.results.values()):
        raise _no_scores(report)
    ev = gather_evidence(report)
    return ev, apply_rules(ev, report)


def rules_recommendation(report: ProbeReport, profile: DataProfile, *, versions: dict[str, str]) -> Recommendation:
    """The rules' answer alone (no learned model, no verdict): what the benchmark caches per case."""
    ev, outcomes = _stages(report)
    return _draft(report, profile, versions, ev, outcomes)


def recommend_from_report(
    report: ProbeReport, profile: DataProfile, *, versions: dict[str, str], model: Any = _USE_SHIPPED
) -> Recommendation:
    """Evidence, rules, decision and wording for ``report``: the answer every door returns.

    ``model``: a :class:`~advisor._learned.LearnedModel`; by default the shipped one, ``None`` for
    the rules' own choice and confidence.
    """
    from advisor._features import meta_features
    from advisor._learned import load_model

    ev, outcomes = _stages(report)
    draft = _draft(report, profile, versions, ev, outcomes)
    model = load_model() if model is _USE_SHIPPED else model
    features = meta_features(draft)
    scores = {e.paradigm: e.probe_score for e in draft.ranking if e.applicable and e.probe_score is not None}
    vetoes: dict[str, list[str]] = {}
    for o in outcomes:
        for p in o.vetoes:
            vetoes.setdefault(p, []).append(o.rule)
    settled, probs, every, vetoes = decide(
        model,
        features,
        scores,  # type: ignore[arg-type]
        vetoes=vetoes,
        rules_choice=draft.paradigm,
        rules_confidence=draft.confidence,
        nothing_learned=ev.learns_nothing,
    )
    decision = Decision(
        rules_choice=draft.paradigm,
        scored=tuple(scores),
        vetoes=vetoes,
        probabilities=probs,
        settled=settled,
        margin=float(getattr(model, "margin", 0.0)) if model is not None else 0.0,
        model_cases=int(model.meta.get("cases", 0)) if model is not None else None,
        unscored=tuple(e.paradigm for e in draft.ranking if e.applicable and e.probe_score is None),
        every=every if model is not None else {},
    )
    return _final(report, draft, ev, outcomes, decision)


def _evidence(o: RuleOutcome) -> Evidence:
    return Evidence(statement=o.statement, rule=o.rule, supports=o.supports, numbers=o.numbers)  # type: ignore[arg-type]


def _draft(
    report: ProbeReport, profile: DataProfile, versions: dict[str, str], ev: ProbeEvidence, outcomes: list[RuleOutcome]
) -> Recommendation:
    ts = report.taskset
    chosen = rules_choice(ev, outcomes)
    variant = ev.representatives[chosen].variant if chosen in ev.representatives else None
    warnings = list(ts.warnings) + list(report.warnings)
    if report.partial:
        warnings.append(
            "A time limit cut some probes short; see budget.phases. Without it the budget's work runs to the end."
        )
    curves = report.signals.get("curves") or []
    affinity = report.signals.get("affinity")
    return Recommendation(
        paradigm=chosen,  # type: ignore[arg-type]
        variant=variant,
        confidence=round(_rules_confidence(ev, chosen), 4),
        confidence_method=(
            "rules only: P(no rival beats the choice by more than 0.01) under the protocol's paired comparisons "
            "(bootstrap over test rows, or over held-out tasks); uncalibrated"
        ),
        headline=f"Rules only: {chosen} ({variant}).",
        goal=ts.goal.value,
        layout=ts.layout.value,
        target_task=ts.spec.target_task,
        ranking=_ranking(report, ev, {}),
        rationale=[_evidence(o) for o in outcomes],
        tasks=_tasks(report, ev),
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


def _final(
    report: ProbeReport,
    draft: Recommendation,
    ev: ProbeEvidence,
    outcomes: list[RuleOutcome],
    decision: Decision,
) -> Recommendation:
    chosen = decision.chosen
    variant = ev.representatives[chosen].variant if chosen in ev.representatives else None
    rationale = [_evidence(o) for o in outcomes]
    every = decision.every
    if every:
        rationale.append(
            Evidence(
                statement=model_statement(decision),
                rule="M1-learned",
                supports=chosen,  # type: ignore[arg-type]
                numbers={f"p_{p}": round(v, 4) for p, v in every.items()},
            )
        )
    warnings = list(draft.warnings)
    risky = sorted(
        ((t, r) for t, r in ev.risk.get(chosen, {}).items() if r > HIGH_RISK), key=lambda tr: (-tr[1], tr[0])
    )
    if risky:
        warnings.append(
            f"High negative-transfer risk under {chosen} for {len(risky)} task(s): "
            f"{listed([f'{t} ({r:.2f})' for t, r in risky])}; train those on their own."
        )
    return draft.model_copy(
        update={
            "verdict": decision.verdict,
            "equivalent_to": list(decision.settled.equivalent_to),
            "paradigm": chosen,
            "variant": variant,
            "confidence": round(decision.confidence, 4),
            "confidence_method": confidence_sentence(decision),
            "headline": headline(decision, ev, variant, budget=report.preset.name, partial=report.partial),
            "ranking": _ranking(report, ev, decision.vetoes, every),
            "rationale": rationale,
            "warnings": list(dict.fromkeys(warnings)),
        }
    )


def _tasks(report: ProbeReport, ev: ProbeEvidence) -> list[TaskReport]:
    reps = ev.representatives
    ranking_order = sorted(reps, key=lambda p: -reps[p].score)
    best_sharing = next((p for p in ranking_order if p in ev.risk), None)
    out = []
    for task in report.taskset.tasks:
        if task.name not in ev.scored_tasks:
            continue
        scores = {p: _num(task_mean(r, task.name)) for p, r in reps.items()}
        finite = {p: s for p, s in scores.items() if s is not None}
        best_p = max(finite, key=lambda p: (finite[p], -complexity(p))) if finite else None
        risks = {p: _num(ev.risk[p].get(task.name), 4) for p in ev.risk}
        out.append(
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
                risk_by_variant={v: _num(r.get(task.name), 4) for v, r in sorted(ev.risk_by_variant.items())},
                harmful_sources=ev.harmful.get(task.name, []),
                near_constant=task.near_constant,
            )
        )
    return out


def _ranking(
    report: ProbeReport, ev: ProbeEvidence, vetoes: dict[str, list[str]], probabilities: dict[str, float] | None = None
) -> list[RankingEntry]:
    entries = []
    probabilities = probabilities or {}
    for p in PARADIGMS:
        r = ev.representatives.get(p)
        if r is None:
            reason = report.why_not(p) or "not probed"
            applicable = not (reason.startswith(f"{p}/") or "needs" in reason or "only applies" in reason)
            entries.append(
                RankingEntry(paradigm=p, variant=None, applicable=applicable, reason=reason)  # type: ignore[arg-type]
            )
            continue
        mean, low, high = r.interval
        d = ev.deltas.get(p)
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
                predicted_score=_num(ev.extrapolated.get(r.variant)) if report.subsampled else None,
                p_best=round(ev.p_best.get(p, 0.0), 4),
                co_winner=p in ev.noise.co_winners,
                p_cowinner=round(probabilities[p], 4) if p in probabilities else None,
                vetoed_by=list(vetoes.get(p, [])),
                folds=len(r.folds),
                complete=r.complete,
                seconds=round(r.seconds, 3),
            )
        )
    scored = sorted([e for e in entries if e.probe_score is not None], key=lambda e: -(e.probe_score or 0))
    return scored + [e for e in entries if e.probe_score is None]


def _group_affinity(affinity: Any, group: list[str]) -> float | None:
    if affinity is None or len(group) < 2:
        return None
    names = list(affinity.names)
    idx = [names.index(t) for t in group if t in names]
    block = np.asarray(affinity.lookahead)[np.ix_(idx, idx)]
    off = block[~np.eye(len(idx), dtype=bool)]
    return _num(float(np.nanmean(off))) if off.size else None


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


def _curve(signal: Any) -> LearningCurve:
    points = [p for p in signal.points if math.isfinite(p.n_train)]  # a point cut by the budget has no size
    return LearningCurve(
        variant=signal.variant,
        fractions=[float(p.fraction) for p in points],
        n_train=[round(float(p.n_train)) for p in points],
        scores=[_num(p.score) for p in points],
        fit=dict(zip("abc", (float(v) for v in signal.fit), strict=True)) if signal.fit is not None else None,
        full_size=_size(signal.n_train_full_data or signal.n_train_full),
        extrapolated=curve_prediction(signal),
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
