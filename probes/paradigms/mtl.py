"""Multi-task learning: one model for all tasks, sharing a trunk or coupled weights.

Variants (DESIGN.md §4):

* ``mtl/hard`` — hard parameter sharing, a shared trunk and a head per task (Caruana 1997),
  task losses averaged; partial labels are masked out of the loss.
* ``mtl/uncertainty`` — the same network with uncertainty weighting (Kendall et al. 2018).
* ``mtl/pcgrad`` — the same network with PCGrad gradient surgery (Yu et al. 2020).
* ``mtl/soft`` — one network per task, coupled by an L2 penalty pulling each task's hidden
  weights towards their mean (Duong et al. 2015).
* ``mtl/cross_stitch`` — one network per task mixed by cross-stitch units (Misra et al. 2016).
* ``mtl/pooled`` and ``mtl/pooled_gbdt`` — one model on all rows with the task id as a feature.
* ``mtl/groups`` — hard sharing inside each group of a given task grouping (``groups`` param).

Under ``target_task`` every task trains jointly and early stopping watches the target. Under
``new_tasks`` (``mtl/hard``) the trunk trains on the meta-training tasks and each new task gets
a ridge (or logistic) head fitted on its support set, its penalty chosen on validation tasks.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import torch
from torch import nn

from probes.data import TaskSet
from probes.paradigms._backbone import CrossStitchMLP, SharedTrunkNet, StackedLinear, build_mlp
from probes.paradigms._base import Variant, backbone_from, backbone_space, train_space
from probes.paradigms._data import FoldData, MetaFoldData, TaskView
from probes.paradigms._training import (
    LabelSpace,
    MultiTaskArrays,
    RunContext,
    StepFn,
    predict_stacked,
    predict_tasks,
    stacked_arrays,
    torch_session,
    train_multitask,
    train_stacked,
)
from probes.paradigms.stl import gbdt_fit_predict
from probes.paradigms.weighting import STRATEGIES, GradientSurgery, LossWeighting

__all__ = [
    "MTL_CROSS_STITCH",
    "MTL_GROUPS",
    "MTL_HARD",
    "MTL_PCGRAD",
    "MTL_POOLED",
    "MTL_POOLED_GBDT",
    "MTL_SOFT",
    "MTL_UNCERTAINTY",
    "fit_hard_sharing",
    "fit_trunk_for_new_tasks",
    "meta_training_views",
    "refit_epochs",
]

#: Gradient surgery costs one backward pass per task per step; beyond this many tasks it is skipped.
MAX_PCGRAD_TASKS = 32
MAX_CROSS_STITCH_TASKS = 16


def _watched(data: FoldData) -> list[TaskView]:
    """Task views whose validation rows drive early stopping: the target's alone under target_task."""
    if data.target is None:
        return list(data.tasks)
    empty = np.empty(0, dtype=np.int64)
    return [
        v if t == data.target else replace(v, rows_valid=empty, y_valid=v.y_valid[:0]) for t, v in enumerate(data.tasks)
    ]


def _strategy_step(
    name: str, model: nn.Module, n_tasks: int, ctx: RunContext
) -> tuple[StepFn | None, list[nn.Parameter]]:
    """The optimiser-step hook implementing weighting strategy ``name``."""
    strategy = STRATEGIES[name]
    if isinstance(strategy, LossWeighting):
        if name == "equal":
            return None, []
        state = strategy.initial_state(n_tasks).to(ctx.device)
        extra: list[nn.Parameter] = []
        if strategy.learnable_state:
            state = nn.Parameter(state)
            extra = [state]

        def weighted(losses: torch.Tensor, present: torch.Tensor) -> None:
            strategy.combine(losses[present], state[present]).backward()

        return weighted, extra
    assert isinstance(strategy, GradientSurgery)
    shared = [p for n, p in model.named_parameters() if n.startswith("trunk.")]
    own = [p for n, p in model.named_parameters() if not n.startswith("trunk.")]
    generator = torch.Generator().manual_seed(ctx.seed)

    def surgery(losses: torch.Tensor, present: torch.Tensor) -> None:
        chosen = losses[present]
        k = chosen.shape[0]
        eye = torch.eye(k, device=chosen.device)
        grads = torch.autograd.grad(chosen, shared, grad_outputs=eye, is_grads_batched=True, retain_graph=True)
        jacobian = torch.cat([g.reshape(k, -1) for g in grads], dim=1)
        direction = strategy.aggregate(jacobian, generator)
        offset = 0
        for p in shared:
            p.grad = direction[offset : offset + p.numel()].view_as(p).clone()
            offset += p.numel()
        head_grads = torch.autograd.grad(chosen.mean(), own, allow_unused=True)
        for p, g in zip(own, head_grads, strict=True):
            p.grad = torch.zeros_like(p) if g is None else g

    return surgery, []


def fit_hard_sharing(
    X: np.ndarray,
    views: list[TaskView],
    params: dict[str, Any],
    ctx: RunContext,
    *,
    strategy: str = "equal",
    watched: list[TaskView] | None = None,
    epochs_used: list[int] | None = None,
) -> tuple[SharedTrunkNet, LabelSpace]:
    """Train a shared trunk with one head per task of ``views``; returns the network and label space."""
    config, cfg = backbone_from(params), ctx.train_config(params)
    space = LabelSpace.of(views)
    train = MultiTaskArrays.build(X, views, space, "train", ctx.device)
    valid = MultiTaskArrays.build(X, watched if watched is not None else views, space, "valid", ctx.device)
    model = SharedTrunkNet(X.shape[1], config, len(views), space.out_dim).to(ctx.device)
    step, extra = _strategy_step(strategy, model, len(views), ctx)
    train_multitask(
        model, train, valid, space, cfg, ctx,
        step=step, extra_parameters=extra, where=f"mtl ({strategy})", epochs_used=epochs_used,
    )  # fmt: skip
    return model, space


def _hard(strategy: str):
    def fit_predict(data: FoldData, params: dict[str, Any], ctx: RunContext) -> dict[int, np.ndarray]:
        with torch_session(ctx.seed, ctx.threads):
            model, space = fit_hard_sharing(
                data.X, list(data.tasks), params, ctx, strategy=strategy, watched=_watched(data)
            )
        rows = {t: data.tasks[t].rows_test for t in data.scored_tasks()}
        return predict_tasks(model, data.X, rows, space, ctx.device)

    return fit_predict


# --------------------------------------------------------------------------------- few-shot heads


def meta_training_views(
    data: MetaFoldData, tasks: tuple[int, ...], seed: int, valid_share: float = 0.2
) -> list[TaskView]:
    """Training tasks' rows split into training and validation parts (for early stopping).

    ``valid_share=0`` keeps every row for training (the refit of :func:`fit_trunk_for_new_tasks`).
    """
    rng = np.random.default_rng(seed)
    views = []
    for t in tasks:
        v = data.tasks[t]
        n = len(v.rows_train)
        pick = np.zeros(n, dtype=bool)
        k = round(valid_share * n) if n >= 5 else 0
        pick[rng.choice(n, size=k, replace=False)] = True
        views.append(
            TaskView(v.name, v.kind, v.n_classes, v.rows_train[~pick], v.rows_train[pick], v.rows_train[:0],
                     v.y_train[~pick], v.y_train[pick], v.y_train[:0])
        )  # fmt: skip
    return views


_RIDGE_ALPHAS = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)


def _head_predict(
    features_s: np.ndarray, ys: np.ndarray, features_q: np.ndarray, classification: bool, n_classes: int, alpha: float
) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression, Ridge

    if classification:
        proba = np.zeros((len(features_q), n_classes))
        classes = np.unique(ys.astype(int))
        if len(classes) == 1:
            proba[:, classes[0]] = 1.0
            return proba
        model = LogisticRegression(C=1.0 / alpha, max_iter=500).fit(features_s, ys.astype(int))
        proba[:, model.classes_] = model.predict_proba(features_q)
        return proba
    return Ridge(alpha=alpha).fit(features_s, ys).predict(features_q)


def fit_trunk_for_new_tasks(data: MetaFoldData, params: dict[str, Any], ctx: RunContext) -> SharedTrunkNet:
    """A hard-sharing trunk for new tasks, trained on every row of the training tasks.

    Early stopping needs held-out rows: a first fit holds out a fifth of each training task's rows
    to find the best number of epochs, then the trunk is refit on all rows for that many epochs
    (Goodfellow, Bengio & Courville 2016, *Deep Learning*, Algorithm 7.2). The meta-learners
    train on every row of the training tasks (their early stopping watches the validation tasks);
    without the refit this baseline would compete with four fifths of the data (:func:`refit_epochs`
    says when the first fit is kept).
    """
    views, epochs = meta_training_views(data, data.train_tasks, ctx.seed), []
    with torch_session(ctx.seed, ctx.threads):
        model, _ = fit_hard_sharing(data.X, views, params, ctx, epochs_used=epochs)
    if refit := refit_epochs(views, epochs):
        every_row = meta_training_views(data, data.train_tasks, ctx.seed, valid_share=0.0)
        with torch_session(ctx.seed, ctx.threads):
            model, _ = fit_hard_sharing(data.X, every_row, params, replace(ctx, max_epochs=refit))
    return model


def refit_epochs(views: list[TaskView], epochs_used: list[int]) -> int:
    """Epochs for the refit on every row after an early-stopped fit on ``views``; 0 keeps that fit.

    No refit when no row was held out (tasks under five rows: the fit already saw every row) or
    when no epoch improved on the untrained network: a refit would repeat the first fit.
    """
    return epochs_used[0] if any(len(v.rows_valid) for v in views) else 0


def _hard_fit_predict_meta(data: MetaFoldData, params: dict[str, Any], ctx: RunContext) -> list[np.ndarray]:
    model = fit_trunk_for_new_tasks(data, params, ctx)
    model.eval()

    def features(X: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model.features(torch.as_tensor(X, device=ctx.device)).cpu().numpy()

    def encode(episodes) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, TaskView]]:
        """Trunk features of each episode's support and query, computed once for every penalty."""
        out = []
        for episode in episodes:
            ctx.budget.check("mtl/hard few-shot heads")
            xs, ys, xq, _ = data.episode_arrays(episode)
            out.append((features(xs), ys, features(xq), data.tasks[episode.task]))
        return out

    def run(encoded, alpha: float) -> list[np.ndarray]:
        ctx.budget.check("mtl/hard few-shot heads")
        return [_head_predict(fs, ys, fq, v.is_classification, v.n_classes, alpha) for fs, ys, fq, v in encoded]

    def loss(preds: list[np.ndarray]) -> float:
        values = []
        for episode, pred in zip(data.valid_episodes, preds, strict=True):
            yq = data.episode_arrays(episode)[3]
            if pred.ndim == 2:
                values.append(-np.mean(np.log(np.clip(pred[np.arange(len(yq)), yq.astype(int)], 1e-7, 1))))
            else:
                values.append(np.mean((pred - yq) ** 2))
        return float(np.mean(values)) if values else 0.0

    alphas = [float(params["head_alpha"])] if "head_alpha" in params else list(_RIDGE_ALPHAS)
    valid = encode(data.valid_episodes)
    alpha = min(alphas, key=lambda a: loss(run(valid, a))) if valid else 1.0
    ctx.notes.append(f"mtl/hard few-shot head: ridge alpha={alpha:g}")
    return run(encode(data.test_episodes), alpha)


# --------------------------------------------------------------------------------- soft sharing


def _l2_coupling(model: nn.Module, strength: float):
    hidden = [m for m in model.modules() if isinstance(m, StackedLinear)][:-1]

    def penalty() -> torch.Tensor:
        total = torch.zeros((), device=hidden[0].weight.device) if hidden else torch.zeros(())
        for layer in hidden:
            for p in (layer.weight, layer.bias):
                total = total + ((p - p.mean(dim=0, keepdim=True)) ** 2).sum()
        return strength * total

    return penalty


def _soft_fit_predict(data: FoldData, params: dict[str, Any], ctx: RunContext) -> dict[int, np.ndarray]:
    config, cfg = backbone_from(params), ctx.train_config(params)
    space = LabelSpace.of(data.tasks)
    X, d = data.X, data.n_features
    wanted = set(data.scored_tasks())
    preds: dict[int, np.ndarray] = {}
    shapes: dict[tuple[str, int], list[int]] = {}
    for t, v in enumerate(data.tasks):
        shapes.setdefault((v.kind, v.n_out), []).append(t)
    with torch_session(ctx.seed, ctx.threads):
        for (kind, n_out), members in shapes.items():
            if not wanted & set(members):
                continue
            views = [data.tasks[t] for t in members]
            train = stacked_arrays(
                [(X[v.rows_train], space.encode(t, v.y_train)) for t, v in zip(members, views, strict=True)],
                ctx.device,
                d,
            )
            watch = _watched(data)
            valid = stacked_arrays(
                [(X[watch[t].rows_valid], space.encode(t, watch[t].y_valid)) for t in members], ctx.device, d
            )
            test = stacked_arrays(
                [(X[v.rows_test], np.zeros(len(v.rows_test), np.float32)) for v in views], ctx.device, d
            )
            model = build_mlp(d, config, n_out, copies=len(members)).to(ctx.device)
            penalty = _l2_coupling(model, float(params.get("coupling", 1e-2)))
            train_stacked(model, train, valid, kind == "classification", cfg, ctx, penalty=penalty, where="mtl/soft")
            out = predict_stacked(model, test)
            for k, t in enumerate(members):
                if t in wanted:
                    preds[t] = space.decode(t, out[k, : len(views[k].rows_test)])
    return preds


def _cross_stitch_fit_predict(data: FoldData, params: dict[str, Any], ctx: RunContext) -> dict[int, np.ndarray]:
    config, cfg = backbone_from(params), ctx.train_config(params)
    views = list(data.tasks)
    space = LabelSpace.of(views)
    with torch_session(ctx.seed, ctx.threads):
        train = MultiTaskArrays.build(data.X, views, space, "train", ctx.device)
        valid = MultiTaskArrays.build(data.X, _watched(data), space, "valid", ctx.device)
        model = CrossStitchMLP(data.n_features, config, len(views), space.out_dim).to(ctx.device)
        train_multitask(model, train, valid, space, cfg, ctx, where="mtl/cross_stitch")
    return predict_tasks(model, data.X, {t: views[t].rows_test for t in data.scored_tasks()}, space, ctx.device)


# --------------------------------------------------------------------------------------- pooled


def _same_label_space(taskset: TaskSet) -> str | None:
    kinds = {t.kind for t in taskset.tasks}
    if len(kinds) > 1:
        return "pooling needs every task to be of one kind"
    if kinds == {"classification"} and len({t.classes for t in taskset.tasks}) > 1:
        return "pooling needs every task to share one set of classes"
    return None


def _pooled_parts(data: FoldData, space: LabelSpace, part: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of every task with a one-hot task id appended: (X, y_encoded, task index)."""
    blocks, ys, ids = [], [], []
    eye = np.eye(data.n_tasks, dtype=np.float32)
    views = _watched(data) if part == "valid" else data.tasks
    for t, v in enumerate(views):
        rows = getattr(v, f"rows_{part}")
        blocks.append(np.hstack([data.X[rows], np.repeat(eye[t : t + 1], len(rows), axis=0)]))
        ys.append(space.encode(t, getattr(v, f"y_{part}")) if part != "test" else np.zeros(len(rows), np.float32))
        ids.append(np.full(len(rows), t))
    return np.vstack(blocks), np.concatenate(ys), np.concatenate(ids)


def _pooled_fit_predict(data: FoldData, params: dict[str, Any], ctx: RunContext) -> dict[int, np.ndarray]:
    config, cfg = backbone_from(params), ctx.train_config(params)
    space = LabelSpace.of(data.tasks)
    x_tr, y_tr, _ = _pooled_parts(data, space, "train")
    x_va, y_va, _ = _pooled_parts(data, space, "valid")
    x_te, _, id_te = _pooled_parts(data, space, "test")
    d = x_tr.shape[1]
    with torch_session(ctx.seed, ctx.threads):
        model = build_mlp(d, config, space.out_dim).to(ctx.device)
        train = stacked_arrays([(x_tr, y_tr)], ctx.device, d)
        valid = stacked_arrays([(x_va, y_va)], ctx.device, d)
        classification = space.kinds[0] == "classification"
        train_stacked(model, train, valid, classification, cfg, ctx, where="mtl/pooled")
        out = predict_stacked(model, stacked_arrays([(x_te, np.zeros(len(x_te), np.float32))], ctx.device, d))[0]
    return {t: space.decode(t, out[torch.as_tensor(id_te == t, device=out.device)]) for t in data.scored_tasks()}


def _pooled_gbdt_fit_predict(data: FoldData, params: dict[str, Any], ctx: RunContext) -> dict[int, np.ndarray]:
    space = LabelSpace.of(data.tasks)

    def with_id(part: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        views = _watched(data) if part == "valid" else data.tasks
        blocks, ys, ids = [], [], []
        for t, v in enumerate(views):
            rows = getattr(v, f"rows_{part}")
            blocks.append(np.hstack([data.X[rows], np.full((len(rows), 1), t, dtype=np.float32)]))
            y = getattr(v, f"y_{part}")
            ys.append(space.encode(t, y) if part != "test" else np.zeros(len(rows), np.float32))
            ids.append(np.full(len(rows), t))
        return np.vstack(blocks), np.concatenate(ys), np.concatenate(ids)

    ctx.budget.check("mtl/pooled_gbdt")
    x_tr, y_tr, _ = with_id("train")
    x_va, y_va, _ = with_id("valid")
    x_te, _, id_te = with_id("test")
    categorical = [x_tr.shape[1] - 1] if data.n_tasks <= 255 else None
    pred = gbdt_fit_predict(
        x_tr, y_tr, x_va, y_va, x_te, data.tasks[0], params, ctx.seed, categorical=categorical, threads=ctx.threads
    )
    out: dict[int, np.ndarray] = {}
    for t in data.scored_tasks():
        p = pred[id_te == t]
        out[t] = p if data.tasks[t].is_classification else p * space.std[t] + space.mean[t]
    return out


# --------------------------------------------------------------------------------------- groups


def _subset(data: FoldData, members: list[int]) -> FoldData:
    target = members.index(data.target) if data.target in members else None
    return replace(data, tasks=tuple(data.tasks[t] for t in members), target=target)


def _groups_fit_predict(data: FoldData, params: dict[str, Any], ctx: RunContext) -> dict[int, np.ndarray]:
    names = [v.name for v in data.tasks]
    groups: list[list[int]] = [[names.index(n) for n in group if n in names] for group in params.get("groups", [])]
    covered = {t for g in groups for t in g}
    groups = [g for g in groups if g] + [[t] for t in range(len(names)) if t not in covered]
    wanted = set(data.scored_tasks())
    preds: dict[int, np.ndarray] = {}
    fit = _hard("equal")
    for members in groups:
        if not wanted & set(members):
            continue
        sub = _subset(data, members)
        if data.target is not None and data.target not in members:
            continue
        for local, p in fit(sub, params, ctx).items():
            preds[members[local]] = p
    return preds


def _pcgrad_applicable(taskset: TaskSet) -> str | None:
    if taskset.n_tasks > MAX_PCGRAD_TASKS:
        return f"PCGrad costs a backward pass per task per step; skipped above {MAX_PCGRAD_TASKS} tasks"
    return None


def _cross_stitch_applicable(taskset: TaskSet) -> str | None:
    if taskset.n_tasks > MAX_CROSS_STITCH_TASKS:
        return f"cross-stitch networks grow with tasks²; skipped above {MAX_CROSS_STITCH_TASKS} tasks"
    return None


def _neural_space(trial: Any) -> dict[str, Any]:
    return {**backbone_space(trial), **train_space(trial)}


MTL_HARD = Variant(
    id="mtl/hard",
    description="shared trunk, one head per task, equal loss weights",
    fit_predict=_hard("equal"),
    fit_predict_meta=_hard_fit_predict_meta,
    search_space=_neural_space,
    min_tasks=2,
    citation="Caruana 1997",
)
MTL_UNCERTAINTY = Variant(
    id="mtl/uncertainty",
    description="shared trunk with uncertainty loss weighting",
    fit_predict=_hard("uncertainty"),
    search_space=_neural_space,
    min_tasks=2,
    citation="Kendall, Gal & Cipolla 2018",
)
MTL_PCGRAD = Variant(
    id="mtl/pcgrad",
    description="shared trunk with PCGrad gradient surgery",
    fit_predict=_hard("pcgrad"),
    search_space=_neural_space,
    applicable_to=_pcgrad_applicable,
    min_tasks=2,
    citation="Yu et al. 2020",
)
MTL_SOFT = Variant(
    id="mtl/soft",
    description="one network per task, hidden weights coupled by an L2 penalty",
    fit_predict=_soft_fit_predict,
    defaults={"coupling": 1e-2},
    search_space=lambda trial: {
        **_neural_space(trial),
        "coupling": trial.suggest_float("coupling", 1e-4, 1.0, log=True),
    },
    min_tasks=2,
    citation="Duong et al. 2015",
)
MTL_CROSS_STITCH = Variant(
    id="mtl/cross_stitch",
    description="one network per task mixed by cross-stitch units",
    fit_predict=_cross_stitch_fit_predict,
    search_space=_neural_space,
    applicable_to=_cross_stitch_applicable,
    min_tasks=2,
    citation="Misra et al. 2016",
)
MTL_POOLED = Variant(
    id="mtl/pooled",
    description="one MLP on all rows with the task id as a feature",
    fit_predict=_pooled_fit_predict,
    search_space=_neural_space,
    applicable_to=_same_label_space,
    min_tasks=2,
)
MTL_POOLED_GBDT = Variant(
    id="mtl/pooled_gbdt",
    description="gradient-boosted trees on all rows with the task id as a categorical feature",
    fit_predict=_pooled_gbdt_fit_predict,
    applicable_to=_same_label_space,
    min_tasks=2,
)
MTL_GROUPS = Variant(
    id="mtl/groups",
    description="hard sharing inside each group of a task grouping (param 'groups')",
    fit_predict=_groups_fit_predict,
    search_space=_neural_space,
    min_tasks=2,
    citation="Standley et al. 2020; Fifty et al. 2021",
)
