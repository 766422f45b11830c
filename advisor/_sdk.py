"""The SDK front door: ``Advisor(...).recommend(data, ...)`` returns a :class:`Recommendation`."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd

from advisor._checks import check_budget as _check_budget
from advisor._checks import check_seed as _check_seed
from advisor._checks import check_time_limit as _check_time_limit
from advisor._recommendation import Recommendation
from advisor.exceptions import InvalidRequestError
from probes.data import DataProfile, DatasetSpec, Limits, load_taskset, profile_taskset

__all__ = ["Advisor"]

Progress = Callable[[str, float, str], None]


class Advisor:
    """Recommend a learning paradigm from budgeted probe trainings on your data.

    Parameters
    ----------
    budget:
        ``"fast"``, ``"standard"`` or ``"thorough"``: a fixed amount of work (folds, epochs, rows,
        search trials), the same on any machine load.
    time_limit:
        Wall-time limit in seconds for the probes (default: none; the budget fixes the work).
    seed:
        Same data, spec and seed give the same recommendation.
    progress:
        ``True`` shows a progress bar on stderr as the probes advance (plain lines when stderr is
        not a terminal); or a ``callable(phase, fraction, message)`` to call instead; ``False`` or
        ``None`` (the default): nothing.
    limits:
        Caps on the input (file size, rows, columns).
    cancel:
        ``() -> bool`` polled at every budget check; once true, :meth:`recommend` raises
        :class:`~advisor.exceptions.Cancelled` (the service's job cancellation).
    n_jobs:
        Processes the probes run in (``None``: every core; 1: this process only). The
        recommendation is the same whatever the number.
    scheduler:
        A ``dask.distributed`` scheduler address (``"tcp://10.0.0.5:8786"``) or ``Client``: the
        probes' units run on that cluster (the ``dask`` extra), with the same result as here.
        Default: ``ADVISOR_DASK_ADDRESS`` when set, else this machine.

    Examples
    --------
    >>> from advisor import Advisor
    >>> rec = Advisor(budget="fast", seed=0, progress=True).recommend("school.csv.gz", targets="exam_score", task_column="school_id")  # doctest: +SKIP
    >>> rec.paradigm, rec.confidence  # doctest: +SKIP
    ('mtl', 0.81)
    >>> print(rec.summary())  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        budget: str = "fast",
        time_limit: float | None = None,
        seed: int = 0,
        progress: bool | Progress | None = None,
        limits: Limits | None = None,
        device: str | None = None,
        cancel: Callable[[], bool] | None = None,
        n_jobs: int | None = None,
        scheduler: Any = None,
    ) -> None:
        self.budget = _check_budget(budget)
        self.time_limit = _check_time_limit(time_limit)
        self.seed = _check_seed(seed)
        self.progress = _check_progress(progress)
        self.limits = _check_limits(limits)
        self.device = _check_device(device)
        self.cancel = cancel
        self.n_jobs = _check_jobs(n_jobs)
        self.scheduler = _check_scheduler(scheduler)

    def __repr__(self) -> str:
        return f"Advisor(budget={self.budget!r}, time_limit={self.time_limit!r}, seed={self.seed!r})"

    def inspect(
        self, data: str | os.PathLike[str] | pd.DataFrame, spec: DatasetSpec | None = None, **spec_fields: Any
    ) -> DataProfile:
        """Load and validate ``data`` and return its profile (no training)."""
        return profile_taskset(load_taskset(data, spec, limits=self.limits, **spec_fields))

    def recommend(
        self,
        data: str | os.PathLike[str] | pd.DataFrame,
        spec: DatasetSpec | None = None,
        *,
        targets: str | list[str] | None = None,
        task_column: str | None = None,
        goal: str = "all_tasks",
        target_task: str | None = None,
        shots: int | None = None,
        features: list[str] | None = None,
        ignore: list[str] | None = None,
        task_types: Any = None,
        metric: str | None = None,
        small_tasks: str | None = None,
    ) -> Recommendation:
        """Probe every applicable paradigm on ``data`` and recommend one, with its evidence.

        Pass a :class:`DatasetSpec` or its fields. Bad input raises an
        :class:`~advisor.exceptions.AdvisorError` subclass naming the problem.
        """
        from advisor._recommender import recommend_from_report, versions
        from probes.budget import budget_preset
        from probes.runner import run_probes

        preset = budget_preset(self.budget)
        with _reporter(self.progress) as progress:  # a bar on stderr for progress=True, closed however this ends
            if spec is None:
                fields = {
                    "targets": targets,
                    "task_column": task_column,
                    "goal": goal,
                    "target_task": target_task,
                    "shots": shots,
                    "features": features,
                    "ignore": ignore,
                    "task_types": task_types,
                    "metric": metric,
                    "small_tasks": small_tasks,
                }
                spec_kwargs = {k: v for k, v in fields.items() if v is not None}
                taskset = load_taskset(data, limits=self.limits, **spec_kwargs)
            else:
                taskset = load_taskset(data, spec, limits=self.limits)
            profile = profile_taskset(taskset)
            if progress is not None:  # only once the data is good: a bad input stays a single line of error
                rows = sum(t.n_rows for t in taskset.tasks)
                progress("prepare", 0.0, f"data read: {taskset.n_tasks:,} task(s), {rows:,} labelled rows")
            report = run_probes(
                taskset,
                budget=preset,
                time_limit=self.time_limit,
                seed=self.seed,
                progress=progress,
                device=self.device,
                cancel=self.cancel,
                n_jobs=self.n_jobs,
                scheduler=self.scheduler,
            )
            return recommend_from_report(report, profile, versions=versions())


def _check_progress(progress: Any) -> bool | Progress | None:
    """``True``/``False``/``None`` or a callable ``(phase, fraction, message)``."""
    if progress is None or isinstance(progress, bool) or callable(progress):
        return progress
    raise InvalidRequestError(
        "progress must be True (a progress bar on stderr), False, or a callable (phase, fraction, message), "
        f"got {type(progress).__name__}",
        details={"field": "progress"},
    )


@contextmanager
def _reporter(progress: bool | Progress | None) -> Iterator[Progress | None]:
    """The callback the probes call: the command line's stderr bar for ``True``, the user's callable as given."""
    if progress is True:
        from advisor.cli._progress import stderr_progress

        with stderr_progress(enabled=True) as update:
            yield update
    else:
        yield progress or None


def _check_scheduler(scheduler: Any) -> Any:
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


def _check_jobs(n_jobs: Any) -> int | None:
    """``None`` (every core) or a whole number of processes, at least 1."""
    if n_jobs is None or (isinstance(n_jobs, int) and not isinstance(n_jobs, bool) and n_jobs >= 1):
        return n_jobs
    raise InvalidRequestError(
        f"n_jobs must be None or a whole number >= 1, got {n_jobs!r}", details={"field": "n_jobs"}
    )


def _check_device(device: Any) -> str | None:
    """A torch device this machine has ('cpu', 'cuda', 'cuda:1'), refused now rather than in every probe."""
    if device is None:
        return None
    import torch

    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise InvalidRequestError(
            f"device {device!r} is not a torch device such as 'cpu' or 'cuda' ({exc})", details={"field": "device"}
        ) from None
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise InvalidRequestError(
            f"device {device!r} asks for CUDA, which this machine does not have; use 'cpu' or leave device unset",
            details={"field": "device"},
        )
    return str(parsed)  # 0 -> 'cuda:0': the probes parse this string again


def _check_limits(limits: Any) -> Limits | None:
    """``Limits``, or a mapping of its fields (``{"max_rows": 10_000}``)."""
    if limits is None or isinstance(limits, Limits):
        return limits
    if isinstance(limits, dict):
        known = [f.name for f in dataclasses.fields(Limits)]
        unknown = sorted(set(limits) - set(known))
        if unknown:
            raise InvalidRequestError(
                f"limits has unknown fields {unknown}; known fields are {', '.join(known)}", details={"field": "limits"}
            )
        return Limits(**limits)
    raise InvalidRequestError(
        f"limits must be a probes.data.Limits or a mapping of its fields, got {type(limits).__name__}",
        details={"field": "limits"},
    )
