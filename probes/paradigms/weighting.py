"""How a multi-task network turns several task losses into one update.

Two small families, each a class with one method that depends only on the tensors it is
given (as in torchjd), registered in the explicit :data:`STRATEGIES` dict:

* :class:`LossWeighting` maps per-task losses (and a per-task learnable state) to one scalar:
  :class:`EqualWeighting`, and :class:`UncertaintyWeighting` (Kendall, Gal & Cipolla 2018,
  "Multi-task learning using uncertainty to weigh losses").
* :class:`GradientSurgery` maps the per-task gradients of the shared parameters — a
  ``(tasks, parameters)`` matrix — to one update direction: :class:`PCGrad` (Yu et al. 2020,
  "Gradient surgery for multi-task learning") and the plain :class:`MeanGradient` reference.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import torch

__all__ = [
    "STRATEGIES",
    "EqualWeighting",
    "GradientSurgery",
    "LossWeighting",
    "MeanGradient",
    "PCGrad",
    "UncertaintyWeighting",
]


class LossWeighting(ABC):
    """Per-task losses ``(tasks,)`` and state ``(tasks,)`` -> one scalar loss."""

    name: ClassVar[str]
    learnable_state: ClassVar[bool] = False

    def initial_state(self, n_tasks: int) -> torch.Tensor:
        """The state a training run starts from (learned when ``learnable_state``)."""
        return torch.zeros(n_tasks)

    @abstractmethod
    def combine(self, losses: torch.Tensor, state: torch.Tensor) -> torch.Tensor: ...


class EqualWeighting(LossWeighting):
    """The mean of the task losses."""

    name = "equal"

    def combine(self, losses: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        return losses.mean()


class UncertaintyWeighting(LossWeighting):
    """Homoscedastic-uncertainty weighting: ``mean_t(exp(-s_t) · L_t + s_t)``, ``s_t = log σ_t²`` learned.

    A task whose loss stays high (noisy) raises its σ and so its weight falls; the ``+ s_t``
    term stops σ from growing without bound (Kendall et al. 2018).
    """

    name = "uncertainty"
    learnable_state = True

    def combine(self, losses: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        return (torch.exp(-state) * losses + state).mean()


class GradientSurgery(ABC):
    """Per-task gradients ``(tasks, parameters)`` -> one update ``(parameters,)``."""

    name: ClassVar[str]

    @abstractmethod
    def aggregate(self, jacobian: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor: ...


class MeanGradient(GradientSurgery):
    """The mean of the task gradients (what equal weighting does)."""

    name = "mean"

    def aggregate(self, jacobian: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return jacobian.mean(dim=0)


class PCGrad(GradientSurgery):
    """Project conflicting gradients (Yu et al. 2020).

    For each task gradient ``g_i``, in a random order of the other tasks ``j``: when
    ``g_i · g_j < 0``, remove from ``g_i`` its component along ``g_j``. The update is the mean
    of the projected gradients, so without conflict it equals :class:`MeanGradient`.
    """

    name = "pcgrad"

    def aggregate(self, jacobian: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        n_tasks = jacobian.shape[0]
        if n_tasks < 2:
            return jacobian.mean(dim=0)
        # Only against underflow: a fixed floor (1e-20) bent the projection onto small but real
        # gradients, so the update stopped scaling with them.
        norms_sq = (jacobian * jacobian).sum(dim=1).clamp(min=torch.finfo(jacobian.dtype).tiny)
        projected = jacobian.clone()
        for i in range(n_tasks):
            order = torch.randperm(n_tasks, generator=generator)
            for j in order.tolist():
                if j == i:
                    continue
                dot = projected[i] @ jacobian[j]
                if dot < 0:
                    projected[i] = projected[i] - dot / norms_sq[j] * jacobian[j]
        return projected.mean(dim=0)


STRATEGIES: dict[str, LossWeighting | GradientSurgery] = {
    "equal": EqualWeighting(),
    "uncertainty": UncertaintyWeighting(),
    "pcgrad": PCGrad(),
}
