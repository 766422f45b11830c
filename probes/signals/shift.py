"""Input shift between tasks of the task-column layout: proxy A-distance and MMD.

* Proxy A-distance (Ben-David et al. 2007, "Analysis of representations for domain
  adaptation"; 2010, "A theory of learning from different domains"): ``PAD = 2 (1 - 2 ε)`` with
  ``ε`` the held-out error of a classifier that tells two tasks' rows apart, on a balanced
  sample. The classifier is a ridge least-squares linear discriminant whose leave-one-out
  predictions have a closed form, so every pair costs one small solve and all pairs are done in
  batched matrix products. ``PAD`` is 0 for indistinguishable inputs and 2 for separable ones
  (chance-level errors above one half count as 0).
* Squared maximum mean discrepancy (Gretton et al. 2012, "A kernel two-sample test"), unbiased,
  with a Gaussian kernel whose bandwidth is the median distance between rows of a pooled sample
  (median heuristic), one bandwidth for all pairs so their values compare.

Rows per task are capped (and lowered for many tasks) so that 100+ tasks take seconds. Only
training rows of a fold are used; the multi-target layout has no shift to measure (every task
sees the same rows).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from probes.budget import Budget
from probes.data import Layout, TaskSet
from probes.exceptions import BudgetExhausted
from probes.protocol import fit_preprocessor
from probes.signals._base import jsonable

if TYPE_CHECKING:  # the fold type only: this module needs no torch
    from probes.paradigms._data import FoldData

__all__ = ["ShiftSignal", "input_shift"]

#: Domain-classifier pairs solved per batched product at most.
_PAIR_CHUNK = 256
#: Floats one batched product may hold (~64 MB of float64): bounds pair and kernel chunks.
_FLOATS = 1 << 23


@dataclass(frozen=True, eq=False)
class ShiftSignal:
    """Pairwise input shift between tasks (symmetric matrices, diagonal 0).

    Attributes
    ----------
    names:
        Tasks in matrix order.
    pad:
        Proxy A-distance in [0, 2] from the domain classifier's leave-one-out error.
    domain_error:
        That error (0.5 = the two tasks' inputs cannot be told apart).
    mmd2:
        Unbiased squared MMD with a Gaussian kernel (can be slightly negative when there is no shift).
    bandwidth:
        Kernel bandwidth (median heuristic).
    n_rows:
        Rows of each task used.
    """

    names: tuple[str, ...]
    pad: np.ndarray
    domain_error: np.ndarray
    mmd2: np.ndarray
    bandwidth: float
    n_rows: np.ndarray
    seconds: float = 0.0
    budget_exhausted: bool = False
    notes: list[str] = field(default_factory=list)

    def task_shift(self) -> dict[str, dict[str, float]]:
        """Per task, its mean PAD and MMD² to every other task: how far its inputs sit from the rest."""
        out = {}
        off = ~np.eye(len(self.names), dtype=bool)
        for t, name in enumerate(self.names):
            pads, mmds = self.pad[t][off[t]], self.mmd2[t][off[t]]
            out[name] = {
                "pad": float(np.nanmean(pads)) if np.isfinite(pads).any() else float("nan"),
                "mmd2": float(np.nanmean(mmds)) if np.isfinite(mmds).any() else float("nan"),
            }
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: nested lists, NaN as ``None``."""
        return {
            "names": list(self.names),
            "pad": jsonable(self.pad),
            "domain_error": jsonable(self.domain_error),
            "mmd2": jsonable(self.mmd2),
            "bandwidth": jsonable(self.bandwidth),
            "n_rows": jsonable(self.n_rows),
            "task_shift": jsonable(self.task_shift()),
            "seconds": round(self.seconds, 3),
            "budget_exhausted": self.budget_exhausted,
            "notes": list(self.notes),
        }


# ------------------------------------------------------------------------------------- inputs


def _task_inputs(data: FoldData | TaskSet) -> tuple[np.ndarray, list[np.ndarray], list[str]]:
    """Design matrix, each task's row positions in it, and task names."""
    if isinstance(data, TaskSet):
        if data.layout is not Layout.TASK_COLUMN:
            raise ValueError(_SHARED_ROWS)
        everything = np.arange(len(data.features))
        X = fit_preprocessor(data, everything).transform(data.features)
        return X, [t.rows for t in data.tasks], data.task_names
    rows = [v.rows_train for v in data.tasks]
    return data.X, rows, [v.name for v in data.tasks]


_SHARED_ROWS = (
    "Input shift compares tasks that have their own rows (the task-column layout); these tasks share rows "
    "(the multi-target layout), so every task sees the same inputs and there is no shift to measure. "
    "Use label_relatedness for multi-target data."
)


def _samples(rows: list[np.ndarray], cap: int, seed: int) -> list[np.ndarray]:
    """Up to ``cap`` rows of each task, in a seeded random order."""
    out = []
    for t, r in enumerate(rows):
        rng = np.random.default_rng([seed, t])
        out.append(r[rng.permutation(len(r))[:cap]])
    return out


# ------------------------------------------------------------------------------ domain classifier


def _domain_errors(X: np.ndarray, samples: list[np.ndarray], pairs: np.ndarray, ridge: float) -> np.ndarray:
    """Leave-one-out error of a ridge linear discriminant for each task pair, on balanced samples.

    Ridge regression on ±1 labels has closed-form leave-one-out predictions,
    ``(f_r - h_r t_r) / (1 - h_r)`` with ``h`` the hat matrix's diagonal. Pairs are padded to one
    row count with zero rows (which change neither the fit nor, being masked, the error).
    """
    m = np.array([min(len(samples[i]), len(samples[j])) for i, j in pairs])
    width = int(m.max()) * 2
    d = X.shape[1] + 1
    Z = np.zeros((len(pairs), width, d))
    t = np.zeros((len(pairs), width))
    for k, ((i, j), mk) in enumerate(zip(pairs, m, strict=True)):
        Z[k, :mk, :-1] = X[samples[i][:mk]]
        Z[k, mk : 2 * mk, :-1] = X[samples[j][:mk]]
        Z[k, : 2 * mk, -1] = 1.0
        t[k, :mk], t[k, mk : 2 * mk] = 1.0, -1.0
    if d <= width:  # primal: (features x features) systems
        A_inv = np.linalg.inv(np.transpose(Z, (0, 2, 1)) @ Z + ridge * np.eye(d))
        weights = A_inv @ np.einsum("prd,pr->pd", Z, t)[..., None]
        fitted = (Z @ weights)[..., 0]
        hat = np.einsum("prd,prd->pr", Z @ A_inv, Z)
    else:  # dual: (rows x rows) systems, when columns outnumber rows
        K = Z @ np.transpose(Z, (0, 2, 1))
        H = K @ np.linalg.inv(K + ridge * np.eye(width))
        fitted = (H @ t[..., None])[..., 0]
        hat = np.einsum("prr->pr", H)
    loo = (fitted - hat * t) / np.clip(1.0 - hat, 1e-9, None)
    used = t != 0
    wrong = (np.sign(loo) != t) & used
    return wrong.sum(1) / used.sum(1)


# --------------------------------------------------------------------------------------- MMD


def _median_bandwidth(X: np.ndarray, samples: list[np.ndarray], seed: int, pool: int = 1000) -> float:
    rows = np.concatenate(samples)
    rng = np.random.default_rng(seed)
    rows = rows[rng.permutation(len(rows))[:pool]]
    P = X[rows].astype(float)
    sq = np.sum(P * P, 1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * P @ P.T, 0.0)
    distances = np.sqrt(d2[np.triu_indices(len(P), k=1)])
    positive = distances[distances > 0]
    return float(np.median(positive)) if len(positive) else 1.0


def _mmd2(X: np.ndarray, samples: list[np.ndarray], bandwidth: float, budget: Budget) -> np.ndarray:
    """Unbiased MMD² of every task pair from block sums of one Gaussian kernel matrix."""
    owner = np.concatenate([np.full(len(s), t) for t, s in enumerate(samples)])
    P = X[np.concatenate(samples)].astype(np.float64)
    n_tasks = len(samples)
    onehot = np.zeros((len(P), n_tasks))
    onehot[np.arange(len(P)), owner] = 1.0
    sq = np.sum(P * P, 1)
    sums = np.zeros((n_tasks, n_tasks))
    step = max(1, _FLOATS // max(len(P), 1))
    for start in range(0, len(P), step):
        budget.check("input shift (MMD)")
        block = slice(start, start + step)
        d2 = np.maximum(sq[block, None] + sq[None, :] - 2 * P[block] @ P.T, 0.0)
        K = np.exp(-d2 / (2.0 * bandwidth**2))
        sums += onehot[block].T @ (K @ onehot)
    counts = onehot.sum(0)
    # k(x, x) = 1 for each row: leaving those out of the within-task mean makes the estimate unbiased
    within = (np.diag(sums) - counts) / np.maximum(counts * (counts - 1), 1)
    between = sums / np.maximum(np.outer(counts, counts), 1)
    mmd = within[:, None] + within[None, :] - 2 * between
    mmd[counts < 2, :] = np.nan
    mmd[:, counts < 2] = np.nan
    np.fill_diagonal(mmd, 0.0)
    return mmd


# ------------------------------------------------------------------------------------- signal


def input_shift(
    data: FoldData | TaskSet,
    *,
    rows_per_task: int = 100,
    max_total_rows: int = 20000,
    ridge: float | None = None,
    seed: int = 0,
    budget: Budget | None = None,
) -> ShiftSignal:
    """Proxy A-distance and MMD² between the inputs of every pair of tasks.

    Parameters
    ----------
    data:
        A prepared row fold (its training rows are compared, in its design matrix) or a
        task-column TaskSet (all rows, preprocessed once; no labels are used).
    rows_per_task:
        Rows of each task used at most (a seeded sample), lowered so that all tasks together
        stay within ``max_total_rows`` (at least 10 per task): the kernel matrix is that size squared.
    ridge:
        Penalty of the domain classifier; default: the number of input columns (features are
        standardised, so one unit per column), which keeps it stable when columns outnumber rows.
    seed:
        Seeds the row samples.
    budget:
        Checked between blocks of work; when it runs out the pairs not reached are NaN and the
        signal says so.

    Raises
    ------
    ValueError
        When tasks share rows (multi-target layout).

    Examples
    --------
    >>> shift = input_shift(prepare_folds(ts, "fast")[0])  # doctest: +SKIP
    >>> shift.task_shift()["t03"]  # doctest: +SKIP
    {'pad': 1.62, 'mmd2': 0.41}
    """
    if rows_per_task < 2 or max_total_rows < 2:
        raise ValueError(f"rows_per_task and max_total_rows must be >= 2, got {rows_per_task} and {max_total_rows}")
    started = time.perf_counter()
    budget = budget or Budget()
    X, rows, names = _task_inputs(data)
    every = np.concatenate(rows) if rows else np.empty(0, dtype=np.int64)
    if len(np.unique(every)) < len(every):
        raise ValueError(_SHARED_ROWS)
    n_tasks = len(names)
    cap = max(min(rows_per_task, max_total_rows // max(n_tasks, 1)), 10)
    samples = _samples(rows, cap, seed)
    X = np.asarray(X, dtype=np.float64)
    penalty = float(ridge) if ridge is not None else float(max(X.shape[1], 1))
    error = np.full((n_tasks, n_tasks), np.nan)
    np.fill_diagonal(error, 0.5)
    mmd = np.full((n_tasks, n_tasks), np.nan)
    bandwidth = float("nan")
    notes: list[str] = []
    sampled = sum(len(r) > cap for r in rows)
    if sampled:
        notes.append(
            f"at most {cap} rows per task (a seeded sample of {sampled} of {n_tasks} tasks' rows): "
            f"{rows_per_task} per task, fewer when {n_tasks} tasks would pass {max_total_rows:,} rows in all"
        )
    exhausted = False
    pairs = np.array([(i, j) for i in range(n_tasks) for j in range(i + 1, n_tasks)], dtype=int).reshape(-1, 2)
    usable = np.array([min(len(samples[i]), len(samples[j])) >= 2 for i, j in pairs], dtype=bool)
    pairs = pairs[usable] if len(pairs) else pairs
    width, d = 2 * cap, X.shape[1] + 1
    per_pair = width * d + min(d, width) ** 2
    step = int(np.clip(_FLOATS // per_pair, 1, _PAIR_CHUNK))
    try:
        for start in range(0, len(pairs), step):
            budget.check("input shift (domain classifier)")
            chunk = pairs[start : start + step]
            values = _domain_errors(X, samples, chunk, penalty)
            error[chunk[:, 0], chunk[:, 1]] = error[chunk[:, 1], chunk[:, 0]] = values
        bandwidth = _median_bandwidth(X, samples, seed)
        mmd = _mmd2(X, samples, bandwidth, budget)
    except BudgetExhausted:
        exhausted = True
        notes.append("time budget ran out; pairs not reached are NaN")
    pad = np.clip(2.0 * (1.0 - 2.0 * error), 0.0, 2.0)
    np.fill_diagonal(pad, 0.0)
    return ShiftSignal(
        names=tuple(names),
        pad=pad,
        domain_error=error,
        mmd2=mmd,
        bandwidth=bandwidth,
        n_rows=np.array([len(s) for s in samples]),
        seconds=time.perf_counter() - started,
        budget_exhausted=exhausted,
        notes=notes,
    )
