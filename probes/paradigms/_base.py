"""The contract every paradigm variant fulfils, and the checks that say when one applies.

A :class:`Variant` is a set of small functions, not a class hierarchy: ``fit_predict`` trains
on a row fold and returns test predictions per task; ``fit_predict_meta`` does the same for
a task fold of ``new_tasks`` (one prediction per test episode). ``search_space`` proposes
hyper-parameters to optuna; ``defaults`` are used when no search runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from probes.data import TaskSet
from probes.paradigms._backbone import BackboneConfig
from probes.paradigms._data import FoldData, MetaFoldData
from probes.paradigms._training import RunContext

if TYPE_CHECKING:
    import optuna

__all__ = ["PARADIGMS", "Variant", "backbone_from", "backbone_space", "train_space"]

#: Paradigm ids, simplest first.
PARADIGMS: tuple[str, ...] = ("stl", "transfer", "mtl", "meta")

FitPredict = Callable[[FoldData, dict[str, Any], RunContext], dict[int, np.ndarray]]
FitPredictMeta = Callable[[MetaFoldData, dict[str, Any], RunContext], list[np.ndarray]]
SearchSpace = Callable[["optuna.Trial"], dict[str, Any]]
Applicability = Callable[[TaskSet], str | None]


def _always(taskset: TaskSet) -> str | None:
    return None


@dataclass(frozen=True)
class Variant:
    """One learner of one paradigm (``stl/mlp``, ``mtl/pcgrad``, ...)."""

    id: str
    description: str
    fit_predict: FitPredict | None = None
    fit_predict_meta: FitPredictMeta | None = None
    defaults: dict[str, Any] = field(default_factory=dict)
    search_space: SearchSpace | None = None
    applicable_to: Applicability = _always
    min_tasks: int = 1
    citation: str = ""
    prunable: bool = True
    """Whether a search may stop its trials early on the per-epoch losses it reports (not when its
    training runs several loops whose epochs each start from zero, as transfer's)."""

    @property
    def paradigm(self) -> str:
        return self.id.split("/", 1)[0]

    def why_not(self, taskset: TaskSet) -> str | None:
        """``None`` when the variant can run on ``taskset``, else the reason it cannot."""
        if taskset.goal == "new_tasks" and self.fit_predict_meta is None:
            return f"{self.id} has no few-shot form for goal 'new_tasks'"
        if taskset.goal != "new_tasks" and self.fit_predict is None:
            return f"{self.id} only applies to goal 'new_tasks'"
        if taskset.n_tasks < self.min_tasks:
            return f"{self.id} needs at least {self.min_tasks} tasks (the data has {taskset.n_tasks})"
        return self.applicable_to(taskset)


def backbone_from(params: dict[str, Any]) -> BackboneConfig:
    """The backbone described by search params (missing keys take the defaults)."""
    base = BackboneConfig()
    return BackboneConfig(
        width=int(params.get("width", base.width)),
        depth=int(params.get("depth", base.depth)),
        activation=str(params.get("activation", base.activation)),
        dropout=float(params.get("dropout", base.dropout)),
        norm=str(params.get("norm", base.norm)),
    )


def backbone_space(trial: optuna.Trial) -> dict[str, Any]:
    """The shared search space of the backbone."""
    return {
        "width": trial.suggest_categorical("width", [32, 64, 128]),
        "depth": trial.suggest_int("depth", 1, 3),
        "activation": trial.suggest_categorical("activation", ["relu", "gelu", "tanh"]),
        "dropout": trial.suggest_float("dropout", 0.0, 0.3),
    }


def train_space(trial: optuna.Trial) -> dict[str, Any]:
    """The shared search space of the optimiser."""
    return {
        "lr": trial.suggest_float("lr", 3e-4, 1e-2, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
    }
