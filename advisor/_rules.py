"""The recommender's rules: each a small function of the probe evidence returning its outcomes.

A rule returns zero or more :class:`RuleOutcome`: a **veto** (paradigms it rules out of the
choice), a **preference** (the paradigm the rules alone would choose) or plain **evidence** (a
sentence with its numbers for the rationale). :data:`RULES` lists them in the order their
sentences appear; the decision (:mod:`advisor._decision`) reads the vetoes and preferences, the
wording (:mod:`advisor._wording`) the sentences.

* **R1 one task** — only single-task learning applies.
* **R2 noise** — the protocol's co-winner rule: the best paradigm by probe score and every
  paradigm not significantly worse tie; the simplest of them is the rules' choice.
* **R3 risk** — tasks whose negative-transfer risk under a sharing paradigm is high (> 0.8) are
  named, with every name kept in the numbers; train them alone.
* **R4 scarce target** — under ``target_task``, a target with few rows next to its sources.
* **R5 new tasks** — under ``new_tasks``, whether meta-learning beats learning from scratch.
* **R6 small-budget bias** — on subsampled tasks a sharing gain shrinks with the full data:
  a gain inside noise is vetoed, and when the learning curves extrapolate STL at full size to at
  least the sharing winner, the rules prefer STL.
* **R7 nothing learned** — every paradigm scores at or below a constant predictor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from advisor._features import share_subsampled
from probes.evidence import SHARING, ProbeEvidence
from probes.protocol import compare
from probes.protocol._compare import ROW_TEST_NAME, TASK_TEST_NAME
from probes.runner import ProbeReport

__all__ = ["HIGH_RISK", "NAMES", "RULES", "RuleOutcome", "apply_rules", "listed", "rules_choice"]

#: A task whose negative-transfer risk exceeds this is called out (R3).
HIGH_RISK = 0.8
#: How many names a sentence lists before "and N more" (every name stays in the numbers).
LISTED = 8
NAMES = {
    "stl": "single-task models",
    "mtl": "one multi-task model",
    "transfer": "transfer from the source tasks",
    "meta": "meta-learning",
}


@dataclass(frozen=True)
class RuleOutcome:
    """What one rule concluded: a veto, a preference, or evidence, with its sentence and numbers."""

    rule: str
    kind: Literal["veto", "preference", "evidence"]
    statement: str
    supports: str | None = None
    vetoes: tuple[str, ...] = ()
    numbers: dict[str, Any] = field(default_factory=dict)


Rule = Callable[[ProbeEvidence, ProbeReport], list[RuleOutcome]]


def listed(names: list[str], limit: int = LISTED) -> str:
    """``a, b, c`` — or ``a, b, … and 5 more`` past ``limit`` names, so no name vanishes silently."""
    if len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[:limit])} and {len(names) - limit} more"


def _num(x: float | None, digits: int = 6) -> float | None:
    if x is None or not np.isfinite(x):
        return None
    return round(float(x), digits)


def _units(c: Any) -> str:
    """What a comparison's ``n_pairs`` counts: paired test rows, held-out tasks, or folds (its test)."""
    return {ROW_TEST_NAME: "paired test rows", TASK_TEST_NAME: "held-out tasks"}.get(c.test, "folds")


def _over(ev: ProbeEvidence) -> str:
    n = ev.noise.shared_folds
    return f" on the {n} fold{'s' if n != 1 else ''} every paradigm finished" if n is not None else ""


# ----------------------------------------------------------------------------------------- rules


def one_task(ev: ProbeEvidence, report: ProbeReport) -> list[RuleOutcome]:
    """R1: a single task has nothing to share."""
    if report.taskset.n_tasks != 1:
        return []
    return [
        RuleOutcome(
            "R1-one-task",
            "preference",
            "There is a single task, so nothing can be shared: single-task learning is the only option.",
            supports="stl",
            numbers={"tasks": 1},
        )
    ]


def noise(ev: ProbeEvidence, report: ProbeReport) -> list[RuleOutcome]:
    """R2: the best probe score and every paradigm within noise of it tie; the simplest wins."""
    d = ev.noise
    best, chosen = d.best, d.winner
    if best != chosen:
        c = d.comparisons.get(chosen)
        statement = (
            f"{best} scored highest ({d.means[best]:.3f}{_over(ev)}) but {chosen} is within noise of it "
            f"(difference {c.mean_difference:+.3f}, 95% interval [{c.ci_low:+.3f}, {c.ci_high:+.3f}] over "
            f"{c.n_pairs:,} {_units(c)}); the simpler paradigm wins the tie."
            if c is not None
            else f"{chosen} ties with {best}; the simpler paradigm wins."
        )
        numbers = {
            "best": best,
            "best_score": _num(d.means[best]),
            "chosen_score": _num(d.means[chosen]),
            "difference": _num(c.mean_difference) if c else None,
            "ci_low": _num(c.ci_low) if c else None,
            "ci_high": _num(c.ci_high) if c else None,
        }
        return [RuleOutcome("R2-noise", "preference", statement, supports=chosen, numbers=numbers)]
    others = [p for p in d.comparisons]
    if not others:
        return [RuleOutcome("R2-noise", "preference", f"{chosen} is the only paradigm scored.", supports=chosen)]
    closest = min(others, key=lambda p: d.comparisons[p].mean_difference)
    c = d.comparisons[closest]
    verdict = (
        f"beats the runner-up {closest} by {c.mean_difference:+.3f}"
        if c.significant
        else f"leads the runner-up {closest} by {c.mean_difference:+.3f}, within noise (both are co-winners; "
        f"{chosen} is the simpler or the better-scoring one)"
    )
    statement = (
        f"{chosen} scored highest ({d.means[chosen]:.3f}{_over(ev)}) and {verdict} "
        f"(95% interval [{c.ci_low:+.3f}, {c.ci_high:+.3f}], {c.test})."
    )
    numbers = {
        "runner_up": closest,
        "difference": _num(c.mean_difference),
        "ci_low": _num(c.ci_low),
        "ci_high": _num(c.ci_high),
        "p_value": _num(c.p_value),
    }
    return [RuleOutcome("R2-noise", "preference", statement, supports=chosen, numbers=numbers)]


def delta_vs_stl(ev: ProbeEvidence, report: ProbeReport) -> list[RuleOutcome]:
    """Each sharing paradigm's paired gain or loss against single-task learning."""
    out = []
    for p, c in ev.deltas.items():
        gain = "gains" if c.mean_difference > 0 else "loses"
        sig = "significant" if c.significant else "within noise"
        out.append(
            RuleOutcome(
                "probe/delta-vs-stl",
                "evidence",
                f"{NAMES[p].capitalize()} {gain} {abs(c.mean_difference):.3f} against single-task learning "
                f"(95% interval [{c.ci_low:+.3f}, {c.ci_high:+.3f}]; {sig}).",
                supports=p if c.significant and c.mean_difference > 0 else "stl",
                numbers={
                    "paradigm": p,
                    "difference": _num(c.mean_difference),
                    "ci_low": _num(c.ci_low),
                    "ci_high": _num(c.ci_high),
                },
            )
        )
    return out


def small_budget_veto(ev: ProbeEvidence, report: ProbeReport) -> list[RuleOutcome]:
    """R6 veto: a sharing gain inside noise (its interval reaches zero) on subsampled tasks.

    The gain of sharing shrinks as each task gets more data, so such a gain is not a reason to
    share; when only the sources were cut, the veto does not apply. Measured against dropping it
    on the benchmark (the ``candidates()`` docstring of :mod:`advisor._learned`).
    """
    rows = [report.full_rows[t] for t in ev.scored_tasks]
    if share_subsampled(report.taskset.goal.value, rows, report.preset.max_rows_per_task) <= 0:
        return []
    vetoed = [p for p, c in ev.deltas.items() if p in ev.representatives and not (c.ci_low > 0)]
    if not vetoed:
        return []
    cap = report.preset.max_rows_per_task
    return [
        RuleOutcome(
            "R6-small-budget-bias",
            "veto",
            f"Ruled out: {listed(vetoed)}: no gain over single-task learning beyond noise (the 95% interval of the "
            f"difference reaches zero) on tasks the probes cut to {cap:,} rows, and such gains shrink with the full "
            "data.",
            supports="stl",
            vetoes=tuple(vetoed),
            numbers={"vetoed": ", ".join(vetoed), "max_rows_per_task": cap},
        )
    ]


def small_budget_curves(ev: ProbeEvidence, report: ProbeReport) -> list[RuleOutcome]:
    """R6 preference: the learning curves put STL at full size at or above the rules' sharing choice."""
    chosen, stl = ev.noise.winner, ev.representatives.get("stl")
    if chosen == "stl" or stl is None or not report.subsampled or chosen not in ev.representatives:
        return []
    s_full = ev.extrapolated.get(stl.variant)
    c_full = ev.extrapolated.get(ev.representatives[chosen].variant)
    if s_full is None or c_full is None or s_full < c_full:
        return []
    return [
        RuleOutcome(
            "R6-small-budget-bias",
            "preference",
            f"The probes ran on a subsample; at the full data size the learning curves extrapolate single-task "
            f"learning to {s_full:.3f} and {chosen} to {c_full:.3f}: the gain of sharing closes with more data.",
            supports="stl",
            numbers={"stl_full": _num(s_full), f"{chosen}_full": _num(c_full)},
        )
    ]


def risk(ev: ProbeEvidence, report: ProbeReport) -> list[RuleOutcome]:
    """R3: tasks that score below STL in nearly every fold under a sharing paradigm."""
    out = []
    for p in SHARING:
        risky = sorted(((t, r) for t, r in ev.risk.get(p, {}).items() if r > HIGH_RISK), key=lambda tr: (-tr[1], tr[0]))
        if not risky:
            continue
        names = [f"{t} ({r:.2f})" for t, r in risky]
        out.append(
            RuleOutcome(
                "R3-risk",
                "evidence",
                f"{len(risky)} task(s) score below single-task learning under {p} in nearly every fold: "
                f"{listed(names)}. If you use {p}, train those tasks on their own.",
                supports="stl",
                numbers={
                    "paradigm": p,
                    "tasks_at_risk": len(risky),
                    "threshold": HIGH_RISK,
                    "tasks": ", ".join(t for t, _ in risky),
                },
            )
        )
    return out


def variant_risk(ev: ProbeEvidence, report: ProbeReport) -> list[RuleOutcome]:
    """R3 for the non-representative sharing variants: a form of a paradigm that hurts most tasks."""
    out = []
    stl = ev.representatives.get("stl")
    for variant, risks in sorted(ev.risk_by_variant.items()):
        paradigm = variant.split("/", 1)[0]
        if paradigm in ev.representatives and ev.representatives[paradigm].variant == variant:
            continue
        risky = [t for t in ev.scored_tasks if (risks.get(t) or 0) > HIGH_RISK]
        if not risky or len(risky) < max(1, len(ev.scored_tasks) // 2) or stl is None:
            continue
        delta = compare(report.results[variant].folds, stl.folds)
        out.append(
            RuleOutcome(
                "R3-risk",
                "evidence",
                f"{variant} scores below single-task learning on {len(risky)} of {len(ev.scored_tasks)} task(s) "
                f"in nearly every fold (difference {delta.mean_difference:+.3f}): if you use {paradigm}, do not use "
                "this form of it.",
                numbers={
                    "variant": variant,
                    "tasks_at_risk": len(risky),
                    "difference": _num(delta.mean_difference),
                },
            )
        )
    return out


def scarce_target(ev: ProbeEvidence, report: ProbeReport) -> list[RuleOutcome]:
    """R4: a target with few rows next to its sources, and whether transfer gains on it."""
    ts = report.taskset
    if ts.goal.value != "target_task" or ts.target_index is None:
        return []
    target = ts.tasks[ts.target_index]
    source_rows = [report.full_rows[t.name] for t in ts.tasks if t.name != target.name]
    median_source = float(np.median(source_rows)) if source_rows else 0.0
    c = ev.deltas.get("transfer")
    if report.full_rows[target.name] * 4 > median_source or c is None:
        return []
    helps = c.significant and c.mean_difference > 0
    return [
        RuleOutcome(
            "R4-scarce-target",
            "evidence",
            f"The target {target.name!r} has {report.full_rows[target.name]:,} rows against a median of "
            f"{median_source:,.0f} per source; transfer from the sources "
            + (f"gains {c.mean_difference:+.3f} on it." if helps else f"does not gain beyond noise ({c.mean_difference:+.3f})."),
            supports="transfer" if helps else None,
            numbers={"target_rows": report.full_rows[target.name], "median_source_rows": median_source},
        )
    ]  # fmt: skip


def new_tasks(ev: ProbeEvidence, report: ProbeReport) -> list[RuleOutcome]:
    """R5: under ``new_tasks``, whether meta-learning adapts better than learning from scratch."""
    ts = report.taskset
    if ts.goal.value != "new_tasks" or "meta" not in ev.deltas:
        return []
    c = ev.deltas["meta"]
    helps = c.significant and c.mean_difference > 0
    return [
        RuleOutcome(
            "R5-new-tasks",
            "evidence",
            f"New tasks arrive with {ts.spec.shots} labelled rows each; meta-learning "
            + (
                f"adapts better than learning them from scratch ({c.mean_difference:+.3f})."
                if helps
                else f"does not beat learning from scratch beyond noise ({c.mean_difference:+.3f})."
            ),
            supports="meta" if helps else None,
            numbers={"shots": ts.spec.shots, "difference": _num(c.mean_difference)},
        )
    ]


def nothing_learned(ev: ProbeEvidence, report: ProbeReport) -> list[RuleOutcome]:
    """R7: paradigms that do no better than a constant predictor, overall or on some tasks."""
    out = []
    if ev.learns_nothing:
        scores = {p: r.score for p, r in ev.representatives.items()}
        out.append(
            RuleOutcome(
                "R7-nothing-learned",
                "evidence",
                f"No paradigm learns this target: every probe scores at or below a constant predictor "
                f"({ev.constant_score:g}): " + ", ".join(f"{p} {s:.3f}" for p, s in scores.items()) + ". Choosing a "
                "paradigm will not help; more rows or more informative features might.",
                numbers={"constant_score": ev.constant_score, **{p: _num(s) for p, s in scores.items()}},
            )
        )
    elif ev.unlearned_tasks:
        out.append(
            RuleOutcome(
                "R7-nothing-learned",
                "evidence",
                f"On {len(ev.unlearned_tasks)} task(s) no paradigm beats a constant predictor: "
                f"{listed(ev.unlearned_tasks)}.",
                numbers={"tasks": ", ".join(ev.unlearned_tasks), "count": len(ev.unlearned_tasks)},
            )
        )
    return out


def signals(ev: ProbeEvidence, report: ProbeReport) -> list[RuleOutcome]:
    """Relatedness signals as evidence: affinity, harmful sources, input shift, label correlation."""
    out = []
    affinity = report.signals.get("affinity")
    if affinity is not None:
        a = np.asarray(affinity.lookahead, dtype=float)
        off = a[~np.eye(len(a), dtype=bool)]
        if off.size:
            cos = np.asarray(affinity.cosine, dtype=float)[~np.eye(len(a), dtype=bool)]
            out.append(
                RuleOutcome(
                    "signal/affinity",
                    "evidence",
                    f"Task affinity (TAG lookahead) averages {np.nanmean(off):+.3f} between tasks "
                    f"({np.mean(off > 0):.0%} of pairs help each other); task gradients on the shared trunk have "
                    f"mean cosine {np.nanmean(cos):+.2f}.",
                    numbers={
                        "mean_affinity": _num(float(np.nanmean(off))),
                        "share_helping": _num(float(np.mean(off > 0))),
                        "mean_gradient_cosine": _num(float(np.nanmean(cos))),
                    },
                )
            )
    harmed = {t: s for t, s in ev.harmful.items() if s}
    if harmed:
        parts = [f"{t!r} ({listed(s, 3)})" for t, s in harmed.items()]
        out.append(
            RuleOutcome(
                "signal/harmful-sources",
                "evidence",
                f"Updates on other tasks raise the loss of {len(harmed)} task(s) (negative affinity): "
                f"{listed(parts, 5)}.",
                supports="stl",
                numbers={"tasks": len(harmed), "sources": sum(len(s) for s in harmed.values())},
            )
        )
    shift = report.signals.get("shift")
    if shift is not None:
        pad = np.asarray(shift.pad, dtype=float)
        off = pad[~np.eye(len(pad), dtype=bool)]
        if off.size and np.isfinite(off).any():
            out.append(
                RuleOutcome(
                    "signal/input-shift",
                    "evidence",
                    f"Tasks' inputs differ: mean proxy A-distance {np.nanmean(off):.2f} (0 = same distribution, "
                    "2 = separable).",
                    numbers={"mean_proxy_a_distance": _num(float(np.nanmean(off)))},
                )
            )
    labels = report.signals.get("labels")
    if labels is not None:
        corr = np.asarray(labels.correlation, dtype=float)
        off = np.abs(corr[~np.eye(len(corr), dtype=bool)])
        if off.size and np.isfinite(off).any():
            out.append(
                RuleOutcome(
                    "signal/label-correlation",
                    "evidence",
                    f"Targets measured on the same rows correlate with mean |r| = {np.nanmean(off):.2f}.",
                    numbers={"mean_abs_correlation": _num(float(np.nanmean(off)))},
                )
            )
    return out


#: Every rule, in the order its sentences appear in the rationale.
RULES: tuple[Rule, ...] = (
    one_task,
    noise,
    delta_vs_stl,
    small_budget_curves,
    small_budget_veto,
    risk,
    variant_risk,
    scarce_target,
    new_tasks,
    nothing_learned,
    signals,
)


def apply_rules(ev: ProbeEvidence, report: ProbeReport, rules: tuple[Rule, ...] = RULES) -> list[RuleOutcome]:
    """Every rule's outcomes, in :data:`RULES` order."""
    return [outcome for rule in rules for outcome in rule(ev, report)]


def rules_choice(ev: ProbeEvidence, outcomes: list[RuleOutcome]) -> str:
    """What the rules alone choose: R2's co-winner, unless R1 or R6's learning curves prefer STL."""
    preferred = [
        o.supports for o in outcomes if o.kind == "preference" and o.rule in ("R1-one-task", "R6-small-budget-bias")
    ]
    return "stl" if "stl" in preferred and "stl" in ev.representatives else ev.noise.winner
