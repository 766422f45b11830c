"""Independent units of probe work, run in order in-process or side by side on a process pool.

A *unit* is one call of a module-level function — one fold of one variant, one point of a
learning curve, one signal — whose result depends only on its arguments (it seeds itself), so
running units on a pool gives the same results, bit for bit, as running them one after the
other. The scheduler hands units out in plan order (a unit waits for the units it ``needs``),
never more than ``n_jobs`` at a time, and the caller merges the outcomes by key, in its own
fixed order, never in the order they finished.

Every unit runs with one thread for torch, OpenMP and BLAS — in a worker and in-process alike —
so a reduction never changes its order with the number of threads. With ``n_jobs`` of ``k > 1``,
one unit at a time runs in a thread of this process (warm at once: no start-up) and ``k - 1`` in
worker processes from loky's reusable executor (shipped with joblib), started once per process
and kept between runs, so a second probe run in the same process pays no start-up.

Given a ``scheduler`` (a ``dask.distributed`` address or ``Client``), the units run on that
cluster's worker threads instead: every object a unit takes that is larger than 64 KB (the task
set, a fold) is scattered to the cluster once per run, not sent with every unit, and a unit whose
worker died is run again elsewhere by Dask (units seed themselves: the result does not change).

Without a time limit nothing here looks at the clock. With one, a unit is given the run's
deadline (on the wall clock, which hosts share) and checks it cooperatively; a unit not started
by the deadline is skipped. A cancellation request is seen between units (in-process also inside
them); a unit already on a worker runs to its end and its result is dropped.
"""

from __future__ import annotations

import os
import pickle
import threading
import time
import traceback
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from probes.budget import Budget
from probes.exceptions import BudgetExhausted, Cancelled

__all__ = ["Outcome", "Unit", "default_jobs", "run_units", "start_workers"]

#: Threads a worker may use for BLAS and OpenMP: one, set before numpy loads.
_WORKER_ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
}
#: Seconds an idle worker waits for more work before it exits.
_IDLE_TIMEOUT = 300
#: How often (s) the scheduler looks at the cancellation request while units run on workers.
_POLL = 0.2
#: Arguments larger than this (pickled bytes) go to a Dask cluster once per run (scattered).
_SCATTER_BYTES = 64 * 1024


def default_jobs() -> int:
    """Cores this process may use (its affinity mask where the system has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not every platform has an affinity mask
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Unit:
    """One call to make: ``fn(budget, *args)``.

    ``fn`` must be a module-level function (it is pickled by reference). ``build``, when set,
    runs in the caller once every key in ``needs`` has an outcome and returns the arguments —
    or ``None`` when the unit turns out not to be needed (it is then ``skipped``).
    """

    key: Hashable
    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    needs: tuple[Hashable, ...] = ()
    build: Callable[[dict[Hashable, Outcome]], tuple[Any, ...] | None] | None = None


@dataclass(frozen=True)
class Outcome:
    """What became of a unit: ``done`` (``value``), ``exhausted`` (cut by the time limit),
    ``skipped`` (not run: ``error`` says why) or ``error`` (it raised; ``error`` and ``trace``)."""

    status: str
    value: Any = None
    seconds: float = 0.0
    error: str = ""
    trace: str = ""

    @property
    def done(self) -> bool:
        return self.status == "done"


class _Threads:
    """The process-wide side of :func:`one_thread`: BLAS pools and torch's thread count are shared
    by every thread of a process, so the first unit to start sets them to one and the last to
    end restores them — one unit ending never lifts the limit under another still running (the
    service runs several jobs in threads of one process)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.saved: tuple[int, Any] | None = None

    def enter(self) -> None:
        import torch
        from threadpoolctl import threadpool_limits

        with self.lock:
            limiter = threadpool_limits(limits=1, user_api="blas")  # set by every entrant: some builds
            if self.active == 0:  # keep it per thread; the first entrant's knows what to restore
                self.saved = (torch.get_num_threads(), limiter)
            self.active += 1

    def leave(self) -> None:
        import torch

        with self.lock:
            self.active -= 1
            if self.active == 0 and self.saved is not None:
                count, limiter = self.saved
                limiter.restore_original_limits()
                torch.set_num_threads(count)
                self.saved = None


_THREADS = _Threads()


@contextmanager
def one_thread() -> Any:
    """Torch, OpenMP and BLAS limited to one thread inside the block (restored afterwards).

    The native libraries units use are loaded first (scipy's BLAS, scikit-learn's OpenMP), so
    the limit covers them too: one loaded later would run on every core in this process, while
    a worker's environment holds every library to one thread. OpenMP's and torch's settings
    belong to the calling thread and are set here; BLAS's are shared (see :class:`_Threads`).
    """
    import scipy.linalg  # noqa: F401 - loads scipy's BLAS
    import sklearn.ensemble  # noqa: F401 - loads scikit-learn's OpenMP runtime
    import torch
    from threadpoolctl import threadpool_limits

    _THREADS.enter()
    try:
        torch.set_num_threads(1)
        with threadpool_limits(limits=1, user_api="openmp"):
            yield
    finally:
        _THREADS.leave()


def _execute(
    fn: Callable[..., Any], args: tuple[Any, ...], deadline: float | None, cancel: Callable[[], bool] | None = None
) -> Outcome:
    """Run one unit under a budget ending at ``deadline`` (``time.time`` value; ``None``: no limit)."""
    budget = Budget(None if deadline is None else max(0.0, deadline - time.time()), cancelled=cancel)
    started = time.perf_counter()
    try:
        with one_thread():
            value = fn(budget, *args)
    except Cancelled:
        raise
    except BudgetExhausted as exc:
        return Outcome("exhausted", seconds=time.perf_counter() - started, error=str(exc))
    except Exception as exc:  # reported by the caller; one failed unit must not sink the others
        return Outcome(
            "error",
            seconds=time.perf_counter() - started,
            error=f"{type(exc).__name__}: {exc}",
            trace=traceback.format_exc(limit=3),
        )
    return Outcome("done", value, time.perf_counter() - started)


def _lost(exc: Exception) -> Outcome:
    """The outcome of a unit its worker never returned (killed, or its arguments would not pickle)."""
    return Outcome("error", error=f"{type(exc).__name__}: {exc}", trace=traceback.format_exc(limit=3))


def _ready() -> bool:
    """A worker's warm-up: imports and torch's one-off costs paid before the first unit."""
    from probes.paradigms._training import warm_up

    warm_up()
    return True


def _executor(n_jobs: int) -> Any:
    from joblib.externals.loky import get_reusable_executor

    return get_reusable_executor(max_workers=n_jobs, timeout=_IDLE_TIMEOUT, env=_WORKER_ENV, reuse=True)


class _Cluster:
    """A ``dask.distributed`` cluster as a unit pool: its executor, its thread count, and the scatter cache."""

    def __init__(self, scheduler: Any) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise ImportError(
                'a Dask scheduler was given but dask.distributed is not installed: pip install "paradigm-advisor[dask]"'
            ) from None
        self.own = not isinstance(scheduler, Client)
        self.client = Client(scheduler, set_as_default=False) if self.own else scheduler
        self.executor = self.client.get_executor(pure=False)
        self.slots = max(1, sum(self.client.nthreads().values()))
        self._sent: dict[int, tuple[Any, Any]] = {}  # id(arg) -> (arg, its future or None when small)

    def send(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        """``args`` with every large object replaced by its future on the cluster (scattered once per run)."""
        out = []
        for arg in args:
            if arg is None or isinstance(arg, (str, int, float, bool, bytes)):
                out.append(arg)
                continue
            seen = self._sent.get(id(arg))
            if seen is None:
                try:
                    large = len(pickle.dumps(arg, protocol=pickle.HIGHEST_PROTOCOL)) > _SCATTER_BYTES
                except Exception:  # left to Dask, which reports what would not pickle
                    large = False
                future = self.client.scatter(arg, hash=False) if large else None
                seen = self._sent[id(arg)] = (arg, future)  # the object is kept: its id is not reused
            out.append(arg if seen[1] is None else seen[1])
        return tuple(out)

    def close(self) -> None:
        self.executor.shutdown(wait=False)
        futures = [future for _, future in self._sent.values() if future is not None]
        self._sent.clear()
        if self.own:
            self.client.close()
        elif futures:
            self.client.cancel(futures)


def start_workers(n_jobs: int) -> list[Future[bool]]:
    """Start (or reuse) the ``n_jobs - 1`` worker processes and warm them up, without waiting: call it early."""
    if n_jobs <= 1:
        return []
    executor = _executor(n_jobs - 1)
    return [executor.submit(_ready) for _ in range(n_jobs - 1)]


def run_units(
    units: Sequence[Unit],
    *,
    n_jobs: int = 1,
    budget: Budget | None = None,
    on_done: Callable[[Hashable, Outcome], None] | None = None,
    scheduler: Any = None,
) -> dict[Hashable, Outcome]:
    """Run ``units`` (in plan order, at most ``n_jobs`` at a time) and return every outcome by key.

    ``budget`` holds the deadline and the cancellation request of the whole run; cancellation
    raises :class:`~probes.exceptions.Cancelled`. ``on_done(key, outcome)`` is called in the
    caller's process as each unit ends (in the order they end: for progress only).
    ``scheduler`` (a Dask scheduler address such as ``tcp://host:8786``, or a ``Client``) runs
    the units on that cluster, as many at a time as it has worker threads; ``n_jobs`` is then unused.
    """
    budget = budget or Budget()
    keys = [u.key for u in units]
    if len(set(keys)) != len(keys):
        raise ValueError("unit keys must be unique")
    deadline = time.time() + budget.remaining() if budget.limited else None
    outcomes: dict[Hashable, Outcome] = {}
    pending = list(units)
    in_flight: dict[Future[Outcome], Unit] = {}
    cluster = _Cluster(scheduler) if scheduler is not None else None
    if cluster is not None:
        n_jobs = cluster.slots
        workers: Any = cluster.executor
        local = None
    else:
        workers = _executor(n_jobs - 1) if n_jobs > 1 else None
        local = ThreadPoolExecutor(max_workers=1, thread_name_prefix="probe-unit") if n_jobs > 1 else None
    local_busy: list[Future[Outcome]] = []

    def finish(key: Hashable, outcome: Outcome) -> None:
        outcomes[key] = outcome
        if on_done is not None:
            on_done(key, outcome)

    # The calling thread holds the one-thread limit for the whole run: BLAS's limit is shared by the
    # process, and one set from the calling thread reaches the unit thread (OpenBLAS ignored one set
    # from a second thread after the first had restored its own).
    with one_thread():
        try:
            while pending or in_flight:
                budget.check_cancelled("the probes")
                slots = max(1, n_jobs) - len(in_flight)
                for unit in list(pending):
                    if slots <= 0:
                        break
                    if any(k not in outcomes for k in unit.needs):
                        continue
                    pending.remove(unit)
                    args = unit.args if unit.build is None else unit.build(outcomes)
                    if args is None:
                        finish(unit.key, Outcome("skipped", error="not needed"))
                    elif budget.exhausted():
                        finish(unit.key, Outcome("skipped", error="time limit reached"))
                    elif workers is None:
                        finish(unit.key, _execute(unit.fn, args, deadline, budget.cancelled))
                        break  # look at cancellation and dependencies again before the next one
                    elif local is not None and not local_busy:  # this process's slot: warm, and sees cancellation
                        future = local.submit(_execute, unit.fn, args, deadline, budget.cancelled)
                        local_busy.append(future)
                        in_flight[future] = unit
                        slots -= 1
                    else:
                        try:
                            sent = cluster.send(args) if cluster is not None else args
                            in_flight[workers.submit(_execute, unit.fn, sent, deadline)] = unit
                        except Exception as exc:  # a broken pool (a worker killed): this unit fails, not the run
                            finish(unit.key, _lost(exc))
                            continue
                        slots -= 1
                if in_flight:
                    done, _ = wait(list(in_flight), timeout=_POLL, return_when=FIRST_COMPLETED)
                    for future in done:
                        unit = in_flight.pop(future)
                        if future in local_busy:
                            local_busy.remove(future)
                        try:
                            outcome = future.result()
                        except Cancelled:
                            raise
                        except Exception as exc:  # the worker died or the unit could not be sent or returned
                            outcome = _lost(exc)
                        finish(unit.key, outcome)
                elif pending and not any(all(k in outcomes for k in u.needs) for u in pending):
                    missing = sorted({str(k) for u in pending for k in u.needs if k not in outcomes})
                    raise ValueError(f"units wait for keys no unit provides: {', '.join(missing)}")
        finally:
            if local is not None:
                local.shutdown(wait=False)
            if cluster is not None:
                for future in in_flight:  # cancelled or failed: what still runs is dropped
                    future.cancel()
                cluster.close()
    return outcomes
