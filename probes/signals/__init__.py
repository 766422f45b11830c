"""Relatedness and risk signals (DESIGN.md §5): evidence beside the probes, never a verdict alone.

* :mod:`~probes.signals.affinity` — TAG lookahead affinity, its first-order form and gradient
  conflict during one short shared-trunk run; task groups and harmful sources from them.
* :mod:`~probes.signals.labels` — correlation, mutual information and conditional entropy of
  targets on shared rows (multi-target layout).
* :mod:`~probes.signals.shift` — proxy A-distance and MMD between tasks' inputs (task-column layout).
* :mod:`~probes.signals.transferability` — LogME, H-score and k-NN of source-pretrained features.
* :mod:`~probes.signals.curves` — learning curves fitted with a power law and extrapolated.

The data profile is :func:`probes.data.profile_taskset`. Every signal is a dataclass of numpy
arrays and task names with a JSON-ready ``to_dict()``. Names load lazily, so importing this
package does not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "AffinitySignal",
    "LabelSignal",
    "LearningCurvePoint",
    "LearningCurveSignal",
    "ShiftSignal",
    "TransferabilitySignal",
    "extrapolate",
    "fit_power_law",
    "h_score",
    "harmful_sources",
    "input_shift",
    "knn_score",
    "label_relatedness",
    "learning_curve",
    "logme",
    "source_transferability",
    "suggest_groups",
    "task_affinity",
]

_HOME = {
    **{
        name: "probes.signals.affinity"
        for name in ("AffinitySignal", "harmful_sources", "suggest_groups", "task_affinity")
    },
    **{name: "probes.signals.labels" for name in ("LabelSignal", "label_relatedness")},
    **{name: "probes.signals.shift" for name in ("ShiftSignal", "input_shift")},
    **{
        name: "probes.signals.transferability"
        for name in ("TransferabilitySignal", "h_score", "knn_score", "logme", "source_transferability")
    },
    **{
        name: "probes.signals.curves"
        for name in ("LearningCurvePoint", "LearningCurveSignal", "extrapolate", "fit_power_law", "learning_curve")
    },
}

if TYPE_CHECKING:
    from probes.signals.affinity import AffinitySignal, harmful_sources, suggest_groups, task_affinity
    from probes.signals.curves import (
        LearningCurvePoint,
        LearningCurveSignal,
        extrapolate,
        fit_power_law,
        learning_curve,
    )
    from probes.signals.labels import LabelSignal, label_relatedness
    from probes.signals.shift import ShiftSignal, input_shift
    from probes.signals.transferability import (
        TransferabilitySignal,
        h_score,
        knn_score,
        logme,
        source_transferability,
    )


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'probes.signals' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name]), name)


def __dir__() -> list[str]:
    return sorted(__all__)
