"""Transferability: how well features learned on source tasks fit a target task's labels.

Three scores of a feature matrix against labels, each higher-is-better:

* LogME (You et al. 2021, "LogME: practical assessment of pre-trained models for transfer
  learning"): the log marginal evidence per row of a Bayesian linear model on the features,
  maximised over its prior and noise precisions by the paper's fixed-point iteration; one model
  per target column (a standardised value, or each class's one-hot column), averaged.
* H-score (Bao et al. 2019, "An information-theoretic approach to transferability in task
  transfer learning"): ``tr(cov(f)⁻¹ cov(E[f | y]))`` — how much of the features' spread the class
  means explain, with a shrunk covariance; regression labels are binned at quantiles.
* k-NN score: the cross-validated accuracy (classification) or R² (regression) of k nearest
  neighbours on the features, a model-free check.

:func:`source_transferability` pretrains a trunk on source tasks with hard sharing, embeds the
target's training rows and scores them, next to a randomly initialised trunk of the same shape:
a score only means something against that baseline (LogME and H-score depend on the feature
dimension and the label count).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

from probes.paradigms._backbone import build_mlp
from probes.paradigms._base import backbone_from
from probes.paradigms._data import FoldData
from probes.paradigms._training import RunContext, torch_session
from probes.signals._base import jsonable

__all__ = ["TransferabilitySignal", "h_score", "knn_score", "logme", "source_transferability"]

Kind = Literal["regression", "classification"]
SCORES = ("logme", "h_score", "knn")


def _check(features: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    F = np.asarray(features, dtype=np.float64)
    y = np.asarray(y)
    if F.ndim != 2 or y.ndim != 1 or len(F) != len(y):
        raise ValueError(f"features must be (rows, dims) and y (rows,); got {F.shape} and {y.shape}")
    if len(y) < 2:
        raise ValueError(f"need at least 2 rows, got {len(y)}")
    return F, y


def _targets(y: np.ndarray, kind: Kind) -> np.ndarray:
    """Centred target columns: the standardised value, or one-hot class indicators."""
    if kind == "classification":
        _, codes = np.unique(y, return_inverse=True)
        Y = np.eye(codes.max() + 1)[codes]
    elif kind == "regression":
        values = y.astype(np.float64)
        spread = values.std()
        Y = ((values - values.mean()) / (spread if spread > 0 else 1.0))[:, None]
    else:
        raise ValueError(f"kind must be 'regression' or 'classification', got {kind!r}")
    return Y - Y.mean(0)


def logme(features: np.ndarray, y: np.ndarray, kind: Kind = "classification", *, max_iter: int = 100) -> float:
    """LogME of ``features`` for labels ``y`` (You et al. 2021): mean log evidence per row.

    Features and target columns are centred (an unpenalised intercept); a regression target
    is standardised so the value does not depend on its unit.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(200, 3))
    >>> y = x[:, 0] + 0.1 * rng.normal(size=200)
    >>> logme(x, y, "regression") > logme(rng.normal(size=(200, 3)), y, "regression")
    True
    """
    F, y = _check(features, y)
    Y = _targets(y, kind)
    F = F - F.mean(0)
    n, d = F.shape
    U, sigma, _ = np.linalg.svd(F, full_matrices=False)
    s = sigma**2  # eigenvalues of FᵀF (the other d - len(s) are zero)
    z = U.T @ Y  # (r, columns)
    outside = np.maximum(np.sum(Y**2, axis=0) - np.sum(z**2, axis=0), 0.0)  # part of y no feature spans
    eps = 1e-5
    evidences = []
    for k in range(Y.shape[1]):
        zk = z[:, k]
        alpha, beta = 1.0, 1.0
        for _ in range(max_iter):
            shrink = beta * s / (alpha + beta * s)
            gamma = float(shrink.sum())
            m2 = float(np.sum((beta * sigma * zk / (alpha + beta * s)) ** 2))
            residual = float(np.sum((alpha * zk / (alpha + beta * s)) ** 2)) + float(outside[k])
            new_alpha = gamma / (m2 + eps)
            new_beta = max(n - gamma, eps) / (residual + eps)
            done = abs(new_alpha / new_beta - alpha / beta) <= 1e-3 * (alpha / beta)
            alpha, beta = new_alpha, new_beta
            if done:
                break
        m2 = float(np.sum((beta * sigma * zk / (alpha + beta * s)) ** 2))
        residual = float(np.sum((alpha * zk / (alpha + beta * s)) ** 2)) + float(outside[k])
        log_det = float(np.sum(np.log(alpha + beta * s))) + (d - len(s)) * np.log(alpha)
        evidence = (
            d / 2 * np.log(alpha)
            + n / 2 * np.log(beta)
            - 0.5 * log_det
            - beta / 2 * residual
            - alpha / 2 * m2
            - n / 2 * np.log(2 * np.pi)
        )
        evidences.append(evidence / n)
    return float(np.mean(evidences))


def h_score(features: np.ndarray, y: np.ndarray, kind: Kind = "classification", *, n_bins: int = 10) -> float:
    """H-score of ``features`` for labels ``y`` (Bao et al. 2019): ``tr(cov(f)⁻¹ cov(E[f|y]))``.

    The feature covariance is shrunk (Ledoit & Wolf 2004), the regularised H-score Ibrahim et
    al. (2022, "Newer is not always better: rethinking transferability metrics") recommend.
    With no more rows than (non-constant) dimensions the score is NaN: the plain score is then
    the same for any features, and the shrunk one was measured to rank noise above informative
    features as often as not. Regression labels are cut into ``n_bins`` quantile bins first.
    The value is at least 0 (without shrinkage it would be at most ``classes - 1``).
    """
    from sklearn.covariance import ledoit_wolf

    F, y = _check(features, y)
    if kind == "regression":
        edges = np.unique(np.quantile(y.astype(float), np.linspace(0, 1, n_bins + 1)[1:-1]))
        codes = np.searchsorted(edges, y.astype(float), side="right")
    elif kind == "classification":
        _, codes = np.unique(y, return_inverse=True)
    else:
        raise ValueError(f"kind must be 'regression' or 'classification', got {kind!r}")
    F = F - F.mean(0)
    keep = F.std(0) > 1e-12  # dead units carry nothing and would make the covariance singular
    if not keep.any():
        return 0.0
    F = F[:, keep]
    if len(F) <= F.shape[1]:
        return float("nan")
    cov, _ = ledoit_wolf(F, assume_centered=True)
    means = np.zeros_like(F)
    for c in np.unique(codes):
        members = codes == c
        means[members] = F[members].mean(0)
    between = means.T @ means / len(F)
    return float(np.trace(np.linalg.lstsq(cov, between, rcond=None)[0]))


def knn_score(
    features: np.ndarray, y: np.ndarray, kind: Kind = "classification", *, k: int = 10, n_folds: int = 5, seed: int = 0
) -> float:
    """Cross-validated k-NN accuracy (classification) or R² (regression) on ``features``."""
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    F, y = _check(features, y)
    folds = int(min(n_folds, len(y)))
    if folds < 2:
        return float("nan")
    neighbours = int(max(1, min(k, len(y) - int(np.ceil(len(y) / folds)) - 1)))
    if kind == "classification":
        _, counts = np.unique(y, return_counts=True)
        splitter = (
            StratifiedKFold(folds, shuffle=True, random_state=seed)
            if counts.min() >= folds
            else KFold(folds, shuffle=True, random_state=seed)
        )
        pred = cross_val_predict(KNeighborsClassifier(neighbours), F, y, cv=splitter)
        return float(np.mean(pred == y))
    if kind != "regression":
        raise ValueError(f"kind must be 'regression' or 'classification', got {kind!r}")
    values = y.astype(float)
    pred = cross_val_predict(
        KNeighborsRegressor(neighbours), F, values, cv=KFold(folds, shuffle=True, random_state=seed)
    )
    total = float(np.sum((values - values.mean()) ** 2))
    return 1.0 - float(np.sum((values - pred) ** 2)) / total if total > 0 else float("nan")


def _scores(features: np.ndarray, y: np.ndarray, kind: Kind, seed: int) -> dict[str, float]:
    return {
        "logme": logme(features, y, kind),
        "h_score": h_score(features, y, kind),
        "knn": knn_score(features, y, kind, seed=seed),
    }


# ------------------------------------------------------------------------------------- signal


@dataclass(frozen=True, eq=False)
class TransferabilitySignal:
    """Scores of source-pretrained features on one target, next to a random trunk's.

    ``scores["pretrained"]`` and ``scores["random"]`` each hold ``logme``, ``h_score`` and
    ``knn`` for the target's training rows.
    """

    target: str
    sources: tuple[str, ...]
    kind: str
    n_rows: int
    scores: dict[str, dict[str, float]]
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def gain(self, score: str = "logme") -> float:
        """Pretrained minus random for ``score``: above 0, pretraining on the sources helped the features."""
        return self.scores["pretrained"][score] - self.scores["random"][score]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (NaN as ``None``)."""
        return {
            "target": self.target,
            "sources": list(self.sources),
            "kind": self.kind,
            "n_rows": self.n_rows,
            "scores": jsonable(self.scores),
            "gain": jsonable({s: self.gain(s) for s in SCORES}),
            "seconds": round(self.seconds, 3),
            "notes": list(self.notes),
        }


def source_transferability(
    data: FoldData,
    target: int,
    sources: Sequence[int],
    ctx: RunContext,
    *,
    params: dict[str, Any] | None = None,
    max_rows: int = 2000,
) -> TransferabilitySignal:
    """Score features pretrained on ``sources`` for ``target``, against a random trunk.

    A trunk trains on the sources' training rows with hard sharing
    (:func:`probes.paradigms.mtl.fit_hard_sharing`, early-stopped on their validation rows);
    the target's training rows (at most ``max_rows``, a seeded sample) are embedded with it and
    with a randomly initialised trunk of the same shape, and both get LogME, H-score and k-NN.

    Parameters
    ----------
    data:
        A prepared row fold.
    target, sources:
        Task positions in ``data.tasks``; the target must not be a source.
    ctx:
        Budget (checked every pretraining epoch; running out raises
        :class:`~probes.exceptions.BudgetExhausted`), seed, device, threads, epochs.
    params:
        Backbone and optimiser settings of the pretraining (as for ``mtl/hard``).

    Examples
    --------
    >>> signal = source_transferability(fold, target=0, sources=[1, 2, 3], ctx=RunContext(seed=0))  # doctest: +SKIP
    >>> signal.gain("logme") > 0  # doctest: +SKIP
    True
    """
    from probes.paradigms.mtl import fit_hard_sharing

    sources = [int(s) for s in sources]
    if not sources:
        raise ValueError("source_transferability needs at least one source task")
    bad = [t for t in [target, *sources] if not 0 <= t < data.n_tasks]
    if bad:
        raise ValueError(f"task positions {bad} are out of range; the fold has {data.n_tasks} tasks")
    if target in sources:
        raise ValueError(f"the target (task {target}) cannot also be a source")
    started = time.perf_counter()
    params = dict(params or {})
    view = data.tasks[target]
    rows, y = view.rows_train, view.y_train
    if len(rows) > max_rows:
        keep = np.sort(np.random.default_rng(ctx.seed).choice(len(rows), size=max_rows, replace=False))
        rows, y = rows[keep], y[keep]
    with torch_session(ctx.seed, ctx.threads):
        random_trunk = build_mlp(data.n_features, backbone_from(params)).to(ctx.device)
    with torch_session(ctx.seed, ctx.threads):
        model, _ = fit_hard_sharing(data.X, [data.tasks[s] for s in sources], params, ctx)
    x = torch.as_tensor(data.X[rows], device=ctx.device)
    model.eval()
    random_trunk.eval()
    with torch.no_grad():
        pretrained = model.features(x).cpu().numpy()
        baseline = random_trunk(x.unsqueeze(0)).squeeze(0).cpu().numpy()
    kind: Kind = "classification" if view.is_classification else "regression"
    ctx.budget.check("transferability scores")
    scores = {"pretrained": _scores(pretrained, y, kind, ctx.seed), "random": _scores(baseline, y, kind, ctx.seed)}
    return TransferabilitySignal(
        target=view.name,
        sources=tuple(data.tasks[s].name for s in sources),
        kind=kind,
        n_rows=len(rows),
        scores=scores,
        seconds=time.perf_counter() - started,
    )
