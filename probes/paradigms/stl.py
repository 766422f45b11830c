"""Single-task learning: one model per task, nothing shared.

* ``stl/mlp`` — a per-task MLP. K tasks of one kind train as one stacked network (batched
  matrix products) when ``batched`` is true, the default, because that measured faster
  (``benchmarks/bench_stl_batching.py``); ``batched=False`` trains them one after another.
* ``stl/gbdt`` — per-task gradient-boosted trees (scikit-learn ``HistGradientBoosting*``),
  early-stopped on the fold's validation rows.

Under ``new_tasks`` both learn each held-out task from its support set alone; the MLP's step
count and learning rate are chosen on validation tasks' episodes.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import torch

from probes.paradigms._adapt import SweepStop, finetune_episodes
from probes.paradigms._backbone import build_mlp
from probes.paradigms._base import Variant, backbone_from, backbone_space, train_space
from probes.paradigms._data import FoldData, MetaFoldData, TaskView
from probes.paradigms._training import (
    LabelSpace,
    RunContext,
    predict_stacked,
    stacked_arrays,
    torch_session,
    train_stacked,
)

__all__ = [
    "STL_GBDT",
    "STL_MLP",
    "episode_loss",
    "episode_scale",
    "gbdt_fit_predict",
    "pick_checkpoint",
    "sweep_stopper",
]


def _groups(data: FoldData, tasks: list[int]) -> dict[tuple[str, int], list[int]]:
    by_shape: dict[tuple[str, int], list[int]] = defaultdict(list)
    for t in tasks:
        by_shape[(data.tasks[t].kind, data.tasks[t].n_out)].append(t)
    return by_shape


def _mlp_fit_predict(data: FoldData, params: dict[str, Any], ctx: RunContext) -> dict[int, np.ndarray]:
    config, cfg = backbone_from(params), ctx.train_config(params)
    batched = bool(params.get("batched", True))
    tasks = data.scored_tasks()
    space = LabelSpace.of(data.tasks)
    preds: dict[int, np.ndarray] = {}
    with torch_session(ctx.seed, ctx.threads):
        for (kind, n_out), members in _groups(data, tasks).items():
            chunks = [members] if batched else [[t] for t in members]
            for chunk in chunks:
                _fit_chunk(data, chunk, kind, n_out, space, config, cfg, ctx, preds)
    return preds


def _fit_chunk(data, chunk, kind, n_out, space, config, cfg, ctx, preds) -> None:
    X, d = data.X, data.n_features
    views = [data.tasks[t] for t in chunk]
    train = stacked_arrays(
        [(X[v.rows_train], space.encode(t, v.y_train)) for t, v in zip(chunk, views, strict=True)], ctx.device, d
    )
    valid = stacked_arrays(
        [(X[v.rows_valid], space.encode(t, v.y_valid)) for t, v in zip(chunk, views, strict=True)], ctx.device, d
    )
    test = stacked_arrays([(X[v.rows_test], np.zeros(len(v.rows_test), np.float32)) for v in views], ctx.device, d)
    model = build_mlp(d, config, n_out, copies=len(chunk)).to(ctx.device)
    train_stacked(model, train, valid, kind == "classification", cfg, ctx, where="stl/mlp training")
    out = predict_stacked(model, test)
    for k, t in enumerate(chunk):
        preds[t] = space.decode(t, out[k, : len(views[k].rows_test)])


# ----------------------------------------------------------------------------------- few-shot


def episode_scale(data: MetaFoldData) -> tuple[float, float]:
    """Mean and spread of the meta-training tasks' targets: the scale few-shot learners work on."""
    ys = np.concatenate([data.tasks[t].y_train for t in (*data.train_tasks, *data.valid_tasks)])
    spread = float(np.std(ys)) or 1.0
    return float(np.mean(ys)), spread


def episode_loss(out: torch.Tensor, data: MetaFoldData, decode: Any) -> float:
    """Mean loss of the validation episodes' predictions ``out`` (``inf`` when they diverged).

    Squared error for regression, log loss for classification, averaged over episodes.
    """
    if not bool(torch.isfinite(out).all()) or float(out.abs().max()) > 1e6:
        return np.inf  # an adaptation that diverged is never the best
    losses = []
    for e, episode in enumerate(data.valid_episodes):
        _, _, _, yq = data.episode_arrays(episode)
        pred = decode(out[e, : len(yq)])
        if pred.ndim == 2:
            losses.append(-np.mean(np.log(np.clip(pred[np.arange(len(yq)), yq.astype(int)], 1e-7, 1))))
        else:
            losses.append(float(np.mean((pred - yq) ** 2)))
    return float(np.mean(losses)) if losses else np.inf


def pick_checkpoint(valid_outputs: dict[Any, torch.Tensor], data: MetaFoldData, decode: Any) -> Any:
    """The key (e.g. ``(lr, steps)``) whose validation-episode predictions lose least (diverged ones skipped)."""
    best_key, best_loss = None, np.inf
    for key, out in valid_outputs.items():
        loss = episode_loss(out, data, decode)
        if loss < best_loss - 1e-12:
            best_key, best_loss = key, loss
    return best_key


#: Checkpoints in a row without a new best validation loss after which a sweep stops early.
SWEEP_PATIENCE = 3


def sweep_stopper(data: MetaFoldData, decode: Any, ctx: RunContext) -> SweepStop | None:
    """Early stopping for a validation sweep over step counts, or ``None`` for a full sweep.

    Returns ``(steps, outputs) -> bool`` for :func:`~probes.paradigms._adapt.finetune_episodes`:
    true once :data:`SWEEP_PATIENCE` checkpoints in a row failed to beat the best validation
    loss so far (a diverged one counts as a failure). The checkpoints are spaced geometrically,
    so a sweep whose best is at a few steps ends after about four times as many instead of
    running to the last. The choice can differ from the full sweep's only when the loss falls
    to a new low after rising for that long. Every built-in preset stops early (``ctx.sweep_stop``),
    and so does any run under a time limit.
    """
    if not (ctx.sweep_stop or ctx.budget.limited):
        return None
    best, since = np.inf, 0

    def stop(steps: int, out: torch.Tensor) -> bool:
        nonlocal best, since
        loss = episode_loss(out, data, decode)
        if loss < best - 1e-12:
            best, since = loss, 0
        else:
            since += 1
        return since >= SWEEP_PATIENCE

    return stop


def _mlp_fit_predict_meta(data: MetaFoldData, params: dict[str, Any], ctx: RunContext) -> list[np.ndarray]:
    """A fresh MLP per support set; steps and learning rate chosen on validation episodes."""
    config = backbone_from(params)
    kind = data.tasks[data.test_episodes[0].task].kind
    classification = kind == "classification"
    n_out = max(v.n_out for v in data.tasks)
    mean, spread = (0.0, 1.0) if classification else episode_scale(data)

    def encode(y: np.ndarray) -> np.ndarray:
        return y.astype(np.float32) if classification else ((y - mean) / spread).astype(np.float32)

    def decode(out: torch.Tensor) -> np.ndarray:
        if classification:
            return torch.softmax(out, dim=-1).cpu().numpy()
        return out[:, 0].cpu().numpy() * spread + mean

    def run(episodes, lr: float, checkpoints: list[int], stop: SweepStop | None = None) -> dict[int, torch.Tensor]:
        arrays = [data.episode_arrays(e) for e in episodes]
        with torch_session(ctx.seed, ctx.threads):
            base = build_mlp(data.n_features, config, n_out).to(ctx.device)
            return finetune_episodes(
                base,
                [(xs, encode(ys)) for xs, ys, _, _ in arrays],
                [xq for _, _, xq, _ in arrays],
                classification=classification,
                checkpoints=checkpoints,
                lr=lr,
                ctx=ctx,
                optimizer="adam",
                weight_decay=float(params.get("weight_decay", 1e-4)),
                stop=stop,
            )

    checkpoints = [10, 30, 100, 300]
    lrs = [float(params["lr"])] if "lr" in params else [1e-3, 1e-2]
    valid = {
        (lr, s): out
        for lr in lrs
        for s, out in run(data.valid_episodes, lr, checkpoints, sweep_stopper(data, decode, ctx)).items()
    }
    lr, steps = pick_checkpoint(valid, data, decode) or (lrs[0], checkpoints[1])
    outputs = run(data.test_episodes, lr, [steps])[steps]
    ctx.notes.append(f"stl/mlp few-shot: lr={lr:g}, steps={steps}")
    return [decode(outputs[e, : len(data.episode_arrays(ep)[3])]) for e, ep in enumerate(data.test_episodes)]


# ------------------------------------------------------------------------------------------- gbdt


def gbdt_fit_predict(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_valid: np.ndarray,
    y_valid: np.ndarray,
    X_test: np.ndarray,
    view: TaskView,
    params: dict[str, Any],
    seed: int,
    categorical: list[int] | None = None,
    threads: int | None = 1,
) -> np.ndarray:
    """Fit one HistGradientBoosting model, early-stopped on the validation rows; predict ``X_test``.

    OpenMP threads are capped at ``threads``: on small data more threads only add contention.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads, user_api="openmp"):
        return _gbdt(X_train, y_train, X_valid, y_valid, X_test, view, params, seed, categorical)


def _gbdt(X_train, y_train, X_valid, y_valid, X_test, view, params, seed, categorical) -> np.ndarray:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    n = len(y_train)
    kwargs: dict[str, Any] = {
        "learning_rate": float(params.get("learning_rate", 0.1)),
        "max_iter": int(params.get("max_iter", 300)),
        "max_leaf_nodes": int(params.get("max_leaf_nodes", 31)),
        "min_samples_leaf": int(params.get("min_samples_leaf", max(1, min(20, n // 10)))),
        "l2_regularization": float(params.get("l2_regularization", 0.0)),
        "random_state": seed,
        "categorical_features": categorical,
    }
    if view.is_classification:
        classes = np.unique(y_train.astype(int))
        proba = np.zeros((len(X_test), view.n_classes))
        if len(classes) == 1:
            proba[:, classes[0]] = 1.0
            return proba
        keep = np.isin(y_valid.astype(int), classes)
        X_valid, y_valid = X_valid[keep], y_valid[keep]
        model = HistGradientBoostingClassifier(early_stopping=len(y_valid) >= 5, **kwargs)
        fit_kwargs = {"X_val": X_valid, "y_val": y_valid.astype(int)} if len(y_valid) >= 5 else {}
        model.fit(X_train, y_train.astype(int), **fit_kwargs)
        proba[:, model.classes_] = model.predict_proba(X_test)
        return proba
    # Early stopping compares the loss (in the target's units squared) with an absolute tolerance
    # (sklearn's 1e-7): a target in small units (a variance of 1e-6) stopped after ~10 iterations.
    # Scaled by the variance below 1, the rule no longer depends on the units; above 1 it is as before.
    tol = 1e-7 * min(1.0, float(np.var(y_train)))
    model = HistGradientBoostingRegressor(early_stopping=len(y_valid) >= 5, tol=tol, **kwargs)
    fit_kwargs = {"X_val": X_valid, "y_val": y_valid} if len(y_valid) >= 5 else {}
    model.fit(X_train, y_train, **fit_kwargs)
    return model.predict(X_test)


def _gbdt_fit_predict(data: FoldData, params: dict[str, Any], ctx: RunContext) -> dict[int, np.ndarray]:
    from threadpoolctl import threadpool_limits

    preds = {}
    X = data.X
    # One OpenMP limit for the whole fold: setting it costs ~5 ms (threadpoolctl reads the loaded
    # libraries), which per task added seconds on data sets of a hundred tasks.
    with threadpool_limits(limits=ctx.threads, user_api="openmp"):
        for t in data.scored_tasks():
            ctx.budget.check("stl/gbdt training")
            v = data.tasks[t]
            preds[t] = _gbdt(
                X[v.rows_train], v.y_train, X[v.rows_valid], v.y_valid, X[v.rows_test], v, params, ctx.seed, None
            )
    return preds


def _gbdt_fit_predict_meta(data: MetaFoldData, params: dict[str, Any], ctx: RunContext) -> list[np.ndarray]:
    from threadpoolctl import threadpool_limits

    out = []
    with threadpool_limits(limits=ctx.threads, user_api="openmp"):  # once, not per episode (see above)
        for episode in data.test_episodes:
            ctx.budget.check("stl/gbdt few-shot")
            xs, ys, xq, _ = data.episode_arrays(episode)
            view = data.tasks[episode.task]
            out.append(_gbdt(xs, ys, xs[:0], ys[:0], xq, view, {**params, "max_iter": 50}, ctx.seed, None))
    return out


def _gbdt_space(trial: Any) -> dict[str, Any]:
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.3, log=True),
        "max_leaf_nodes": trial.suggest_int("max_leaf_nodes", 7, 63, log=True),
        "l2_regularization": trial.suggest_float("l2_regularization", 1e-6, 1.0, log=True),
    }


STL_MLP = Variant(
    id="stl/mlp",
    description="one MLP per task (stacked into one batched network)",
    fit_predict=_mlp_fit_predict,
    fit_predict_meta=_mlp_fit_predict_meta,
    search_space=lambda trial: {**backbone_space(trial), **train_space(trial)},
)

STL_GBDT = Variant(
    id="stl/gbdt",
    description="gradient-boosted trees per task (HistGradientBoosting)",
    fit_predict=_gbdt_fit_predict,
    fit_predict_meta=_gbdt_fit_predict_meta,
    search_space=_gbdt_space,
    citation="Ke et al. 2017 (LightGBM), as implemented by scikit-learn",
)
