"""The in-process worker pool: a queue of job ids and a fixed number of threads that run them.

Concurrency is bounded by the thread count (``ADVISOR_WORKERS``); waiting jobs live in the store,
so the queue is rebuilt from it on start (jobs left running by a dead process are re-queued or
failed there first). Progress callbacks write to the store at most every half second per job;
a cancellation request sets the job's event, which its budget checks read.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.exceptions import AdvisorError, Cancelled
from api.storage import JobRecord, JobStore
from api.uploads import UploadStore, safe_name

if TYPE_CHECKING:
    from api.metrics import Metrics

__all__ = ["JobRunner", "WorkerPool"]

logger = logging.getLogger("api.worker")

#: ``runner(job, data_path, progress, cancelled) -> Recommendation JSON``; the default runs the SDK.
JobRunner = Callable[[JobRecord, Path, Callable[[str, float, str], None], Callable[[], bool]], str]

_PROGRESS_EVERY_S = 0.5


class WorkerPool:
    """Run queued jobs on ``workers`` threads.

    Parameters
    ----------
    store, uploads:
        Where jobs and their data live.
    runner:
        What running a job means (tests pass a controllable one).
    workers:
        Jobs run at once.
    max_attempts:
        Starts allowed per job when restarts interrupt it (see :meth:`JobStore.recover`).
    """

    def __init__(
        self,
        *,
        store: JobStore,
        uploads: UploadStore,
        runner: JobRunner,
        workers: int = 1,
        max_attempts: int = 2,
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.uploads = uploads
        self.runner = runner
        self.workers = workers
        self.max_attempts = max_attempts
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._running: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    @property
    def alive(self) -> bool:
        """Every worker thread is running."""
        return bool(self._threads) and all(t.is_alive() for t in self._threads) and not self._stopping.is_set()

    def running_ids(self) -> list[str]:
        with self._lock:
            return list(self._running)

    def start(self) -> None:
        """Recover jobs a dead process left running, queue every waiting job, start the threads."""
        requeued, failed = self.store.recover(self.max_attempts)
        if requeued or failed:
            logger.warning(
                "restart: re-queued %d interrupted job(s), failed %d out of attempts", len(requeued), len(failed)
            )
        for job_id in self.store.queued_ids():
            self._queue.put(job_id)
        for i in range(self.workers):
            thread = threading.Thread(target=self._loop, name=f"advisor-worker-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def enqueue(self, job_id: str) -> None:
        self._queue.put(job_id)

    def cancel(self, job_id: str) -> None:
        """Stop a running job at its next budget check (queued jobs are cancelled by the store)."""
        with self._lock:
            event = self._running.get(job_id)
        if event is not None:
            event.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop taking jobs; running ones stop at their next budget check and go back to the queue."""
        self._stopping.set()
        with self._lock:
            for event in self._running.values():
                event.set()
        for _ in self._threads:
            self._queue.put(None)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads.clear()

    # ------------------------------------------------------------------------------ threads

    def _loop(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is None or self._stopping.is_set():
                return
            try:
                self._execute(job_id)
            except Exception:  # a broken store must not kill the thread: log, keep serving
                logger.exception("job %s: unexpected error outside the job", job_id)

    def _execute(self, job_id: str) -> None:
        job = self.store.claim(job_id)
        if job is None:  # cancelled, or already taken
            return
        claimed = time.monotonic()
        outcome = "failed"
        if self.metrics is not None and job.started_at is not None:
            self.metrics.claim_wait.observe(max(0.0, (job.started_at - job.created_at).total_seconds()))
        event = threading.Event()
        with self._lock:
            self._running[job_id] = event
        if self._stopping.is_set() or self.store.get(job_id).cancel_requested:  # asked before the event existed
            event.set()
        logger.info("job %s: started (attempt %d)", job_id, job.attempts)
        try:
            if not self.uploads.exists(job.data_hash, job.data_suffix):  # deleted by hand, or by a sweep
                self.store.fail(
                    job_id,
                    {
                        "code": "data_missing",
                        "message": "The job's uploaded data is no longer stored on the service; submit it again.",
                        "details": {"data_name": job.data_name},
                    },
                )
                logger.warning("job %s: failed: its upload %s%s is missing", job_id, job.data_hash, job.data_suffix)
                return
            name = safe_name(job.data_name, job.data_suffix)
            with self.uploads.named(job.data_hash, job.data_suffix, name) as path:
                result = self.runner(job, path, self._progress(job_id), event.is_set)
        except Cancelled:
            if self._stopping.is_set():
                self.store.requeue(job_id, message="re-queued: the service was shut down while it ran")
                logger.info("job %s: re-queued at shutdown", job_id)
                outcome = "requeued"
            else:
                self.store.mark_cancelled(job_id)
                logger.info("job %s: cancelled", job_id)
                outcome = "cancelled"
        except AdvisorError as exc:
            self.store.fail(job_id, exc.to_dict())
            logger.info("job %s: failed: %s", job_id, exc.code)
        except Exception as exc:
            logger.exception("job %s: internal error", job_id)
            self.store.fail(
                job_id,
                {
                    "code": "internal_error",
                    "message": f"The probes failed unexpectedly: {type(exc).__name__}: {exc}",
                    "details": {"type": type(exc).__name__},
                },
            )
        else:
            self.store.succeed(job_id, result)
            logger.info("job %s: succeeded", job_id)
            outcome = "succeeded"
        finally:
            with self._lock:
                self._running.pop(job_id, None)
            if self.metrics is not None:
                self.metrics.job_seconds.labels(outcome).observe(time.monotonic() - claimed)

    def _progress(self, job_id: str) -> Callable[[str, float, str], None]:
        last = {"at": 0.0, "phase": ""}

        def update(phase: str, fraction: float, message: str) -> None:
            now = time.monotonic()
            if phase == last["phase"] and now - last["at"] < _PROGRESS_EVERY_S and fraction < 1.0:
                return
            last["at"], last["phase"] = now, phase
            try:
                self.store.set_progress(job_id, phase, fraction, message)
            except Exception:  # progress is best effort; the job goes on
                logger.warning("job %s: could not record progress", job_id, exc_info=True)

        return update
