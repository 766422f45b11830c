"""``inspect``: load and validate a dataset against its spec, and profile it."""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from probes.data import DataProfile, DatasetSpec, Limits, load_taskset, profile_taskset

__all__ = ["inspect_data"]


def inspect_data(
    data: str | os.PathLike[str] | pd.DataFrame,
    spec: DatasetSpec | None = None,
    *,
    limits: Limits | None = None,
    **spec_fields: Any,
) -> DataProfile:
    """Load ``data`` with its spec (or the spec's fields as keywords) and return its profile.

    Raises an :class:`~advisor.exceptions.AdvisorError` subclass naming the problem when the
    data or spec is unusable.

    Examples
    --------
    >>> from advisor import inspect_data
    >>> profile = inspect_data("school.csv.gz", targets="exam_score", task_column="school_id")  # doctest: +SKIP
    >>> profile.n_tasks  # doctest: +SKIP
    139
    """
    return profile_taskset(load_taskset(data, spec, limits=limits, **spec_fields))
