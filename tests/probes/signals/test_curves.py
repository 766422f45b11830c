"""Learning curves: the power-law fit, subsampling of training rows only, and the budget."""

from __future__ import annotations

import itertools
import json
import time

import numpy as np
import pytest

from probes.budget import Budget, BudgetPreset
from probes.paradigms import prepare_folds
from probes.protocol import FoldResult
from probes.signals import extrapolate, fit_power_law, learning_curve
from probes.signals.curves import CURVE_FRACTIONS, curve_from_folds, subsample_training, trust_fit
from tests.probes.signals._scenarios import scenario_fold

TINY = BudgetPreset("tiny", n_folds=2, n_repeats=1, max_epochs=40, patience=6, n_trials=0)


@pytest.mark.parametrize(("a", "b", "c"), [(0.9, 2.0, 0.5), (0.7, 5.0, 0.8), (-1.0, 30.0, 1.2)])
def test_power_law_parameters_are_recovered_from_exact_points(a: float, b: float, c: float) -> None:
    n = np.array([50.0, 100.0, 200.0, 400.0, 800.0])
    fit = fit_power_law(n, a - b * n**-c)
    assert fit is not None
    np.testing.assert_allclose(fit, (a, b, c), rtol=1e-4)
    three = fit_power_law(n[[0, 2, 4]], a - b * n[[0, 2, 4]] ** -c)
    np.testing.assert_allclose(three, (a, b, c), rtol=1e-3)
    assert extrapolate(fit, 1600.0) == pytest.approx(a - b * 1600.0**-c, rel=1e-4)
    np.testing.assert_allclose(extrapolate(fit, n), a - b * n**-c, rtol=1e-4)


def test_no_fit_without_three_usable_points() -> None:
    assert fit_power_law([100, 200], [0.5, 0.6]) is None
    assert fit_power_law([100, 200, 400], [0.5, np.nan, 0.7]) is None
    assert fit_power_law([100, 100, 100], [0.5, 0.6, 0.7]) is None
    assert np.isnan(extrapolate(None, 1000.0))
    flat = fit_power_law([100, 200, 400], [0.6, 0.5, 0.4])  # more data, worse score: no gain to extrapolate
    assert flat is not None and flat[1] == pytest.approx(0.0, abs=1e-3)


def test_subsampling_cuts_training_rows_only_and_keeps_every_class() -> None:
    _, ts, _ = scenario_fold(task_kind="classification", n_classes=3, n_tasks=3, rows_per_task=200, seed=0)
    fold = prepare_folds(ts, TINY)[0]
    cut = subsample_training(fold, 0.1, seed=0)
    for before, after in zip(fold.tasks, cut.tasks, strict=True):
        assert len(after.rows_train) == round(0.1 * len(before.rows_train))
        assert set(after.rows_train) <= set(before.rows_train)
        assert set(np.unique(after.y_train)) == set(np.unique(before.y_train))
        np.testing.assert_array_equal(after.rows_valid, before.rows_valid)
        np.testing.assert_array_equal(after.rows_test, before.rows_test)
    assert subsample_training(fold, 1.0, seed=0).tasks == fold.tasks


def test_a_learning_curve_rises_with_data_and_extrapolates() -> None:
    _, ts, _ = scenario_fold(n_tasks=3, rows_per_task=400, relatedness=0.8, noise=0.3, seed=0)
    folds = prepare_folds(ts, TINY)
    full_size = 4 * sum(t.n_rows for t in ts.tasks)  # as if the probe ran on a quarter of the data
    curve = learning_curve(ts, "stl/mlp", folds, (0.2, 0.4, 0.7, 1.0), preset=TINY, full_size=full_size)
    n_train = [p.n_train for p in curve.points]
    scores = [p.score for p in curve.points]
    assert len(curve.points) == 4 and n_train == sorted(n_train) and len(set(n_train)) == 4
    assert scores[-1] > scores[0] + 0.05
    assert all(b >= a - 0.02 for a, b in itertools.pairwise(scores))  # roughly increasing
    assert curve.fit is not None and curve.fit[1] > 0
    assert curve.n_train_full == pytest.approx(n_train[-1])
    assert abs(curve.predicted_at_train_full - scores[-1]) < 0.05
    assert curve.n_train_full_data == pytest.approx(4 * curve.n_train_full)
    assert curve.predicted_at_full_data >= curve.predicted_at_train_full
    assert curve.predicted_at_full_data <= curve.fit[0]
    json.dumps(curve.to_dict(), allow_nan=False)


def test_a_small_budget_is_honoured_and_finished_points_are_kept() -> None:
    _, ts, _ = scenario_fold(n_tasks=8, rows_per_task=600, seed=1)
    folds = prepare_folds(ts, "standard")
    started = time.monotonic()
    curve = learning_curve(ts, "mtl/hard", folds, budget=Budget(1.5), preset="standard")
    assert time.monotonic() - started < 1.5 + 2.0  # plus at most about one epoch
    assert curve.budget_exhausted and any("budget" in n for n in curve.notes)
    assert len(curve.points) == 3
    assert [p.fraction for p in curve.points] == [0.25, 0.5, 1.0]


def test_fewer_than_three_fractions_are_refused() -> None:
    _, ts, _ = scenario_fold(n_tasks=2, rows_per_task=60, seed=0)
    with pytest.raises(ValueError, match="at least 3"):
        learning_curve(ts, "stl/mlp", prepare_folds(ts, TINY), (0.5, 1.0))


def test_a_flat_exponent_cannot_put_the_asymptote_far_above_the_points() -> None:
    # Scores rising linearly in log(n) (as fold 0 of the demo's stl/mlp did): unbounded, the fit
    # ran to c = 0.01 with a = 40, an asymptote no score can reach.
    n, scores = [67.0, 127.0, 259.0], [0.05, 0.25, 0.45]
    a, b, c = fit_power_law(n, scores)
    assert a <= max(scores) + 4 * (max(scores) - min(scores)) + 1e-9 and b > 0
    capped = fit_power_law(n, scores, ceiling=1.0)  # R² and ROC-AUC never exceed 1
    assert capped is not None and capped[0] <= 1.0
    kept, why = trust_fit((a, b, c), n, scores)
    assert kept is None and "asymptote" in why  # on its bound: no plateau in sight, not extrapolated
    exact = fit_power_law([100, 200, 400], [0.9 - 2 * x**-0.5 for x in (100, 200, 400)])
    assert trust_fit(exact, [100, 200, 400], [0.9 - 2 * x**-0.5 for x in (100, 200, 400)]) == (exact, None)


def test_a_curve_on_one_fold_extrapolates_from_the_probe_score_over_all_folds() -> None:
    _, ts, _ = scenario_fold(n_tasks=3, rows_per_task=200, seed=0)
    folds = prepare_folds(ts, TINY)[:1]
    # fold 0 scores lower than the probe's mean over its folds (0.505): the extrapolation must not
    # fall below the probe it extends, as the unanchored one (0.450 on the demo) did.
    points = zip(CURVE_FRACTIONS, [0.2, 0.35, 0.45], strict=True)
    per_fraction = {f: ([FoldResult(0, 0, {}, s, 80, 20)], 0.0, False) for f, s in points}
    full_size = 4 * sum(t.n_rows for t in ts.tasks)
    curve = curve_from_folds(ts, "stl/mlp", folds, per_fraction, full_size=full_size, anchor=0.505)
    assert curve.fit is not None
    assert curve.predicted_at_train_full == pytest.approx(0.505)
    gain = extrapolate(curve.fit, curve.n_train_full_data) - extrapolate(curve.fit, curve.n_train_full)
    assert curve.predicted_at_full_data == pytest.approx(0.505 + gain) and gain > 0
    assert any("probe's score over all folds" in note for note in curve.notes)
    unanchored = curve_from_folds(ts, "stl/mlp", folds, per_fraction, full_size=full_size)
    assert unanchored.predicted_at_train_full == pytest.approx(0.45, abs=0.01)
