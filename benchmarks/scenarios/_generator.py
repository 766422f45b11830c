"""Synthetic multi-task datasets with planted structure.

Every task's function mixes a *cluster* function shared with the tasks of its cluster and a
function of its own::

    f_t(x) = sign_t · (sqrt(ρ) · g_{c(t)}(x) + sqrt(1 - ρ) · h_t(x))

where ``ρ`` is the relatedness knob, ``g_c`` and ``h_t`` are random one-hidden-layer tanh
networks made orthonormal on the input distribution (so two tasks of one cluster correlate at
exactly ρ and different clusters not at all), and ``sign_t = -1`` for planted conflicting tasks.
Uncorrelated is not unrelated: the orthonormal ``h_t`` are mixtures of one another's hidden units
and read the same few inputs, so a shared hidden layer still helps at ``ρ = 0``. With
``own_inputs=True`` every ``g_c`` and ``h_t`` is instead a network of its own over its own disjoint
random inputs, so the functions are independent and at ``ρ = 0`` the tasks share nothing to learn. Loud
sources follow large, high-frequency sinusoids unrelated to everything else. Covariate shift
moves a task's inputs by ``shift`` along a random direction. Classification thresholds the
noisy function at quantiles (binary: at the positive-rate quantile). The sinusoid family
follows Finn et al. (2017), "Model-agnostic meta-learning": ``y = A sin(x + φ)``,
``A ~ U[0.1, 5]``, ``φ ~ U[0, π]``, ``x ~ U[-5, 5]``.

Each generator returns a :class:`Scenario`: the DataFrame, its :class:`DatasetSpec` and the
planted truth, so tests can check signals and recommendations against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from probes.data import DatasetSpec

__all__ = ["PlantedStructure", "Scenario", "make_scenario", "make_sinusoids", "task_names"]

_HIDDEN = 16
_REFERENCE_ROWS = 4000


@dataclass(frozen=True)
class PlantedStructure:
    """What the generator put into a scenario, to test signals against."""

    clusters: dict[str, int]
    """Task -> cluster id (tasks of one cluster share their cluster function)."""
    relatedness: float
    """ρ: share of each task's function variance that comes from its cluster function."""
    conflicts: tuple[tuple[str, str], ...] = ()
    """(task, task) pairs in one cluster whose functions have opposite signs."""
    shifted: tuple[str, ...] = ()
    """Tasks whose inputs are shifted away from the others'."""
    loud: tuple[str, ...] = ()
    """Loud, high-frequency source tasks unrelated to every other task."""
    target_task: str | None = None
    task_params: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per-task parameters where they have a meaning (sinusoid amplitude and phase)."""


@dataclass(frozen=True)
class Scenario:
    """A generated dataset, its spec and its planted structure."""

    name: str
    frame: pd.DataFrame
    spec: DatasetSpec
    truth: PlantedStructure
    params: dict[str, Any] = field(default_factory=dict)


def task_names(n_tasks: int) -> list[str]:
    """``t00, t01, ...`` (zero-padded so they sort naturally)."""
    width = max(2, len(str(n_tasks - 1)))
    return [f"t{i:0{width}d}" for i in range(n_tasks)]


class _Basis:
    """Orthonormal random functions: random tanh networks made uncorrelated on N(0, I).

    Independent random networks on a few shared inputs correlate by chance (|r| ~ 0.4 on five
    inputs), which would make "unrelated" tasks related. A QR decomposition of the networks'
    values on a reference sample gives combinations ``e_k = Φ R⁻¹`` that are uncorrelated with
    unit variance, so ρ is exactly the correlation of two tasks in one cluster.
    """

    def __init__(self, d: int, n_functions: int, rng: np.random.Generator, reference: np.ndarray) -> None:
        self.d = d
        self.w = rng.normal(0.0, 1.5 / np.sqrt(d), size=(n_functions, d, _HIDDEN))
        self.b = rng.normal(0.0, 0.5, size=(n_functions, _HIDDEN))
        self.v = rng.normal(0.0, 1.0, size=(n_functions, _HIDDEN))
        raw = self._raw(reference)
        self.mean = raw.mean(axis=0)
        _, r = np.linalg.qr((raw - self.mean) / np.sqrt(len(reference)))
        self.r_inv = np.linalg.inv(r)

    def _raw(self, x: np.ndarray) -> np.ndarray:
        hidden = np.tanh(np.einsum("nd,kdh->nkh", x[:, : self.d], self.w) + self.b)
        return np.einsum("nkh,kh->nk", hidden, self.v)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Values of every basis function at ``x``: shape (rows, n_functions)."""
        return (self._raw(x) - self.mean) @ self.r_inv


class _Network:
    """A random tanh network over its own input columns, at zero mean and unit variance on N(0, I).

    Networks over disjoint columns of independent inputs are independent, hence exactly
    uncorrelated, with no hidden unit in common (``own_inputs``).
    """

    def __init__(self, columns: np.ndarray, rng: np.random.Generator, reference: np.ndarray) -> None:
        self.columns = columns
        d = len(columns)
        self.w = rng.normal(0.0, 1.5 / np.sqrt(d), size=(d, _HIDDEN))
        self.b = rng.normal(0.0, 0.5, size=_HIDDEN)
        self.v = rng.normal(0.0, 1.0, size=_HIDDEN)
        raw = self._raw(reference)
        self.mean, self.std = raw.mean(), raw.std()

    def _raw(self, x: np.ndarray) -> np.ndarray:
        return np.tanh(x[:, self.columns] @ self.w + self.b) @ self.v

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (self._raw(x) - self.mean) / self.std


def _input_groups(n_features: int, n_groups: int, size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``n_groups`` groups of input columns, disjoint while there are enough columns (then they wrap)."""
    size = max(1, min(size, n_features // n_groups)) if n_features >= n_groups else 1
    order = rng.permutation(n_features)
    return [np.sort(order[(np.arange(size) + g * size) % n_features]) for g in range(n_groups)]


class _LoudFunction:
    """A large, high-frequency sinusoid of a random projection."""

    def __init__(self, d: int, rng: np.random.Generator, amplitude: float, frequency: float) -> None:
        direction = rng.normal(size=d)
        self.u = direction / np.linalg.norm(direction)
        self.amplitude, self.frequency = amplitude, frequency
        self.phase = rng.uniform(0, 2 * np.pi)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.amplitude * np.sqrt(2) * np.sin(self.frequency * x[:, : len(self.u)] @ self.u + self.phase)


def _sizes(n_tasks: int, rows: int, imbalance: float, rng: np.random.Generator) -> np.ndarray:
    """Rows per task, log-spaced over a max/min ratio of ``imbalance`` around ``rows``."""
    if imbalance <= 1.0 or n_tasks == 1:
        return np.full(n_tasks, rows, dtype=int)
    spread = np.exp(np.linspace(-0.5, 0.5, n_tasks) * np.log(imbalance))
    sizes = np.maximum(10, np.round(rows * spread)).astype(int)
    return sizes[rng.permutation(n_tasks)]


def _to_labels(values: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    return np.searchsorted(cuts, values).astype(int)


def make_scenario(
    *,
    name: str = "custom",
    layout: Literal["task_column", "multi_target"] = "task_column",
    task_kind: Literal["regression", "classification"] = "regression",
    n_tasks: int = 6,
    rows_per_task: int = 200,
    imbalance: float = 1.0,
    n_features: int = 8,
    n_informative: int | None = None,
    relatedness: float = 0.8,
    n_clusters: int = 1,
    conflict_fraction: float = 0.0,
    shift: float = 0.0,
    shifted_fraction: float = 1.0,
    noise: float = 0.1,
    n_classes: int = 2,
    positive_rate: float = 0.5,
    missing_labels: float = 0.0,
    goal: Literal["all_tasks", "target_task", "new_tasks"] = "all_tasks",
    target_rows: int | None = None,
    target_linear: bool = False,
    loud_sources: int = 0,
    loud_amplitude: float = 4.0,
    loud_frequency: float = 4.0,
    n_categorical: int = 0,
    own_inputs: bool = False,
    shots: int | None = None,
    seed: int = 0,
) -> Scenario:
    """Generate a multi-task dataset with planted structure.

    Parameters
    ----------
    layout:
        ``task_column`` (each task its own rows, a ``task`` column) or ``multi_target`` (shared
        rows, targets ``y_t00, y_t01, ...``).
    n_tasks, rows_per_task, imbalance:
        Task count; rows per task; max/min ratio of task sizes (1 = equal).
    n_features, n_informative:
        Gaussian input columns ``x0..``; the functions read the first ``n_informative``
        (default ``min(n_features, 5)``).
    relatedness:
        ρ in [0, 1]: share of a task's signal that comes from its cluster's function.
    n_clusters:
        Tasks are dealt round-robin into clusters with independent cluster functions.
    conflict_fraction:
        Share of tasks (after the first of each cluster) whose function is sign-flipped.
    shift, shifted_fraction:
        Input shift magnitude (in standard deviations) and the share of tasks it applies to
        (task-column layout).
    noise:
        Standard deviation of the label noise (the function has unit variance).
    n_classes, positive_rate:
        Classification: classes from quantiles of the noisy function; binary positive share.
    missing_labels:
        Multi-target: share of each target's values removed (partial labels).
    goal, target_rows:
        ``target_task`` makes the first task the target; ``target_rows`` gives it fewer rows.
    target_linear:
        The first task follows a random linear function of the informative inputs instead: an
        easy target, on which an unhelpful shared representation shows (DESIGN.md §9).
    loud_sources:
        How many tasks (the last ones) follow loud unrelated sinusoids.
    n_categorical:
        Extra categorical columns ``c0..`` (noisy bins of informative inputs).
    own_inputs:
        Every cluster function and every task's own function is a separate network over its own
        inputs: disjoint groups of up to ``n_informative`` columns drawn from all ``n_features``
        (groups wrap round, and then correlate by chance, only when there are fewer columns than
        functions). Tasks then share only what ρ gives them: no hidden units, no relevant inputs.
    seed:
        Everything is determined by it.
    """
    if not 0.0 <= relatedness <= 1.0:
        raise ValueError(f"relatedness must be in [0, 1], got {relatedness}")
    if n_tasks < 1:
        raise ValueError("n_tasks must be at least 1")
    rng = np.random.default_rng(seed)
    names = task_names(n_tasks)
    d_inf = min(n_features, n_informative or 5)
    reference = rng.normal(size=(_REFERENCE_ROWS, n_features))
    n_clusters = max(1, min(n_clusters, n_tasks))
    cluster_of = {name: i % n_clusters for i, name in enumerate(names)}
    basis = _Basis(d_inf, n_clusters + n_tasks, rng, reference)
    own_index = {name: n_clusters + i for i, name in enumerate(names)}

    loud = tuple(names[n_tasks - loud_sources :]) if loud_sources else ()
    loud_fns = {name: _LoudFunction(d_inf, rng, loud_amplitude, loud_frequency) for name in loud}

    signs = {name: 1.0 for name in names}
    conflicts: list[tuple[str, str]] = []
    for c in range(n_clusters):
        members = [n for n in names if cluster_of[n] == c and n not in loud]
        flips = round(conflict_fraction * max(len(members) - 1, 0))
        for member in members[1 : 1 + flips]:
            signs[member] = -1.0
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                if signs[a] != signs[b]:
                    conflicts.append((a, b))

    # Its own stream, so that adding the knob left every other scenario unchanged.
    linear = np.random.default_rng([seed, 17]).normal(size=d_inf)
    linear /= np.linalg.norm(linear)
    nets: list[_Network] = []
    if own_inputs:  # its own stream too: a network per cluster, then per task, each over its own inputs
        own_rng = np.random.default_rng([seed, 29])
        groups = _input_groups(n_features, n_clusters + n_tasks, d_inf, own_rng)
        nets = [_Network(columns, own_rng, reference) for columns in groups]

    def signal(task: str, x: np.ndarray) -> np.ndarray:
        if task in loud_fns:
            return loud_fns[task](x)
        if target_linear and task == names[0]:
            return signs[task] * (x[:, :d_inf] @ linear)
        if own_inputs:
            shared, own = nets[cluster_of[task]](x), nets[own_index[task]](x)
        else:
            values = basis(x)
            shared, own = values[:, cluster_of[task]], values[:, own_index[task]]
        mixed = np.sqrt(relatedness) * shared + np.sqrt(1 - relatedness) * own
        return signs[task] * mixed

    shift_dirs: dict[str, np.ndarray] = {}
    if shift > 0 and layout == "task_column":
        n_shifted = max(1, round(shifted_fraction * n_tasks))
        for name in names[n_tasks - n_shifted :]:
            direction = rng.normal(size=n_features)
            shift_dirs[name] = shift * direction / np.linalg.norm(direction)

    cuts_of: dict[str, np.ndarray] = {}
    if task_kind == "classification":
        for name in names:
            ref = signal(name, reference) + noise * rng.normal(size=_REFERENCE_ROWS)
            qs = [1 - positive_rate] if n_classes == 2 else list(np.linspace(0, 1, n_classes + 1)[1:-1])
            cuts_of[name] = np.quantile(ref, qs)

    def label(task: str, x: np.ndarray) -> np.ndarray:
        value = signal(task, x) + noise * rng.normal(size=len(x))
        return _to_labels(value, cuts_of[task]) if task_kind == "classification" else value

    target = names[0] if goal == "target_task" else None
    if layout == "task_column":
        sizes = _sizes(n_tasks, rows_per_task, imbalance, rng)
        if target_rows is not None:
            sizes[0] = target_rows
        blocks = []
        for name, n in zip(names, sizes, strict=True):
            x = rng.normal(size=(n, n_features)) + shift_dirs.get(name, 0.0)
            block = pd.DataFrame(x, columns=[f"x{j}" for j in range(n_features)])
            block.insert(0, "task", name)
            block["y"] = label(name, x)
            blocks.append(block)
        frame = pd.concat(blocks, ignore_index=True)
        spec_fields: dict[str, Any] = {"targets": ["y"], "task_column": "task"}
    else:
        x = rng.normal(size=(rows_per_task, n_features))
        frame = pd.DataFrame(x, columns=[f"x{j}" for j in range(n_features)])
        targets = []
        for name in names:
            column = label(name, x).astype(float)
            keep = rng.random(rows_per_task) >= missing_labels
            if name == target and target_rows is not None:
                keep = np.zeros(rows_per_task, dtype=bool)
                keep[rng.choice(rows_per_task, size=min(target_rows, rows_per_task), replace=False)] = True
            column[~keep] = np.nan
            frame[f"y_{name}"] = column
            targets.append(f"y_{name}")
        spec_fields = {"targets": targets}
    for j in range(n_categorical):
        source = frame[f"x{j % d_inf}"].to_numpy() + 0.3 * rng.normal(size=len(frame))
        levels = np.array(list("abcdefgh"))
        frame[f"c{j}"] = levels[np.clip(((source + 2) * 2).astype(int), 0, len(levels) - 1)]

    spec_fields["goal"] = goal
    if goal == "target_task":
        spec_fields["target_task"] = target if layout == "task_column" else f"y_{target}"
    if goal == "new_tasks":
        spec_fields["shots"] = shots or 5
    if task_kind == "classification" and n_classes > 2:
        spec_fields["task_types"] = "classification"
    prefix = "" if layout == "task_column" else "y_"

    def rename(task: str) -> str:
        return prefix + task

    truth = PlantedStructure(
        clusters={rename(n): c for n, c in cluster_of.items()},
        relatedness=relatedness,
        conflicts=tuple((rename(a), rename(b)) for a, b in conflicts),
        shifted=tuple(rename(n) for n in shift_dirs),
        loud=tuple(rename(n) for n in loud),
        target_task=spec_fields.get("target_task"),
    )
    params = {k: v for k, v in locals().items() if k in _PARAM_NAMES}
    return Scenario(name=name, frame=frame, spec=DatasetSpec(**spec_fields), truth=truth, params=params)


_PARAM_NAMES = {
    "layout", "task_kind", "n_tasks", "rows_per_task", "imbalance", "n_features", "n_informative", "relatedness",
    "n_clusters", "conflict_fraction", "shift", "shifted_fraction", "noise", "n_classes", "positive_rate",
    "missing_labels", "goal", "target_rows", "target_linear", "loud_sources", "loud_amplitude", "loud_frequency", "n_categorical",
    "own_inputs", "shots", "seed",
}  # fmt: skip


def make_sinusoids(
    *,
    n_tasks: int = 40,
    rows_per_task: int = 30,
    amplitude: tuple[float, float] = (0.1, 5.0),
    phase: tuple[float, float] = (0.0, np.pi),
    x_range: tuple[float, float] = (-5.0, 5.0),
    noise: float = 0.0,
    shots: int = 5,
    goal: Literal["all_tasks", "new_tasks"] = "new_tasks",
    seed: int = 0,
    name: str = "sinusoids",
) -> Scenario:
    """The sinusoid regression family of Finn et al. (2017): one task per (amplitude, phase)."""
    rng = np.random.default_rng(seed)
    names = task_names(n_tasks)
    blocks, params = [], {}
    for task in names:
        a, p = rng.uniform(*amplitude), rng.uniform(*phase)
        x = rng.uniform(*x_range, size=rows_per_task)
        y = a * np.sin(x + p) + noise * rng.normal(size=rows_per_task)
        blocks.append(pd.DataFrame({"task": task, "x": x, "y": y}))
        params[task] = {"amplitude": float(a), "phase": float(p)}
    spec_fields: dict[str, Any] = {"targets": ["y"], "task_column": "task", "goal": goal}
    if goal == "new_tasks":
        spec_fields["shots"] = shots
    truth = PlantedStructure(clusters={t: 0 for t in names}, relatedness=1.0, task_params=params)
    return Scenario(
        name=name,
        frame=pd.concat(blocks, ignore_index=True),
        spec=DatasetSpec(**spec_fields),
        truth=truth,
        params={"n_tasks": n_tasks, "rows_per_task": rows_per_task, "noise": noise, "shots": shots, "seed": seed},
    )
