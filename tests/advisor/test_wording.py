"""What the recommendation's text says about the learned choice and the paired comparison."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from advisor._learned import LearnedModel, feature_names, refine
from advisor._recommendation import Recommendation
from advisor._recommender import _units
from probes.protocol._compare import ROW_TEST_NAME, TASK_TEST_NAME, TEST_NAME, Comparison
from tests.advisor.test_report import make_rich


class _Fixed(LearnedModel):
    """A learned model whose P(co-winner) per paradigm is fixed in its ``meta``; the choice logic is the real one."""

    def probabilities(self, features: dict[str, float], applicable: list[str]) -> dict[str, float]:
        return {p: self.meta["p"][p] for p in applicable}


def _model(p: dict[str, float], margin: float = 0.05) -> LearnedModel:
    n = len(feature_names())
    meta: dict[str, Any] = {"cases": 10, "margin": margin, "p": p}
    return _Fixed(tuple(feature_names()), np.zeros(n), np.ones(n), np.zeros(n), 0.0, meta)


def _rules(cap: int = 2000) -> Recommendation:
    """The rules chose mtl; tasks of 1,200, 950 and 310 rows, capped at ``cap`` for the probes."""
    rec = make_rich()
    headline = "Recommendation: one multi-task model (mtl/pcgrad): +0.021 over STL. Confidence 0.78."
    return rec.model_copy(
        update={"headline": headline, "budget": rec.budget.model_copy(update={"max_rows_per_task": cap})}
    )


def _learned_statement(rec: Recommendation) -> str:
    return next(e.statement for e in rec.rationale if e.rule == "M1-learned")


def test_a_choice_within_the_margin_is_not_called_ranked_first() -> None:
    # The model ranks mtl first; stl is within the 0.05 margin and simpler, so stl is chosen.
    out = refine(_rules(), _model({"mtl": 0.60, "stl": 0.57, "transfer": 0.30}))

    assert out.paradigm == "stl" and out.confidence == pytest.approx(0.57)
    assert "ranks it first" not in out.headline
    assert "within 0.05 of mtl's 0.60" in out.headline and "simpler" in out.headline
    statement = _learned_statement(out)
    assert "it ranks mtl first (0.60), but stl (0.57) is within its simplicity margin of 0.05" in statement


def test_close_probabilities_are_not_printed_as_equal() -> None:
    out = refine(_rules(), _model({"mtl": 0.603, "stl": 0.598, "transfer": 0.30}))

    assert out.paradigm == "stl"
    assert "0.598 within 0.05 of mtl's 0.603" in out.headline


def test_a_choice_ranked_first_says_so() -> None:
    override = refine(_rules(), _model({"mtl": 0.50, "stl": 0.80, "transfer": 0.30}))
    assert override.paradigm == "stl"
    assert "ranks it first (P(full-budget co-winner) 0.80)" in override.headline
    assert "it ranks stl first" in _learned_statement(override)

    agree = refine(_rules(), _model({"mtl": 0.70, "stl": 0.40, "transfer": 0.30}))
    assert agree.paradigm == "mtl" and agree.headline.endswith("Confidence 0.70.")
    assert "agrees: it ranks mtl first" in _learned_statement(agree)


def test_the_learned_statement_names_the_vetoed_paradigm() -> None:
    # Tasks capped at 400 rows: transfer's gain inside noise ([-0.035, 0.001]) is vetoed (R6).
    out = refine(_rules(cap=400), _model({"mtl": 0.70, "stl": 0.40, "transfer": 0.90}))

    assert out.paradigm == "mtl"
    assert next(e.p_cowinner for e in out.ranking if e.paradigm == "transfer") is None
    assert "Not ranked (vetoed by rule R6): transfer" in _learned_statement(out)


@pytest.mark.parametrize(
    ("test", "units"),
    [(ROW_TEST_NAME, "paired test rows"), (TASK_TEST_NAME, "held-out tasks"), (TEST_NAME, "folds")],
)
def test_the_paired_comparison_counts_what_it_pairs(test: str, units: str) -> None:
    # n_pairs is the number of paired test rows under the row bootstrap, not a number of folds.
    assert _units(Comparison(0.01, -0.01, 0.03, 0.4, 360, 0.05, test)) == units


def test_a_lone_candidate_left_by_the_veto_is_not_said_to_be_agreed_on() -> None:
    # Tasks capped at 400 rows: every sharing paradigm whose gain is inside noise is vetoed, leaving stl alone.
    rec = _rules(cap=400)
    ranking = [
        e if e.paradigm in ("stl", "transfer") else e.model_copy(update={"applicable": False}) for e in rec.ranking
    ]
    out = refine(rec.model_copy(update={"ranking": ranking}), _model({"stl": 0.40, "transfer": 0.90}))
    statement = _learned_statement(out)
    assert out.paradigm == "stl" and "agrees" not in statement
    assert "ranks only stl, the one paradigm the rules leave it (the rules' own choice was mtl)" in statement
