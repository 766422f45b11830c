"""Transferability scores: features pretrained on related sources fit the target best.

Observed (6 tasks in 2 clusters, ρ = 0.9, target t00, two sources each, 3 seeds × both layouts):
LogME −0.66/−0.78/−0.53 (task-column) and −0.40/−0.18/−0.08 (multi-target) from related
sources vs −0.80 to −0.99 from unrelated ones and −0.82 to −1.14 from a random trunk; k-NN R²
0.65–0.87 vs 0.28–0.43 (unrelated) and 0.35–0.55 (random).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from probes.budget import Budget
from probes.exceptions import BudgetExhausted
from probes.paradigms import RunContext
from probes.signals import h_score, knn_score, logme, source_transferability
from tests.probes.signals._scenarios import scenario_fold


def _related_and_unrelated(scenario, names):
    cluster = scenario.truth.clusters
    related = [i for i, n in enumerate(names) if i and cluster[n] == cluster[names[0]]]
    unrelated = [i for i, n in enumerate(names) if cluster[n] != cluster[names[0]]][: len(related)]
    return related, unrelated


@pytest.mark.parametrize("layout", ["task_column", "multi_target"])
def test_features_from_related_sources_score_above_unrelated_sources_and_a_random_trunk(layout: str) -> None:
    s, ts, fold = scenario_fold(layout=layout, n_tasks=6, n_clusters=2, relatedness=0.9, rows_per_task=300, seed=0)
    related, unrelated = _related_and_unrelated(s, ts.task_names)
    ctx = RunContext(seed=0, max_epochs=60, patience=8)
    good = source_transferability(fold, 0, related, ctx)
    bad = source_transferability(fold, 0, unrelated, ctx)
    for score in ("logme", "knn"):
        assert good.scores["pretrained"][score] > bad.scores["pretrained"][score] + 0.1, score
        assert good.scores["pretrained"][score] > good.scores["random"][score] + 0.1, score
        assert good.gain(score) > bad.gain(score)
    assert good.scores["pretrained"]["h_score"] > bad.scores["pretrained"]["h_score"]
    assert good.scores["pretrained"]["h_score"] > good.scores["random"]["h_score"]
    assert good.sources == tuple(ts.task_names[i] for i in related) and good.target == ts.task_names[0]
    json.dumps(good.to_dict(), allow_nan=False)


def test_classification_target_is_scored_with_class_labels() -> None:
    s, ts, fold = scenario_fold(
        task_kind="classification", n_tasks=4, n_clusters=2, relatedness=0.9, rows_per_task=300, seed=0
    )
    related, unrelated = _related_and_unrelated(s, ts.task_names)
    ctx = RunContext(seed=0, max_epochs=40, patience=6)
    good = source_transferability(fold, 0, related, ctx)
    bad = source_transferability(fold, 0, unrelated, ctx)
    assert good.kind == "classification"
    assert good.scores["pretrained"]["logme"] > bad.scores["pretrained"]["logme"]
    assert 0.5 < good.scores["pretrained"]["knn"] <= 1.0


def test_logme_prefers_features_that_predict_the_labels(rng: np.random.Generator) -> None:
    n = 200
    y = rng.normal(size=n)
    perfect = np.column_stack([y, rng.normal(size=(n, 3))])
    noise = rng.normal(size=(n, 4))
    assert logme(perfect, y, "regression") > logme(noise, y, "regression") + 1.0
    classes = (y > 0).astype(int)
    assert logme(perfect, classes) > logme(noise, classes) + 0.1
    # the unit of a regression target does not matter
    assert logme(perfect, 1000 * y + 5, "regression") == pytest.approx(logme(perfect, y, "regression"))


def test_logme_matches_the_papers_fixed_point_on_a_small_example(rng: np.random.Generator) -> None:
    """Against a direct transcription of You et al.'s algorithm (eigen-decomposition of FᵀF)."""
    n, d = 80, 5
    F = rng.normal(size=(n, d))
    y = F @ rng.normal(size=d) + 0.5 * rng.normal(size=n)
    Fc, yc = F - F.mean(0), (y - y.mean()) / y.std()
    s, v = np.linalg.eigh(Fc.T @ Fc)
    alpha, beta = 1.0, 1.0
    for _ in range(200):
        gamma = np.sum(beta * s / (alpha + beta * s))
        m = v @ ((v.T @ Fc.T @ yc) * beta / (alpha + beta * s))
        alpha, beta = gamma / (m @ m), (n - gamma) / np.sum((yc - Fc @ m) ** 2)
    m = v @ ((v.T @ Fc.T @ yc) * beta / (alpha + beta * s))
    evidence = (
        d / 2 * np.log(alpha) + n / 2 * np.log(beta) - 0.5 * np.sum(np.log(alpha + beta * s))
        - beta / 2 * np.sum((yc - Fc @ m) ** 2) - alpha / 2 * (m @ m) - n / 2 * np.log(2 * np.pi)
    )  # fmt: skip
    assert logme(F, y, "regression") == pytest.approx(evidence / n, abs=1e-4)


def test_h_score_and_knn_separate_informative_from_noise_features(rng: np.random.Generator) -> None:
    n = 300
    x = rng.normal(size=(n, 3))
    classes = (x[:, 0] > 0).astype(int)
    noise = rng.normal(size=(n, 3))
    assert h_score(x, classes) > h_score(noise, classes) + 0.3
    assert knn_score(x, classes) > knn_score(noise, classes) + 0.2
    values = x[:, 0] + 0.1 * rng.normal(size=n)
    assert knn_score(x, values, "regression") > 0.7 > 0.1 > knn_score(noise, values, "regression")
    assert h_score(noise, classes) >= 0
    assert np.isnan(h_score(rng.normal(size=(30, 60)), classes[:30]))  # no more rows than dims: undefined
    with pytest.raises(ValueError, match="kind"):
        logme(x, values, "ranking")  # type: ignore[arg-type]


def test_bad_task_choices_are_refused() -> None:
    _, _, fold = scenario_fold(n_tasks=3, rows_per_task=60, seed=0)
    ctx = RunContext(seed=0)
    with pytest.raises(ValueError, match="cannot also be a source"):
        source_transferability(fold, 0, [0, 1], ctx)
    with pytest.raises(ValueError, match="at least one source"):
        source_transferability(fold, 0, [], ctx)
    with pytest.raises(ValueError, match="out of range"):
        source_transferability(fold, 0, [7], ctx)
    with pytest.raises(BudgetExhausted):
        source_transferability(fold, 0, [1, 2], RunContext(budget=Budget(0.0), seed=0))
