"""Paradigm Advisor: should related prediction tasks use STL, MTL, transfer or meta-learning?

The public SDK. Names are imported lazily so that ``advisor --help`` and the remote client
do not pay for pandas, scikit-learn or torch until they are used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "Advisor",
    "AdvisorClient",
    "AdvisorError",
    "DataProfile",
    "DatasetSpec",
    "Goal",
    "Job",
    "JobStatus",
    "Recommendation",
    "Verification",
    "__version__",
    "exceptions",
    "inspect_data",
    "schemas",
]

__version__ = "0.1.0"

_LAZY = {
    "Advisor": ("advisor._sdk", "Advisor"),
    "AdvisorClient": ("advisor._client", "AdvisorClient"),
    "Recommendation": ("advisor.schemas", "Recommendation"),
    "Verification": ("advisor.schemas", "Verification"),
    "AdvisorError": ("advisor.exceptions", "AdvisorError"),
    "DataProfile": ("advisor.schemas", "DataProfile"),
    "DatasetSpec": ("advisor.schemas", "DatasetSpec"),
    "Goal": ("advisor.schemas", "Goal"),
    "Job": ("advisor._client", "Job"),
    "JobStatus": ("advisor._client", "JobStatus"),
    "inspect_data": ("advisor._inspect", "inspect_data"),
    "exceptions": ("advisor.exceptions", None),
    "schemas": ("advisor.schemas", None),
}

if TYPE_CHECKING:
    from advisor import exceptions, schemas
    from advisor._client import AdvisorClient, Job, JobStatus
    from advisor._inspect import inspect_data
    from advisor._sdk import Advisor
    from advisor.exceptions import AdvisorError
    from advisor.schemas import DataProfile, DatasetSpec, Goal, Recommendation, Verification


def __getattr__(name: str) -> Any:
    try:
        module_name, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'advisor' has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    return module if attribute is None else getattr(module, attribute)


def __dir__() -> list[str]:
    return sorted(__all__)
