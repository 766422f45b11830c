"""Task affinity and gradient conflict, measured during one short hard-sharing training run.

Every few optimiser steps, on a batch holding rows of every task, the per-task gradients of the
shared trunk are taken at once (per-(row, task) gradients with ``torch.func.vmap(grad(...))``,
summed per task, so a row costs one trunk pass per label it has, not one per task) and turned into

* TAG lookahead affinity (Fifty et al. 2021, "Efficiently identifying task groupings for
  multi-task learning"): ``Z[i, j] = 1 - L_j(θ_s - η ∇_s L_i, heads) / L_j(θ)`` — how much one
  step on task ``i`` lowers task ``j``'s loss (negative: it raises it). Every lookahead loss is
  evaluated at once, with ``torch.func.functional_call`` vmapped over the stacked trunk copies;
* its first-order form ``Z1[i, j] = η ⟨g_i, g_j⟩ / L_j`` (the Taylor term of the same ratio);
* the cosine of the task gradients on the trunk, and the share of measurements in which it is
  negative (gradient conflict, as in PCGrad, Yu et al. 2020).

Rows of a matrix are the task the step is taken on (the *source*), columns the task whose loss is
watched (the *target*). :func:`suggest_groups` clusters tasks on the symmetrised affinity and
:func:`harmful_sources` names the sources whose step clearly raises a target's loss.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.func import functional_call, grad, vmap

from probes.exceptions import BudgetExhausted
from probes.paradigms._backbone import SharedTrunkNet
from probes.paradigms._base import backbone_from
from probes.paradigms._data import FoldData, TaskView
from probes.paradigms._training import LabelSpace, MultiTaskArrays, RunContext, task_losses, torch_session
from probes.signals._base import jsonable, symmetric

__all__ = ["AffinitySignal", "harmful_sources", "suggest_groups", "task_affinity"]

#: Floats held at once by one chunk of the batched backward or of the vmapped lookahead (~128 MB).
_CHUNK_FLOATS = 1 << 25
#: A measurement batch keeps at least this many rows of each task, whatever ``max_batch_rows`` says.
_MIN_ROWS_PER_TASK = 8


@dataclass(frozen=True, eq=False)
class AffinitySignal:
    """Affinity and conflict matrices of one training run; ``[i, j]`` = step on ``i``, loss of ``j``.

    Attributes
    ----------
    names:
        Task names, in matrix order.
    lookahead:
        TAG affinity ``Z`` averaged over measurements (diagonal: a task's own step).
    lookahead_se:
        Standard error of ``lookahead`` over the measurements.
    first_order:
        ``η ⟨g_i, g_j⟩ / L_j`` averaged over measurements.
    cosine:
        Cosine of the trunk gradients of ``i`` and ``j``, averaged over measurements.
    conflict_share:
        Share of measurements in which that cosine was negative.
    grad_norm:
        Per task, the mean norm of its trunk gradient: a task far above the others dominates
        the shared update (the way loud sources do) whatever its affinities.
    n_measurements, steps, lookahead_lr:
        How the run measured: measurements taken, optimiser steps made, step size ``η``.
    budget_exhausted:
        The time budget stopped the run early; the matrices average the measurements it took.
    """

    names: tuple[str, ...]
    lookahead: np.ndarray
    lookahead_se: np.ndarray
    first_order: np.ndarray
    cosine: np.ndarray
    conflict_share: np.ndarray
    grad_norm: np.ndarray
    n_measurements: int
    steps: int
    lookahead_lr: float
    seconds: float = 0.0
    budget_exhausted: bool = False
    notes: list[str] = field(default_factory=list)

    def index(self, name: str) -> int:
        """Position of task ``name`` in the matrices."""
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"No task named {name!r}; tasks are {', '.join(self.names)}.") from None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: nested lists, NaN as ``None``."""
        return {
            "names": list(self.names),
            "lookahead": jsonable(self.lookahead),
            "lookahead_se": jsonable(self.lookahead_se),
            "first_order": jsonable(self.first_order),
            "cosine": jsonable(self.cosine),
            "conflict_share": jsonable(self.conflict_share),
            "grad_norm": jsonable(self.grad_norm),
            "n_measurements": self.n_measurements,
            "steps": self.steps,
            "lookahead_lr": jsonable(self.lookahead_lr),
            "seconds": round(self.seconds, 3),
            "budget_exhausted": self.budget_exhausted,
            "notes": list(self.notes),
        }


# ------------------------------------------------------------------------------------ measuring


def _measurement_rows(
    views: Sequence[TaskView], union: np.ndarray, per_task: int, rng: np.random.Generator
) -> np.ndarray:
    """Positions in ``union`` of up to ``per_task`` training rows of every task (one batch, all tasks)."""
    picked = []
    for v in views:
        rows = v.rows_train
        if len(rows) > per_task:
            rows = rng.choice(rows, size=per_task, replace=False)
        picked.append(np.searchsorted(union, rows))
    return np.unique(np.concatenate(picked)) if picked else np.empty(0, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class _Pairs:
    """The labelled (row, task) pairs of a measurement batch, and what their losses need.

    Measuring works on pairs rather than on the network's ``(rows, tasks)`` output so that
    the task-column layout (one task per row) costs rows, not rows × tasks: a head is only
    applied to the rows that have its label.
    """

    x: torch.Tensor
    row: torch.Tensor
    task: torch.Tensor
    y: torch.Tensor
    weight: torch.Tensor
    """``1 / (labelled rows of the pair's task)``: per-task means become weighted sums."""
    is_clf: torch.Tensor
    logit_mask: torch.Tensor
    n_tasks: int
    dense: bool
    """Most (row, task) cells are labelled: one matrix product for every head beats gathering."""

    @classmethod
    def of(cls, batch: MultiTaskArrays, space: LabelSpace) -> _Pairs:
        row, task = torch.nonzero(batch.M, as_tuple=True)
        counts = batch.M.sum(0).to(batch.X.dtype)
        device = batch.X.device
        is_clf = torch.tensor([k == "classification" for k in space.kinds], device=device)
        n_rows, n_tasks = batch.M.shape
        return cls(
            x=batch.X,
            row=row,
            task=task,
            y=batch.Y[row, task],
            weight=1.0 / counts.clamp(min=1.0)[task],
            is_clf=is_clf,
            logit_mask=space.logit_mask(device),
            n_tasks=n_tasks,
            dense=len(row) * 8 > n_rows * n_tasks,
        )


def _pair_loss_values(out: torch.Tensor, task: torch.Tensor, y: torch.Tensor, pairs: _Pairs) -> torch.Tensor:
    """Per-pair losses from outputs ``(pairs, out_dim)``.

    The losses of :func:`~probes.paradigms._training.task_losses` (squared error on
    standardised targets, cross-entropy over a task's own classes), one value per labelled
    cell; a test pins that their per-task means equal ``task_losses``.
    """
    loss = (out[:, 0] - y) ** 2
    if bool(pairs.is_clf.any()):
        logp = torch.log_softmax(out + pairs.logit_mask[task], dim=-1)
        codes = y.long().clamp(0, out.shape[-1] - 1)
        ce = -logp.gather(-1, codes.unsqueeze(-1)).squeeze(-1)
        loss = torch.where(pairs.is_clf[task], ce, loss)
    return loss


def _pair_outputs(h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, pairs: _Pairs) -> torch.Tensor:
    """Head outputs ``(pairs, out_dim)`` of trunk features ``h`` ``(rows, width)``."""
    n_tasks, width, n_out = weight.shape
    if pairs.dense:
        every = (h @ weight.permute(1, 0, 2).reshape(width, n_tasks * n_out)).view(-1, n_tasks, n_out)
        return every[pairs.row, pairs.task] + bias[pairs.task]
    return torch.bmm(h[pairs.row].unsqueeze(1), weight[pairs.task]).squeeze(1) + bias[pairs.task]


def _per_task(values: torch.Tensor, pairs: _Pairs) -> torch.Tensor:
    """Per-task means of per-pair ``values`` ``(..., pairs)``."""
    weighted = values * pairs.weight
    out = torch.zeros(*values.shape[:-1], pairs.n_tasks, dtype=values.dtype, device=values.device)
    return out.index_add(-1, pairs.task, weighted)


def _trunk_features(model: SharedTrunkNet, params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    return functional_call(model.trunk, params, (x.unsqueeze(0),)).squeeze(0)


def _task_losses_at(
    model: SharedTrunkNet, params: dict[str, torch.Tensor], head: tuple[torch.Tensor, torch.Tensor], pairs: _Pairs
) -> torch.Tensor:
    """Per-task mean losses ``(tasks,)`` of the batch with trunk ``params``."""
    out = _pair_outputs(_trunk_features(model, params, pairs.x), *head, pairs)
    return _per_task(_pair_loss_values(out, pairs.task, pairs.y, pairs), pairs)


def _task_jacobian(
    model: SharedTrunkNet, theta: dict[str, torch.Tensor], head: tuple[torch.Tensor, torch.Tensor], pairs: _Pairs
) -> torch.Tensor:
    """Trunk gradients of every task's mean loss, ``(tasks, n_trunk)``: per-pair gradients summed per task."""
    weight, bias = head

    def pair_loss(
        params: dict[str, torch.Tensor],
        x: torch.Tensor,
        w: torch.Tensor,
        b: torch.Tensor,
        t: torch.Tensor,
        y: torch.Tensor,
    ) -> torch.Tensor:
        out = _trunk_features(model, params, x.unsqueeze(0)) @ w + b
        return _pair_loss_values(out, t.unsqueeze(0), y.unsqueeze(0), pairs)[0]

    per_pair = vmap(grad(pair_loss), in_dims=(None, 0, 0, 0, 0, 0))
    n_params = sum(p.numel() for p in theta.values())
    chunk = max(1, _CHUNK_FLOATS // max(1, 4 * n_params))
    jacobian = torch.zeros(pairs.n_tasks, n_params, device=pairs.x.device)
    for start in range(0, len(pairs.row), chunk):
        task = pairs.task[start : start + chunk]
        grads = per_pair(
            theta,
            pairs.x[pairs.row[start : start + chunk]],
            weight[task],
            bias[task],
            task,
            pairs.y[start : start + chunk],
        )
        flat = torch.cat([grads[k].reshape(grads[k].shape[0], -1) for k in theta], dim=1)
        jacobian.index_add_(0, task, flat * pairs.weight[start : start + chunk].unsqueeze(1))
    return jacobian


def _lookahead_losses(
    model: SharedTrunkNet,
    theta: dict[str, torch.Tensor],
    head: tuple[torch.Tensor, torch.Tensor],
    pairs: _Pairs,
    jacobian: torch.Tensor,
    lr: float,
) -> torch.Tensor:
    """``L[i, j]``: task ``j``'s loss after an SGD step of size ``lr`` on task ``i``'s trunk gradient."""
    n_tasks = jacobian.shape[0]
    batched = vmap(lambda params: _task_losses_at(model, params, head, pairs))
    width = model.trunk.out_features
    per_copy = len(pairs.x) * width * (len(theta) + 1) + (
        len(pairs.x) * n_tasks * head[0].shape[-1] if pairs.dense else len(pairs.row) * width
    )
    chunk = int(max(1, min(n_tasks, _CHUNK_FLOATS // max(1, per_copy))))
    sizes = [p.numel() for p in theta.values()]
    out = []
    for start in range(0, n_tasks, chunk):
        parts = torch.split(jacobian[start : start + chunk], sizes, dim=1)
        stacked = {
            k: p.unsqueeze(0) - lr * g.reshape(g.shape[0], *p.shape)
            for (k, p), g in zip(theta.items(), parts, strict=True)
        }
        out.append(batched(stacked))
    return torch.cat(out)


@dataclass
class _Accumulator:
    """Running sums of the per-measurement matrices."""

    n_tasks: int
    sums: dict[str, np.ndarray] = field(default_factory=dict)
    counts: dict[str, np.ndarray] = field(default_factory=dict)
    n: int = 0

    def add(self, **matrices: np.ndarray) -> None:
        for key, value in matrices.items():
            finite = np.isfinite(value)
            self.sums.setdefault(key, np.zeros((self.n_tasks, self.n_tasks)))
            self.counts.setdefault(key, np.zeros((self.n_tasks, self.n_tasks)))
            self.sums[key] += np.where(finite, value, 0.0)
            self.counts[key] += finite
        self.n += 1

    def mean(self, key: str) -> np.ndarray:
        if key not in self.sums:
            return np.full((self.n_tasks, self.n_tasks), np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.counts[key] > 0, self.sums[key] / np.maximum(self.counts[key], 1), np.nan)


def _measure(
    model: SharedTrunkNet, batch: MultiTaskArrays, space: LabelSpace, lr: float, sources: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """One measurement on ``batch``: lookahead and first-order affinity, cosine, conflict, gradient norms.

    ``sources`` (task positions) limits the lookahead to steps on those tasks; the other rows of
    that matrix are NaN for this measurement. Every other matrix covers every pair.
    """
    pairs = _Pairs.of(batch, space)
    theta = {k: v.detach() for k, v in model.trunk.named_parameters()}
    head = (model.heads.weight.detach(), model.heads.bias.detach()[:, 0, :])
    was_training = model.training
    model.eval()  # no dropout while measuring: the lookahead must see the function the gradients came from
    try:
        with torch.no_grad():
            losses = _task_losses_at(model, theta, head, pairs)
        jacobian = _task_jacobian(model, theta, head, pairs)
        with torch.no_grad():
            if sources is None:
                after = _lookahead_losses(model, theta, head, pairs, jacobian, lr)
            else:
                some = _lookahead_losses(model, theta, head, pairs, jacobian[torch.as_tensor(sources)], lr)
                after = torch.full((jacobian.shape[0], some.shape[1]), float("nan"), dtype=some.dtype)
                after[torch.as_tensor(sources)] = some
    finally:
        model.train(was_training)
    present = batch.M.any(0)
    base = losses.clamp(min=1e-8)
    gram = jacobian @ jacobian.T
    norms = jacobian.norm(dim=1)
    safe = norms.clamp(min=1e-12)
    result = {
        "lookahead": (1.0 - after / base.unsqueeze(0)).cpu().numpy().astype(float),
        "first_order": (lr * gram / base.unsqueeze(0)).cpu().numpy().astype(float),
        "cosine": (gram / (safe.unsqueeze(0) * safe.unsqueeze(1))).cpu().numpy().astype(float),
    }
    result["conflict"] = (result["cosine"] < 0).astype(float)
    valid = (present.unsqueeze(0) & present.unsqueeze(1)).cpu().numpy()
    result = {k: np.where(valid, v, np.nan) for k, v in result.items()}
    result["grad_norm"] = np.where(present.cpu().numpy(), norms.cpu().numpy().astype(float), np.nan)
    return result


def task_affinity(
    data: FoldData,
    ctx: RunContext,
    *,
    params: dict[str, Any] | None = None,
    steps: int = 100,
    measure_every: int = 5,
    rows_per_task: int = 64,
    max_batch_rows: int = 4096,
    lookahead_lr: float = 0.03,
    max_sources: int | None = 40,
) -> AffinitySignal:
    """Measure task affinity and gradient conflict during one short hard-sharing training run.

    A :class:`~probes.paradigms._backbone.SharedTrunkNet` trains on the fold's training rows of
    every task with equal task weights (the loss of :func:`~probes.paradigms._training.task_losses`,
    so missing labels are masked). After every ``measure_every`` steps, on a batch of up to
    ``rows_per_task`` training rows of each task, it measures the matrices of
    :class:`AffinitySignal`; they are averaged over the run. The run is short on purpose:
    affinity is informative while the shared structure is being learned, and fades once the
    tasks' remaining errors are their own.

    Parameters
    ----------
    data:
        A prepared row fold (:func:`probes.paradigms.prepare_fold`); only training rows are used.
    ctx:
        Budget, seed, device and threads. The budget is checked every step; when it runs out
        after at least one measurement the signal averages what was measured and says so,
        otherwise :class:`~probes.exceptions.BudgetExhausted` propagates.
    params:
        Backbone and optimiser settings as for ``mtl/hard`` (``width``, ``depth``, ``lr``, ...).
    steps, measure_every:
        Optimiser steps of the run, and steps between measurements.
    rows_per_task, max_batch_rows:
        Rows of each task in a measurement batch, lowered (to no fewer than 8) so the batch
        stays near ``max_batch_rows``: a measurement costs about tasks × batch rows trunk
        evaluations, so with the cap the cost grows linearly with the number of tasks.
    max_sources:
        With more tasks than this, each measurement takes the lookahead step on only this many
        source tasks, the next ones of a seeded permutation (so every source is measured about
        equally often): the lookahead costs sources × batch rows network passes, which grew with
        the square of the number of tasks. ``None``: every source at every measurement. The
        signal's notes say when it applied.
    lookahead_lr:
        ``η`` of the lookahead SGD step. Inputs and regression targets are standardised, so
        gradient scales are comparable across datasets. Larger steps add curvature to the
        lookahead; on generated scenarios that mostly added noise (0.03 separated planted
        clusters better than 0.1 or 0.3), which is why the default is small.

    Examples
    --------
    >>> signal = task_affinity(prepare_folds(ts, "fast")[0], RunContext(seed=0))  # doctest: +SKIP
    >>> suggest_groups(signal)  # doctest: +SKIP
    [['t00', 't03', 't06'], ['t01', 't04', 't07'], ['t02', 't05', 't08']]
    """
    if steps < 1 or measure_every < 1:
        raise ValueError(f"steps and measure_every must be >= 1, got {steps} and {measure_every}")
    if rows_per_task < 1 or max_batch_rows < 1:
        raise ValueError(f"rows_per_task and max_batch_rows must be >= 1, got {rows_per_task} and {max_batch_rows}")
    if max_sources is not None and max_sources < 1:
        raise ValueError(f"max_sources must be >= 1 or None, got {max_sources}")
    if lookahead_lr <= 0:
        raise ValueError(f"lookahead_lr must be positive, got {lookahead_lr}")
    started = time.perf_counter()
    params = dict(params or {})
    views = list(data.tasks)
    n_tasks = len(views)
    config, cfg = backbone_from(params), ctx.train_config(params)
    space = LabelSpace.of(views)
    union = np.unique(np.concatenate([v.rows_train for v in views]))
    per_task = max(min(rows_per_task, max_batch_rows // max(n_tasks, 1)), min(rows_per_task, _MIN_ROWS_PER_TASK))
    acc = _Accumulator(n_tasks)
    squares = np.zeros((n_tasks, n_tasks))
    norms: list[np.ndarray] = []
    rng = np.random.default_rng(ctx.seed)
    rotation = (
        np.random.default_rng([ctx.seed, 7]).permutation(n_tasks)
        if max_sources is not None and n_tasks > max_sources
        else None
    )
    done = 0
    exhausted = False
    with torch_session(ctx.seed, ctx.threads):
        train = MultiTaskArrays.build(data.X, views, space, "train", ctx.device)
        model = SharedTrunkNet(data.n_features, config, n_tasks, space.out_dim).to(ctx.device)
        optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        generator = torch.Generator().manual_seed(ctx.seed)
        batch_size = max(1, min(cfg.batch_size, len(train)))
        model.train()
        try:
            for step in range(1, steps + 1):
                ctx.budget.check("task affinity training")
                idx = torch.randint(len(train), (batch_size,), generator=generator).to(ctx.device)
                losses, present = task_losses(model(train.X[idx]), train.Y[idx], train.M[idx], space)
                optimizer.zero_grad(set_to_none=True)
                losses[present].mean().backward()
                optimizer.step()
                done = step
                if step % measure_every == 0:
                    ctx.budget.check("task affinity measurement")
                    pos = torch.as_tensor(_measurement_rows(views, union, per_task, rng), device=ctx.device)
                    batch = MultiTaskArrays(train.X[pos], train.Y[pos], train.M[pos])
                    sources = None
                    if rotation is not None:
                        assert max_sources is not None
                        start = acc.n * max_sources
                        sources = np.sort(rotation[np.arange(start, start + max_sources) % n_tasks])
                    measured = _measure(model, batch, space, lookahead_lr, sources)
                    norms.append(measured.pop("grad_norm"))
                    acc.add(**measured)
                    squares += np.nan_to_num(measured["lookahead"]) ** 2
        except BudgetExhausted:
            if acc.n == 0:
                raise
            exhausted = True
    mean = acc.mean("lookahead")
    counts = acc.counts.get("lookahead", np.zeros((n_tasks, n_tasks)))
    with np.errstate(invalid="ignore", divide="ignore"):
        var = (squares - counts * np.nan_to_num(mean) ** 2) / np.maximum(counts - 1, 1)
        se = np.where(counts > 1, np.sqrt(np.maximum(var, 0.0) / np.maximum(counts, 1)), np.nan)
    notes = []
    if rotation is not None:
        low = int(np.diag(counts).min())
        notes.append(
            f"lookahead measured for {max_sources} of {n_tasks} source tasks per measurement (a seeded rotation: "
            f"each source in at least {low} of {acc.n} measurements); first-order affinity, cosine and conflict "
            "cover every pair in every measurement"
        )
    if exhausted:
        notes.append(f"time budget ran out after {done} of {steps} steps ({acc.n} measurements)")
    return AffinitySignal(
        names=tuple(v.name for v in views),
        lookahead=mean,
        lookahead_se=se,
        first_order=acc.mean("first_order"),
        cosine=acc.mean("cosine"),
        conflict_share=acc.mean("conflict"),
        grad_norm=_nanmean_rows(norms, n_tasks),
        n_measurements=acc.n,
        steps=done,
        lookahead_lr=float(lookahead_lr),
        seconds=time.perf_counter() - started,
        budget_exhausted=exhausted,
        notes=notes,
    )


def _nanmean_rows(rows: list[np.ndarray], width: int) -> np.ndarray:
    if not rows:
        return np.full(width, np.nan)
    stacked = np.vstack(rows)
    finite = np.isfinite(stacked)
    total = np.where(finite, stacked, 0.0).sum(0)
    count = finite.sum(0)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


# ----------------------------------------------------------------------------------- using it


_KINDS = ("lookahead", "first_order", "cosine")


def _matrix_and_names(
    affinity: AffinitySignal | np.ndarray, names: Sequence[str] | None, kind: str = "lookahead"
) -> tuple[np.ndarray, list[str]]:
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {', '.join(_KINDS)}; got {kind!r}")
    if isinstance(affinity, AffinitySignal):
        matrix = getattr(affinity, kind)
        names = list(names) if names is not None else list(affinity.names)
    else:
        matrix = np.asarray(affinity, dtype=float)
        if names is None:
            raise ValueError("pass the task names with an affinity matrix")
        names = list(names)
    if matrix.shape != (len(names), len(names)):
        raise ValueError(f"affinity is {matrix.shape} but there are {len(names)} task names")
    return matrix, names


def _agglomerate(sym: np.ndarray, threshold: float) -> tuple[list[list[int]], list[tuple[list[list[int]], float]]]:
    """Average-linkage merges of a symmetric affinity (NaN = unknown) while the best linkage exceeds ``threshold``.

    Returns the final groups and, for each merge, the groups before it and its linkage.
    """
    n = len(sym)
    finite = np.isfinite(sym)
    total = np.where(finite, sym, 0.0)
    count = finite.astype(float)
    np.fill_diagonal(total, 0.0)
    np.fill_diagonal(count, 0.0)
    groups: list[list[int] | None] = [[t] for t in range(n)]
    history: list[tuple[list[list[int]], float]] = []
    alive = np.ones(n, dtype=bool)
    while alive.sum() > 1:
        with np.errstate(invalid="ignore", divide="ignore"):
            link = np.where(count > 0, total / np.maximum(count, 1.0), -np.inf)
        link[~alive, :] = -np.inf
        link[:, ~alive] = -np.inf
        np.fill_diagonal(link, -np.inf)
        a, b = np.unravel_index(int(np.argmax(link)), link.shape)
        best = float(link[a, b])
        if not np.isfinite(best) or best <= threshold:
            break
        history.append(([list(g) for g in groups if g is not None], best))
        a, b = min(a, b), max(a, b)
        groups[a] = sorted([*groups[a], *groups[b]])  # type: ignore[misc]
        groups[b] = None
        alive[b] = False
        total[a, :] += total[b, :]
        total[:, a] += total[:, b]
        count[a, :] += count[b, :]
        count[:, a] += count[:, b]
        total[a, a] = count[a, a] = 0.0
    return [g for g in groups if g is not None], history


def suggest_groups(
    affinity: AffinitySignal | np.ndarray,
    names: Sequence[str] | None = None,
    *,
    kind: str = "cosine",
    n_groups: int | None = None,
    threshold: float = 0.0,
    gap: float = 0.5,
) -> list[list[str]]:
    """Task groups from the symmetrised affinity, by average-linkage agglomerative clustering.

    Groups merge, most affine first, while the mean affinity between their members exceeds
    ``threshold``; a task whose affinities to every other task are ``<= threshold`` stays alone.
    Unrelated tasks that share inputs often still help each other a little (a shared trunk
    regularises), so merging down to zero would lump clusters together: the merge sequence is
    cut before the largest drop in linkage when the next merge is less than ``gap`` times the
    previous one. TAG (Fifty et al. 2021) scores a grouping by the affinity onto each member
    from its group; averaging both directions is the symmetric form of that score.

    Parameters
    ----------
    affinity:
        An :class:`AffinitySignal` (its ``kind`` matrix is used) or a square matrix.
    names:
        Task names (taken from the signal when omitted).
    kind:
        Which matrix of the signal: ``"cosine"`` (default), ``"lookahead"`` or ``"first_order"``.
        On generated task-column scenarios with planted clusters the gradient cosine recovered
        the clusters at least as well as the lookahead in every seed tried (the lookahead divides
        by a task's current loss, which makes well-fitted tasks noisy); on multi-target data all
        three recovered them exactly.
    n_groups:
        Stop at this many groups instead (merges still never go below ``threshold``).
    threshold:
        Smallest mean affinity at which two groups still merge.
    gap:
        Cut where a merge's linkage falls below ``gap`` times the previous merge's; ``0``
        disables the cut.

    Returns
    -------
    Groups of task names, largest first, each in matrix order.
    """
    matrix, names = _matrix_and_names(affinity, names, kind)
    sym = symmetric(matrix)
    groups, history = _agglomerate(sym, threshold)
    if n_groups is not None:
        if n_groups < 1:
            raise ValueError(f"n_groups must be >= 1, got {n_groups}")
        for before, _ in history:
            if len(before) <= n_groups:
                groups = before
                break
    elif gap > 0 and len(history) > 1 and all(h > 0 for _, h in history):
        heights = np.array([h for _, h in history])
        ratios = heights[1:] / heights[:-1]
        k = int(np.argmin(ratios))
        if ratios[k] < gap:
            groups = history[k + 1][0]
    groups = sorted(groups, key=lambda g: (-len(g), g[0]))
    return [[names[t] for t in g] for g in groups]


def harmful_sources(
    affinity: AffinitySignal | np.ndarray,
    names: Sequence[str] | None,
    target: str,
    *,
    z: float = 3.0,
    relative: float = 0.1,
) -> list[str]:
    """Sources whose lookahead step clearly raises ``target``'s loss (clearly negative affinity).

    A source is harmful when ``Z[source, target]`` is negative beyond two margins: ``z``
    standard errors over the run's measurements (statistically clear; only with an
    :class:`AffinitySignal`), and ``relative`` times the target's own affinity ``Z[target,
    target]`` (practically clear: the source's step undoes at least that share of what the
    target's own step gains). The second margin matters: a step on an unrelated task
    changes shared features the target's head relies on, so unrelated tasks come out
    slightly negative (a second-order effect), and many measurements make that tiny value
    "significant". Sorted from the most harmful.

    Examples
    --------
    >>> harmful_sources(signal, None, "t00")  # doctest: +SKIP
    ['t05', 't04']
    """
    matrix, names = _matrix_and_names(affinity, names, "lookahead")
    if target not in names:
        raise KeyError(f"No task named {target!r}; tasks are {', '.join(names)}.")
    j = names.index(target)
    column = matrix[:, j]
    se = affinity.lookahead_se[:, j] if isinstance(affinity, AffinitySignal) else np.zeros(len(names))
    own = matrix[j, j]
    floor = relative * own if np.isfinite(own) and own > 0 else 0.0
    margin = np.maximum(z * np.nan_to_num(se, nan=np.inf), floor)
    harmful = [(column[i], names[i]) for i in range(len(names)) if i != j and column[i] < -margin[i]]
    return [name for _, name in sorted(harmful)]
