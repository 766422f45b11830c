"""Label relatedness of the multi-target layout: how targets co-vary on the rows they share.

For every pair of targets, on the rows where both are present:

* a correlation: Pearson for two regression targets, which is also the point-biserial
  correlation (binary class against a value) and the phi coefficient (two binary classes) on
  class codes; the correlation ratio η (Pearson 1903) for a multi-class target against a value
  and Cramér's V (Cramér 1946) for a multi-class target against a class. The first three are
  signed, the last two are not: ``correlation_kind`` says which one each cell holds;
* mutual information in nats, with scikit-learn's nearest-neighbour estimators (Kraskov,
  Stögbauer & Grassberger 2004 between values; Ross 2014 between a value and a class; counts
  between two classes), seeded;
* the conditional entropy ``H(Y_j | Y_i)`` in nats of quantile-binned labels (plug-in estimate,
  biased low on few rows), next to each target's own binned entropy ``H(Y_j)``;
* the number of shared rows.

The task-column layout has no shared rows, so these signals do not exist there.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from probes.budget import Budget
from probes.data import Layout, Task, TaskSet
from probes.exceptions import BudgetExhausted
from probes.signals._base import jsonable

__all__ = ["LabelSignal", "label_relatedness"]

#: Pairs sharing fewer rows than this get NaN (no estimate is meaningful on so few rows).
MIN_SHARED_ROWS = 10


@dataclass(frozen=True, eq=False)
class LabelSignal:
    """Pairwise label relatedness of targets over their shared rows (symmetric except ``conditional_entropy``).

    Attributes
    ----------
    names, kinds:
        Targets in matrix order and their task kinds.
    correlation:
        Association on shared rows (diagonal 1); see ``correlation_kind``.
    correlation_kind:
        Per cell: ``pearson`` (signed), ``correlation_ratio`` or ``cramers_v`` (both in [0, 1]).
    mutual_information:
        Estimated mutual information in nats (diagonal NaN: infinite for a continuous target).
    conditional_entropy:
        ``[i, j] = H(Y_j | Y_i)``: what is left unknown of target ``j`` once ``i`` is known.
    entropy:
        ``H(Y_j)`` of each target's binned labels over all its rows.
    shared_rows:
        Rows where both targets are present.
    """

    names: tuple[str, ...]
    kinds: tuple[str, ...]
    correlation: np.ndarray
    correlation_kind: np.ndarray
    mutual_information: np.ndarray
    conditional_entropy: np.ndarray
    entropy: np.ndarray
    shared_rows: np.ndarray
    n_bins: int
    seconds: float = 0.0
    budget_exhausted: bool = False
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: nested lists, NaN as ``None``."""
        return {
            "names": list(self.names),
            "kinds": list(self.kinds),
            "correlation": jsonable(self.correlation),
            "correlation_kind": self.correlation_kind.tolist(),
            "mutual_information": jsonable(self.mutual_information),
            "conditional_entropy": jsonable(self.conditional_entropy),
            "entropy": jsonable(self.entropy),
            "shared_rows": jsonable(self.shared_rows),
            "n_bins": self.n_bins,
            "seconds": round(self.seconds, 3),
            "budget_exhausted": self.budget_exhausted,
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------------- measures


def _binary(task: Task) -> bool:
    return task.kind == "classification" and task.n_classes == 2


def _correlation(a: Task, ya: np.ndarray, b: Task, yb: np.ndarray) -> tuple[float, str]:
    """Association of two label vectors over the same rows, and its name."""
    a_values = a.kind == "regression" or _binary(a)
    b_values = b.kind == "regression" or _binary(b)
    if a_values and b_values:
        return _pearson(ya.astype(float), yb.astype(float)), "pearson"
    if a.kind == "classification" and b.kind == "classification":
        return _cramers_v(ya.astype(int), yb.astype(int)), "cramers_v"
    classes, values = (ya, yb) if a.kind == "classification" and not _binary(a) else (yb, ya)
    return _correlation_ratio(classes.astype(int), values.astype(float)), "correlation_ratio"


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    x, y = x - x.mean(), y - y.mean()
    denom = float(np.sqrt(np.sum(x * x) * np.sum(y * y)))
    return float(np.sum(x * y) / denom) if denom > 0 else float("nan")


def _correlation_ratio(classes: np.ndarray, values: np.ndarray) -> float:
    """η: the share of the values' spread explained by class means, square-rooted."""
    total = float(np.sum((values - values.mean()) ** 2))
    if total <= 0:
        return float("nan")
    between = sum(
        float(np.sum(classes == c)) * (float(values[classes == c].mean()) - float(values.mean())) ** 2
        for c in np.unique(classes)
    )
    return float(np.sqrt(between / total))


def _contingency(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    _, ia = np.unique(a, return_inverse=True)
    _, ib = np.unique(b, return_inverse=True)
    table = np.zeros((ia.max() + 1, ib.max() + 1))
    np.add.at(table, (ia, ib), 1.0)
    return table


def _cramers_v(a: np.ndarray, b: np.ndarray) -> float:
    table = _contingency(a, b)
    n = table.sum()
    k = min(table.shape) - 1
    if k < 1 or n == 0:
        return float("nan")
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / n
    chi2 = float(np.sum((table - expected) ** 2 / np.where(expected > 0, expected, 1.0)))
    return float(np.sqrt(chi2 / (n * k)))


def _entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-np.sum(p * np.log(p)))


def _conditional_entropy(given: np.ndarray, of: np.ndarray) -> float:
    """``H(of | given)`` of two discrete vectors, plug-in, in nats."""
    table = _contingency(given, of)
    return _entropy(table.ravel()) - _entropy(table.sum(1))


def _bins(task: Task, n_bins: int) -> np.ndarray:
    """Discrete version of a task's labels: class codes, or quantile bins of a value."""
    if task.kind == "classification":
        return task.y.astype(int)
    edges = np.unique(np.quantile(task.y, np.linspace(0, 1, n_bins + 1)[1:-1]))
    return np.searchsorted(edges, task.y, side="right")


def _mutual_information(a: Task, ya: np.ndarray, b: Task, yb: np.ndarray, n_neighbors: int, seed: int) -> float:
    from sklearn.feature_selection import mutual_info_classif, mutual_info_regression

    if a.kind == "classification" and b.kind == "classification":
        value = mutual_info_classif(
            ya.reshape(-1, 1).astype(int), yb.astype(int), discrete_features=True, random_state=seed
        )
    elif a.kind == "classification" or b.kind == "classification":
        classes, values = (ya, yb) if a.kind == "classification" else (yb, ya)
        value = mutual_info_classif(
            values.reshape(-1, 1).astype(float),
            classes.astype(int),
            discrete_features=False,
            n_neighbors=n_neighbors,
            random_state=seed,
        )
    else:
        value = mutual_info_regression(
            ya.reshape(-1, 1).astype(float), yb.astype(float), n_neighbors=n_neighbors, random_state=seed
        )
    return float(value[0])


# ------------------------------------------------------------------------------------ signal


def label_relatedness(
    taskset: TaskSet,
    *,
    budget: Budget | None = None,
    seed: int = 0,
    n_bins: int = 8,
    max_rows: int = 2000,
    n_neighbors: int = 3,
) -> LabelSignal:
    """Correlation, mutual information and conditional entropy between targets on their shared rows.

    Parameters
    ----------
    taskset:
        A multi-target TaskSet (several targets over the same rows; partial labels are fine).
    budget:
        Checked before each pair; when it runs out the remaining pairs stay NaN and the signal
        says so (``budget_exhausted``).
    seed:
        Seeds the row subsample and the nearest-neighbour estimators.
    n_bins:
        Quantile bins of a regression target for the entropies.
    max_rows:
        Shared rows used per pair at most (a seeded subsample), to bound the estimators' cost.
    n_neighbors:
        Neighbours of the mutual-information estimators.

    Raises
    ------
    ValueError
        For the task-column layout: its tasks share no rows, so there is nothing to compare.

    Examples
    --------
    >>> signal = label_relatedness(load_taskset("sarcos.csv", targets=["tau1", "tau2"]))  # doctest: +SKIP
    >>> signal.correlation[0, 1]  # doctest: +SKIP
    0.41
    """
    if taskset.layout is not Layout.MULTI_TARGET:
        raise ValueError(
            "Label relatedness compares targets on the rows they share, which needs the multi-target layout "
            f"(several targets over the same rows); this dataset has the {taskset.layout.value} layout, where "
            "every row belongs to one task. Use input_shift or task_affinity for task-column data."
        )
    if n_bins < 2 or max_rows < MIN_SHARED_ROWS or n_neighbors < 1:
        raise ValueError(
            f"need n_bins >= 2, max_rows >= {MIN_SHARED_ROWS} and n_neighbors >= 1; "
            f"got {n_bins}, {max_rows} and {n_neighbors}"
        )
    started = time.perf_counter()
    budget = budget or Budget()
    tasks = taskset.tasks
    n = len(tasks)
    correlation = np.full((n, n), np.nan)
    kinds = np.full((n, n), "", dtype=object)
    mutual = np.full((n, n), np.nan)
    conditional = np.full((n, n), np.nan)
    shared = np.zeros((n, n), dtype=int)
    binned = [_bins(t, n_bins) for t in tasks]
    entropy = np.array([_entropy(np.bincount(b - b.min())) for b in binned])
    for i, task in enumerate(tasks):
        shared[i, i] = task.n_rows
        correlation[i, i] = 1.0
        conditional[i, i] = 0.0
        kinds[i, i] = "pearson" if task.kind == "regression" or _binary(task) else "cramers_v"
    notes: list[str] = []
    exhausted = False
    try:
        for i in range(n):
            for j in range(i + 1, n):
                budget.check("label relatedness")
                a, b = tasks[i], tasks[j]
                _, ia, ib = np.intersect1d(a.rows, b.rows, assume_unique=True, return_indices=True)
                shared[i, j] = shared[j, i] = len(ia)
                if len(ia) < MIN_SHARED_ROWS:
                    continue
                if len(ia) > max_rows:
                    keep = np.sort(np.random.default_rng([seed, i, j]).choice(len(ia), size=max_rows, replace=False))
                    ia, ib = ia[keep], ib[keep]
                ya, yb = a.y[ia], b.y[ib]
                value, kind = _correlation(a, ya, b, yb)
                correlation[i, j] = correlation[j, i] = value
                kinds[i, j] = kinds[j, i] = kind
                mutual[i, j] = mutual[j, i] = _mutual_information(a, ya, b, yb, n_neighbors, seed)
                conditional[i, j] = _conditional_entropy(binned[i][ia], binned[j][ib])
                conditional[j, i] = _conditional_entropy(binned[j][ib], binned[i][ia])
    except BudgetExhausted:
        exhausted = True
        notes.append("time budget ran out; pairs not reached are NaN")
    return LabelSignal(
        names=tuple(t.name for t in tasks),
        kinds=tuple(t.kind for t in tasks),
        correlation=correlation,
        correlation_kind=kinds.astype(str),
        mutual_information=mutual,
        conditional_entropy=conditional,
        entropy=entropy,
        shared_rows=shared,
        n_bins=n_bins,
        seconds=time.perf_counter() - started,
        budget_exhausted=exhausted,
        notes=notes,
    )
