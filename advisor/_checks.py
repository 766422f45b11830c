"""Argument checks shared by the local SDK (:class:`~advisor.Advisor`) and the remote client.

Light on purpose (no numpy, pandas or torch): the client imports them up front, and a bad
argument is refused when the object is made, not after an upload or a probe run.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from advisor.exceptions import InvalidRequestError
from probes.seeds import MAX_SEED

__all__ = ["check_budget", "check_seconds", "check_seed", "check_time_limit"]


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
