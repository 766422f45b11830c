"""Meta-learning: a learned initialisation (MAML family) or a learned metric (prototypical networks).

Variants (DESIGN.md §4):

* ``meta/reptile`` — Reptile (Nichol, Achiam & Schulman 2018, "On first-order meta-learning
  algorithms"): a few SGD steps per task; the initialisation moves towards the adapted weights.
* ``meta/fomaml`` — first-order MAML (Finn, Abbeel & Levine 2017, "Model-agnostic meta-learning
  for fast adaptation of deep networks", §5.2): the query gradient at the adapted weights.
* ``meta/maml`` — MAML with second-order gradients through the inner steps: the tasks of a
  meta-batch are the copies of one stacked network (``functional_call`` on stacked parameters),
  their inner steps kept differentiable with ``create_graph``.
* ``meta/protonet`` — prototypical networks for classification (Snell, Swersky & Zemel 2017,
  "Prototypical networks for few-shot learning"): class prototypes are mean embeddings of the
  support rows; class probabilities are a softmax over negative squared distances to them.

Under ``new_tasks`` the learners meta-train on episodes drawn from the fold's training tasks
(support of the fold's shot count, query of the task's other rows, capped) and early-stop on
the validation tasks; the MAML family picks its test-time adaptation (SGD learning rate and
step count) on the validation tasks' episodes too, then adapts on each test support set (under a
time limit that sweep over step counts stops early once the validation loss stops improving,
:func:`~probes.paradigms.stl.sweep_stopper`). Under
``all_tasks`` and ``target_task`` they meta-train on episodes drawn from the tasks' training
rows, then adapt to each scored task on all its training rows, the learning rate and step count
chosen on that task's validation rows. Regression targets are standardised (few-shot: on the
meta-training tasks, :func:`~probes.paradigms.stl.episode_scale`; row folds: per task).

Meta-training runs ``iterations`` meta-batches with a validation round every ``eval_every`` of
them (a *meta-epoch*: reported to ``ctx.on_epoch`` for pruning, capped by the budget preset's
``max_epochs``). Everything runs on one thread unless ``ctx.threads`` says otherwise: the
tensors are tiny, and extra threads only add synchronisation (badly so on a busy machine).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad

from probes.data import TaskSet
from probes.paradigms._adapt import SweepStop, finetune_episodes
from probes.paradigms._backbone import StackedMLP, build_mlp
from probes.paradigms._base import Variant, backbone_from, backbone_space
from probes.paradigms._data import FoldData, MetaFoldData
from probes.paradigms._training import LabelSpace, RunContext, stacked_arrays, torch_session
from probes.paradigms.stl import episode_scale, pick_checkpoint, sweep_stopper

__all__ = [
    "META_FOMAML",
    "META_MAML",
    "META_PROTONET",
    "META_REPTILE",
    "MetaConfig",
    "TaskLoss",
    "TaskPool",
    "make_loss",
    "maml_gradients",
    "meta_config",
    "meta_train",
    "prototype_logits",
    "prototype_loss",
    "reptile_gradients",
    "sgd_adapt",
]

Params = dict[str, torch.Tensor]
Batch = tuple[torch.Tensor, ...]
Stepper = Callable[[Params, np.random.Generator], Params]
"""Pseudo-gradient of the meta-objective at ``params`` for one freshly sampled meta-batch."""
Validator = Callable[[Params], "float | None"]
"""Validation loss of an initialisation; ``None`` when there is nothing to validate on."""

#: Step counts read off during few-shot adaptation (``new_tasks``).
EPISODE_CHECKPOINTS = (0, 1, 2, 3, 5, 8, 12, 20, 35, 60, 100, 170, 300)
#: Step counts read off when adapting to a task's whole training part (row folds).
ROW_CHECKPOINTS = (0, 1, 2, 5, 10, 20, 40, 80, 160, 320)
#: Multiples of the inner learning rate tried at test time (few-shot; row folds).
EPISODE_LR_FACTORS = (0.5, 1.0, 2.0)
ROW_LR_FACTORS = (1.0, 3.0, 9.0)
#: Tasks the row-fold adaptation learning rate is chosen on.
LR_TASKS = 16
#: SGD steps of the validation adaptation in row folds (a whole training part needs more than a few shots).
ROW_VALID_STEPS = 20
#: Checkpoints without a better validation loss (every task) that end a row-fold adaptation.
ROW_PATIENCE = 2
_ROWS_CAP = 512


# ---------------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class MetaConfig:
    """Settings of one meta-training run.

    ``inner_lr`` and ``inner_steps`` are the adaptation the initialisation is trained for (SGD on
    standardised targets); ``meta_lr`` is the outer Adam step, decayed linearly to a tenth over
    ``iterations``. ``support_rows`` is the support size of row-fold episodes (few-shot episodes
    use the fold's shot count). A validation round every ``eval_every`` iterations; training stops
    after ``patience`` rounds without improvement.
    """

    algorithm: str = "maml"
    iterations: int = 500
    meta_batch: int = 16
    meta_lr: float = 1e-2
    inner_lr: float = 0.03
    inner_steps: int = 1
    query_rows: int = 25
    support_rows: int = 16
    eval_every: int = 25
    patience: int = 8

    @property
    def first_order(self) -> bool:
        return self.algorithm != "maml"

    @property
    def rounds(self) -> int:
        return max(1, -(-self.iterations // self.eval_every))


_ALGORITHM_DEFAULTS: dict[str, dict[str, Any]] = {
    "maml": {"iterations": 500, "inner_lr": 0.03, "inner_steps": 1, "meta_lr": 1e-2},
    "fomaml": {"iterations": 500, "inner_lr": 0.03, "inner_steps": 1, "meta_lr": 1e-2},
    "reptile": {"iterations": 500, "inner_lr": 0.03, "inner_steps": 3, "meta_lr": 1e-2},
    "protonet": {"iterations": 500, "meta_lr": 3e-3},
}


def meta_config(algorithm: str, params: dict[str, Any], ctx: RunContext) -> MetaConfig:
    """A :class:`MetaConfig` from search params; the budget preset's ``max_epochs`` caps the rounds."""
    merged = {**_ALGORITHM_DEFAULTS[algorithm], **params}
    base = MetaConfig()
    eval_every = max(1, int(merged.get("eval_every", base.eval_every)))
    iterations = int(merged.get("iterations", base.iterations))
    if ctx.max_epochs:
        iterations = min(iterations, int(ctx.max_epochs) * eval_every)
    return MetaConfig(
        algorithm=algorithm,
        iterations=max(1, iterations),
        meta_batch=max(1, int(merged.get("meta_batch", base.meta_batch))),
        meta_lr=float(merged.get("meta_lr", base.meta_lr)),
        inner_lr=float(merged.get("inner_lr", base.inner_lr)),
        inner_steps=max(1 if algorithm == "reptile" else 0, int(merged.get("inner_steps", base.inner_steps))),
        query_rows=max(1, int(merged.get("query_rows", base.query_rows))),
        support_rows=max(1, int(merged.get("support_rows", base.support_rows))),
        eval_every=eval_every,
        patience=max(1, int(merged.get("patience", base.patience))),
    )


def _threads(ctx: RunContext) -> int:
    return ctx.threads or 1


# ----------------------------------------------------------------------------- episode pools


def _draw(n: int, k: int, rng: np.random.Generator, exclude: np.ndarray | None = None) -> np.ndarray:
    """``k`` positions out of ``range(n)`` minus ``exclude``, without replacement while they last."""
    pool = np.arange(n) if exclude is None or len(exclude) >= n else np.setdiff1d(np.arange(n), exclude)
    if k <= len(pool):
        return pool[rng.permutation(len(pool))[:k]]
    reps = -(-k // len(pool))
    return np.concatenate([pool[rng.permutation(len(pool))] for _ in range(reps)])[:k]


def _split_draw(n: int, support: int, query: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint support and query positions (query rows repeat only when the task is short of rows)."""
    if n <= support:
        return _draw(n, support, rng), _draw(n, query, rng)
    order = rng.permutation(n)
    rest = order[support:]
    return order[:support], rest[:query] if len(rest) >= query else rest[_draw(len(rest), query, rng)]


def _draw_stratified(y: np.ndarray, per_class: int, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    """``per_class`` rows of each class (a class keeps one row for the query), padded to a fixed size."""
    labels = y.astype(int)
    parts = []
    for c in range(n_classes):
        members = np.flatnonzero(labels == c)
        if len(members):
            parts.append(members[_draw(len(members), min(per_class, max(len(members) - 1, 1)), rng)])
    chosen = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
    size = per_class * n_classes
    if len(chosen) < size:
        chosen = np.concatenate([chosen, _draw(len(y), size - len(chosen), rng)])
    return chosen[:size]


@dataclass(frozen=True, eq=False)
class TaskPool:
    """Tasks to draw meta-training episodes from: each task's feature rows and encoded labels."""

    X: tuple[np.ndarray, ...]
    y: tuple[np.ndarray, ...]
    classification: bool
    n_classes: int

    def __post_init__(self) -> None:
        if not self.X:
            raise ValueError("meta-training needs at least one task with training rows")

    def __len__(self) -> int:
        return len(self.X)

    def sample(
        self, rng: np.random.Generator, batch: int, support: int, query: int, device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(Xs, ys, Xq, yq)`` of ``batch`` episodes: ``(batch, rows, features)`` and ``(batch, rows)``.

        Every episode has the same shape (they are stacked into one batch). Classification supports hold
        ``support // n_classes`` rows of each class. Tasks are drawn without replacement while
        they last.
        """
        per_class = max(1, support // self.n_classes)
        xs, ys, xq, yq = [], [], [], []
        for t in _draw(len(self), batch, rng):
            X, y = self.X[t], self.y[t]
            if self.classification:
                s = _draw_stratified(y, per_class, self.n_classes, rng)
                q = _draw(len(y), query, rng, exclude=s)
            else:
                s, q = _split_draw(len(y), support, query, rng)
            xs.append(X[s])
            ys.append(y[s])
            xq.append(X[q])
            yq.append(y[q])
        return _tensor(xs, device), _tensor(ys, device), _tensor(xq, device), _tensor(yq, device)

    def sample_sequences(
        self, rng: np.random.Generator, batch: int, steps: int, rows: int, device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Reptile's inner data: ``steps`` mini-batches of ``rows`` rows per task, ``(batch, steps, rows, ...)``."""
        xs, ys = [], []
        for t in _draw(len(self), batch, rng):
            idx = _draw(len(self.y[t]), steps * rows, rng).reshape(steps, rows)
            xs.append(self.X[t][idx])
            ys.append(self.y[t][idx])
        return _tensor(xs, device), _tensor(ys, device)


def _tensor(parts: list[np.ndarray], device: torch.device) -> torch.Tensor:
    return torch.as_tensor(np.stack(parts).astype(np.float32), device=device)


def _padded(parts: Sequence[tuple[np.ndarray, np.ndarray]], device: torch.device, d: int) -> Batch:
    """Episodes of different sizes as ``(X, y, mask)`` padded tensors."""
    arrays = stacked_arrays([(x, np.asarray(y, dtype=np.float32)) for x, y in parts], device, d)
    return arrays.X, arrays.y, arrays.mask.float()


# ---------------------------------------------------------------- MAML family: pure functions


class TaskLoss:
    """Masked mean loss of each task's rows under stacked parameters, one copy per task.

    ``per_task(params, X, y, mask)`` takes parameters with a leading copy dimension of 1 or
    ``tasks`` and ``X`` shaped ``(tasks, rows, features)``; it returns the ``(tasks,)`` losses in
    one batched forward pass (:class:`~probes.paradigms._backbone.StackedMLP`). Because copy
    ``i`` only touches task ``i``'s loss, the gradient of their sum with respect to stacked
    parameters is every task's own gradient at once: the MAML family below needs no ``vmap``,
    whose per-call overhead dominated on these tiny networks. Calling the object scores one
    task (``X`` shaped ``(rows, features)``).
    """

    def __init__(self, model: StackedMLP, classification: bool) -> None:
        self.model = model
        self.classification = classification

    def per_task(self, params: Params, X: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        out = functional_call(self.model, _per_task_copies(params, X.shape[0]), (X,))
        if self.classification:
            per = nn.functional.cross_entropy(out.permute(0, 2, 1), y.long(), reduction="none")
        else:
            per = (out[..., 0] - y) ** 2
        return (per * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)

    def __call__(self, params: Params, X: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.per_task(params, X.unsqueeze(0), y.unsqueeze(0), mask.unsqueeze(0))[0]


def _per_task_copies(params: Params, tasks: int) -> Params:
    """``params`` with one copy per task: a single copy (the initialisation) is broadcast, not copied."""
    return {k: v if v.shape[0] == tasks else v.expand(tasks, *v.shape[1:]) for k, v in params.items()}


def make_loss(model: StackedMLP, classification: bool) -> TaskLoss:
    """The :class:`TaskLoss` of ``model``: squared error (standardised targets) or cross-entropy."""
    return TaskLoss(model, classification)


def sgd_adapt(
    loss: TaskLoss,
    params: Params,
    X: torch.Tensor,
    y: torch.Tensor,
    mask: torch.Tensor,
    lr: float,
    steps: int,
    *,
    create_graph: bool = False,
) -> Params:
    """``steps`` full-batch SGD steps on every task of ``X`` at once: stacked ``(tasks, ...)`` parameters.

    ``params`` may hold one copy (the initialisation, broadcast to every task) or one per task.
    With ``create_graph`` the steps stay differentiable, so MAML's outer gradient sees through
    them (second order); without it each step is detached (first order, Reptile, evaluation).
    """
    current = _per_task_copies(params, X.shape[0])
    for _ in range(steps):
        if not create_graph:
            current = {k: v.detach().requires_grad_(True) for k, v in current.items()}
        with torch.enable_grad():
            g = torch.autograd.grad(
                loss.per_task(current, X, y, mask).sum(), tuple(current.values()), create_graph=create_graph
            )
            current = {k: p - lr * gk for (k, p), gk in zip(current.items(), g, strict=True)}
    return current if create_graph else {k: v.detach() for k, v in current.items()}


def maml_gradients(loss: TaskLoss, params: Params, batch: Batch, cfg: MetaConfig) -> Params:
    """Meta-gradient of the mean query loss after ``cfg.inner_steps`` SGD steps on each support set.

    Second order (MAML, Finn et al. 2017): the outer gradient differentiates through every
    task's inner steps (``create_graph``), all tasks of the meta-batch as one stacked network.
    First order (FOMAML, §5.2): the query gradient at each task's adapted weights, averaged
    over tasks.
    """
    xs, ys, xq, yq = batch
    ms, mq = torch.ones_like(ys), torch.ones_like(yq)
    if cfg.first_order:
        adapted = {
            k: v.requires_grad_(True)
            for k, v in sgd_adapt(loss, params, xs, ys, ms, cfg.inner_lr, cfg.inner_steps).items()
        }
        with torch.enable_grad():
            grads = torch.autograd.grad(loss.per_task(adapted, xq, yq, mq).sum(), tuple(adapted.values()))
        return {k: g.mean(0, keepdim=True) for k, g in zip(adapted, grads, strict=True)}
    theta = {k: v.detach().requires_grad_(True) for k, v in params.items()}
    with torch.enable_grad():
        adapted = sgd_adapt(loss, theta, xs, ys, ms, cfg.inner_lr, cfg.inner_steps, create_graph=True)
        objective = loss.per_task(adapted, xq, yq, mq).mean()
        grads = torch.autograd.grad(objective, tuple(theta.values()))
    return dict(zip(theta, grads, strict=True))


def reptile_gradients(loss: TaskLoss, params: Params, batch: Batch, cfg: MetaConfig) -> Params:
    """Reptile's direction: the initialisation minus the mean of the tasks' adapted weights.

    ``batch`` is ``(X, y)`` shaped ``(tasks, steps, rows, ...)``: each inner SGD step sees a new
    mini-batch of its task (Nichol et al. 2018, Algorithm 2, the batched version).
    """
    X, y = batch
    mask = torch.ones_like(y[:, 0])
    adapted: Params = params
    for i in range(X.shape[1]):
        adapted = sgd_adapt(loss, adapted, X[:, i], y[:, i], mask, cfg.inner_lr, 1)
    return {k: params[k] - a.mean(0, keepdim=True) for k, a in adapted.items()}


def episode_losses(loss: TaskLoss, params: Params, support: Batch, query: Batch, lr: float, steps: int) -> torch.Tensor:
    """Per-episode query loss after ``steps`` SGD steps on each (padded, masked) support set."""
    adapted = sgd_adapt(loss, params, *support, lr, steps)
    with torch.no_grad():
        return loss.per_task(adapted, *query)


def _gradient_stepper(loss: TaskLoss, pool: TaskPool, cfg: MetaConfig, support: int, device: torch.device) -> Stepper:
    batch = min(cfg.meta_batch, len(pool))
    if cfg.algorithm == "reptile":

        def reptile(params: Params, rng: np.random.Generator) -> Params:
            sequences = pool.sample_sequences(rng, batch, cfg.inner_steps, support, device)
            return reptile_gradients(loss, params, sequences, cfg)

        return reptile

    def maml(params: Params, rng: np.random.Generator) -> Params:
        return maml_gradients(loss, params, pool.sample(rng, batch, support, cfg.query_rows, device), cfg)

    return maml


def _adaptation_validator(
    loss: TaskLoss,
    supports: Sequence[tuple[np.ndarray, np.ndarray]],
    queries: Sequence[tuple[np.ndarray, np.ndarray]],
    lr: float,
    steps: int,
    device: torch.device,
    d: int,
) -> Validator:
    """Query loss (pooled over rows) of validation episodes after ``steps`` SGD steps at ``lr``."""
    if not supports or not sum(len(y) for _, y in queries):
        return lambda params: None
    support, query = _padded(supports, device, d), _padded(queries, device, d)
    weights = query[2].sum(1)

    def validate(params: Params) -> float:
        with torch.no_grad():
            losses = episode_losses(loss, params, support, query, lr, steps)
        return float((losses * weights).sum() / weights.sum())

    return validate


# -------------------------------------------------------------------------------- outer loop


def meta_train(
    model: nn.Module, step: Stepper, validate: Validator, cfg: MetaConfig, ctx: RunContext, where: str
) -> int:
    """Adam on ``step``'s pseudo-gradients, with a validation round every ``cfg.eval_every`` iterations.

    Keeps the weights of the best round (restored at the end) and stops after ``cfg.patience``
    rounds without improvement; without validation data it keeps the last weights. Checks the
    budget before every meta-batch. Returns the number of iterations behind the kept weights.
    """
    named = dict(model.named_parameters())
    optimizer = torch.optim.Adam(named.values(), lr=cfg.meta_lr)
    rng = np.random.default_rng(ctx.seed)
    best_loss, best_iteration, waited = np.inf, 0, 0
    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    model.train()
    for epoch in range(cfg.rounds):
        done = min((epoch + 1) * cfg.eval_every, cfg.iterations)
        for iteration in range(epoch * cfg.eval_every, done):
            ctx.budget.check(where)
            for group in optimizer.param_groups:
                group["lr"] = cfg.meta_lr * (1.0 - 0.9 * iteration / cfg.iterations)
            grads = step({k: v.detach() for k, v in named.items()}, rng)
            for k, p in named.items():
                p.grad = grads[k].detach()
            optimizer.step()
        ctx.budget.check(where)
        value = validate({k: v.detach() for k, v in named.items()})
        if value is None or not np.isfinite(best_loss) or value < best_loss - 1e-6 * abs(best_loss):
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            best_iteration, waited = done, 0
            best_loss = np.inf if value is None else value
        else:
            waited += 1
        if value is not None and ctx.on_epoch is not None:
            ctx.on_epoch(epoch, -value)
        if waited >= cfg.patience:
            break
    model.load_state_dict(best_state)
    return best_iteration


# ------------------------------------------------------------------------------ few-shot data


def _shots(data: MetaFoldData) -> int:
    """Support size of the fold's episodes (all classes together for classification)."""
    episodes = (*data.valid_episodes, *data.test_episodes)
    return max(1, len(episodes[0].support)) if episodes else 1


def _sane(out: torch.Tensor) -> bool:
    """Outputs of an adaptation that did not diverge (the larger learning rates can)."""
    return bool(torch.isfinite(out).all() and out.abs().max() < 1e4)


# ------------------------------------------------------------------- MAML family: new_tasks


def _gradient_fit_predict_meta(
    algorithm: str,
) -> Callable[[MetaFoldData, dict[str, Any], RunContext], list[np.ndarray]]:
    def fit_predict_meta(data: MetaFoldData, params: dict[str, Any], ctx: RunContext) -> list[np.ndarray]:
        cfg, config = meta_config(algorithm, params, ctx), backbone_from(params)
        classification = data.tasks[data.test_episodes[0].task].is_classification
        n_out = max(v.n_out for v in data.tasks)
        mean, spread = (0.0, 1.0) if classification else episode_scale(data)

        def encode(y: np.ndarray) -> np.ndarray:
            return y.astype(np.float32) if classification else ((y - mean) / spread).astype(np.float32)

        def decode(out: torch.Tensor) -> np.ndarray:
            if classification:
                return torch.softmax(out.float(), dim=-1).cpu().numpy()
            return out[:, 0].double().cpu().numpy() * spread + mean

        pool = TaskPool(
            tuple(data.X[data.tasks[t].rows_train] for t in data.train_tasks),
            tuple(encode(data.tasks[t].y_train) for t in data.train_tasks),
            classification,
            n_out,
        )
        valid = [data.episode_arrays(e) for e in data.valid_episodes]
        test = [data.episode_arrays(e) for e in data.test_episodes]
        d = data.n_features
        with torch_session(ctx.seed, _threads(ctx)):
            model = build_mlp(d, config, n_out).to(ctx.device)
            loss = make_loss(model, classification)
            validate = _adaptation_validator(
                loss,
                [(xs, encode(ys)) for xs, ys, _, _ in valid],
                [(xq, encode(yq)) for _, _, xq, yq in valid],
                cfg.inner_lr,
                cfg.inner_steps,
                ctx.device,
                d,
            )
            step = _gradient_stepper(loss, pool, cfg, _shots(data), ctx.device)
            iterations = meta_train(model, step, validate, cfg, ctx, f"meta/{algorithm} meta-training")

            def adapt(
                arrays: list, lr: float, checkpoints: Sequence[int], stop: SweepStop | None = None
            ) -> dict[int, torch.Tensor]:
                supports = [(xs, encode(ys)) for xs, ys, _, _ in arrays]
                queries = [xq for _, _, xq, _ in arrays]
                return finetune_episodes(
                    model,
                    supports,
                    queries,
                    classification=classification,
                    checkpoints=checkpoints,
                    lr=lr,
                    ctx=ctx,
                    stop=stop,
                )

            lr, steps = cfg.inner_lr, cfg.inner_steps
            if valid:
                outputs = {
                    (cfg.inner_lr * f, s): out
                    for f in EPISODE_LR_FACTORS
                    for s, out in adapt(
                        valid, cfg.inner_lr * f, EPISODE_CHECKPOINTS, sweep_stopper(data, decode, ctx)
                    ).items()
                    if _sane(out)
                }
                lr, steps = pick_checkpoint(outputs, data, decode) or (lr, steps)
            out = adapt(test, lr, [steps])[steps]
        ctx.notes.append(f"meta/{algorithm} few-shot: lr={lr:g}, steps={steps} after {iterations} meta-iterations")
        return [decode(out[e, : len(arrays[3])]) for e, arrays in enumerate(test)]

    return fit_predict_meta


# ------------------------------------------------------------------- MAML family: row folds


def _groups(data: FoldData) -> dict[tuple[str, int], list[int]]:
    """Scored tasks by output shape: each group meta-learns its own initialisation."""
    groups: dict[tuple[str, int], list[int]] = defaultdict(list)
    for t in data.scored_tasks():
        groups[(data.tasks[t].kind, data.tasks[t].n_out)].append(t)
    return groups


def _cap(X: np.ndarray, y: np.ndarray, cap: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """At most ``cap`` random rows (validation adaptation stays cheap on large tasks)."""
    if len(y) <= cap:
        return X, y
    keep = np.sort(rng.choice(len(y), size=cap, replace=False))
    return X[keep], y[keep]


def _row_episodes(
    data: FoldData, tasks: list[int], space: LabelSpace, rng: np.random.Generator, part: str = "valid"
) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[tuple[np.ndarray, np.ndarray]]]:
    """Per task, its training rows as a support set and its ``part`` rows as the query.

    Labels are encoded; test queries get placeholder labels (nothing may read test labels).
    """
    supports, queries = [], []
    for t in tasks:
        v = data.tasks[t]
        supports.append(_cap(data.X[v.rows_train], space.encode(t, v.y_train), _ROWS_CAP, rng))
        if part == "test":
            queries.append((data.X[v.rows_test], np.zeros(len(v.rows_test), dtype=np.float32)))
        else:
            queries.append(_cap(data.X[v.rows_valid], space.encode(t, v.y_valid), _ROWS_CAP, rng))
    return supports, queries


def _mean_loss(out: torch.Tensor, y: np.ndarray, classification: bool) -> float:
    target = torch.as_tensor(y, device=out.device)
    if classification:
        return float(nn.functional.cross_entropy(out.float(), target.long()))
    return float(((out[:, 0].float() - target) ** 2).mean())


def _adapt_rows(
    model: StackedMLP, data: FoldData, scored: list[int], space: LabelSpace, cfg: MetaConfig, ctx: RunContext
) -> tuple[dict[int, np.ndarray], str]:
    """Fine-tune the initialisation on each scored task's training rows, one stacked copy per task.

    All step counts are read off the same runs. The learning rate is shared, chosen on the
    validation rows of up to ``LR_TASKS`` scored tasks together (a task's few validation rows
    would pick among so many pairs by chance); each task then keeps the step count with the
    lowest loss on its own validation rows (without validation rows: ``ROW_VALID_STEPS``).
    """
    views = [data.tasks[t] for t in scored]
    classification = views[0].is_classification
    default_steps = min(ROW_CHECKPOINTS, key=lambda s: abs(s - ROW_VALID_STEPS))

    def adapt(tasks: list[int], lr: float) -> tuple[dict[int, torch.Tensor], np.ndarray]:
        """Adapted outputs at the checkpoints reached, and each task's validation loss there (inf elsewhere)."""
        sub = [data.tasks[t] for t in tasks]
        supports = [(data.X[v.rows_train], space.encode(t, v.y_train)) for t, v in zip(tasks, sub, strict=True)]
        queries = [data.X[np.concatenate([v.rows_valid, v.rows_test])] for v in sub]
        targets = [space.encode(t, v.y_valid) for t, v in zip(tasks, sub, strict=True)]

        def loss_at(out: torch.Tensor, k: int) -> float:
            n = len(sub[k].rows_valid)
            return _mean_loss(out[k, :n], targets[k], classification) if n and _sane(out[k]) else np.inf

        outputs = finetune_episodes(
            model, supports, queries, classification=classification, checkpoints=ROW_CHECKPOINTS, lr=lr, ctx=ctx,
            stop=_row_stopper(len(tasks), loss_at, [len(v.rows_valid) > 0 for v in sub], default_steps)
            if ctx.sweep_stop or ctx.budget.limited else None,
        )  # fmt: skip
        losses = np.array(
            [[loss_at(outputs[s], k) if s in outputs else np.inf for s in ROW_CHECKPOINTS] for k in range(len(sub))]
        )
        return outputs, losses

    # The learning rate is chosen on at most LR_TASKS tasks (it is shared by all of them); only
    # the chosen one then adapts every task, which keeps many-task data sets affordable.
    rng = np.random.default_rng([ctx.seed, 3])
    probe = sorted(rng.choice(scored, size=min(LR_TASKS, len(scored)), replace=False).tolist())
    n_valid = np.array([len(data.tasks[t].rows_valid) for t in probe])
    pooled, trials = {}, {}
    for factor in ROW_LR_FACTORS:
        lr = cfg.inner_lr * factor
        trials[lr] = adapt(probe, lr)
        pooled[lr] = float(np.sum(n_valid * np.where(n_valid > 0, trials[lr][1].min(axis=1), 0.0)))
    lr = min(pooled, key=lambda key: (pooled[key], key))
    outputs, losses = trials[lr] if probe == list(scored) else adapt(list(scored), lr)
    preds, chosen = {}, []
    for k, (t, v) in enumerate(zip(scored, views, strict=True)):
        row = losses[k]
        steps = ROW_CHECKPOINTS[int(np.argmin(row))] if np.isfinite(row).any() else default_steps
        n = len(v.rows_valid)
        preds[t] = space.decode(t, outputs[steps][k, n : n + len(v.rows_test)])
        chosen.append(f"{v.name}={steps}")
    return preds, f"lr={lr:g}, steps " + ", ".join(chosen[:10]) + (", ..." if len(chosen) > 10 else "")


def _row_stopper(
    n_tasks: int, loss_at: Callable[[torch.Tensor, int], float], watched: list[bool], floor: int
) -> Callable[[int, torch.Tensor], bool]:
    """Ends a row-fold adaptation once every task's validation loss has missed its best for
    ``ROW_PATIENCE`` checkpoints in a row (never before ``floor`` steps, the step count a task
    without validation rows keeps): later checkpoints could only be chosen by a loss that
    turned back down after rising, and each costs as many steps as all before it."""
    best = np.full(n_tasks, np.inf)
    waited = np.zeros(n_tasks, dtype=int)

    def stop(steps: int, outputs: torch.Tensor) -> bool:
        for k in range(n_tasks):
            if not watched[k]:
                continue
            value = loss_at(outputs, k)
            if value < best[k]:
                best[k], waited[k] = value, 0
            else:
                waited[k] += 1
        return steps >= floor and all(w >= ROW_PATIENCE for w, on in zip(waited, watched, strict=True) if on)

    return stop


def _gradient_fit_predict(algorithm: str) -> Callable[[FoldData, dict[str, Any], RunContext], dict[int, np.ndarray]]:
    def fit_predict(data: FoldData, params: dict[str, Any], ctx: RunContext) -> dict[int, np.ndarray]:
        cfg, config = meta_config(algorithm, params, ctx), backbone_from(params)
        space = LabelSpace.of(data.tasks)
        rng = np.random.default_rng(ctx.seed)
        X, d = data.X, data.n_features
        preds: dict[int, np.ndarray] = {}
        for (kind, n_out), scored in _groups(data).items():
            # Sources of the same output shape feed meta-training; test rows never do.
            members = [
                t for t, v in enumerate(data.tasks) if (v.kind, v.n_out) == (kind, n_out) and len(v.rows_train) >= 2
            ] or scored
            views = [data.tasks[t] for t in members]
            pool = TaskPool(
                tuple(X[v.rows_train] for v in views),
                tuple(space.encode(t, v.y_train) for t, v in zip(members, views, strict=True)),
                kind == "classification",
                n_out,
            )
            support = max(1, min(cfg.support_rows, min(len(v.rows_train) for v in views) // 2))
            # Validation rounds adapt to at most LR_TASKS tasks: enough to rank initialisations.
            watched = [t for t in scored if len(data.tasks[t].rows_valid)]
            if len(watched) > LR_TASKS:
                watched = sorted(rng.choice(watched, size=LR_TASKS, replace=False).tolist())
            supports, queries = _row_episodes(data, watched, space, rng)
            with torch_session(ctx.seed, _threads(ctx)):
                model = build_mlp(d, config, n_out).to(ctx.device)
                loss = make_loss(model, kind == "classification")
                validate = _adaptation_validator(
                    loss,
                    supports,
                    queries,
                    cfg.inner_lr,
                    int(params.get("valid_steps", ROW_VALID_STEPS)),
                    ctx.device,
                    d,
                )
                step = _gradient_stepper(loss, pool, cfg, support, ctx.device)
                iterations = meta_train(model, step, validate, cfg, ctx, f"meta/{algorithm} meta-training")
                group_preds, note = _adapt_rows(model, data, scored, space, cfg, ctx)
            preds.update(group_preds)
            ctx.notes.append(f"meta/{algorithm} adaptation after {iterations} meta-iterations: {note}")
        return preds

    return fit_predict


# -------------------------------------------------------------------------- prototypical nets


def prototype_logits(
    emb_s: torch.Tensor, ys: torch.Tensor, ms: torch.Tensor, emb_q: torch.Tensor, n_classes: int
) -> torch.Tensor:
    """Negative squared distances to the class prototypes (Snell et al. 2017): ``(episodes, query, classes)``.

    ``emb_s`` is ``(episodes, support, dim)`` with labels ``ys`` and row mask ``ms``; a class
    without support rows gets ``-inf`` (probability 0).
    """
    onehot = nn.functional.one_hot(ys.long().clamp(min=0), n_classes).float() * ms.unsqueeze(-1)
    counts = onehot.sum(1)
    prototypes = torch.bmm(onehot.transpose(1, 2), emb_s) / counts.clamp(min=1.0).unsqueeze(-1)
    d2 = (emb_q.unsqueeze(2) - prototypes.unsqueeze(1)).pow(2).sum(-1)
    return torch.where(counts.unsqueeze(1) > 0, -d2, torch.full_like(d2, float("-inf")))


def prototype_loss(logits: torch.Tensor, yq: torch.Tensor, mq: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of the masked query rows; rows whose class has no prototype are left out."""
    codes = yq.long().clamp(min=0).unsqueeze(-1)
    finite = torch.isfinite(logits)
    weight = mq * finite.gather(-1, codes).squeeze(-1).float()
    logp = torch.log_softmax(torch.where(finite, logits, torch.full_like(logits, -1e9)), dim=-1)
    return -(logp.gather(-1, codes).squeeze(-1) * weight).sum() / weight.sum().clamp(min=1.0)


def _embed(net: Callable[[torch.Tensor], torch.Tensor], X: torch.Tensor) -> torch.Tensor:
    """Embeddings of ``(episodes, rows, features)`` through a single-copy network."""
    e, n, d = X.shape
    return net(X.reshape(1, e * n, d)).reshape(e, n, -1)


def _proto_episode_logits(
    net: Callable[[torch.Tensor], torch.Tensor], support: Batch, X_query: torch.Tensor, n_classes: int
) -> torch.Tensor:
    return prototype_logits(_embed(net, support[0]), support[1], support[2], _embed(net, X_query), n_classes)


def _proto_stepper(model: nn.Module, pool: TaskPool, shots: int, cfg: MetaConfig, device: torch.device) -> Stepper:
    batch = min(cfg.meta_batch, len(pool))

    def loss(params: Params, xs: torch.Tensor, ys: torch.Tensor, xq: torch.Tensor, yq: torch.Tensor) -> torch.Tensor:
        net = _functional(model, params)
        logits = _proto_episode_logits(net, (xs, ys, torch.ones_like(ys)), xq, pool.n_classes)
        return prototype_loss(logits, yq, torch.ones_like(yq))

    def step(params: Params, rng: np.random.Generator) -> Params:
        return grad(loss)(params, *pool.sample(rng, batch, shots, cfg.query_rows, device))

    return step


def _proto_validator(model: nn.Module, support: Batch, query: Batch, n_classes: int) -> Validator:
    """Query loss of validation episodes classified by their own support prototypes."""
    if not float(query[2].sum()):
        return lambda params: None

    def validate(params: Params) -> float:
        with torch.no_grad():
            logits = _proto_episode_logits(_functional(model, params), support, query[0], n_classes)
            return float(prototype_loss(logits, query[1], query[2]))

    return validate


def _functional(model: nn.Module, params: Params) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda x: functional_call(model, params, (x,))


def _proto_probabilities(model: nn.Module, support: Batch, X_query: torch.Tensor, n_classes: int) -> np.ndarray:
    """Class probabilities ``(episodes, query, classes)``; classes without support rows get 0."""
    model.eval()
    with torch.no_grad():
        logits = _proto_episode_logits(model, support, X_query, n_classes)
    return torch.softmax(logits.double(), dim=-1).cpu().numpy()


def _embedding_net(d: int, params: dict[str, Any]) -> StackedMLP:
    """The shared backbone ending in a linear embedding layer (``embedding`` units, default the width)."""
    config = backbone_from(params)
    return build_mlp(d, config, int(params.get("embedding", config.width)))


def _protonet_fit_predict_meta(data: MetaFoldData, params: dict[str, Any], ctx: RunContext) -> list[np.ndarray]:
    cfg, d = meta_config("protonet", params, ctx), data.n_features
    n_classes = max(v.n_out for v in data.tasks)
    pool = TaskPool(
        tuple(data.X[data.tasks[t].rows_train] for t in data.train_tasks),
        tuple(data.tasks[t].y_train.astype(np.float32) for t in data.train_tasks),
        True,
        n_classes,
    )
    valid = [data.episode_arrays(e) for e in data.valid_episodes]
    test = [data.episode_arrays(e) for e in data.test_episodes]
    with torch_session(ctx.seed, _threads(ctx)):
        model = _embedding_net(d, params).to(ctx.device)
        validate = _proto_validator(
            model,
            _padded([(xs, ys) for xs, ys, _, _ in valid], ctx.device, d),
            _padded([(xq, yq) for _, _, xq, yq in valid], ctx.device, d),
            n_classes,
        )
        step = _proto_stepper(model, pool, _shots(data), cfg, ctx.device)
        iterations = meta_train(model, step, validate, cfg, ctx, "meta/protonet training")
        support = _padded([(xs, ys) for xs, ys, _, _ in test], ctx.device, d)
        queries = _padded([(xq, np.zeros(len(xq))) for _, _, xq, _ in test], ctx.device, d)
        proba = _proto_probabilities(model, support, queries[0], n_classes)
    ctx.notes.append(f"meta/protonet: embedding after {iterations} meta-iterations")
    return [
        proba[e, : len(arrays[3]), : data.tasks[episode.task].n_out]
        for e, (episode, arrays) in enumerate(zip(data.test_episodes, test, strict=True))
    ]


def _protonet_fit_predict(data: FoldData, params: dict[str, Any], ctx: RunContext) -> dict[int, np.ndarray]:
    cfg, d = meta_config("protonet", params, ctx), data.n_features
    rng = np.random.default_rng(ctx.seed)
    scored = data.scored_tasks()
    members = [t for t, v in enumerate(data.tasks) if v.is_classification and len(v.rows_train) >= 2] or scored
    n_classes = max(data.tasks[t].n_out for t in (*members, *scored))
    views = [data.tasks[t] for t in members]
    pool = TaskPool(
        tuple(data.X[v.rows_train] for v in views), tuple(v.y_train.astype(np.float32) for v in views), True, n_classes
    )
    shots = max(n_classes, min(cfg.support_rows, min(len(v.rows_train) for v in views) // 2))
    space = LabelSpace.of(data.tasks)

    def episodes(part: str) -> tuple[Batch, Batch]:
        supports, queries = _row_episodes(data, scored, space, rng, part)
        return _padded(supports, ctx.device, d), _padded(queries, ctx.device, d)

    with torch_session(ctx.seed, _threads(ctx)):
        model = _embedding_net(d, params).to(ctx.device)
        step = _proto_stepper(model, pool, shots, cfg, ctx.device)
        validate = _proto_validator(model, *episodes("valid"), n_classes)
        iterations = meta_train(model, step, validate, cfg, ctx, "meta/protonet training")
        support, query = episodes("test")
        proba = _proto_probabilities(model, support, query[0], n_classes)
    ctx.notes.append(f"meta/protonet: embedding after {iterations} meta-iterations")
    return {t: proba[k, : len(data.tasks[t].rows_test), : data.tasks[t].n_out] for k, t in enumerate(scored)}


def _classification_only(taskset: TaskSet) -> str | None:
    """ProtoNets predict classes: every scored task must be a classification task."""
    target = taskset.target_index
    scored = [taskset.tasks[target]] if target is not None else list(taskset.tasks)
    regression = [t.name for t in scored if t.kind != "classification"]
    if not regression:
        return None
    names = ", ".join(repr(n) for n in regression[:5]) + (", ..." if len(regression) > 5 else "")
    verb = "is a regression task" if len(regression) == 1 else "are regression tasks"
    return f"meta/protonet classifies by distance to class prototypes, so it needs classification tasks; {names} {verb}"


# ------------------------------------------------------------------------------ search spaces


def _gradient_space(algorithm: str) -> Callable[[Any], dict[str, Any]]:
    low, high = {"maml": (1, 2), "fomaml": (1, 3), "reptile": (2, 6)}[algorithm]

    def space(trial: Any) -> dict[str, Any]:
        return {
            **backbone_space(trial),
            "meta_lr": trial.suggest_float("meta_lr", 1e-3, 3e-2, log=True),
            "inner_lr": trial.suggest_float("inner_lr", 0.01, 0.1, log=True),
            "inner_steps": trial.suggest_int("inner_steps", low, high),
        }

    return space


def _protonet_space(trial: Any) -> dict[str, Any]:
    return {**backbone_space(trial), "meta_lr": trial.suggest_float("meta_lr", 1e-3, 1e-2, log=True)}


def _defaults(algorithm: str) -> dict[str, Any]:
    return {"meta_batch": MetaConfig.meta_batch, **_ALGORITHM_DEFAULTS[algorithm]}


META_REPTILE = Variant(
    id="meta/reptile",
    description="Reptile: a meta-learned initialisation, adapted to each task by SGD steps",
    fit_predict=_gradient_fit_predict("reptile"),
    fit_predict_meta=_gradient_fit_predict_meta("reptile"),
    defaults=_defaults("reptile"),
    search_space=_gradient_space("reptile"),
    min_tasks=2,
    citation="Nichol, Achiam & Schulman 2018, On first-order meta-learning algorithms",
)

META_FOMAML = Variant(
    id="meta/fomaml",
    description="first-order MAML: a meta-learned initialisation, adapted to each task by SGD steps",
    fit_predict=_gradient_fit_predict("fomaml"),
    fit_predict_meta=_gradient_fit_predict_meta("fomaml"),
    defaults=_defaults("fomaml"),
    search_space=_gradient_space("fomaml"),
    min_tasks=2,
    citation="Finn, Abbeel & Levine 2017, Model-agnostic meta-learning (first-order approximation)",
)

META_MAML = Variant(
    id="meta/maml",
    description="MAML (second order, torch.func): a meta-learned initialisation, adapted by SGD steps",
    fit_predict=_gradient_fit_predict("maml"),
    fit_predict_meta=_gradient_fit_predict_meta("maml"),
    defaults=_defaults("maml"),
    search_space=_gradient_space("maml"),
    min_tasks=2,
    citation="Finn, Abbeel & Levine 2017, Model-agnostic meta-learning for fast adaptation of deep networks",
)

META_PROTONET = Variant(
    id="meta/protonet",
    description="prototypical networks: a meta-learned embedding; classes by distance to support prototypes",
    fit_predict=_protonet_fit_predict,
    fit_predict_meta=_protonet_fit_predict_meta,
    defaults=_defaults("protonet"),
    search_space=_protonet_space,
    applicable_to=_classification_only,
    min_tasks=2,
    citation="Snell, Swersky & Zemel 2017, Prototypical networks for few-shot learning",
)
