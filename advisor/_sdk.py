"""The SDK front door: ``Advisor(...).recommend(data, ...)`` returns a :class:`Recommendation`."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd

from advisor._checks import check_budget as _check_budget
from advisor._checks import check_paradigms, check_runs, check_scheduler
from advisor._checks import check_seed as _check_seed
from advisor._checks import check_time_limit as _check_time_limit
from advisor._checks import spec_fields as _spec_fields
from advisor._recommendation import Recommendation
from advisor._verification import Verification
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
        self.scheduler = check_scheduler(scheduler)

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

        fields = _spec_fields(locals())

        preset = budget_preset(self.budget)
        with _reporter(self.progress) as progress:
            taskset = self._load(data, spec, fields)
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

    def verify(
        self,
        data: str | os.PathLike[str] | pd.DataFrame,
        spec: DatasetSpec | None = None,
        *,
        paradigms: list[str] | None = None,
        runs: int = 3,
        storage: str | None = None,
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
    ) -> Verification:
        """Compare the paradigms at full budget on ``data``: the benchmark's oracle, ``runs`` times.

        All rows, a hyper-parameter search inside every fold, variants chosen on validation; run
        ``r`` uses seed ``seed + r`` (other folds, search and training). The runs are combined by
        the truth rule (mean scores; co-winners within 0.005 of the best or not significantly worse
        over the runs). Far more work than :meth:`recommend` (minutes to hours): give the advisor a
        Dask ``scheduler`` to spread it. ``paradigms`` limits the comparison (default: all four).
        ``storage`` (an optuna database URL, e.g. ``sqlite:///studies.db``) keeps every search as a
        study named ``data:variant:seedS:foldK``, for ``optuna-dashboard URL``.
        The advisor's ``budget`` does not apply; its ``time_limit`` does not either (a run is
        never cut: a cut run would not be the full budget).
        """
        import threading
        import time
        from concurrent.futures import ThreadPoolExecutor

        from advisor._recommender import versions
        from advisor._verification import verification_from_runs
        from probes.oracle import FULL_BUDGET, oracle_variants, run_oracle
        from probes.paradigms import PARADIGMS, VARIANTS

        wanted = check_paradigms(paradigms)
        runs = check_runs(runs)
        fields = _spec_fields(locals())
        started = time.perf_counter()
        with _reporter(self.progress) as progress:
            taskset = self._load(data, spec, fields)
            profile = profile_taskset(taskset)
            applicable: dict[str, str | None] = {}
            for paradigm in [p for p in PARADIGMS if p in wanted]:
                names = oracle_variants(taskset, paradigm)
                reasons = [VARIANTS[n].why_not(taskset) for n in names]
                applicable[paradigm] = (
                    None
                    if any(r is None for r in reasons)
                    else (next((r for r in reasons if r), None) or "no variant of it applies to this data")
                )
            chosen = tuple(p for p, reason in applicable.items() if reason is None)
            if not chosen:
                raise InvalidRequestError(
                    "None of the paradigms asked for applies to this data: "
                    + "; ".join(f"{p}: {r}" for p, r in applicable.items()),
                    details={"field": "paradigms"},
                )
            done = [0.0] * runs
            lock = threading.Lock()

            def one_run(r: int) -> dict[str, Any]:
                def advance(fraction: float, message: str) -> None:
                    if progress is not None:
                        with lock:
                            done[r] = fraction
                            progress("verify", sum(done) / runs, f"run {r + 1} of {runs}: {message}")

                return run_oracle(
                    taskset, seed=self.seed + r, paradigms=chosen, n_jobs=self.n_jobs, scheduler=self.scheduler,
                    advance=advance, storage=storage, cancel=self.cancel, **FULL_BUDGET,
                )  # fmt: skip

            if progress is not None:
                progress("verify", 0.0, f"{runs} run(s): preparing folds")
            if self.scheduler is not None and runs > 1:  # every run's units on the cluster at once
                with ThreadPoolExecutor(max_workers=runs, thread_name_prefix="verify-run") as pool:
                    results = list(pool.map(one_run, range(runs)))
            else:
                results = [one_run(r) for r in range(runs)]
            if progress is not None:
                progress("done", 1.0, "verification finished")
        return verification_from_runs(
            results,
            applicable=applicable,
            profile=profile,
            seed=self.seed,
            folds=FULL_BUDGET["n_folds"],
            trials=FULL_BUDGET["n_trials"],
            seconds=time.perf_counter() - started,
            versions=versions(),
        )

    def _load(self, data: Any, spec: DatasetSpec | None, fields: dict[str, Any]) -> Any:
        """The task set from ``data`` and a spec or its fields."""
        if spec is None:
            return load_taskset(data, limits=self.limits, **fields)
        return load_taskset(data, spec, limits=self.limits)


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
