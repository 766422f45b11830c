"""The job store contract: what every backend keeps, how it may be called, and what it raises.

A job's life: ``queued`` -> ``running`` -> ``succeeded`` | ``failed`` | ``cancelled`` (a queued job
may also be cancelled directly). Implementations are thread-safe: the HTTP handlers and every
worker thread call one shared store. Missing or foreign jobs raise
:class:`~advisor.exceptions.JobNotFoundError`; nothing else is raised on purpose.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from advisor.exceptions import QueueFullError

__all__ = ["FINAL_STATUSES", "JobRecord", "JobRun", "JobStatus", "JobStore", "NewJob", "queue_full"]

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
FINAL_STATUSES: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})


@dataclass(frozen=True)
class NewJob:
    """What a submission fixes: who asked, which data (by content hash), the spec and the options."""

    owner: str
    fingerprint: str
    data_hash: str
    data_name: str
    data_suffix: str
    n_bytes: int
    spec: dict[str, Any]
    budget: str
    time_limit: float
    seed: int
    kind: str = "recommend"
    options: dict[str, Any] | None = None
    """Options of the job's kind (verify: ``runs``, ``paradigms``)."""


@dataclass(frozen=True)
class JobRecord:
    """A stored job as the store returns it (timestamps are timezone-aware UTC)."""

    id: str
    owner: str
    status: JobStatus
    fingerprint: str
    data_hash: str
    data_name: str
    data_suffix: str
    n_bytes: int
    spec: dict[str, Any]
    budget: str
    time_limit: float
    seed: int
    progress_phase: str | None
    progress_fraction: float
    progress_message: str | None
    error: dict[str, Any] | None
    attempts: int
    cancel_requested: bool
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    lease_holder: str | None = None
    """The runner (process) whose lease covers a running job."""
    lease_until: datetime | None = None
    """When that lease ends unless renewed; after it, any process may re-queue the job."""
    kind: str = "recommend"
    """``recommend`` or ``verify``."""
    options: dict[str, Any] | None = None
    """Options of the job's kind (verify: ``runs``, ``paradigms``)."""

    @property
    def finished(self) -> bool:
        return self.status in FINAL_STATUSES


@dataclass(frozen=True)
class JobRun:
    """One start of a job: which runner held it, from when until when, and how that start ended.

    Written in the transaction that claims the job and closed in the one that ends the start, so
    the runs of a job are its exact history: two runs of one job never overlap unless two runners
    held it at once. ``ended_at`` is ``None`` while the run goes on; a runner that died is closed
    ``lost`` when its lease is found expired.
    """

    job_id: str
    attempt: int
    holder: str | None
    started_at: datetime
    ended_at: datetime | None
    outcome: Literal["succeeded", "failed", "cancelled", "requeued", "lost"] | None


def queue_full(queued: int, limit: int) -> QueueFullError:
    """The 429 for a full queue: one wording for the service's early check and the store's check at insert."""
    return QueueFullError(
        f"{queued} jobs are waiting, the most this service queues; retry in a while.",
        details={"queued": int(queued), "limit": limit},
    )


class JobStore(abc.ABC):
    """Persistent jobs and their results. Every method is safe to call from any thread."""

    @abc.abstractmethod
    def submit(self, job: NewJob, *, max_queued: int | None = None) -> tuple[JobRecord, bool]:
        """Create a queued job, or return the owner's existing job with the same fingerprint (and refresh its
        ``updated_at``: its retention counts from this use).

        A job that failed or was cancelled is not reused. Returns ``(job, reused)``; atomic with
        respect to concurrent calls with the same fingerprint. Raises ``QueueFullError`` instead of
        creating a job when ``max_queued`` jobs are already queued, counted with the insert under the
        store's lock: exact within one service process (its worker threads included), not across
        several processes sharing one database.
        """

    @abc.abstractmethod
    def find_reusable(self, owner: str, fingerprint: str) -> JobRecord | None:
        """The owner's newest queued, running or succeeded job with this fingerprint, if any."""

    @abc.abstractmethod
    def get(self, job_id: str, owner: str | None = None) -> JobRecord:
        """The job; raises ``JobNotFoundError`` when absent or (with ``owner``) someone else's."""

    @abc.abstractmethod
    def list_jobs(
        self, owner: str, *, status: str | None = None, limit: int = 20, offset: int = 0
    ) -> tuple[list[JobRecord], int]:
        """The owner's jobs, newest first, and how many there are in all."""

    @abc.abstractmethod
    def count(self, status: str) -> int:
        """How many jobs (of every owner) have ``status``."""

    @abc.abstractmethod
    def queued_ids(self) -> list[str]:
        """Ids of queued jobs, oldest first."""

    @abc.abstractmethod
    def claim(self, job_id: str, *, holder: str | None = None, lease_s: float | None = None) -> JobRecord | None:
        """Move a queued job to running (counting an attempt); ``None`` when it is no longer queued.

        ``holder`` takes a lease of ``lease_s`` seconds on it, which :meth:`renew` extends; only a
        job whose lease expired is re-queued by :meth:`recover`.
        """

    @abc.abstractmethod
    def claim_next(self, *, holder: str, lease_s: float) -> JobRecord | None:
        """Claim the oldest queued job as :meth:`claim` does, or return ``None`` when none is queued.

        Safe against every other process on the database: each queued job goes to one claimant.
        """

    @abc.abstractmethod
    def runs(self, job_id: str) -> list[JobRun]:
        """Every start of the job, oldest first (see :class:`JobRun`)."""

    @abc.abstractmethod
    def renew(self, job_ids: Iterable[str], *, holder: str, lease_s: float) -> dict[str, bool]:
        """Extend ``holder``'s leases on its running jobs; returns each still held job's cancellation flag."""

    @abc.abstractmethod
    def set_progress(
        self, job_id: str, phase: str, fraction: float, message: str, *, holder: str | None = None
    ) -> None:
        """Record a running job's progress."""

    @abc.abstractmethod
    def succeed(self, job_id: str, result_json: str, *, holder: str | None = None) -> None:
        """Store the result (a ``Recommendation`` as JSON) and mark the job succeeded."""

    @abc.abstractmethod
    def fail(self, job_id: str, error: dict[str, Any], *, holder: str | None = None) -> None:
        """Mark the job failed with ``error`` = ``{code, message, details}``.

        With ``holder`` (here and in the other transitions of a running job) only while that runner
        still holds the job's lease: a runner that lost it to a recovery changes nothing.
        """

    @abc.abstractmethod
    def request_cancel(self, job_id: str) -> JobRecord:
        """Cancel a queued job at once, or flag a running one (the worker stops it); returns the job."""

    @abc.abstractmethod
    def mark_cancelled(self, job_id: str, *, holder: str | None = None) -> None:
        """A running job stopped on a cancellation request."""

    @abc.abstractmethod
    def requeue(self, job_id: str, *, message: str, holder: str | None = None) -> None:
        """Put a running job back in the queue (the service is shutting down); the attempt is not counted."""

    @abc.abstractmethod
    def recover(self, max_attempts: int, *, now: datetime | None = None) -> tuple[list[str], list[str]]:
        """Jobs whose runner stopped renewing its lease (or that never had one): re-queue them, fail those
        out of attempts, end the cancelled ones cancelled; returns the re-queued and failed ids.
        A job a live runner holds is never touched, whichever process calls this."""

    @abc.abstractmethod
    def result(self, job_id: str) -> str | None:
        """The stored result JSON, if any."""

    @abc.abstractmethod
    def purge(self, before: datetime) -> list[str]:
        """Delete the jobs (with their results) that ended before ``before`` and were not sent again since.

        A reused submission counts as a use (:meth:`submit` refreshes ``updated_at``). Queued and
        running jobs are never deleted, however old. Returns the ids deleted.
        """

    @abc.abstractmethod
    def existing_ids(self, ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` are stored jobs (of any owner)."""

    @abc.abstractmethod
    def data_in_use(self) -> set[tuple[str, str]]:
        """``(data_hash, data_suffix)`` of every stored job: the uploads the service must keep."""

    @abc.abstractmethod
    def created_at(self) -> datetime:
        """When this store began keeping jobs (UTC), fixed for its life.

        An upload last used before then was never sent to one of its jobs: a sweep keeps it, since
        another database (the one before a migration, say) may still refer to it.
        """

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise if the backend cannot be reached."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections."""
