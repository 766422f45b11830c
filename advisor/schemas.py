"""The contract shared by SDK, CLI, API and remote client: one module of pydantic models.

``DatasetSpec`` and ``DataProfile`` are defined next to the code in ``probes`` that consumes
and produces them (imports only point down) and re-exported here, so users and the service
import every schema from this one place.
"""

from advisor._recommendation import (
    SCHEMA_VERSION,
    BudgetUsed,
    Evidence,
    LearningCurve,
    RankingEntry,
    Recommendation,
    Relatedness,
    TaskGroup,
    TaskReport,
    Verdict,
)
from advisor._verification import Verification, VerifiedParadigm
from probes.data import DataProfile, DatasetSpec, Goal, Layout, TaskProfile

__all__ = [
    "SCHEMA_VERSION",
    "BudgetUsed",
    "DataProfile",
    "DatasetSpec",
    "Evidence",
    "Goal",
    "Layout",
    "LearningCurve",
    "RankingEntry",
    "Recommendation",
    "Relatedness",
    "TaskGroup",
    "TaskProfile",
    "TaskReport",
    "Verdict",
    "Verification",
    "VerifiedParadigm",
]
