"""Choosing the learned recommender's settings on training cases only, and scoring that choice honestly.

Two settings are chosen by cross-validation over cases (never over rows: a case's paradigms
share its features): the regularisation ``C`` by out-of-fold log loss, then the simplicity
``margin`` (:func:`advisor._learned.choose`) by out-of-fold mean regret against the truth (the
headline figure), accuracy breaking ties, the smaller margin last. :func:`nested_choices` scores
the whole procedure: in each outer fold the settings are chosen on the outer training cases
alone (an inner cross-validation), and the held-out cases are decided by a model fitted with
them (Varma & Simon 2006, "Bias in error estimation when using cross-validation for model
selection").
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.oracle._evaluate import (
    Record,
    advisor_choice,
    case_folds,
    decisions,
    fit_model,
    method_metrics,
    out_of_fold_choices,
)

__all__ = ["GRID", "MARGINS", "Selection", "nested_choices", "select"]

GRID = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
MARGINS = (0.0, 0.05, 0.1, 0.15, 0.2)

Selection = dict[str, Any]


def _oof_log_loss(records: list[Record], c: float, folds: int = 5) -> float:
    losses = []
    for train, held in case_folds(records, folds=folds):
        model = fit_model(train, c=c)
        for r in held:
            for p in r.applicable:
                q = min(1 - 1e-6, max(1e-6, model.probability(r.features, p)))
                y = float(p in r.co_winners)
                losses.append(-(y * np.log(q) + (1 - y) * np.log(1 - q)))
    return float(np.mean(losses))


def _oof_decisions(records: list[Record], c: float, margin: float, seeds: int) -> tuple[float, float]:
    """Mean out-of-fold (regret, accuracy) of the advisor's choices over ``seeds`` fold splits."""
    regrets, accs = [], []
    for seed in range(seeds):
        choices = out_of_fold_choices(records, seed=seed, c=c, margin=margin)
        m = method_metrics(records, decisions("advisor", records, choices), uses_probes=True)
        regrets.append(m["mean_regret"])
        accs.append(m["accuracy"])
    return float(np.mean(regrets)), float(np.mean(accs))


def select(records: list[Record], *, seeds: int = 3) -> Selection:
    """``C`` by out-of-fold log loss, then the margin by out-of-fold regret (accuracy, then smaller, on ties)."""
    losses = {c: _oof_log_loss(records, c) for c in GRID}
    c = min(losses, key=lambda k: (round(losses[k], 6), k))
    scored = {m: _oof_decisions(records, c, m, seeds) for m in MARGINS}
    margin = min(MARGINS, key=lambda m: (round(scored[m][0], 6), -round(scored[m][1], 6), m))
    return {
        "C": c,
        "margin": margin,
        "oof_log_loss": {str(k): round(v, 4) for k, v in losses.items()},
        "oof_regret_by_margin": {str(m): round(v[0], 5) for m, v in scored.items()},
        "oof_accuracy_by_margin": {str(m): round(v[1], 4) for m, v in scored.items()},
    }


def nested_choices(
    records: list[Record], *, folds: int = 5, seed: int = 0, inner_seeds: int = 3, equivalence: float | None = None
) -> tuple[dict[str, tuple[str, float, str, tuple[str, ...]]], list[Selection]]:
    """Advisor decisions on every case from a model whose settings were chosen without it.

    Returns the decisions (as :func:`~benchmarks.oracle._evaluate.advisor_choice`) and each
    outer fold's selection. ``equivalence`` is the tie threshold of the "equivalent" verdict
    (the shipped model's, chosen on every training case: it sets the verdicts, not the choices).
    ``inner_seeds`` fold splits choose the margin, as :func:`select` does for the shipped model.
    """
    out: dict[str, tuple[str, float, str, tuple[str, ...]]] = {}
    chosen = []
    for train, held in case_folds(records, folds=folds, seed=seed):
        sel = select(train, seeds=inner_seeds)
        meta: dict[str, Any] = {"margin": sel["margin"]}
        if equivalence is not None:
            meta["equivalence"] = equivalence
        model = fit_model(train, c=sel["C"], meta=meta)
        for r in held:
            out[r.case] = advisor_choice(model, r)
        chosen.append({"C": sel["C"], "margin": sel["margin"]})
    return out, chosen
