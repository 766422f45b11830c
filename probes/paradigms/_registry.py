"""The explicit registry of paradigm variants, and which ones run by default."""

from __future__ import annotations

from probes.data import TaskSet
from probes.paradigms._base import PARADIGMS, Variant
from probes.paradigms.meta import META_FOMAML, META_MAML, META_PROTONET, META_REPTILE
from probes.paradigms.mtl import (
    MTL_CROSS_STITCH,
    MTL_GROUPS,
    MTL_HARD,
    MTL_PCGRAD,
    MTL_POOLED,
    MTL_POOLED_GBDT,
    MTL_SOFT,
    MTL_UNCERTAINTY,
)
from probes.paradigms.stl import STL_GBDT, STL_MLP
from probes.paradigms.transfer import TRANSFER_FINETUNE, TRANSFER_HEAD

__all__ = ["DEFAULT_VARIANTS", "VARIANTS", "default_variants", "get_variant"]

VARIANTS: dict[str, Variant] = {
    v.id: v
    for v in (
        STL_MLP,
        STL_GBDT,
        MTL_HARD,
        MTL_UNCERTAINTY,
        MTL_PCGRAD,
        MTL_SOFT,
        MTL_CROSS_STITCH,
        MTL_POOLED,
        MTL_POOLED_GBDT,
        MTL_GROUPS,
        TRANSFER_FINETUNE,
        TRANSFER_HEAD,
        META_MAML,
        META_FOMAML,
        META_REPTILE,
        META_PROTONET,
    )
}

#: Variants a probe runs for each paradigm when none are named, in order of preference.
DEFAULT_VARIANTS: dict[str, tuple[str, ...]] = {
    "stl": ("stl/mlp", "stl/gbdt"),
    "mtl": ("mtl/hard",),
    "transfer": ("transfer/finetune", "transfer/head"),
    "meta": ("meta/maml", "meta/protonet"),
}


def get_variant(name: str) -> Variant:
    """The variant called ``name`` (``stl/mlp``), or a paradigm's first default (``stl``)."""
    if name in VARIANTS:
        return VARIANTS[name]
    if DEFAULT_VARIANTS.get(name):
        return VARIANTS[DEFAULT_VARIANTS[name][0]]
    known = ", ".join([*PARADIGMS, *VARIANTS])
    raise ValueError(f"unknown paradigm or variant {name!r}; choose one of {known}")


def default_variants(taskset: TaskSet, paradigms: tuple[str, ...] = PARADIGMS) -> list[Variant]:
    """The default variants of ``paradigms`` (applicability is checked when they run)."""
    return [VARIANTS[v] for p in paradigms for v in DEFAULT_VARIANTS.get(p, ()) if v in VARIANTS]
