"""The versioned ``Recommendation`` schema (DESIGN.md §6): what every door returns.

Numbers that could not be measured are ``null``, never invented. ``schema_version`` follows
semantic versioning: a new optional field is a minor bump, a removed or renamed field a major one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from probes.data import DataProfile

__all__ = [
    "SCHEMA_VERSION",
    "BudgetUsed",
    "Evidence",
    "LearningCurve",
    "ParadigmId",
    "RankingEntry",
    "Recommendation",
    "Relatedness",
    "TaskGroup",
    "TaskReport",
    "Verdict",
]

SCHEMA_VERSION = "1.2.0"

ParadigmId = Literal["stl", "mtl", "transfer", "meta"]
#: ``clear``: one paradigm ahead beyond noise and the learned model agrees; ``equivalent``: several
#: paradigms practically tied, the simplest is recommended; ``uncertain``: the evidence conflicts or
#: is too thin, the simplest safe choice is recommended and a larger budget named.
Verdict = Literal["clear", "equivalent", "uncertain"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RankingEntry(_Model):
    """One paradigm in the ranking."""

    paradigm: ParadigmId
    variant: str | None = Field(None, description="The variant whose probe score represents the paradigm.")
    applicable: bool
    reason: str | None = Field(None, description="Why the paradigm was not applicable or not run.")
    probe_score: float | None = Field(None, description="Goal score of the probe (higher is better).")
    ci_low: float | None = None
    ci_high: float | None = None
    delta_vs_stl: float | None = Field(None, description="Paired difference to STL on the same folds.")
    delta_ci_low: float | None = None
    delta_ci_high: float | None = None
    predicted_score: float | None = Field(
        None, description="Score extrapolated to the full data size from the learning curve, when measured."
    )
    p_best: float = Field(0.0, description="Bootstrap probability (over folds) of having the best probe score.")
    co_winner: bool = Field(
        False,
        description="Not significantly worse than the best (the protocol's paired test: a bootstrap over test rows, "
        "a t-test over held-out tasks under new_tasks).",
    )
    p_cowinner: float | None = Field(
        None,
        description="Learned model's probability that the paradigm is a full-budget co-winner (schema 1.1).",
    )
    vetoed_by: list[str] = Field(
        default_factory=list,
        description="Ids of the rules that ruled this paradigm out of the choice (e.g. 'R6-small-budget-bias'); "
        "empty when none did (schema 1.2).",
    )
    folds: int = 0
    complete: bool = False
    seconds: float = 0.0


class Evidence(_Model):
    """A sentence of the rationale with the numbers and the rule or signal behind it."""

    statement: str
    rule: str = Field(description="Id of the rule or signal that produced it (e.g. 'R2-noise', 'signal/affinity').")
    supports: ParadigmId | None = Field(None, description="The paradigm this evidence argues for, if any.")
    numbers: dict[str, float | int | str | None] = Field(default_factory=dict)


class TaskReport(_Model):
    """One task: its scores, best paradigm and negative-transfer risk."""

    name: str
    kind: str
    n_rows: int
    metric: str
    stl_score: float | None = None
    scores: dict[str, float | None] = Field(default_factory=dict, description="Probe score per paradigm on this task.")
    best_paradigm: ParadigmId | None = None
    negative_transfer_risk: float | None = Field(
        None, description="Risk of the best-ranked sharing paradigm: P(sharing scores below STL on this task)."
    )
    risk_by_paradigm: dict[str, float | None] = Field(
        default_factory=dict, description="P(paradigm below STL on this task), bootstrap over paired folds."
    )
    risk_by_variant: dict[str, float | None] = Field(
        default_factory=dict,
        description="The same risk for every sharing variant probed (e.g. transfer/head: frozen source features).",
    )
    harmful_sources: list[str] = Field(default_factory=list, description="Tasks whose updates raise this task's loss.")
    near_constant: bool = False


class Relatedness(_Model):
    """Task relatedness and risk signals (DESIGN.md §5); matrices are indexed like ``tasks``."""

    tasks: list[str]
    affinity: list[list[float | None]] | None = Field(
        None,
        description="TAG lookahead affinity: row i, column j = relative loss drop of task j after a step on task i.",
    )
    affinity_method: str | None = None
    gradient_cosine: list[list[float | None]] | None = None
    conflict_share: list[list[float | None]] | None = Field(
        None, description="Share of training steps whose task gradients point against each other."
    )
    label_correlation: list[list[float | None]] | None = None
    mutual_information: list[list[float | None]] | None = None
    input_shift: list[list[float | None]] | None = Field(
        None, description="Proxy A-distance between tasks' inputs (0 = same distribution, 2 = separable)."
    )
    transferability: dict[str, float | None] | None = Field(
        None, description="Transferability of source-trained features to the target (LogME per source set)."
    )
    notes: list[str] = Field(default_factory=list)


class TaskGroup(_Model):
    """A suggested group of tasks to train together, and its check."""

    tasks: list[str]
    mean_affinity: float | None = None


class LearningCurve(_Model):
    """Probe scores at several training-data fractions and a fitted power law."""

    variant: str
    fractions: list[float]
    n_train: list[int]
    scores: list[float | None]
    fit: dict[str, float] | None = Field(None, description="score(n) = a - b * n^(-c) parameters, when it fitted.")
    full_size: int | None = None
    extrapolated: float | None = None


class BudgetUsed(_Model):
    """What the probes cost."""

    name: str
    seconds_limit: float | None
    seconds_used: float
    folds: int
    max_rows_per_task: int | None = None
    subsampled: bool = False
    partial: bool = Field(False, description="True when the time limit cut some probe short.")
    phases: list[dict[str, Any]] = Field(default_factory=list)


class Recommendation(_Model):
    """The advice, its evidence and everything needed to check it."""

    schema_version: str = SCHEMA_VERSION
    verdict: Verdict | None = Field(
        None,
        description="How firm the advice is: 'clear' (one paradigm ahead beyond noise, the learned model agrees), "
        "'equivalent' (several paradigms practically tied: the simplest is recommended, the tied set is "
        "'equivalent_to'), 'uncertain' (the evidence conflicts or is too thin: the simplest safe choice, and the "
        "headline names what would settle it). Null only in results written before schema 1.2.",
    )
    equivalent_to: list[ParadigmId] = Field(
        default_factory=list,
        description="Under the 'equivalent' verdict, every paradigm practically tied with the choice (the choice "
        "included); empty otherwise (schema 1.2).",
    )
    paradigm: ParadigmId
    variant: str | None
    confidence: float = Field(ge=0.0, le=1.0, description="Probability that the choice is a full-budget co-winner.")
    confidence_method: str
    headline: str
    goal: str
    layout: str
    target_task: str | None = None
    ranking: list[RankingEntry]
    rationale: list[Evidence]
    tasks: list[TaskReport]
    relatedness: Relatedness
    groups: list[TaskGroup] = Field(default_factory=list)
    group_check: dict[str, Any] | None = None
    learning_curves: list[LearningCurve] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    budget: BudgetUsed
    data: DataProfile
    seed: int
    versions: dict[str, str]

    def summary(self) -> str:
        """A few readable lines: the verdict and choice, what the confidence means, the ranking, the reasons.

        Each ranked paradigm shows its probe score with its 95% interval, the learned model's
        P(full-budget co-winner), and how many of the planned folds it finished; ``*`` marks the
        probes' co-winners, and a rule that ruled a paradigm out is named.
        """
        lines = [self.headline]
        if self.verdict is not None:
            lines.append(self.confidence_method)
        if self.budget.partial:
            lines.append("Partial: a time limit cut the probes short; folds finished are listed per paradigm.")
        lines.append("")
        for entry in self.ranking:
            if not entry.applicable:
                lines.append(f"  {entry.paradigm:9s} not applicable: {entry.reason}")
                continue
            if entry.probe_score is None:
                lines.append(f"  {entry.paradigm:9s} not scored: {entry.reason or 'no fold finished'}")
                continue
            mark = "*" if entry.co_winner else " "
            p = (
                f"P(co-winner) {entry.p_cowinner:.2f}"
                if entry.p_cowinner is not None
                else f"p(best) {entry.p_best:.2f}"
            )
            folds = f"{entry.folds}/{self.budget.folds} folds"
            veto = f"  ruled out by {', '.join(entry.vetoed_by)}" if entry.vetoed_by else ""
            lines.append(
                f" {mark}{entry.paradigm:9s} {entry.probe_score:7.3f} [{_fmt(entry.ci_low)}, {_fmt(entry.ci_high)}]"
                f"  {p}  {folds}  ({entry.variant}){veto}"
            )
        lines.append("")
        lines += [f"- {e.statement}" for e in self.rationale[:6]]
        if len(self.rationale) > 6:
            lines.append(f"- … and {len(self.rationale) - 6} more reasons in the JSON and the report.")
        if self.warnings:
            lines.append("")
            lines += [f"! {w}" for w in self.warnings[:6]]
            if len(self.warnings) > 6:
                lines.append(f"! … and {len(self.warnings) - 6} more warnings in the JSON and the report.")
        return "\n".join(lines)

    def to_json(self, path: str | Path | None = None, *, indent: int | None = 2) -> str:
        """The recommendation as JSON (written to ``path`` when given)."""
        text = self.model_dump_json(indent=indent)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    def to_html(self, path: str | Path | None = None) -> str:
        """A self-contained HTML report (written to ``path`` when given)."""
        from advisor.report import render_html

        html = render_html(self)
        if path is not None:
            Path(path).write_text(html, encoding="utf-8")
        return html

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The JSON Schema of this model (exported to ``docs/recommendation.schema.json``)."""
        return cls.model_json_schema()

    @classmethod
    def from_json(cls, text: str | bytes) -> Recommendation:
        return cls.model_validate(json.loads(text))


def _fmt(value: float | None) -> str:
    return "   —  " if value is None else f"{value:.3f}"
