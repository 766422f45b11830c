"""The decision: every verdict of :func:`settle`, and :func:`decide` reading a case's features."""

from __future__ import annotations

import numpy as np
import pytest

from advisor._decision import PRACTICAL_DELTA, decide, practically_tied, settle
from advisor._learned import LearnedModel, feature_names


def test_one_paradigm_ahead_that_the_model_backs_is_clear() -> None:
    s = settle({"stl": 0.2, "mtl": 0.9, "transfer": 0.3}, {"mtl"})
    assert (s.chosen, s.verdict, s.why, s.equivalent_to) == ("mtl", "clear", "ahead", ())


def test_practically_tied_paradigms_the_model_backs_are_equivalent_and_the_simplest_is_chosen() -> None:
    s = settle({"stl": 0.85, "mtl": 0.9, "transfer": 0.3}, {"stl", "mtl", "transfer"}, tie=0.7)
    assert (s.chosen, s.verdict, s.equivalent_to, s.top) == ("stl", "equivalent", ("stl", "mtl"), "mtl")


def test_the_tied_set_stops_where_the_joint_probability_falls_below_the_threshold() -> None:
    probs = {"stl": 0.8, "mtl": 0.95, "transfer": 0.9}
    tied = {"stl", "mtl", "transfer"}
    assert settle(probs, tied, tie=0.7).equivalent_to == ("transfer", "mtl")  # 0.95 * 0.9 = 0.855; * 0.8 < 0.7
    assert settle(probs, tied, tie=0.6).equivalent_to == ("stl", "transfer", "mtl")  # 0.684 >= 0.6
    assert settle(probs, tied, tie=0.9).verdict == "clear"  # 0.855 < 0.9: no tie, mtl alone


def test_a_paradigm_the_probes_separate_is_not_in_the_tied_set() -> None:
    s = settle({"stl": 0.85, "mtl": 0.9}, {"mtl"}, tie=0.7)
    assert s.verdict == "clear" and s.chosen == "mtl"


def test_a_choice_rated_below_one_half_is_uncertain() -> None:
    s = settle({"stl": 0.07}, {"stl", "mtl"})
    assert (s.chosen, s.verdict, s.why) == ("stl", "uncertain", "low_probability")


def test_a_model_choice_the_probes_put_behind_is_uncertain() -> None:
    s = settle({"stl": 0.8, "mtl": 0.3}, {"mtl"})
    assert (s.chosen, s.verdict, s.why) == ("stl", "uncertain", "conflict")


def test_a_run_cut_by_a_time_limit_or_that_learns_nothing_is_uncertain() -> None:
    assert settle({"mtl": 0.9, "stl": 0.2}, {"mtl"}, partial=True).why == "partial"
    s = settle({"mtl": 0.9, "stl": 0.6}, {"mtl", "stl"}, nothing_learned=True)
    assert (s.chosen, s.verdict, s.why) == ("mtl", "uncertain", "nothing_learned")  # the model's choice, flagged


def test_a_single_task_is_clear_whatever_its_probability() -> None:
    s = settle({"stl": 1.0}, {"stl"}, alone=True)
    assert (s.verdict, s.why) == ("clear", "only")


def test_no_choice_below_one_half_unless_uncertain() -> None:
    rng = np.random.default_rng(0)
    for _ in range(500):
        names = ["stl", "mtl", "transfer", "meta"][: rng.integers(1, 5)]
        probs = {p: float(rng.random()) for p in names}
        tied = {p for p in names if rng.random() < 0.6}
        s = settle(probs, tied, margin=float(rng.choice([0.0, 0.1])), tie=float(rng.choice([0.5, 0.7])))
        assert s.verdict == "uncertain" or probs[s.chosen] >= 0.5
        assert s.verdict != "equivalent" or (len(s.equivalent_to) >= 2 and s.chosen == s.equivalent_to[0])


def test_practically_tied_reads_scores_and_the_probe_co_winner_flags() -> None:
    features = {"mtl_probe_cowinner": 1.0, "transfer_probe_cowinner": 0.0}
    scores = {"stl": 0.800, "mtl": 0.700, "transfer": 0.800 - PRACTICAL_DELTA / 2, "meta": 0.790}
    assert practically_tied(features, scores) == {"stl", "mtl", "transfer"}


class _Fixed(LearnedModel):
    def probability(self, features: dict[str, float], paradigm: str) -> float:
        return self.meta["p"][paradigm]


def _model(p: dict[str, float], **meta: float) -> LearnedModel:
    n = len(feature_names())
    return _Fixed(tuple(feature_names()), np.zeros(n), np.ones(n), np.zeros(n), 0.0, {"cases": 9, "p": p, **meta})


def test_decide_applies_the_r6_veto_read_off_the_features() -> None:
    # Subsampled tasks; transfer's gain reaches zero: vetoed however high the model rates it.
    features = {
        "decision_subsampled": 1.0,
        "transfer_delta_low": -0.01,
        "mtl_delta_low": 0.02,
        "mtl_probe_cowinner": 1.0,
    }
    settled, probs, every, vetoes = decide(
        _model({"stl": 0.3, "mtl": 0.8, "transfer": 0.95}), features, {"stl": 0.5, "mtl": 0.6, "transfer": 0.61}
    )
    assert vetoes == {"transfer": ["R6-small-budget-bias"]}
    assert set(probs) == {"stl", "mtl"} and every["transfer"] == pytest.approx(0.95)
    # The model rates the vetoed transfer above the choice: the rule and the model disagree.
    assert (settled.chosen, settled.verdict, settled.why) == ("mtl", "uncertain", "overruled")


def test_decide_uses_the_shipped_tie_threshold_and_margin() -> None:
    model = _model({"stl": 0.75, "mtl": 0.8}, equivalence=0.5, margin=0.0)
    settled, *_ = decide(model, {"mtl_probe_cowinner": 1.0, "stl_probe_cowinner": 1.0}, {"stl": 0.5, "mtl": 0.51})
    assert settled.verdict == "equivalent" and settled.chosen == "stl"
    model = _model({"stl": 0.75, "mtl": 0.8}, equivalence=0.9, margin=0.0)
    settled, *_ = decide(model, {"mtl_probe_cowinner": 1.0, "stl_probe_cowinner": 1.0}, {"stl": 0.5, "mtl": 0.51})
    assert settled.verdict == "clear" and settled.chosen == "mtl"


def test_decide_without_a_model_keeps_the_rules_choice_and_confidence() -> None:
    settled, probs, _, _ = decide(None, {}, {"stl": 0.5, "mtl": 0.6}, rules_choice="mtl", rules_confidence=0.4)
    assert settled.chosen == "mtl" and probs == {"mtl": 0.4} and settled.verdict == "uncertain"


def test_decide_single_task_is_certain_but_an_unscored_rival_is_not() -> None:
    settled, probs, _, _ = decide(_model({"stl": 0.3}), {}, {"stl": 0.5})
    assert probs == {"stl": 1.0} and settled.verdict == "clear"
    settled, probs, _, _ = decide(_model({"stl": 0.3}), {"mtl_applicable": 1.0, "partial": 1.0}, {"stl": 0.5})
    assert probs == {"stl": 0.3} and settled.verdict == "uncertain" and settled.why == "partial"
