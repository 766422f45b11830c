"""What every signal shares: JSON-ready conversion of its arrays, and argument checks.

Signals are plain dataclasses holding numpy arrays and task names; ``to_dict()`` turns them
into nested lists of floats (NaN and infinities become ``None``) so the recommender, the API
and the report can serialise them without knowing numpy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["jsonable", "symmetric"]

_DIGITS = 6


def jsonable(value: Any) -> Any:
    """``value`` with numpy arrays and scalars as nested lists of numbers; NaN/inf -> ``None``."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()] if value.ndim else jsonable(value.item())
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        x = float(value)
        return round(x, _DIGITS) if math.isfinite(x) else None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, Sequence):
        return [jsonable(v) for v in value]
    raise TypeError(f"cannot make a {type(value).__name__} JSON-ready")


def symmetric(matrix: np.ndarray) -> np.ndarray:
    """``(M + Mᵀ) / 2``, NaN-aware: where one side is NaN the other is kept."""
    m = np.asarray(matrix, dtype=float)
    t = m.T
    return np.where(np.isnan(m), t, np.where(np.isnan(t), m, (m + t) / 2.0))
