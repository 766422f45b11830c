"""Transfer learning: pretrain on source tasks, then fine-tune on the target (Yosinski et al. 2014).

* ``transfer/finetune`` — every layer is fine-tuned from the pretrained weights.
* ``transfer/head`` — the pretrained trunk is frozen; only a new head is trained (linear probe).

Sources are never the target. Under ``target_task`` they are every other task, or the subset
named by the ``sources`` param; the trunk pretrains on them with hard sharing. Under
``all_tasks`` every task is a target in turn: tasks are dealt into ``min(T, 4)`` groups (the
``source_groups`` param), and for
each group a trunk pretrains on the other groups' tasks and is fine-tuned on each task of the
group (all of a group's targets fine-tune as one stacked computation). Under ``new_tasks`` one
network pretrains on the meta-training tasks' rows pooled together, and each new task
fine-tunes a copy on its support set with plain SGD; the step count and learning rate are
chosen on validation tasks (DESIGN.md §9: untuned fine-tuning on 5 shots collapses).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import torch

from probes.data import TaskSet
from probes.paradigms._adapt import SweepStop, finetune_episodes
from probes.paradigms._backbone import StackedLinear, StackedMLP, build_mlp
from probes.paradigms._base import Variant, backbone_from, backbone_space, train_space
from probes.paradigms._data import FoldData, MetaFoldData, TaskView
from probes.paradigms._training import (
    LabelSpace,
    RunContext,
    StackedArrays,
    predict_stacked,
    stacked_arrays,
    torch_session,
    train_stacked,
)
from probes.paradigms.mtl import fit_hard_sharing, meta_training_views, refit_epochs
from probes.paradigms.stl import episode_scale, pick_checkpoint, sweep_stopper

__all__ = ["MAX_SOURCE_GROUPS", "TRANSFER_FINETUNE", "TRANSFER_HEAD", "source_groups"]

#: Under ``all_tasks``, at most this many pretrainings per fold (tasks are dealt into groups).
MAX_SOURCE_GROUPS = 4


def source_groups(n_tasks: int, seed: int, n_groups: int = MAX_SOURCE_GROUPS) -> list[list[int]]:
    """Tasks dealt into ``min(n_tasks, n_groups)`` groups (shuffled by ``seed``)."""
    order = np.random.default_rng(seed).permutation(n_tasks)
    k = max(2, min(n_tasks, n_groups))
    return [sorted(int(t) for t in order[g::k]) for g in range(k)]


def _transplant(
    trunk: StackedMLP, d: int, params: dict[str, Any], n_out: int, copies: int, head_only: bool
) -> StackedMLP:
    """A ``copies``-copy network whose hidden layers start from ``trunk`` and whose head is new."""
    model = build_mlp(d, backbone_from(params), n_out, copies=copies).to(next(trunk.parameters()).device)
    state = {k: v.detach().expand(copies, *v.shape[1:]).clone() for k, v in trunk.state_dict().items()}
    _missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected, unexpected
    if head_only:
        head = model[-1]
        assert isinstance(head, StackedLinear)
        for p in model.parameters():
            p.requires_grad_(False)
        for p in head.parameters():
            p.requires_grad_(True)
    return model


def _finetune_targets(
    data: FoldData,
    targets: list[int],
    trunk: StackedMLP,
    space: LabelSpace,
    params: dict[str, Any],
    ctx: RunContext,
    head_only: bool,
    preds: dict[int, np.ndarray],
) -> None:
    """Fine-tune ``trunk`` on each target (stacked by output shape) and predict its test rows."""
    X, d = data.X, data.n_features
    base = ctx.train_config({**params, "lr": params.get("finetune_lr", 1e-3)})
    # Fine-tuning starts from trained weights: half the epochs of training from scratch.
    cfg = replace(base, max_epochs=max(10, base.max_epochs // 2))
    shapes: dict[tuple[str, int], list[int]] = {}
    for t in targets:
        shapes.setdefault((data.tasks[t].kind, data.tasks[t].n_out), []).append(t)
    for (kind, n_out), members in shapes.items():
        views = [data.tasks[t] for t in members]
        model = _transplant(trunk, d, params, n_out, len(members), head_only)
        train = stacked_arrays(
            [(X[v.rows_train], space.encode(t, v.y_train)) for t, v in zip(members, views, strict=True)], ctx.device, d
        )
        valid = stacked_arrays(
            [(X[v.rows_valid], space.encode(t, v.y_valid)) for t, v in zip(members, views, strict=True)], ctx.device, d
        )
        test = stacked_arrays([(X[v.rows_test], np.zeros(len(v.rows_test), np.float32)) for v in views], ctx.device, d)
        train_stacked(model, train, valid, kind == "classification", cfg, ctx, where="transfer fine-tuning")
        out = predict_stacked(model, test)
        for k, t in enumerate(members):
            preds[t] = space.decode(t, out[k, : len(views[k].rows_test)])


def _pretrain(X: np.ndarray, views: list[TaskView], params: dict[str, Any], ctx: RunContext) -> StackedMLP:
    model, _ = fit_hard_sharing(X, views, params, ctx)
    return model.trunk


def _sources_for(data: FoldData, target: int, params: dict[str, Any]) -> list[int]:
    names = [v.name for v in data.tasks]
    chosen = params.get("sources")
    if chosen:
        return [names.index(n) for n in chosen if n in names and names.index(n) != target]
    return [t for t in range(data.n_tasks) if t != target]


def _fit_predict(head_only: bool):
    def fit_predict(data: FoldData, params: dict[str, Any], ctx: RunContext) -> dict[int, np.ndarray]:
        space = LabelSpace.of(data.tasks)
        preds: dict[int, np.ndarray] = {}
        with torch_session(ctx.seed, ctx.threads):
            if data.target is not None:
                sources = _sources_for(data, data.target, params)
                trunk = _pretrain(data.X, [data.tasks[s] for s in sources], params, ctx)
                _finetune_targets(data, [data.target], trunk, space, params, ctx, head_only, preds)
                return preds
            scored = set(data.scored_tasks())
            for group in source_groups(data.n_tasks, ctx.seed, int(params.get("source_groups", MAX_SOURCE_GROUPS))):
                targets = [t for t in group if t in scored]
                if not targets:
                    continue
                sources = [t for t in range(data.n_tasks) if t not in group]
                trunk = _pretrain(data.X, [data.tasks[s] for s in sources], params, ctx)
                _finetune_targets(data, targets, trunk, space, params, ctx, head_only, preds)
        return preds

    return fit_predict


# -------------------------------------------------------------------------------------- few-shot

_LRS = (1e-3, 3e-3, 1e-2, 3e-2)
_STEPS = (0, 5, 20, 50, 100)


def _fit_predict_meta(head_only: bool):
    def fit_predict_meta(data: MetaFoldData, params: dict[str, Any], ctx: RunContext) -> list[np.ndarray]:
        config, cfg = backbone_from(params), ctx.train_config(params)
        first = data.tasks[data.test_episodes[0].task]
        classification = first.is_classification
        n_out = max(v.n_out for v in data.tasks)
        mean, spread = (0.0, 1.0) if classification else episode_scale(data)

        def encode(y: np.ndarray) -> np.ndarray:
            return y.astype(np.float32) if classification else ((y - mean) / spread).astype(np.float32)

        def decode(out: torch.Tensor) -> np.ndarray:
            if classification:
                return torch.softmax(out, dim=-1).cpu().numpy()
            return out[:, 0].cpu().numpy() * spread + mean

        X, d = data.X, data.n_features

        def pretrain(views: list[TaskView], train_cfg: Any, epochs_used: list[int] | None = None) -> StackedMLP:
            def pooled(part: str) -> StackedArrays:
                xs = np.vstack([X[getattr(v, f"rows_{part}")] for v in views])
                return stacked_arrays(
                    [(xs, np.concatenate([encode(getattr(v, f"y_{part}")) for v in views]))], ctx.device, d
                )

            base = build_mlp(d, config, n_out).to(ctx.device)
            train_stacked(base, pooled("train"), pooled("valid"), classification, train_cfg, ctx,
                          where="transfer pooled pretraining", epochs_used=epochs_used)  # fmt: skip
            return base

        # Early stopping on a fifth of the training tasks' rows finds the epoch count; the
        # pretraining is then refit on every row for that many epochs, as the meta-learners
        # train on every row (see :func:`~probes.paradigms.mtl.fit_trunk_for_new_tasks`).
        views, epochs = meta_training_views(data, data.train_tasks, ctx.seed), []
        with torch_session(ctx.seed, ctx.threads):
            base = pretrain(views, cfg, epochs)
        refit = refit_epochs(views, epochs)
        with torch_session(ctx.seed, ctx.threads):
            if refit:
                every_row = meta_training_views(data, data.train_tasks, ctx.seed, valid_share=0.0)
                base = pretrain(every_row, replace(cfg, max_epochs=refit))

            def run(episodes, lr: float, steps: list[int], stop: SweepStop | None = None) -> dict[int, torch.Tensor]:
                arrays = [data.episode_arrays(e) for e in episodes]
                return finetune_episodes(
                    base,
                    [(xs, encode(ys)) for xs, ys, _, _ in arrays],
                    [xq for _, _, xq, _ in arrays],
                    classification=classification,
                    checkpoints=steps,
                    lr=lr,
                    ctx=ctx,
                    optimizer="sgd",
                    head_only=head_only,
                    stop=stop,
                )

            lrs = [float(params["finetune_lr"])] if "finetune_lr" in params else list(_LRS)
            valid = {
                (lr, s): out
                for lr in lrs
                for s, out in run(data.valid_episodes, lr, list(_STEPS), sweep_stopper(data, decode, ctx)).items()
            }
            lr, steps = pick_checkpoint(valid, data, decode) or (lrs[0], 0)
            outputs = run(data.test_episodes, lr, [steps])[steps]
        ctx.notes.append(f"transfer few-shot: SGD lr={lr:g}, steps={steps}")
        return [decode(outputs[e, : len(data.episode_arrays(ep)[3])]) for e, ep in enumerate(data.test_episodes)]

    return fit_predict_meta


def _space(trial: Any) -> dict[str, Any]:
    """Backbone, training and fine-tuning settings; ``source_groups`` matters under ``all_tasks`` only."""
    return {
        **backbone_space(trial),
        **train_space(trial),
        "finetune_lr": trial.suggest_float("finetune_lr", 1e-4, 1e-2, log=True),
        "source_groups": trial.suggest_categorical("source_groups", [2, MAX_SOURCE_GROUPS]),
    }


def _needs_sources(taskset: TaskSet) -> str | None:
    return None if taskset.n_tasks >= 2 else "transfer needs at least one source task besides the target"


TRANSFER_FINETUNE = Variant(
    id="transfer/finetune",
    description="pretrain on source tasks, fine-tune every layer on the target",
    fit_predict=_fit_predict(head_only=False),
    fit_predict_meta=_fit_predict_meta(head_only=False),
    search_space=_space,
    applicable_to=_needs_sources,
    min_tasks=2,
    citation="Yosinski et al. 2014",
    prunable=False,
)
TRANSFER_HEAD = Variant(
    id="transfer/head",
    description="pretrain on source tasks, train only a new head on the target",
    fit_predict=_fit_predict(head_only=True),
    fit_predict_meta=_fit_predict_meta(head_only=True),
    search_space=_space,
    applicable_to=_needs_sources,
    min_tasks=2,
    citation="Yosinski et al. 2014 (frozen features)",
    prunable=False,
)
