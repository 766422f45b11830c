"""Paradigm trainers (DESIGN.md §4): STL, MTL, transfer and meta-learning under one protocol."""

from probes.paradigms._backbone import BackboneConfig, build_mlp
from probes.paradigms._base import PARADIGMS, Variant
from probes.paradigms._data import FoldData, MetaFoldData, TaskView, prepare_fold
from probes.paradigms._registry import DEFAULT_VARIANTS, VARIANTS, default_variants, get_variant
from probes.paradigms._run import ParadigmResult, ProbeRun, prepare_folds, run_variant, run_variants
from probes.paradigms._training import RunContext, TrainConfig
from probes.paradigms.weighting import STRATEGIES

__all__ = [
    "DEFAULT_VARIANTS",
    "PARADIGMS",
    "STRATEGIES",
    "VARIANTS",
    "BackboneConfig",
    "FoldData",
    "MetaFoldData",
    "ParadigmResult",
    "ProbeRun",
    "RunContext",
    "TaskView",
    "TrainConfig",
    "Variant",
    "build_mlp",
    "default_variants",
    "get_variant",
    "prepare_fold",
    "prepare_folds",
    "run_variant",
    "run_variants",
]
