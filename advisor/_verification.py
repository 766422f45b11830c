"""``Verification``: the full-budget comparison of paradigms on a user's own data (``advisor verify``).

The benchmark's oracle protocol (:mod:`probes.oracle`: all rows, a search inside each fold,
variants chosen on validation) run ``runs`` times with seeds ``seed, seed + 1, …`` (other folds,
another search, other training seeds each time), combined by the truth rule (:mod:`probes.truth`):
each paradigm's score is its mean over runs and folds; the co-winners are within 0.005 of the best
or not significantly worse by a t-test over the runs' mean differences (one run: its own paired
test); the simplest co-winner is the answer. Numbers that could not be measured are ``null``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from advisor._recommendation import SCHEMA_VERSION, ParadigmId, _Model
from probes.data import DataProfile

__all__ = ["Verification", "VerifiedParadigm", "verification_from_runs"]


class VerifiedParadigm(_Model):
    """One paradigm at full budget, over every run."""

    paradigm: ParadigmId
    applicable: bool
    reason: str | None = Field(None, description="Why the paradigm was not applicable, or not scored by every run.")
    score: float | None = Field(None, description="Mean goal score over every run and fold (higher is better).")
    run_scores: list[float | None] = Field(
        default_factory=list, description="Each run's mean over its folds (the variant that run chose)."
    )
    variants: list[str | None] = Field(default_factory=list, description="The variant each run chose on validation.")
    gap_to_best: float | None = Field(None, description="The best paradigm's mean score minus this one's.")
    gap_ci_low: float | None = None
    gap_ci_high: float | None = None
    gap_p: float | None = Field(None, description="Two-sided p-value of the gap (the truth rule's test).")
    co_winner: bool = Field(False, description="Practically equivalent to the best (margin or test).")


class Verification(_Model):
    """What ``runs`` full-budget oracle runs say about the paradigms on this data."""

    kind: Literal["verification"] = "verification"
    schema_version: str = SCHEMA_VERSION
    paradigm: ParadigmId = Field(description="The simplest co-winner: the verified choice.")
    verdict: Literal["clear", "equivalent"] = Field(
        description="'clear': one paradigm is ahead beyond the margin and the test; 'equivalent': several are "
        "practically tied (co_winners) and the simplest is the choice."
    )
    best: ParadigmId = Field(description="The paradigm with the highest mean score.")
    co_winners: list[ParadigmId] = Field(description="Simplest first.")
    headline: str
    goal: str
    layout: str
    target_task: str | None = None
    paradigms: list[VerifiedParadigm]
    rule: str = Field(description="The truth rule, in words.")
    delta: float = Field(description="Practical-equivalence margin on the goal's score.")
    runs: int
    folds: int
    trials: int = Field(description="Search trials per variant and fold.")
    seed: int = Field(description="Run r used seed + r.")
    seconds: float
    data: DataProfile
    versions: dict[str, str]

    def summary(self) -> str:
        """A few readable lines: the verdict, the scores with their gaps, how it was measured."""
        lines = [self.headline, ""]
        for entry in self.paradigms:
            if entry.score is None:
                lines.append(f"  {entry.paradigm:9s} not scored: {entry.reason or 'no run finished it'}")
                continue
            gap = "" if entry.gap_to_best is None else f"  gap {entry.gap_to_best:+.4f}"
            mark = "  co-winner" if entry.co_winner else ""
            lines.append(f"  {entry.paradigm:9s} {entry.score:.4f}{gap}{mark}")
        lines += [
            "",
            f"{self.runs} full-budget run(s) x {self.folds} folds, {self.trials} search trial(s) per variant and "
            f"fold, seeds {self.seed}..{self.seed + self.runs - 1}; {self.seconds:.0f} s.",
        ]
        return "\n".join(lines)

    def to_json(self, path: str | Path | None = None, *, indent: int | None = 2) -> str:
        """The verification as JSON (written to ``path`` too when given)."""
        text = self.model_dump_json(indent=indent)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text


def _num(value: Any) -> float | None:
    return None if value is None or not math.isfinite(float(value)) else round(float(value), 6)


def verification_from_runs(
    runs: list[dict[str, Any]],
    *,
    applicable: dict[str, str | None],
    profile: DataProfile,
    seed: int,
    folds: int,
    trials: int,
    seconds: float,
    versions: dict[str, str],
) -> Verification:
    """Apply the truth rule to ``runs`` (:func:`probes.oracle.run_oracle` results) and describe it.

    ``applicable`` maps every paradigm asked for to ``None`` or the reason it does not apply.
    """
    from probes.protocol import complexity
    from probes.truth import DELTA, RULE, fold_scores, truth

    rule = truth(runs)
    per_run = [fold_scores(r) for r in runs]
    entries = []
    for paradigm in sorted(applicable, key=complexity):
        reason = applicable[paradigm]
        if reason is not None:
            entries.append(VerifiedParadigm(paradigm=paradigm, applicable=False, reason=reason))
            continue
        scored = paradigm in rule.scores
        gap = rule.gaps.get(paradigm, {})
        entries.append(
            VerifiedParadigm(
                paradigm=paradigm,
                applicable=True,
                reason=None if scored else "not scored on every fold of every run (a variant failed or was cut)",
                score=_num(rule.scores.get(paradigm)),
                run_scores=[_num(sum(s[paradigm]) / len(s[paradigm])) if s.get(paradigm) else None for s in per_run],
                variants=[(r.get("paradigms", {}).get(paradigm) or {}).get("variant") for r in runs],
                gap_to_best=(_num(gap["mean"]) if gap else 0.0) if scored else None,  # the best has no gap entry
                gap_ci_low=_num(gap.get("low")) if gap else None,
                gap_ci_high=_num(gap.get("high")) if gap else None,
                gap_p=_num(gap.get("p")) if gap else None,
                co_winner=paradigm in rule.co_winners,
            )
        )
    tied = list(rule.co_winners)
    if len(tied) == 1:
        verdict = "clear"
        others = [p for p in rule.scores if p != rule.best]
        headline = f"Verified: {rule.best.upper()} is ahead" + (
            f" of {', '.join(p.upper() for p in sorted(others, key=complexity))} beyond noise and the "
            f"{DELTA} margin, over {len(runs)} full-budget run(s)."
            if others
            else f", the only paradigm scored, over {len(runs)} full-budget run(s)."
        )
    else:
        verdict = "equivalent"
        headline = (
            f"Verified: {', '.join(p.upper() for p in tied)} are practically tied over {len(runs)} full-budget "
            f"run(s); {rule.choice.upper()}, the simplest, is the choice."
        )
        widest = max((rule.gaps[p]["mean"] for p in tied if p in rule.gaps), default=0.0)
        if widest > DELTA:  # tied by the test, not by the margin: more runs could separate them
            headline += f" Gaps up to {widest:.3f} are within the runs' noise; more runs (--runs) would narrow it."
    return Verification(
        paradigm=rule.choice,
        verdict=verdict,
        best=rule.best,
        co_winners=tied,
        headline=headline,
        goal=profile.goal,
        layout=profile.layout,
        target_task=profile.target_task,
        paradigms=entries,
        rule=RULE,
        delta=DELTA,
        runs=len(runs),
        folds=folds,
        trials=trials,
        seed=seed,
        seconds=round(seconds, 3),
        data=profile,
        versions=versions,
    )
