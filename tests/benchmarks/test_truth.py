"""The truth rule over several oracle runs, checked against values computed by hand."""

from __future__ import annotations

import json
import math

import pytest
from scipy import stats

from benchmarks.oracle._truth import (
    always_accuracy,
    fold_scores,
    leave_one_run_out,
    random_accuracy,
    truth,
)


def _run(folds: dict[str, list[float]], *, best: str | None = None, gaps: dict[str, bool] | None = None) -> dict:
    """A cached oracle result with one variant per paradigm and the given fold scores."""
    variants = [{"variant": f"{p}/x", "fold_scores": s} for p, s in folds.items()]
    paradigms = {p: {"variant": f"{p}/x", "score": sum(s) / len(s)} for p, s in folds.items()}
    for p, significant in (gaps or {}).items():
        paradigms[p]["gap_to_best"] = {"mean": 0.0, "ci_low": 0.0, "ci_high": 0.0, "significant": significant}
    return {"variants": variants, "paradigms": paradigms, "best": best}


def test_fold_scores_follow_each_paradigms_chosen_variant() -> None:
    run = {
        "variants": [
            {"variant": "stl/mlp", "fold_scores": [0.1, 0.2]},
            {"variant": "stl/gbdt", "fold_scores": [0.5, 0.6]},
        ],
        "paradigms": {"stl": {"variant": "stl/gbdt", "score": 0.55}, "meta": {"variant": "meta/maml", "score": None}},
    }
    assert fold_scores(run) == {"stl": [0.5, 0.6]}


def test_scores_are_means_over_runs_and_folds_and_the_margin_ties_close_paradigms() -> None:
    runs = [
        _run({"stl": [0.80, 0.80, 0.80], "mtl": [0.81, 0.81, 0.81], "meta": [0.70, 0.70, 0.70]}),
        _run({"stl": [0.80, 0.80, 0.80], "mtl": [0.81, 0.81, 0.81], "meta": [0.70, 0.70, 0.70]}),
    ]
    t = truth(runs)
    assert t.scores == pytest.approx({"stl": 0.80, "mtl": 0.81, "meta": 0.70})
    assert t.best == "mtl"
    # stl trails by 0.01 > delta with no spread at all: significant, not a co-winner.
    assert t.co_winners == ("mtl",)
    assert t.choice == "mtl"
    assert truth(runs, delta=0.011).co_winners == ("stl", "mtl")  # within the margin: tied, and simpler
    assert truth(runs, delta=0.011).choice == "stl"


def test_the_test_over_runs_uses_one_mean_difference_per_run() -> None:
    # Per-run mean differences (mtl - stl): 0.021, 0.019, 0.020 -> mean 0.02, sd 0.001.
    runs = [
        _run({"stl": [0.70, 0.70], "mtl": [0.72, 0.722]}),
        _run({"stl": [0.70, 0.70], "mtl": [0.719, 0.719]}),
        _run({"stl": [0.70, 0.70], "mtl": [0.721, 0.719]}),
    ]
    t = truth(runs)
    half = stats.t.ppf(0.975, df=2) * 0.001 / math.sqrt(3)  # 4.303 * 0.000577 = 0.00248
    gap = t.gaps["stl"]
    assert gap["mean"] == pytest.approx(0.02)
    assert gap["low"] == pytest.approx(0.02 - half)
    assert gap["high"] == pytest.approx(0.02 + half)
    assert t.co_winners == ("mtl",)
    # The same mean gap with run means 0.03, 0.01, 0.02 (sd 0.01): 0.02 - 0.0248 < 0, a tie.
    noisy = [
        _run({"stl": [0.70, 0.70], "mtl": [0.73, 0.73]}),
        _run({"stl": [0.70, 0.70], "mtl": [0.70, 0.72]}),
        _run({"stl": [0.70, 0.70], "mtl": [0.72, 0.72]}),
    ]
    assert truth(noisy).gaps["stl"]["low"] == pytest.approx(0.02 - 10 * half)
    assert truth(noisy).co_winners == ("stl", "mtl")


def test_the_rule_as_first_written_inflates_the_variance_by_the_folds() -> None:
    # Six run-folds with differences 0.03, 0.03, 0.00, 0.02, 0.02, 0.02: mean 0.02, var 0.00012.
    runs = [
        _run({"stl": [0.70, 0.70], "mtl": [0.73, 0.73]}),
        _run({"stl": [0.70, 0.70], "mtl": [0.70, 0.72]}),
        _run({"stl": [0.70, 0.70], "mtl": [0.72, 0.72]}),
    ]
    gap = truth(runs, test="run_folds").gaps["stl"]
    se = math.sqrt((1 / 6 + 1 / (2 - 1)) * 0.00012)  # 0.01183
    assert gap["low"] == pytest.approx(0.02 - stats.t.ppf(0.975, df=5) * se)  # 0.02 - 2.571 * 0.01183 < 0
    assert truth(runs, test="run_folds").co_winners == ("stl", "mtl")
    with pytest.raises(ValueError, match="unknown test"):
        truth(runs, test="rows")


def test_one_run_falls_back_on_that_runs_own_paired_test() -> None:
    run = _run({"stl": [0.70, 0.70], "transfer": [0.72, 0.72], "mtl": [0.80, 0.80]},
               best="mtl", gaps={"stl": True, "transfer": False})  # fmt: skip
    t = truth([run])
    assert t.co_winners == ("transfer", "mtl")
    assert t.gaps["stl"]["mean"] == pytest.approx(0.10)


def test_only_paradigms_every_run_scored_take_part() -> None:
    runs = [_run({"stl": [0.5], "meta": [0.9]}), _run({"stl": [0.5]})]
    assert set(truth(runs).scores) == {"stl"}


def test_leave_one_run_out_and_the_floors() -> None:
    steady = [_run({"stl": [0.70, 0.70], "mtl": [0.80, 0.80]}) for _ in range(3)]
    # One run out of three reverses the order: the two others still see mtl ahead, except when
    # the left-out run is one of the two agreeing ones (then it is one each way: stl's gap ties).
    flip = [_run({"stl": [0.70, 0.70], "mtl": [0.80, 0.80]}), _run({"stl": [0.70, 0.70], "mtl": [0.80, 0.80]}),
            _run({"stl": [0.90, 0.90], "mtl": [0.60, 0.60]})]  # fmt: skip
    full = truth(flip)
    assert full.best == "stl" and full.co_winners == ("stl", "mtl")  # means 0.7667 vs 0.7333, not significant
    out = leave_one_run_out([steady, flip])
    assert out["per_case"] == [3, 3] and out["agreement"] == 1.0 and out["comparisons"] == 6
    truths = [truth(steady), full]
    assert random_accuracy(truths) == pytest.approx((1 / 2 + 2 / 2) / 2)
    assert always_accuracy(truths, "stl") == pytest.approx(0.5)
    assert always_accuracy(truths, "meta") == 0.0
    with pytest.raises(ValueError, match="two runs"):
        leave_one_run_out([[steady[0]]])


def test_the_benchmark_summarises_the_truth_under_both_tests() -> None:
    from benchmarks.oracle._evaluate import truth_summary

    steady = [_run({"stl": [0.70, 0.70], "mtl": [0.80, 0.80]}) for _ in range(3)]
    close = [_run({"stl": [0.70, 0.71], "mtl": [0.71, 0.70]}) for _ in range(3)]
    out = truth_summary([steady, close, [steady[0]]])  # a case with one run is left out
    assert set(out) == {"rule", "first_rule"}
    rule = out["rule"]
    assert rule["cases"] == 2 and rule["runs_per_real_case"] == 3 and rule["delta"] == 0.005
    assert rule["loo_agreement"] == 1.0
    assert rule["random_accuracy"] == pytest.approx((1 / 2 + 2 / 2) / 2)  # mtl alone; a tie
    assert rule["always_stl_accuracy"] == 0.5
    assert "run-fold" in out["first_rule"]["rule"] and "runs' mean" in rule["rule"]
    assert truth_summary([[steady[0]]]) is None


def test_results_report_the_truths_criteria_and_the_choices_own_regret(tmp_path) -> None:
    from benchmarks.oracle._evaluate import evaluate, truth_summary, write_results
    from tests.benchmarks.test_oracle import _record

    real = [
        _record("r/a", ["stl", "mtl"], {"stl": 0.70, "mtl": 0.73}, kind="real"),  # stl ties, 0.03 behind
        _record("r/b", ["mtl"], {"stl": 0.50, "mtl": 0.60}, kind="real"),
    ]
    steady = [_run({"stl": [0.70, 0.70], "mtl": [0.80, 0.80]}) for _ in range(3)]
    evaluation = evaluate(real, None, truth=truth_summary([steady, steady]))
    assert evaluation["truth"]["rule"]["choice_mean_regret"] == pytest.approx(0.015)  # (0.03 + 0) / 2
    write_results(evaluation, tmp_path)
    text = (tmp_path / "RESULTS.md").read_text()
    assert "| the rule: test over runs | 3 | 100.0% |" in text
    assert "The truth's own choice (its simplest co-winner) loses 0.0150 on average" in text
    out = json.loads((tmp_path / "results.json").read_text())
    assert out["truth"]["loo_agreement"] == 1.0 and set(out["real_consensus"]) == set(out["real"])
    assert out["real_consensus"]["always_stl"]["accuracy"] == 0.5


def test_one_run_ranks_on_its_own_scores_so_its_own_test_always_applies() -> None:
    # Under new_tasks a run's score weights held-out tasks: here mtl leads on it, meta on fold means.
    run = _run({"stl": [0.20, 0.20, 0.20], "mtl": [0.92, 0.92, 0.92], "meta": [0.95, 0.95, 0.87]},
               best="mtl", gaps={"stl": True, "meta": False})  # fmt: skip
    run["paradigms"]["meta"]["score"] = 0.91
    t = truth([run])
    assert t.best == "mtl" and t.co_winners == ("mtl", "meta") and t.choice == "mtl"  # stl stays out
    assert t.scores["meta"] == 0.91


def test_a_paradigm_missing_folds_takes_no_part() -> None:
    runs = [_run({"stl": [0.7, 0.7, 0.7], "mtl": [0.8, 0.8]}), _run({"stl": [0.7, 0.7, 0.7], "mtl": [0.8, 0.8, 0.8]})]
    assert set(truth(runs).scores) == {"stl"}
