"""Metrics of the evaluation protocol, all reported higher-is-better.

Classification predictions are probability matrices ``(n_rows, n_classes)`` over a task's
class codes ``0..C-1``; regression predictions are vectors. Losses (log loss, RMSE, MAE) are
negated so that every score is "higher is better" and paired differences read the same way.
A score that is undefined on a test set (R² of a constant target, ROC-AUC with one class
present) is ``nan``; aggregation skips it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["DEFAULT_METRICS", "METRICS", "Metric", "metric_for", "pooled_r2_parts"]


@dataclass(frozen=True)
class Metric:
    """A named score function for one or both task kinds."""

    name: str
    kinds: frozenset[str]
    description: str
    fn: Callable[[np.ndarray, np.ndarray], float]

    def __call__(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        y_true = np.asarray(y_true)
        y_pred = np.asarray(y_pred)
        if len(y_true) == 0:
            return float("nan")
        return float(self.fn(y_true, y_pred))


def _r2(y: np.ndarray, p: np.ndarray) -> float:
    sst = float(np.sum((y - y.mean()) ** 2))
    if sst <= 1e-12 * max(1.0, float(np.sum(y**2))):
        return float("nan")
    return 1.0 - float(np.sum((y - p) ** 2)) / sst


def _neg_rmse(y: np.ndarray, p: np.ndarray) -> float:
    return -float(np.sqrt(np.mean((y - p) ** 2)))


def _neg_mae(y: np.ndarray, p: np.ndarray) -> float:
    return -float(np.mean(np.abs(y - p)))


def _present(y: np.ndarray) -> np.ndarray:
    return np.unique(y.astype(int))


def _roc_auc(y: np.ndarray, proba: np.ndarray) -> float:
    """One-vs-rest macro ROC-AUC over the classes present in ``y`` (Hand & Till style average)."""
    from sklearn.metrics import roc_auc_score

    present = _present(y)
    if len(present) < 2:
        return float("nan")
    if proba.shape[1] == 2 and len(present) == 2:
        return float(roc_auc_score(y == 1, proba[:, 1]))
    return float(np.mean([roc_auc_score(y == c, proba[:, c]) for c in present]))


def _accuracy(y: np.ndarray, proba: np.ndarray) -> float:
    return float(np.mean(proba.argmax(axis=1) == y))


def _balanced_accuracy(y: np.ndarray, proba: np.ndarray) -> float:
    pred = proba.argmax(axis=1)
    return float(np.mean([np.mean(pred[y == c] == c) for c in _present(y)]))


def _macro_f1(y: np.ndarray, proba: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y, proba.argmax(axis=1), labels=_present(y), average="macro", zero_division=0))


def _neg_log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    eps = 1e-7
    p = np.clip(proba[np.arange(len(y)), y.astype(int)], eps, 1.0)
    return float(np.mean(np.log(p)))


_REG = frozenset({"regression"})
_CLF = frozenset({"classification"})

METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric("r2", _REG, "coefficient of determination R²", _r2),
        Metric("rmse", _REG, "root mean squared error, negated", _neg_rmse),
        Metric("mae", _REG, "mean absolute error, negated", _neg_mae),
        Metric("roc_auc", _CLF, "one-vs-rest macro ROC-AUC", _roc_auc),
        Metric("accuracy", _CLF, "accuracy of the most probable class", _accuracy),
        Metric("balanced_accuracy", _CLF, "mean recall over classes", _balanced_accuracy),
        Metric("f1_macro", _CLF, "macro-averaged F1", _macro_f1),
        Metric("log_loss", _CLF, "log loss, negated", _neg_log_loss),
    ]
}

DEFAULT_METRICS: dict[str, str] = {"regression": "r2", "classification": "roc_auc"}


def metric_for(kind: str, override: str | None = None) -> Metric:
    """The metric for a task of ``kind``: the override when it applies to that kind, else the default."""
    if override is not None and kind in METRICS[override].kinds:
        return METRICS[override]
    return METRICS[DEFAULT_METRICS[kind]]


def pooled_r2_parts(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """``(SSE, SST)`` of one query set, for pooled R² = 1 - ΣSSE / ΣSST across tasks (DESIGN.md §3)."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    return float(np.sum((y - p) ** 2)), float(np.sum((y - y.mean()) ** 2))
