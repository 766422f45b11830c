"""Argument checks shared by the local SDK (:class:`~advisor.Advisor`) and the remote client.

Light on purpose (no numpy, pandas or torch): the client imports them up front, and a bad
argument is refused when the object is made, not after an upload or a probe run.
"""

from __future__ import annotations

import math
import numbers
import os
import re
from collections.abc import Mapping
from typing import Any

from advisor.exceptions import InvalidRequestError
from probes.seeds import MAX_SEED

__all__ = [
    "PARADIGM_IDS",
    "SPEC_FIELDS",
    "check_budget",
    "check_paradigms",
    "check_runs",
    "check_scheduler",
    "check_seconds",
    "check_seed",
    "check_time_limit",
    "spec_fields",
]

#: The paradigm ids (``probes.paradigms.PARADIGMS``), here to check names without importing torch.
PARADIGM_IDS = ("stl", "transfer", "mtl", "meta")
#: The ``DatasetSpec`` fields ``recommend``, ``verify`` and the client take as keyword arguments.
SPEC_FIELDS = (
    "targets", "task_column", "goal", "target_task", "shots", "features", "ignore", "task_types", "metric",
    "small_tasks",
)  # fmt: skip


def spec_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """The spec fields among ``values`` (a method's ``locals()``), those left ``None`` out."""
    return {name: values[name] for name in SPEC_FIELDS if values.get(name) is not None}


def check_budget(budget: Any, *, presets: bool = True) -> Any:
    """A budget name (``fast``, ``standard``, ``thorough``), or a ``BudgetPreset`` where ``presets``."""
    from probes.budget import USER_BUDGETS, BudgetPreset

    if (presets and isinstance(budget, BudgetPreset)) or (isinstance(budget, str) and budget in USER_BUDGETS):
        return budget
    raise InvalidRequestError(
        f"unknown budget {budget!r}; choose one of {', '.join(USER_BUDGETS)}",
        details={"field": "budget", "choices": list(USER_BUDGETS)},
    )


def check_time_limit(time_limit: Any) -> float | None:
    """``None`` (no limit: a budget is an amount of work, not a time) or a positive, finite number of seconds."""
    if time_limit is None:
        return None
    return check_seconds(time_limit, "time_limit", none_ok=" or None")


def check_seconds(value: Any, name: str, *, none_ok: str = "") -> float:
    """A positive, finite number of seconds, as a float; ``InvalidRequestError`` naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < math.inf:
        raise InvalidRequestError(
            f"{name} must be a positive number of seconds{none_ok}, got {value!r}", details={"field": name}
        )
    return float(value)


def check_seed(seed: Any) -> int:
    """An integer seed from 0 to 2^32 - 1 (numpy integers included)."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed <= MAX_SEED:
        raise InvalidRequestError(
            f"seed must be an integer from 0 to {MAX_SEED} (2^32 - 1), got {seed!r}", details={"field": "seed"}
        )
    return int(seed)


def check_paradigms(paradigms: Any) -> set[str]:
    """``None`` (all four) or a non-empty list (or comma-separated text) of paradigm ids."""
    if paradigms is None:
        return set(PARADIGM_IDS)
    if isinstance(paradigms, str):
        paradigms = [p.strip() for p in paradigms.split(",")]
    wanted = set(paradigms) if isinstance(paradigms, (list, tuple, set)) else set()
    if not wanted or not wanted <= set(PARADIGM_IDS):
        raise InvalidRequestError(
            f"paradigms must name one or more of {', '.join(PARADIGM_IDS)}, got {paradigms!r}",
            details={"field": "paradigms"},
        )
    return wanted


def check_runs(runs: Any) -> int:
    """Full-budget runs: a whole number from 1 to 20."""
    if isinstance(runs, int) and not isinstance(runs, bool) and 1 <= runs <= 20:
        return runs
    raise InvalidRequestError(f"runs must be a whole number from 1 to 20, got {runs!r}", details={"field": "runs"})


def check_scheduler(scheduler: Any) -> Any:
    """A Dask scheduler address (``tcp://host:port``, ``host:port``), a ``Client``, or ``None`` (then ``ADVISOR_DASK_ADDRESS``)."""
    if scheduler is None:
        scheduler = os.environ.get("ADVISOR_DASK_ADDRESS") or None
        if scheduler is None:
            return None
    if isinstance(scheduler, str):
        address = scheduler.strip()
        if re.fullmatch(r"(?:[a-z][a-z0-9+.-]*://)?[^\s/:]+(?::\d{1,5})?", address):
            return address
        raise InvalidRequestError(
            f"scheduler must be a Dask scheduler address such as tcp://10.0.0.5:8786, got {scheduler!r}",
            details={"field": "scheduler"},
        )
    if type(scheduler).__name__ == "Client" and type(scheduler).__module__.startswith("distributed"):
        return scheduler
    raise InvalidRequestError(
        f"scheduler must be a Dask scheduler address or a distributed.Client, got {type(scheduler).__name__}",
        details={"field": "scheduler"},
    )
