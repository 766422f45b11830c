"""Training machinery shared by the neural paradigms: labels, losses, loops, early stopping.

* Regression targets are standardised per task on the training rows (so tasks of different
  scales weigh the same in a shared loss) and predictions are mapped back.
* Two loops: :func:`train_multitask` for networks whose ``forward(x)`` gives every task's
  output for a batch of rows (hard sharing, cross-stitch, pooled), and :func:`train_stacked`
  for stacked per-task networks that each see their own rows (single-task MLPs, soft sharing).
  An epoch is a pass over the data but at least ``MIN_STEPS_PER_EPOCH`` steps, so every
  learner gets a comparable number of updates however small its data.
* AdamW, mini-batches, early stopping on the validation loss with the best weights restored
  (per task for stacked networks), a budget check between epochs and an ``on_epoch`` hook that
  optuna uses for pruning.
* Seeds are applied inside :func:`torch_session`, which forks the global RNG so nothing leaks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from probes.budget import Budget
from probes.paradigms._data import TaskView

__all__ = [
    "EarlyStopping",
    "LabelSpace",
    "MultiTaskArrays",
    "RunContext",
    "TrainConfig",
    "predict_multitask",
    "predict_stacked",
    "predict_tasks",
    "stacked_arrays",
    "task_losses",
    "torch_session",
    "train_multitask",
    "train_stacked",
    "warm_up",
]

_CHUNK = 8192
#: An "epoch" (the period between validation checks) takes at least this many optimiser steps,
#: so learners on tiny data get as many updates as learners on pooled data.
MIN_STEPS_PER_EPOCH = 10
#: Stacked training stops when no more than this share of its copies still improves.
STRAGGLER_SHARE = 0.05


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser and stopping settings of one training run."""

    lr: float = 3e-3
    weight_decay: float = 1e-4
    batch_size: int = 128
    max_epochs: int = 200
    patience: int = 20


@dataclass
class RunContext:
    """What a paradigm is given besides data: budget, seed, device and a per-epoch hook."""

    budget: Budget = field(default_factory=Budget)
    seed: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cuda" if torch.cuda.is_available() else "cpu"))
    threads: int | None = 1
    """Intra-op threads for torch and OpenMP while training (one: small networks gain nothing from more)."""
    max_epochs: int | None = None
    patience: int | None = None
    on_epoch: Callable[[int, float], None] | None = None
    """Called with (epoch, validation score) after each epoch; may raise ``optuna.TrialPruned``."""
    sweep_stop: bool = False
    """Few-shot validation sweeps stop once they stop improving (the budget preset's ``sweep_stop``)."""
    selection_split: bool = False
    """Score trials and variants on half of each task's validation rows, the other half stopping the
    training (the budget preset's ``selection_split``)."""
    notes: list[str] = field(default_factory=list)

    def train_config(self, params: dict[str, Any]) -> TrainConfig:
        """A :class:`TrainConfig` from search params, capped by the budget preset's epochs."""
        base = TrainConfig()
        return TrainConfig(
            lr=float(params.get("lr", base.lr)),
            weight_decay=float(params.get("weight_decay", base.weight_decay)),
            batch_size=int(params.get("batch_size", base.batch_size)),
            max_epochs=int(self.max_epochs or params.get("max_epochs", base.max_epochs)),
            patience=int(self.patience or params.get("patience", base.patience)),
        )


@contextmanager
def torch_session(seed: int, threads: int | None = None) -> Iterator[None]:
    """Seed torch inside a forked RNG (the caller's RNG state is untouched); optionally set threads."""
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    previous = torch.get_num_threads()
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        if threads:
            torch.set_num_threads(threads)
        try:
            yield
        finally:
            if threads:
                torch.set_num_threads(previous)


def warm_up() -> None:
    """Pay torch's one-off start-up costs (the first optimiser imports ``torch._dynamo``, ~2 s) up front.

    Called before a budget starts, so that cost does not land inside whichever probe runs first.
    """
    weight = nn.Parameter(torch.zeros(1))
    torch.optim.AdamW([weight]).step()


# ------------------------------------------------------------------------------------ labels


@dataclass(frozen=True)
class LabelSpace:
    """How each task's labels become network targets and outputs become predictions."""

    kinds: tuple[str, ...]
    n_out: tuple[int, ...]
    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def of(cls, tasks: Sequence[TaskView]) -> LabelSpace:
        mean = np.array(
            [float(np.mean(t.y_train)) if not t.is_classification and len(t.y_train) else 0.0 for t in tasks]
        )
        std = np.array(
            [float(np.std(t.y_train)) if not t.is_classification and len(t.y_train) > 1 else 1.0 for t in tasks]
        )
        std[std < 1e-8] = 1.0
        return cls(tuple(t.kind for t in tasks), tuple(t.n_out for t in tasks), mean, std)

    @property
    def out_dim(self) -> int:
        return max(self.n_out)

    @property
    def n_tasks(self) -> int:
        return len(self.kinds)

    def encode(self, t: int, y: np.ndarray) -> np.ndarray:
        if self.kinds[t] == "classification":
            return y.astype(np.float32)
        return ((y - self.mean[t]) / self.std[t]).astype(np.float32)

    def decode(self, t: int, out: torch.Tensor) -> np.ndarray:
        """Predictions of task ``t`` from its raw outputs ``(rows, out_dim)``."""
        if self.kinds[t] == "classification":
            return torch.softmax(out[:, : self.n_out[t]].float(), dim=1).cpu().numpy()
        return out[:, 0].float().cpu().numpy() * self.std[t] + self.mean[t]

    def logit_mask(self, device: torch.device) -> torch.Tensor:
        """Additive ``(tasks, out_dim)`` mask hiding the output units a task does not use."""
        mask = torch.zeros(self.n_tasks, self.out_dim, device=device)
        for t, n in enumerate(self.n_out):
            mask[t, n:] = float("-inf")
        return mask


def task_losses(
    out: torch.Tensor, y: torch.Tensor, m: torch.Tensor, space: LabelSpace
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-task mean losses of a batch.

    ``out`` is ``(batch, tasks, out_dim)``, ``y`` and ``m`` are ``(batch, tasks)`` (labels and
    presence). Regression: squared error on standardised targets; classification: cross-entropy.
    Returns ``(losses, present)``: tasks without labels in the batch have loss 0 and ``present`` False.
    """
    is_clf = torch.tensor([k == "classification" for k in space.kinds], device=out.device)
    mf = m.float()
    sq = (out[..., 0] - torch.where(m, y, torch.zeros_like(y))) ** 2
    per_row = torch.where(is_clf.unsqueeze(0), torch.zeros_like(sq), sq)
    if bool(is_clf.any()):
        logits = out + space.logit_mask(out.device).unsqueeze(0)
        logp = torch.log_softmax(logits, dim=-1)
        codes = torch.where(m & is_clf.unsqueeze(0), y, torch.zeros_like(y)).long().clamp(0, space.out_dim - 1)
        ce = -logp.gather(-1, codes.unsqueeze(-1)).squeeze(-1)
        per_row = torch.where(is_clf.unsqueeze(0), ce, per_row)
    counts = mf.sum(0)
    losses = (per_row * mf).sum(0) / counts.clamp(min=1.0)
    return losses, counts > 0


# ------------------------------------------------------------------------------ early stopping


class EarlyStopping:
    """Keeps the best weights per unit (one unit, or one per stacked copy) and says when to stop."""

    def __init__(self, module: nn.Module, units: int, patience: int) -> None:
        self.units, self.patience = units, patience
        self.best_loss = np.full(units, np.inf)
        self.waited = np.zeros(units, dtype=int)
        self.best = {k: v.detach().clone() for k, v in module.state_dict().items()}
        self.epochs = 0
        #: Per unit, the number of epochs behind its best weights (what a refit on all rows trains for).
        self.best_epochs = np.zeros(units, dtype=int)

    def update(self, module: nn.Module, losses: np.ndarray, unwatched: np.ndarray | None = None) -> bool:
        """Record this epoch's validation losses; True when every unit has run out of patience.

        ``unwatched`` marks units without validation rows: they always keep their latest weights.
        """
        losses = np.nan_to_num(np.asarray(losses, dtype=float), nan=np.inf)
        self.epochs += 1
        finite = np.isfinite(self.best_loss)
        threshold = np.where(finite, self.best_loss - 1e-6 * np.abs(np.where(finite, self.best_loss, 0.0)), np.inf)
        improved = losses < threshold
        if unwatched is not None:
            improved = improved | unwatched
        if improved.any():
            state = module.state_dict()
            if self.units == 1:
                self.best = {k: v.detach().clone() for k, v in state.items()}
            else:
                idx = torch.as_tensor(np.flatnonzero(improved), device=next(iter(state.values())).device)
                for k, v in state.items():
                    if v.dim() and v.shape[0] == self.units:
                        self.best[k][idx] = v.detach()[idx]
                    else:
                        self.best[k] = v.detach().clone()
            self.best_loss[improved] = (
                np.where(unwatched[improved], np.inf, losses[improved]) if unwatched is not None else losses[improved]
            )
        self.best_epochs[improved] = self.epochs
        self.waited[improved] = 0
        self.waited[~improved] += 1
        watched = ~unwatched if unwatched is not None else np.ones(self.units, dtype=bool)
        if not watched.any():
            return False
        # A stack of many copies stops once at most 5% of them still improve: each copy keeps its
        # own best weights, and one straggler should not hold a hundred finished ones to the cap.
        still_improving = int(np.sum(self.waited[watched] < self.patience))
        return still_improving <= int(STRAGGLER_SHARE * int(watched.sum()))

    def restore(self, module: nn.Module) -> None:
        module.load_state_dict(self.best)


# ----------------------------------------------------------------------- multi-task (rows x tasks)


@dataclass(frozen=True, eq=False)
class MultiTaskArrays:
    """Rows with any label among ``tasks``: features, a label matrix and its presence mask."""

    X: torch.Tensor
    Y: torch.Tensor
    M: torch.Tensor

    @classmethod
    def build(
        cls,
        X: np.ndarray,
        tasks: Sequence[TaskView],
        space: LabelSpace,
        part: str,
        device: torch.device,
    ) -> MultiTaskArrays:
        """Stack ``part`` ('train' or 'valid') of ``tasks``; shared rows (multi-target) stay one row."""
        rows_of = [getattr(t, f"rows_{part}") for t in tasks]
        ys = [getattr(t, f"y_{part}") for t in tasks]
        union = np.unique(np.concatenate(rows_of)) if rows_of else np.empty(0, dtype=np.int64)
        Y = np.zeros((len(union), len(tasks)), dtype=np.float32)
        M = np.zeros((len(union), len(tasks)), dtype=bool)
        for t, (rows, y) in enumerate(zip(rows_of, ys, strict=True)):
            pos = np.searchsorted(union, rows)
            Y[pos, t] = space.encode(t, y)
            M[pos, t] = True
        return cls(
            torch.as_tensor(X[union], device=device),
            torch.as_tensor(Y, device=device),
            torch.as_tensor(M, device=device),
        )

    def __len__(self) -> int:
        return int(self.X.shape[0])


def _validation_losses(model: nn.Module, data: MultiTaskArrays, space: LabelSpace) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        totals = torch.zeros(space.n_tasks, device=data.X.device)
        counts = torch.zeros(space.n_tasks, device=data.X.device)
        for start in range(0, len(data), _CHUNK):
            sl = slice(start, start + _CHUNK)
            losses, _ = task_losses(model(data.X[sl]), data.Y[sl], data.M[sl], space)
            n = data.M[sl].float().sum(0)
            totals += losses * n
            counts += n
    model.train()
    per_task = (totals / counts.clamp(min=1)).cpu().numpy()
    return per_task[(counts > 0).cpu().numpy()]


StepFn = Callable[[torch.Tensor, torch.Tensor], None]
"""Optimiser step given (per-task losses, presence): the weighting strategy's hook."""


def train_multitask(
    model: nn.Module,
    train: MultiTaskArrays,
    valid: MultiTaskArrays,
    space: LabelSpace,
    cfg: TrainConfig,
    ctx: RunContext,
    *,
    step: StepFn | None = None,
    extra_parameters: Sequence[nn.Parameter] = (),
    penalty: Callable[[], torch.Tensor] | None = None,
    where: str = "training",
    epochs_used: list[int] | None = None,
) -> nn.Module:
    """Train a network whose ``forward(x)`` is ``(batch, tasks, out)``; restore the best epoch.

    ``step`` replaces the default update (mean of present tasks' losses) — loss weighting and
    gradient surgery plug in there. Early stopping watches the mean validation loss over tasks.
    Without validation rows it trains ``cfg.max_epochs`` epochs. ``epochs_used``, when given,
    receives the number of epochs behind the restored weights.
    """
    params = [p for p in model.parameters() if p.requires_grad] + list(extra_parameters)
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    generator = torch.Generator(device="cpu").manual_seed(ctx.seed)
    stopper = EarlyStopping(model, units=1, patience=cfg.patience)
    n = len(train)
    batch = max(1, min(cfg.batch_size, n))
    steps = max(int(np.ceil(n / batch)), MIN_STEPS_PER_EPOCH)
    passes = int(np.ceil(steps * batch / n))
    model.train()
    for epoch in range(cfg.max_epochs):
        ctx.budget.check(where)
        order = torch.cat([torch.randperm(n, generator=generator) for _ in range(passes)]).to(train.X.device)
        for s in range(steps):
            idx = order[s * batch : (s + 1) * batch]
            losses, present = task_losses(model(train.X[idx]), train.Y[idx], train.M[idx], space)
            optimizer.zero_grad(set_to_none=True)
            if step is None:
                loss = losses[present].mean()
                if penalty is not None:
                    loss = loss + penalty()
                loss.backward()
            else:
                step(losses, present)
                if penalty is not None:
                    penalty().backward()
            optimizer.step()
        if len(valid):
            val = _validation_losses(model, valid, space)
            if ctx.on_epoch is not None:
                ctx.on_epoch(epoch, -float(np.mean(val)))
            if stopper.update(model, np.array([np.mean(val)])):
                break
        else:
            stopper.update(model, np.zeros(1), unwatched=np.ones(1, dtype=bool))
    stopper.restore(model)
    if epochs_used is not None:
        epochs_used.append(int(stopper.best_epochs[0]))
    model.eval()
    return model


def predict_multitask(model: nn.Module, X: np.ndarray, t: int, space: LabelSpace, device: torch.device) -> np.ndarray:
    """Task ``t``'s predictions for rows ``X`` (probabilities or values)."""
    model.eval()
    outs = []
    with torch.no_grad():
        for start in range(0, len(X), _CHUNK):
            outs.append(model(torch.as_tensor(X[start : start + _CHUNK], device=device))[:, t, :])
    out = torch.cat(outs) if outs else torch.zeros(0, space.out_dim)
    return space.decode(t, out)


def predict_tasks(
    model: nn.Module, X: np.ndarray, rows: dict[int, np.ndarray], space: LabelSpace, device: torch.device
) -> dict[int, np.ndarray]:
    """Predictions of several tasks, ``rows[t]`` being task ``t``'s rows of ``X``, in one pass over their union."""
    if not rows:
        return {}
    union = np.unique(np.concatenate(list(rows.values())))
    model.eval()
    outs = []
    with torch.no_grad():
        for start in range(0, len(union), _CHUNK):
            outs.append(model(torch.as_tensor(X[union[start : start + _CHUNK]], device=device)))
    out = torch.cat(outs) if outs else torch.zeros(0, space.n_tasks, space.out_dim)
    return {
        t: space.decode(t, out[torch.as_tensor(np.searchsorted(union, r), device=out.device), t, :])
        for t, r in rows.items()
    }


# ---------------------------------------------------------------------- stacked (one net per task)


@dataclass(frozen=True, eq=False)
class StackedArrays:
    """Per-task rows padded into ``(tasks, max_rows, features)`` tensors with a validity mask."""

    X: torch.Tensor
    y: torch.Tensor
    n: np.ndarray

    @property
    def mask(self) -> torch.Tensor:
        rows = torch.arange(self.X.shape[1], device=self.X.device)
        return rows.unsqueeze(0) < torch.as_tensor(self.n, device=self.X.device).unsqueeze(1)


def stacked_arrays(
    parts: Sequence[tuple[np.ndarray, np.ndarray]], device: torch.device, n_features: int
) -> StackedArrays:
    """Pad per-task ``(X, y_encoded)`` pairs to one tensor each."""
    n = np.array([len(x) for x, _ in parts], dtype=int)
    width = max(int(n.max()) if len(n) else 0, 1)
    X = np.zeros((len(parts), width, n_features), dtype=np.float32)
    y = np.zeros((len(parts), width), dtype=np.float32)
    for k, (xk, yk) in enumerate(parts):
        X[k, : len(xk)] = xk
        y[k, : len(yk)] = yk
    return StackedArrays(torch.as_tensor(X, device=device), torch.as_tensor(y, device=device), n)


def _stacked_loss(out: torch.Tensor, y: torch.Tensor, mask: torch.Tensor, classification: bool) -> torch.Tensor:
    """Per-copy mean loss ``(copies,)`` of ``out`` ``(copies, rows, out_dim)``."""
    if classification:
        per = nn.functional.cross_entropy(out.permute(0, 2, 1), y.long().clamp(min=0), reduction="none")
    else:
        per = (out[..., 0] - y) ** 2
    mf = mask.float()
    return (per * mf).sum(1) / mf.sum(1).clamp(min=1.0)


def train_stacked(
    model: nn.Module,
    train: StackedArrays,
    valid: StackedArrays,
    classification: bool,
    cfg: TrainConfig,
    ctx: RunContext,
    *,
    penalty: Callable[[], torch.Tensor] | None = None,
    where: str = "training",
    epochs_used: list[int] | None = None,
) -> nn.Module:
    """Train stacked per-task networks ``(copies, rows, in) -> (copies, rows, out)``.

    Each step draws a batch of each task's own rows (cycling through a fresh permutation), so
    every copy sees the same number of updates whatever its size. Early stopping is per copy:
    each keeps the weights of its own best validation epoch. ``epochs_used``, when given,
    receives each copy's number of epochs behind its restored weights.
    """
    copies = train.X.shape[0]
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    rng = np.random.default_rng(ctx.seed)
    stopper = EarlyStopping(model, units=copies, patience=cfg.patience)
    n_max = int(train.n.max())
    # Every copy draws the same batch size; sized to the typical task, so small tasks are not
    # padded out to a big task's batch (which would multiply the work for nothing).
    typical = int(np.median(train.n)) if len(train.n) else n_max
    batch = max(1, min(cfg.batch_size, n_max, max(8, typical // 2)))
    steps = max(int(np.ceil(n_max / batch)), MIN_STEPS_PER_EPOCH)
    rows = torch.arange(copies, device=train.X.device).unsqueeze(1)
    has_valid = bool(valid.n.sum() > 0)
    model.train()
    for epoch in range(cfg.max_epochs):
        ctx.budget.check(where)
        idx = np.empty((copies, steps * batch), dtype=np.int64)
        for k, nk in enumerate(train.n):
            reps = int(np.ceil(steps * batch / max(nk, 1)))
            idx[k] = np.concatenate([rng.permutation(max(nk, 1)) for _ in range(reps)])[: steps * batch]
        idx_t = torch.as_tensor(idx, device=train.X.device)
        for s in range(steps):
            cols = idx_t[:, s * batch : (s + 1) * batch]
            out = model(train.X[rows, cols])
            loss = _stacked_loss(
                out, train.y[rows, cols], torch.ones_like(cols, dtype=torch.bool), classification
            ).sum()
            if penalty is not None:
                loss = loss + penalty()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        unwatched = valid.n == 0
        if has_valid:
            model.eval()
            with torch.no_grad():
                val = _stacked_loss(model(valid.X), valid.y, valid.mask, classification).cpu().numpy()
            model.train()
            if ctx.on_epoch is not None:
                ctx.on_epoch(epoch, -float(np.mean(val[~unwatched])))
        else:
            val = np.zeros(copies)
        if stopper.update(model, val, unwatched=unwatched):
            break
    stopper.restore(model)
    if epochs_used is not None:
        epochs_used.extend(int(e) for e in stopper.best_epochs)
    model.eval()
    return model


def predict_stacked(model: nn.Module, data: StackedArrays) -> torch.Tensor:
    """Outputs ``(copies, rows, out_dim)`` for padded inputs."""
    model.eval()
    with torch.no_grad():
        return model(data.X)
