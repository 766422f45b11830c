"""The SQLAlchemy job store: a SQLite file by default, PostgreSQL (or any SQLAlchemy database) by URL.

Jobs live in ``advisor_jobs``, each start of a job in ``advisor_job_runs``; ``advisor_store`` keeps
when the store was created. Results are stored as the ``Recommendation``'s JSON text. Status
changes are conditional updates (``UPDATE ... WHERE status = 'queued'``), so a cancelled job is
never started and a finished one never re-opened. Taking the next queued job locks its row and
skips rows other claimants hold (PostgreSQL ``FOR UPDATE SKIP LOCKED``; SQLite's write lock).
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from advisor.exceptions import JobNotFoundError
from api.storage._base import FINAL_STATUSES, JobRecord, JobRun, JobStore, NewJob, queue_full

__all__ = ["SQLJobStore", "normalise_url"]

_metadata = sa.MetaData()
jobs = sa.Table(
    "advisor_jobs",
    _metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("owner", sa.String(64), nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("fingerprint", sa.String(64), nullable=False, index=True),
    sa.Column("data_hash", sa.String(64), nullable=False),
    sa.Column("data_name", sa.String(255), nullable=False),
    sa.Column("data_suffix", sa.String(16), nullable=False),
    sa.Column("n_bytes", sa.BigInteger, nullable=False),
    sa.Column("spec", sa.JSON, nullable=False),
    sa.Column("budget", sa.String(16), nullable=False),
    sa.Column("time_limit", sa.Float, nullable=False),
    sa.Column("seed", sa.BigInteger, nullable=False),
    sa.Column("progress_phase", sa.String(64)),
    sa.Column("progress_fraction", sa.Float, nullable=False, default=0.0),
    sa.Column("progress_message", sa.Text),
    sa.Column("error", sa.JSON),
    sa.Column("result", sa.Text),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("cancel_requested", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True)),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("lease_holder", sa.String(128)),
    sa.Column("lease_until", sa.DateTime(timezone=True)),
    sa.Column("kind", sa.String(16)),
    sa.Column("options", sa.JSON),
)
#: Columns added after the first release: added to an older table when the store opens it.
_ADDED_COLUMNS = ("lease_holder", "lease_until", "kind", "options")
_RECORD_COLUMNS = [c for c in jobs.c if c.name != "result"]
#: Each start of a job: written with the claim, closed with the transition that ends the start.
job_runs = sa.Table(
    "advisor_job_runs",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("job_id", sa.String(32), nullable=False, index=True),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("holder", sa.String(128)),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ended_at", sa.DateTime(timezone=True)),
    sa.Column("outcome", sa.String(16)),
)
#: Facts about the store itself: ``created_at``, when it began keeping jobs (see :meth:`SQLJobStore.created_at`).
store_facts = sa.Table(
    "advisor_store",
    _metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` use psycopg 3 (the driver the service extra installs)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


#: Ids per statement (and per transaction) of :meth:`SQLJobStore.purge` and :meth:`SQLJobStore.existing_ids`.
_BATCH = 500

#: The ids :meth:`SQLJobStore.submit` gives out (``uuid4().hex``).
_JOB_ID = re.compile(r"[0-9a-f]{32}")


def _text(value: Any) -> Any:
    """Text without NUL characters (PostgreSQL's text columns refuse them; SQLite would keep them)."""
    return value.replace("\x00", "\ufffd") if isinstance(value, str) else value


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _held(holder: str | None) -> tuple[Any, ...]:
    """The condition that a runner still holds the job's lease (none when no holder is named)."""
    return () if holder is None else (jobs.c.lease_holder == holder,)


def _record(row: Any) -> JobRecord:
    data = dict(row._mapping)
    for key in ("created_at", "updated_at", "started_at", "finished_at", "lease_until"):
        data[key] = _utc(data[key])
    data["cancel_requested"] = bool(data["cancel_requested"])
    data["kind"] = data.get("kind") or "recommend"  # jobs stored before kinds existed
    return JobRecord(**data)


class SQLJobStore(JobStore):
    """Jobs in a SQL database through SQLAlchemy.

    Parameters
    ----------
    url:
        SQLAlchemy URL, e.g. ``sqlite:///advisor-data/advisor.db`` or ``postgresql://user@host:5432/db``.
        The table is created when missing.
    """

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        parsed = make_url(self.url)
        options: dict[str, Any] = {"pool_pre_ping": True}
        if parsed.get_backend_name() == "sqlite":
            database = parsed.database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            options["connect_args"] = {"check_same_thread": False, "timeout": 30}
        self.engine: Engine = sa.create_engine(self.url, **options)
        if parsed.get_backend_name() == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self._submit_lock = threading.Lock()
        _metadata.create_all(self.engine)
        self._add_missing_columns()
        self._created_at = self._record_creation()

    def _add_missing_columns(self) -> None:
        """Columns a newer release added (the leases), added to a table an older release created."""
        present = {c["name"] for c in sa.inspect(self.engine).get_columns(jobs.name)}
        for name in _ADDED_COLUMNS:
            if name in present:
                continue
            column = jobs.c[name]
            kind = column.type.compile(dialect=self.engine.dialect)
            try:
                with self.engine.begin() as conn:
                    conn.execute(sa.text(f"ALTER TABLE {jobs.name} ADD COLUMN {name} {kind}"))
            except sa.exc.DBAPIError:  # another process added it first
                pass

    def _record_creation(self) -> datetime:
        """Read ``created_at``, writing it first when missing: now, or the oldest job's time in a store made before."""
        read = sa.select(store_facts.c.value).where(store_facts.c.key == "created_at")
        with self.engine.connect() as conn:
            stored = conn.execute(read).scalar()
            if stored is None:
                oldest = conn.execute(sa.select(jobs.c.created_at).order_by(jobs.c.created_at).limit(1)).scalar()
        if stored is None:
            stamp = _utc(oldest) or _now()
            try:
                with self.engine.begin() as conn:
                    conn.execute(store_facts.insert().values(key="created_at", value=stamp.isoformat()))
            except sa.exc.IntegrityError:  # another process wrote it first: theirs counts
                pass
            with self.engine.connect() as conn:
                stored = conn.execute(read).scalar_one()
        return _utc(datetime.fromisoformat(stored))  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"SQLJobStore({make_url(self.url).render_as_string(hide_password=True)!r})"

    # ------------------------------------------------------------------------------ reads

    def get(self, job_id: str, owner: str | None = None) -> JobRecord:
        row = None
        if _JOB_ID.fullmatch(job_id):  # anything else is no job of ours (and a NUL byte would upset PostgreSQL)
            query = sa.select(*_RECORD_COLUMNS).where(jobs.c.id == job_id)
            if owner is not None:
                query = query.where(jobs.c.owner == owner)
            with self.engine.connect() as conn:
                row = conn.execute(query).first()
        if row is None:
            raise JobNotFoundError(
                f"No job '{job_id}' for this API key. List yours with GET /v1/jobs.", details={"job_id": job_id}
            )
        return _record(row)

    def list_jobs(
        self, owner: str, *, status: str | None = None, limit: int = 20, offset: int = 0
    ) -> tuple[list[JobRecord], int]:
        where = [jobs.c.owner == owner]
        if status is not None:
            where.append(jobs.c.status == status)
        query = (
            sa.select(*_RECORD_COLUMNS)
            .where(*where)
            .order_by(jobs.c.created_at.desc(), jobs.c.id)
            .limit(limit)
            .offset(offset)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            total = conn.execute(sa.select(sa.func.count()).select_from(jobs).where(*where)).scalar_one()
        return [_record(r) for r in rows], int(total)

    def count(self, status: str) -> int:
        with self.engine.connect() as conn:
            query = sa.select(sa.func.count()).select_from(jobs).where(jobs.c.status == status)
            return int(conn.execute(query).scalar_one())

    def queued_ids(self) -> list[str]:
        query = sa.select(jobs.c.id).where(jobs.c.status == "queued").order_by(jobs.c.created_at, jobs.c.id)
        with self.engine.connect() as conn:
            return [r.id for r in conn.execute(query)]

    def result(self, job_id: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(jobs.c.result).where(jobs.c.id == job_id)).scalar_one_or_none()

    def data_in_use(self) -> set[tuple[str, str]]:
        query = sa.select(jobs.c.data_hash, jobs.c.data_suffix).distinct()
        with self.engine.connect() as conn:
            return {(r.data_hash, r.data_suffix) for r in conn.execute(query)}

    def created_at(self) -> datetime:
        return self._created_at

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(sa.select(1))

    # ----------------------------------------------------------------------------- writes

    def find_reusable(self, owner: str, fingerprint: str) -> JobRecord | None:
        with self.engine.connect() as conn:
            job_id = conn.execute(self._reusable(owner, fingerprint)).scalar_one_or_none()
        return None if job_id is None else self.get(job_id)

    @staticmethod
    def _reusable(owner: str, fingerprint: str) -> Any:
        return (
            sa.select(jobs.c.id)
            .where(
                jobs.c.owner == owner,
                jobs.c.fingerprint == fingerprint,
                jobs.c.status.in_(("queued", "running", "succeeded")),
            )
            .order_by(jobs.c.created_at.desc())
            .limit(1)
        )

    def submit(self, job: NewJob, *, max_queued: int | None = None) -> tuple[JobRecord, bool]:
        with self._submit_lock:
            with self.engine.begin() as conn:
                _lock_submissions(conn)
                existing = conn.execute(self._reusable(job.owner, job.fingerprint)).scalar_one_or_none()
                if existing is None and max_queued is not None:  # counted under the lock that inserts
                    queued = conn.execute(
                        sa.select(sa.func.count()).select_from(jobs).where(jobs.c.status == "queued")
                    ).scalar_one()
                    if queued >= max_queued:
                        raise queue_full(queued, max_queued)
                if existing is not None:  # sent again: its retention counts from now
                    conn.execute(jobs.update().where(jobs.c.id == existing).values(updated_at=_now()))
                else:
                    now = _now()
                    job_id = uuid.uuid4().hex
                    conn.execute(
                        jobs.insert().values(
                            id=job_id,
                            status="queued",
                            progress_fraction=0.0,
                            progress_phase="queued",
                            progress_message="waiting for a worker",
                            attempts=0,
                            cancel_requested=False,
                            created_at=now,
                            updated_at=now,
                            **{k: _text(v) for k, v in job.__dict__.items()},
                        )
                    )
            return self.get(existing or job_id), existing is not None

    def _update(self, job_id: str, *conditions: Any, ends_run: str | None = None, **values: Any) -> bool:
        """Update the job where ``conditions`` hold; ``ends_run`` closes its open run with that outcome too."""
        values = {k: _text(v) for k, v in values.items()}
        values.setdefault("updated_at", _now())
        with self.engine.begin() as conn:
            done = conn.execute(jobs.update().where(jobs.c.id == job_id, *conditions).values(**values)).rowcount > 0
            if done and ends_run is not None:
                _end_run(conn, job_id, ends_run, values["updated_at"])
        return done

    def _claim_in(self, conn: sa.Connection, job_id: str, holder: str | None, lease_s: float | None) -> bool:
        """Claim a queued job and open its run, inside the caller's transaction."""
        now = _now()
        until = now + timedelta(seconds=lease_s) if lease_s else None
        claimed = conn.execute(
            jobs.update()
            .where(jobs.c.id == job_id, jobs.c.status == "queued")
            .values(
                status="running",
                attempts=jobs.c.attempts + 1,
                started_at=now,
                updated_at=now,
                progress_phase="starting",
                progress_message="loading the data",
                lease_holder=holder,
                lease_until=until,
            )
        ).rowcount
        if not claimed:
            return False
        attempt = conn.execute(sa.select(jobs.c.attempts).where(jobs.c.id == job_id)).scalar_one()
        conn.execute(job_runs.insert().values(job_id=job_id, attempt=attempt, holder=holder, started_at=now))
        return True

    def claim(self, job_id: str, *, holder: str | None = None, lease_s: float | None = None) -> JobRecord | None:
        with self.engine.begin() as conn:
            claimed = self._claim_in(conn, job_id, holder, lease_s)
        return self.get(job_id) if claimed else None

    def claim_next(self, *, holder: str, lease_s: float) -> JobRecord | None:
        oldest = sa.select(jobs.c.id).where(jobs.c.status == "queued").order_by(jobs.c.created_at, jobs.c.id).limit(1)
        backend = self.engine.dialect.name
        if backend not in ("postgresql", "sqlite"):  # no row locks to rely on: conditional claims, oldest first
            for job_id in self.queued_ids():
                if (job := self.claim(job_id, holder=holder, lease_s=lease_s)) is not None:
                    return job
            return None
        with self.engine.begin() as conn:
            if backend == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock first: no other claimant reads in between
            else:
                oldest = oldest.with_for_update(skip_locked=True)  # rows another claimant is taking are skipped
            job_id = conn.execute(oldest).scalar_one_or_none()
            if job_id is None or not self._claim_in(conn, job_id, holder, lease_s):
                return None
        return self.get(job_id)

    def runs(self, job_id: str) -> list[JobRun]:
        query = sa.select(job_runs).where(job_runs.c.job_id == job_id).order_by(job_runs.c.started_at, job_runs.c.id)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            JobRun(
                job_id=r.job_id,
                attempt=r.attempt,
                holder=r.holder,
                started_at=_utc(r.started_at),  # type: ignore[arg-type]
                ended_at=_utc(r.ended_at),
                outcome=r.outcome,
            )
            for r in rows
        ]

    def renew(self, job_ids: Iterable[str], *, holder: str, lease_s: float) -> dict[str, bool]:
        ids = list(job_ids)
        if not ids:
            return {}
        until = _now() + timedelta(seconds=lease_s)
        held = (jobs.c.id.in_(ids), jobs.c.status == "running", jobs.c.lease_holder == holder)
        with self.engine.begin() as conn:
            conn.execute(jobs.update().where(*held).values(lease_until=until))
            rows = conn.execute(sa.select(jobs.c.id, jobs.c.cancel_requested).where(*held)).all()
        return {r.id: bool(r.cancel_requested) for r in rows}

    def set_progress(
        self, job_id: str, phase: str, fraction: float, message: str, *, holder: str | None = None
    ) -> None:
        self._update(
            job_id,
            *_held(holder),
            jobs.c.status == "running",
            progress_phase=phase[:64],
            progress_fraction=min(1.0, max(0.0, float(fraction))),
            progress_message=message,
        )

    def succeed(self, job_id: str, result_json: str, *, holder: str | None = None) -> None:
        now = _now()
        self._update(
            job_id,
            *_held(holder),
            jobs.c.status == "running",
            ends_run="succeeded",
            status="succeeded",
            result=result_json,
            progress_phase="done",
            progress_fraction=1.0,
            progress_message="recommendation ready",
            finished_at=now,
            updated_at=now,
            lease_holder=None,
            lease_until=None,
        )

    def fail(self, job_id: str, error: dict[str, Any], *, holder: str | None = None) -> None:
        now = _now()
        self._update(
            job_id,
            *_held(holder),
            jobs.c.status.in_(("queued", "running")),
            ends_run="failed",
            status="failed",
            error=error,
            progress_phase="failed",
            progress_message=error.get("message"),
            finished_at=now,
            updated_at=now,
            lease_holder=None,
            lease_until=None,
        )

    def request_cancel(self, job_id: str) -> JobRecord:
        now = _now()
        cancelled_now = self._update(
            job_id,
            jobs.c.status == "queued",
            status="cancelled",
            cancel_requested=True,
            progress_phase="cancelled",
            progress_message="cancelled before it started",
            error={"code": "cancelled", "message": "Cancelled on request before it started.", "details": {}},
            finished_at=now,
            updated_at=now,
        )
        if not cancelled_now:
            self._update(job_id, jobs.c.status == "running", cancel_requested=True, progress_message="cancelling")
        return self.get(job_id)

    def mark_cancelled(self, job_id: str, *, holder: str | None = None) -> None:
        now = _now()
        self._update(
            job_id,
            *_held(holder),
            jobs.c.status == "running",
            ends_run="cancelled",
            status="cancelled",
            progress_phase="cancelled",
            progress_message="stopped at a budget check",
            error={"code": "cancelled", "message": "Cancelled on request while running.", "details": {}},
            finished_at=now,
            updated_at=now,
            lease_holder=None,
            lease_until=None,
        )

    def requeue(self, job_id: str, *, message: str, holder: str | None = None) -> None:
        self._update(
            job_id,
            *_held(holder),
            jobs.c.status == "running",
            ends_run="requeued",
            status="queued",
            attempts=sa.case((jobs.c.attempts > 0, jobs.c.attempts - 1), else_=0),
            progress_phase="queued",
            progress_fraction=0.0,
            progress_message=message,
            started_at=None,
            lease_holder=None,
            lease_until=None,
        )

    def recover(self, max_attempts: int, *, now: datetime | None = None) -> tuple[list[str], list[str]]:
        requeued: list[str] = []
        failed: list[str] = []
        now = _utc(now) or _now()
        # Only jobs whose runner stopped renewing its lease (or that no lease ever covered: a process
        # of an older release): a job a live process runs is never touched.
        expired = sa.or_(jobs.c.lease_until.is_(None), jobs.c.lease_until < now)
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(jobs.c.id, jobs.c.attempts, jobs.c.cancel_requested).where(
                    jobs.c.status == "running", expired
                )
            ).all()
        for row in rows:
            stopped = (jobs.c.status == "running", expired)  # still expired when the update runs
            if row.cancel_requested:  # cancelled while it ran, then its runner stopped: it ends cancelled
                self._update(
                    row.id,
                    *stopped,
                    ends_run="lost",
                    status="cancelled",
                    progress_phase="cancelled",
                    progress_message="cancelled; the service stopped before the job did",
                    error={"code": "cancelled", "message": "Cancelled on request while running.", "details": {}},
                    finished_at=now,
                    lease_holder=None,
                    lease_until=None,
                )
            elif row.attempts < max_attempts:
                if self._update(
                    row.id,
                    *stopped,
                    ends_run="lost",
                    status="queued",
                    progress_phase="queued",
                    progress_fraction=0.0,
                    progress_message=f"re-queued: its runner stopped during attempt {row.attempts}",
                    started_at=None,
                    lease_holder=None,
                    lease_until=None,
                ):
                    requeued.append(row.id)
            else:
                error = {
                    "code": "interrupted",
                    "message": (
                        f"The service stopped while this job was running, {row.attempts} time(s); "
                        f"it was given up after {max_attempts} attempt(s). Submit it again, perhaps "
                        "with a smaller budget or time limit."
                    ),
                    "details": {"attempts": row.attempts, "max_attempts": max_attempts},
                }
                if self._update(
                    row.id,
                    *stopped,
                    ends_run="lost",
                    status="failed",
                    error=error,
                    progress_phase="failed",
                    progress_message=error["message"],
                    finished_at=now,
                    lease_holder=None,
                    lease_until=None,
                ):
                    failed.append(row.id)
        # A cancellation requested just before the restart is honoured, not re-run.
        for job_id in list(requeued):
            record = self.get(job_id)
            if record.cancel_requested:
                self.request_cancel(job_id)
                requeued.remove(job_id)
        return requeued, failed

    def purge(self, before: datetime) -> list[str]:
        cutoff = _utc(before)
        expired = (
            jobs.c.status.in_(sorted(FINAL_STATUSES)),
            jobs.c.finished_at.is_not(None),
            jobs.c.finished_at < cutoff,
            jobs.c.updated_at < cutoff,  # sent again since: kept
        )
        purged: list[str] = []
        while True:  # a transaction per batch: a long purge never holds SQLite's write lock for long
            with self.engine.begin() as conn:
                ids = [r.id for r in conn.execute(sa.select(jobs.c.id).where(*expired).limit(_BATCH))]
                if ids:
                    conn.execute(jobs.delete().where(jobs.c.id.in_(ids), *expired))
                    conn.execute(job_runs.delete().where(job_runs.c.job_id.in_(ids)))
            if not ids:
                return purged
            purged += ids

    def existing_ids(self, ids: Iterable[str]) -> set[str]:
        wanted = sorted({i for i in ids if _JOB_ID.fullmatch(i)})
        found: set[str] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), _BATCH):
                batch = wanted[start : start + _BATCH]
                found.update(r.id for r in conn.execute(sa.select(jobs.c.id).where(jobs.c.id.in_(batch))))
        return found

    def close(self) -> None:
        self.engine.dispose()


#: The PostgreSQL advisory lock that serialises submissions (an arbitrary constant: "advisor" in ASCII).
_SUBMIT_LOCK_KEY = 0x61_64_76_69_73_6F_72


def _lock_submissions(conn: sa.Connection) -> None:
    """Serialise submissions across processes sharing the database, for the rest of ``conn``'s transaction.

    A submission reads (is this job already there? how many are queued?) and then writes; two
    service processes doing that at once would both read the old state, queue a job each past the
    limit, or make two jobs of one submission. SQLite takes its write lock before the reads
    (``BEGIN IMMEDIATE``; WAL readers are not blocked), PostgreSQL a transaction-scoped advisory
    lock. Other databases rely on the per-process lock alone.
    """
    backend = conn.dialect.name
    if backend == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif backend == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SUBMIT_LOCK_KEY})


def _end_run(conn: sa.Connection, job_id: str, outcome: str, at: datetime) -> None:
    """Close the job's open run (there is at most one: a job is claimed only while queued)."""
    conn.execute(
        job_runs.update()
        .where(job_runs.c.job_id == job_id, job_runs.c.ended_at.is_(None))
        .values(ended_at=at, outcome=outcome)
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the API read while a worker writes progress; the busy timeout waits out short locks.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
