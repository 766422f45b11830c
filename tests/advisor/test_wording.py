"""The words built from a decision: the verdict first, one probability explained, nothing contradicted."""

from __future__ import annotations

from advisor._decision import Decision, settle
from advisor._wording import confidence_sentence, headline, model_statement, settle_hint
from tests.advisor.test_rules import _ev


def _decision(probs: dict[str, float], tied: set[str], **kw) -> Decision:
    vetoes, every = kw.pop("vetoes", {}), kw.pop("every", probs)
    return Decision(
        rules_choice=kw.pop("rules_choice", "mtl"), scored=("stl", "mtl", "transfer"), vetoes=vetoes,
        probabilities=probs, settled=settle(probs, tied, **kw), margin=0.0, model_cases=331, every=every,
    )  # fmt: skip


def test_clear_headline_starts_with_the_verdict_and_gives_the_gain() -> None:
    d = _decision({"stl": 0.2, "mtl": 0.9}, {"mtl"})
    text = headline(d, _ev(), "mtl/hard", budget="fast", partial=False)
    assert text.startswith("Clear: one multi-task model (mtl/hard): +0.050 over single-task learning")
    assert text.endswith("Confidence 0.90.")


def test_equivalent_headline_names_the_tied_set_and_the_simplest() -> None:
    d = _decision({"stl": 0.85, "mtl": 0.9}, {"stl", "mtl"})
    text = headline(d, _ev(), "stl/gbdt", budget="fast", partial=False)
    assert text.startswith("Equivalent: stl, mtl are practically tied; single-task models (stl/gbdt) is the simplest")


def test_uncertain_headline_says_why_and_what_would_settle_it() -> None:
    d = _decision(
        {"stl": 0.07}, {"stl"}, vetoes={"mtl": ["R6-small-budget-bias"], "transfer": ["R6-small-budget-bias"]}
    )
    text = headline(d, _ev(), "stl/mlp", budget="fast", partial=False)
    assert text.startswith("Uncertain: single-task models (stl/mlp) is the simplest safe choice")
    assert "only a 0.07 chance" in text and "R6-small-budget-bias ruled out mtl, transfer" in text
    assert "the standard budget (5 folds, up to 1,500 rows per task" in text


def test_a_conflict_between_probes_and_model_is_said() -> None:
    d = _decision({"stl": 0.8, "mtl": 0.3}, {"mtl"})
    text = headline(d, _ev(), "stl/mlp", budget="standard", partial=False)
    assert text.startswith("Uncertain:") and "the probes put mtl ahead beyond noise" in text
    assert "the thorough budget" in text


def test_a_partial_run_lists_the_folds_each_paradigm_finished() -> None:
    d = _decision({"stl": 0.2, "mtl": 0.9}, {"mtl"}, partial=True)
    text = headline(d, _ev(), "mtl/x", budget="fast", partial=True)
    assert text.startswith("Uncertain (partial: a time limit cut the probes; folds finished: stl 3/3, mtl 3/3")
    assert "rerunning without the time limit" in text


def test_nothing_learned_is_in_the_headline() -> None:
    d = _decision({"stl": 0.9, "mtl": 0.8}, {"stl", "mtl"}, nothing_learned=True)
    text = headline(d, _ev(constant_score=0.0), "stl/mlp", budget="fast", partial=False)
    assert text.startswith("Uncertain: no paradigm learns this target")


def test_one_probability_explained_in_one_sentence() -> None:
    d = _decision({"stl": 0.2, "mtl": 0.9}, {"mtl"})
    sentence = confidence_sentence(d)
    assert sentence.startswith("Confidence 0.90: the learned model's probability that mtl scores as well as the best")
    assert sentence.count(". ") == 0 and "331 benchmark cases" in sentence


def test_model_statement_names_vetoes_the_margin_and_the_rules_choice() -> None:
    d = _decision(
        {"stl": 0.58, "mtl": 0.6}, {"stl"}, margin=0.05, vetoes={"transfer": ["R6-small-budget-bias"]},
        every={"stl": 0.58, "mtl": 0.6, "transfer": 0.95},
    )  # fmt: skip
    text = model_statement(d)
    assert "transfer 0.95, mtl 0.60, stl 0.58" in text
    assert "Ruled out by the rules, whatever their probability: transfer (R6-small-budget-bias)" in text
    assert "The rules alone would choose mtl." in text


def test_settle_hint_by_budget() -> None:
    assert settle_hint("thorough", partial=False) == "a full-budget comparison on every row would settle it"
    assert "standard budget" in settle_hint("fast", partial=False)


def test_a_vetoed_paradigm_the_model_rates_higher_makes_the_answer_uncertain_and_says_so() -> None:
    d = Decision(
        rules_choice="stl", scored=("stl", "mtl", "transfer"), vetoes={"transfer": ["R6-small-budget-bias"]},
        probabilities={"stl": 0.6, "mtl": 0.3}, every={"stl": 0.6, "mtl": 0.3, "transfer": 0.9}, margin=0.0,
        settled=settle({"stl": 0.6, "mtl": 0.3}, {"stl"}, vetoed={"transfer": 0.9}), model_cases=331,
    )  # fmt: skip
    assert d.verdict == "uncertain" and d.settled.why == "overruled"
    text = headline(d, _ev(), "stl/mlp", budget="fast", partial=False)
    assert "the learned model rates transfer higher (transfer 0.90), but rule R6-small-budget-bias ruled it out" in text
