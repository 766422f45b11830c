"""Negative-transfer risk and probability of being best, from paired fold scores."""

from __future__ import annotations

import math

import pytest

from probes.protocol import FoldResult
from probes.risk import negative_transfer_risk, paired_task_differences, probability_best


def _folds(per_task: dict[str, list[float]]) -> list[FoldResult]:
    n = len(next(iter(per_task.values())))
    out = []
    for i in range(n):
        scores = {t: v[i] for t, v in per_task.items()}
        out.append(FoldResult(0, i, scores, sum(scores.values()) / len(scores), 80, 20))
    return out


def test_risk_is_high_when_sharing_loses_in_every_fold() -> None:
    stl = _folds({"a": [0.8, 0.82, 0.79, 0.81, 0.8], "b": [0.5, 0.55, 0.52, 0.51, 0.5]})
    mtl = _folds({"a": [0.6, 0.65, 0.61, 0.62, 0.6], "b": [0.58, 0.6, 0.59, 0.57, 0.6]})
    risk = negative_transfer_risk(mtl, stl, ["a", "b"], seed=1)
    assert risk["a"] == 1.0 and risk["b"] == 0.0


def test_risk_is_middling_when_sharing_is_a_coin_flip() -> None:
    stl = _folds({"a": [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]})
    mixed = _folds({"a": [0.52, 0.48, 0.51, 0.49, 0.53, 0.47]})
    assert 0.3 < negative_transfer_risk(mixed, stl, ["a"])["a"] < 0.7


def test_risk_is_nan_for_an_unscored_task_and_deterministic() -> None:
    stl = _folds({"a": [0.5, 0.6, 0.7]})
    other = _folds({"a": [0.4, 0.7, 0.6]})
    assert math.isnan(negative_transfer_risk(other, stl, ["zz"])["zz"])
    assert negative_transfer_risk(other, stl, ["a"], seed=3) == negative_transfer_risk(other, stl, ["a"], seed=3)
    assert paired_task_differences(other, stl, "a") == pytest.approx([-0.1, 0.1, -0.1])


def test_probability_best_sums_to_one_and_favours_the_consistent_winner() -> None:
    a = _folds({"t": [0.70, 0.72, 0.69, 0.71]})
    b = _folds({"t": [0.60, 0.62, 0.61, 0.63]})
    c = _folds({"t": [0.69, 0.73, 0.68, 0.70]})
    p = probability_best({"a": a, "b": b, "c": c})
    assert sum(p.values()) == pytest.approx(1.0)
    assert p["b"] == 0.0 and p["a"] > 0.3 and p["c"] > 0.1
    assert probability_best({"only": a}) == {"only": 1.0}
