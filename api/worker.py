"""The worker pool: threads that take queued jobs from the store and run them.

The job table is the queue. A thread claims the oldest queued job under a row lock (PostgreSQL's
``FOR UPDATE SKIP LOCKED``, SQLite's write lock), which gives its process a lease on it and opens
the job's run record; a heartbeat thread
renews the leases of the jobs the process runs, reads their cancellation flags (a cancel sent to
any process reaches the runner within a beat), and re-queues jobs whose lease expired — a dead
process's work moves to the live ones, and a job a live process runs is never touched.
Concurrency is bounded by the thread count (``ADVISOR_WORKERS``); a local submission wakes a
thread at once, others are found by polling. Progress callbacks write to the store at most every
half second per job; a cancellation sets the job's event, which its budget checks read.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
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
#: A runner's lease on a job (seconds); renewed every third of it. After it, any process may re-queue the job.
LEASE_S = 30.0
#: How often an idle thread looks for work queued by another process (seconds).
POLL_S = 1.0


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
    lease_s, poll_s:
        The lease on a running job, and how often idle threads poll the store.
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
        lease_s: float = LEASE_S,
        poll_s: float = POLL_S,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.lease_s = lease_s
        self.poll_s = poll_s
        #: This process's name on the leases it takes (host, pid and a random part).
        self.holder = f"{socket.gethostname()[:64]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.uploads = uploads
        self.runner = runner
        self.workers = workers
        self.max_attempts = max_attempts
        self._wake = threading.Condition()
        self._pending = 0  # local submissions not yet looked for
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
        """Re-queue jobs whose runner's lease expired, then start the threads and the heartbeat."""
        self._recover()
        for i in range(self.workers):
            thread = threading.Thread(target=self._loop, name=f"advisor-worker-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)
        beat = threading.Thread(target=self._heartbeat, name="advisor-heartbeat", daemon=True)
        beat.start()
        self._threads.append(beat)

    def enqueue(self, job_id: str) -> None:
        """A job was queued here: wake a thread (any process's thread may take it)."""
        with self._wake:
            self._pending += 1
            self._wake.notify()

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
        with self._wake:
            self._wake.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads.clear()

    # ------------------------------------------------------------------------------ threads

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                job = self._claim_next()
            except Exception:  # a store that does not answer must not kill the thread: log, retry
                logger.exception("could not look for queued jobs")
                job = None
            if job is None:
                with self._wake:
                    if self._pending == 0 and not self._stopping.is_set():
                        self._wake.wait(self.poll_s)
                    self._pending = max(0, self._pending - 1)
                continue
            try:
                self._execute(job)
            except Exception:  # a broken store must not kill the thread: log, keep serving
                logger.exception("job %s: unexpected error outside the job", job.id)

    def _claim_next(self) -> JobRecord | None:
        """The oldest queued job no other claimant is taking, claimed for this process; or ``None``."""
        if self._stopping.is_set():
            return None
        return self.store.claim_next(holder=self.holder, lease_s=self.lease_s)

    def _recover(self) -> None:
        requeued, failed = self.store.recover(self.max_attempts)
        if requeued or failed:
            logger.warning(
                "re-queued %d job(s) whose runner stopped, failed %d out of attempts", len(requeued), len(failed)
            )
            self.enqueue("")

    def _heartbeat(self) -> None:
        """Renew this process's leases, pass cancellations on, and recover jobs whose runner died."""
        while not self._stopping.wait(self.lease_s / 3):
            try:
                flags = self.store.renew(self.running_ids(), holder=self.holder, lease_s=self.lease_s)
                with self._lock:
                    for job_id, event in self._running.items():
                        if flags.get(job_id):
                            event.set()
                self._recover()
            except Exception:
                logger.exception("heartbeat: could not renew leases")

    def _execute(self, job: JobRecord) -> None:
        job_id, holder = job.id, self.holder
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
                    holder=holder,
                    error={
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
                self.store.requeue(job_id, message="re-queued: the service was shut down while it ran", holder=holder)
                logger.info("job %s: re-queued at shutdown", job_id)
                outcome = "requeued"
            else:
                self.store.mark_cancelled(job_id, holder=holder)
                logger.info("job %s: cancelled", job_id)
                outcome = "cancelled"
        except AdvisorError as exc:
            self.store.fail(job_id, exc.to_dict(), holder=holder)
            logger.info("job %s: failed: %s", job_id, exc.code)
        except Exception as exc:
            logger.exception("job %s: internal error", job_id)
            self.store.fail(
                job_id,
                holder=holder,
                error={
                    "code": "internal_error",
                    "message": f"The probes failed unexpectedly: {type(exc).__name__}: {exc}",
                    "details": {"type": type(exc).__name__},
                },
            )
        else:
            self.store.succeed(job_id, result, holder=holder)
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
                self.store.set_progress(job_id, phase, fraction, message, holder=self.holder)
            except Exception:  # progress is best effort; the job goes on
                logger.warning("job %s: could not record progress", job_id, exc_info=True)

        return update
