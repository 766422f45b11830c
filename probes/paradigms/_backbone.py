"""The one MLP backbone builder shared by every neural learner, so paradigms differ only in sharing.

Every network here is *stacked*: it holds ``copies`` independent MLPs of the same shape and maps
inputs of shape ``(copies, batch, features)`` to ``(copies, batch, out)`` with batched matrix
products. ``copies=1`` is an ordinary MLP (a shared trunk); ``copies=K`` trains K single-task
networks in one computation, which is what makes per-task models fast on many small tasks.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

__all__ = [
    "ACTIVATIONS",
    "BackboneConfig",
    "CrossStitchMLP",
    "SharedTrunkNet",
    "StackedLinear",
    "StackedMLP",
    "build_mlp",
]

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "silu": nn.SiLU}
NORMS = ("none", "layer")


@dataclass(frozen=True)
class BackboneConfig:
    """Shape of the MLP: ``depth`` hidden layers of ``width`` units, each Linear -> norm -> activation -> dropout."""

    width: int = 64
    depth: int = 2
    activation: str = "relu"
    dropout: float = 0.0
    norm: str = "none"

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}")
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {self.norm!r}")
        if self.width < 1 or self.depth < 0 or not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"invalid backbone {self}")

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class StackedLinear(nn.Module):
    """``copies`` independent linear layers applied as one batched matrix product."""

    def __init__(self, copies: int, in_features: int, out_features: int) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(max(in_features, 1))
        self.weight = nn.Parameter(torch.empty(copies, in_features, out_features).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(copies, 1, out_features).uniform_(-bound, bound))

    @property
    def copies(self) -> int:
        return self.weight.shape[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


class _StackedLayerNorm(nn.Module):
    """Layer normalisation with a separate affine transform per copy."""

    def __init__(self, copies: int, width: int) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.ones(copies, 1, width))
        self.shift = nn.Parameter(torch.zeros(copies, 1, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.layer_norm(x, x.shape[-1:]) * self.gain + self.shift


def _hidden_block(copies: int, in_features: int, config: BackboneConfig) -> list[nn.Module]:
    block: list[nn.Module] = [StackedLinear(copies, in_features, config.width)]
    if config.norm == "layer":
        block.append(_StackedLayerNorm(copies, config.width))
    block.append(ACTIVATIONS[config.activation]())
    if config.dropout > 0:
        block.append(nn.Dropout(config.dropout))
    return block


class StackedMLP(nn.Sequential):
    """``copies`` MLPs of one shape: ``(copies, batch, in) -> (copies, batch, out or width)``."""

    def __init__(self, in_features: int, config: BackboneConfig, out_features: int | None = None, copies: int = 1):
        layers: list[nn.Module] = []
        width = in_features
        for _ in range(config.depth):
            layers += _hidden_block(copies, width, config)
            width = config.width
        if out_features is not None:
            layers.append(StackedLinear(copies, width, out_features))
        super().__init__(*layers)
        self.in_features = in_features
        self.out_features = out_features if out_features is not None else width
        self.copies = copies
        self.config = config


def build_mlp(
    in_features: int, config: BackboneConfig, out_features: int | None = None, *, copies: int = 1
) -> StackedMLP:
    """The shared backbone builder: ``copies`` MLPs; without ``out_features`` it ends at the last hidden layer."""
    return StackedMLP(in_features, config, out_features, copies)


class SharedTrunkNet(nn.Module):
    """Hard parameter sharing: one trunk, one linear head per task (Caruana 1997).

    ``forward(x)`` maps ``(batch, in)`` to ``(batch, tasks, out)``: every head sees every row,
    and the loss masks the labels a row does not have (partial labels, task-column rows).
    """

    def __init__(self, in_features: int, config: BackboneConfig, n_tasks: int, out_features: int) -> None:
        super().__init__()
        self.trunk = build_mlp(in_features, config)
        self.heads = StackedLinear(n_tasks, self.trunk.out_features, out_features)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Trunk representation ``(batch, width)``."""
        return self.trunk(x.unsqueeze(0)).squeeze(0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x)
        tasks, width, out = self.heads.weight.shape
        # Every head at once: one (batch, width) x (width, tasks*out) product, not `tasks` tiny ones.
        weight = self.heads.weight.permute(1, 0, 2).reshape(width, tasks * out)
        return (h @ weight + self.heads.bias.reshape(1, tasks * out)).reshape(-1, tasks, out)


class CrossStitchMLP(nn.Module):
    """Soft sharing with cross-stitch units (Misra et al. 2016, "Cross-stitch networks for multi-task learning").

    One network per task (stacked); after every hidden layer the tasks' activations are mixed
    by a learned ``tasks x tasks`` matrix initialised near the identity. ``forward(x)`` maps
    ``(batch, in)`` to ``(batch, tasks, out)``.
    """

    def __init__(
        self, in_features: int, config: BackboneConfig, n_tasks: int, out_features: int, self_weight: float = 0.9
    ):
        super().__init__()
        self.blocks = nn.ModuleList()
        width = in_features
        for _ in range(config.depth):
            self.blocks.append(nn.Sequential(*_hidden_block(n_tasks, width, config)))
            width = config.width
        off = (1.0 - self_weight) / max(n_tasks - 1, 1)
        init = torch.full((n_tasks, n_tasks), off) + torch.eye(n_tasks) * (self_weight - off)
        self.stitches = nn.ParameterList([nn.Parameter(init.clone()) for _ in range(config.depth)])
        self.heads = StackedLinear(n_tasks, width, out_features)
        self.n_tasks = n_tasks

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.unsqueeze(0).expand(self.n_tasks, -1, -1)
        for block, stitch in zip(self.blocks, self.stitches, strict=True):
            h = torch.einsum("kj,jbh->kbh", stitch, block(h))
        return self.heads(h).permute(1, 0, 2)
