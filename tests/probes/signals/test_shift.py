"""Input shift against the planted covariate shift of task-column scenarios.

Observed (6 tasks, 3 shifted by 3 standard deviations, 200 rows): PAD 0–0.18 between unshifted
tasks and 1.56–1.96 for pairs with a shifted task; MMD² ≤ 0.002 vs 0.18–0.51.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.scenarios import make_scenario
from probes.budget import Budget
from probes.data import load_taskset
from probes.signals import input_shift
from probes.signals.shift import _domain_errors
from tests.probes.signals._scenarios import scenario_fold


@pytest.fixture(scope="module")
def shifted():
    s, ts, fold = scenario_fold(n_tasks=6, shift=3.0, shifted_fraction=0.5, rows_per_task=200, seed=0)
    return s, ts, input_shift(fold)


def _masks(names, shifted_names):
    is_shifted = np.array([n in shifted_names for n in names])
    off = ~np.eye(len(names), dtype=bool)
    calm = ~is_shifted[:, None] & ~is_shifted[None, :] & off
    involved = (is_shifted[:, None] | is_shifted[None, :]) & off
    return calm, involved


def test_shifted_tasks_are_clearly_further_from_the_others(shifted) -> None:
    s, _, signal = shifted
    calm, involved = _masks(signal.names, s.truth.shifted)
    assert signal.pad[involved].min() > 1.0 > 0.4 > signal.pad[calm].max()
    assert signal.mmd2[involved].min() > 10 * max(signal.mmd2[calm].max(), 1e-3)
    per_task = signal.task_shift()
    assert min(per_task[n]["pad"] for n in s.truth.shifted) > max(
        per_task[n]["pad"] for n in signal.names if n not in s.truth.shifted
    )


def test_a_mild_shift_still_ranks_above_no_shift() -> None:
    s, _, fold = scenario_fold(n_tasks=6, shift=1.0, shifted_fraction=0.5, rows_per_task=200, seed=0)
    signal = input_shift(fold)
    calm, involved = _masks(signal.names, s.truth.shifted)
    assert np.median(signal.pad[involved]) > np.median(signal.pad[calm]) + 0.3
    assert signal.mmd2[involved].mean() > 5 * max(signal.mmd2[calm].mean(), 1e-3)


def test_a_taskset_gives_the_same_picture_as_a_fold(shifted) -> None:
    s, ts, _ = shifted
    signal = input_shift(ts)
    calm, involved = _masks(signal.names, s.truth.shifted)
    assert signal.pad[involved].min() > 1.0 > 0.4 > signal.pad[calm].max()


def test_matrices_are_symmetric_with_a_zero_diagonal_and_json_ready(shifted) -> None:
    _, _, signal = shifted
    for m in (signal.pad, signal.mmd2, signal.domain_error):
        np.testing.assert_allclose(m, m.T)
    assert np.all(np.diag(signal.pad) == 0) and np.all(np.diag(signal.mmd2) == 0)
    data = signal.to_dict()
    json.dumps(data, allow_nan=False)
    assert set(data["task_shift"]) == set(signal.names)


def test_leave_one_out_error_matches_refitting_without_each_row(rng: np.random.Generator) -> None:
    X = rng.normal(size=(60, 4))
    X[30:] += 0.7
    samples = [np.arange(30), np.arange(30, 60)]
    closed = _domain_errors(X, samples, np.array([[0, 1]]), 4.0)[0]
    wide = _domain_errors(np.hstack([X, np.zeros((60, 100))]), samples, np.array([[0, 1]]), 4.0)[0]  # dual form
    Z = np.hstack([X, np.ones((60, 1))])
    t = np.r_[np.ones(30), -np.ones(30)]
    wrong = 0
    for r in range(60):
        keep = np.arange(60) != r
        w = np.linalg.solve(Z[keep].T @ Z[keep] + 4.0 * np.eye(5), Z[keep].T @ t[keep])
        wrong += np.sign(Z[r] @ w) != t[r]
    assert closed == pytest.approx(wrong / 60) == wide


def test_many_tasks_stay_fast_and_rows_are_capped() -> None:
    s, _, fold = scenario_fold(n_tasks=120, rows_per_task=60, n_features=20, shift=2.0, shifted_fraction=0.1, seed=0)
    signal = input_shift(fold, max_total_rows=3000)
    assert signal.seconds < 20
    assert signal.n_rows.max() <= 25
    calm, involved = _masks(signal.names, s.truth.shifted)
    assert np.nanmean(signal.pad[involved]) > np.nanmean(signal.pad[calm]) + 0.5


def test_multi_target_data_is_refused() -> None:
    s = make_scenario(layout="multi_target", n_tasks=3, rows_per_task=100, seed=0)
    ts = load_taskset(s.frame, s.spec)
    with pytest.raises(ValueError, match="share rows"):
        input_shift(ts)
    from probes.paradigms import prepare_folds

    with pytest.raises(ValueError, match="share rows"):
        input_shift(prepare_folds(ts, "fast")[0])


def test_an_exhausted_budget_is_reported() -> None:
    _, _, fold = scenario_fold(n_tasks=4, rows_per_task=60, seed=0)
    signal = input_shift(fold, budget=Budget(0.0))
    assert signal.budget_exhausted and signal.notes
    assert np.isnan(signal.pad[0, 1])
