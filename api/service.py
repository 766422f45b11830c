"""The service behind the routes, with no HTTP in it: submission (limits, validation, idempotency),
cancellation, results and reports, and the lifecycle of the store and the worker pool.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import ValidationError

from advisor.exceptions import (
    AdvisorError,
    Cancelled,
    FileTooLargeError,
    InvalidRequestError,
    JobFailedError,
    JobFinishedError,
    JobNotReadyError,
    LimitExceededError,
    UnreadableFileError,
)
from api.auth import KeyRing
from api.metrics import Metrics
from api.schemas import JobOptions
from api.settings import Settings
from api.storage import JobRecord, JobStore, NewJob, get_store
from api.storage._base import queue_full
from api.uploads import StagedUpload, UploadStore, data_suffix, delete_file, safe_name
from api.worker import JobRunner, WorkerPool

__all__ = ["UPLOAD_GRACE_S", "Service", "SweepResult", "sdk_runner"]

logger = logging.getLogger("api")

#: An upload no job uses is kept this long after its last use: the time between storing a new
#: upload and inserting its job, with a wide margin (a submission refused with 429 at the insert
#: leaves its upload behind; the sweep removes it after this).
UPLOAD_GRACE_S = 3600.0


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return float("inf")


@dataclass(frozen=True)
class SweepResult:
    """What one sweep deleted."""

    jobs: int
    reports: int
    uploads_bytes: int
    staging_folders: int
    #: Unused uploads kept because they were last used before the job store was created.
    uploads_predating_store: int = 0


def _limits(settings: Settings) -> Any:
    from probes.data import Limits

    return Limits(
        max_file_mb=settings.max_upload_mb,
        max_rows=settings.max_rows,
        max_columns=settings.max_columns,
        max_cells=settings.max_cells,
    )


def sdk_runner(settings: Settings) -> JobRunner:
    """The default job runner: ``Advisor(...).recommend(data, spec)`` with the job's options."""

    def run(job: JobRecord, path: Path, progress: Any, cancelled: Any) -> str:
        from advisor._sdk import Advisor
        from advisor.schemas import DatasetSpec

        if job.kind == "verify":
            verifier = Advisor(
                seed=job.seed, progress=progress, limits=_limits(settings), device=settings.device, cancel=cancelled,
                n_jobs=settings.probe_jobs, scheduler=settings.dask_address,
            )  # fmt: skip
            options = job.options or {}
            return verifier.verify(
                path, DatasetSpec.from_dict(job.spec), runs=options.get("runs") or 3, paradigms=options.get("paradigms")
            ).to_json(indent=None)
        advisor = Advisor(
            budget=job.budget,
            time_limit=job.time_limit or None,  # stored 0: no limit
            seed=job.seed,
            progress=progress,
            limits=_limits(settings),
            device=settings.device,
            cancel=cancelled,
            n_jobs=settings.probe_jobs,
            scheduler=settings.dask_address,
        )
        return advisor.recommend(path, DatasetSpec.from_dict(job.spec)).to_json(indent=None)

    return run


def _invalid(exc: ValidationError, what: str) -> InvalidRequestError:
    errors = [{"loc": [str(p) for p in e["loc"]], "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
    where = "; ".join(f"{'.'.join(e['loc']) or what}: {e['msg']}" for e in errors[:5])
    return InvalidRequestError(f"Invalid {what}: {where}.", details={"errors": errors})


def _scrub(value: Any, folder: str, name: str) -> Any:
    """Replace server paths by the user's file name in an error's details."""
    if isinstance(value, str):
        return value.replace(folder + "/", "").replace(folder, name)
    if isinstance(value, dict):
        return {k: _scrub(v, folder, name) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, folder, name) for v in value]
    return value


class Service:
    """Settings, keys, store, uploads and workers of one running service.

    Nothing is opened until :meth:`start` (the app's start-up): creating the app does no work.
    """

    def __init__(self, settings: Settings, *, runner: JobRunner | None = None) -> None:
        self.settings = settings
        self.keys = KeyRing(settings.api_keys, open_access=settings.open)
        self.uploads = UploadStore(settings.data_dir)
        self._runner = runner or sdk_runner(settings)
        self._store: JobStore | None = None
        self._pool: WorkerPool | None = None
        self._lock = threading.Lock()
        self._sweeper: threading.Thread | None = None
        # A new event per start: a sweeper left over from a timed-out stop stays stopped.
        self._stop_sweeping = threading.Event()
        self.metrics = Metrics(lambda status: self.store.count(status))

    # ---------------------------------------------------------------------------- lifecycle

    @property
    def store(self) -> JobStore:
        if self._store is None:
            raise RuntimeError("the service is not started (Service.start / the app's lifespan)")
        return self._store

    @property
    def pool(self) -> WorkerPool:
        if self._pool is None:
            raise RuntimeError("the service is not started (Service.start / the app's lifespan)")
        return self._pool

    def start(self) -> None:
        """Open the database, re-queue interrupted jobs, start the workers and the sweeper (:meth:`sweep`)."""
        with self._lock:
            if self._pool is not None:
                return
            if self.keys.open:
                logger.warning("OPEN MODE: no API keys; every caller can submit and read every job")
            self.settings.data_dir.mkdir(parents=True, exist_ok=True)
            self._store = get_store(self.settings.database)
            self._pool = WorkerPool(
                store=self._store,
                uploads=self.uploads,
                runner=self._runner,
                workers=self.settings.workers,
                max_attempts=self.settings.max_attempts,
                metrics=self.metrics,
                lease_s=self.settings.lease_s,
            )
            self._pool.start()
            self._stop_sweeping = threading.Event()
            self._sweeper = threading.Thread(
                target=self._sweep_loop, args=(self._stop_sweeping,), name="advisor-sweeper", daemon=True
            )
            self._sweeper.start()
            # Load the readers now (pandas, scikit-learn: ~2 s), not inside the first submission.
            import probes.data  # noqa: F401

            logger.info("service started: %s, %d worker(s)", self._store, self.settings.workers)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the sweeper and the workers (running jobs go back to the queue) and close the database."""
        with self._lock:
            deadline = time.monotonic() + timeout
            self._stop_sweeping.set()
            if self._pool is not None:
                self._pool.stop(timeout)
                self._pool = None
            if self._sweeper is not None:  # a sweep under way ends within the same timeout
                self._sweeper.join(max(0.0, deadline - time.monotonic()))
                self._sweeper = None
            if self._store is not None:
                self._store.close()
                self._store = None

    # ------------------------------------------------------------------------------ cleanup

    def sweep(self, now: datetime | None = None) -> SweepResult:
        """Delete what the service no longer needs: expired jobs, uploads no job uses, crash leftovers.

        Finished jobs go ``retention_days`` after they ended or were last sent again (never, by
        default), with their results. Cached reports go when their job is gone, or when an upgrade
        changed the report. An upload goes when no stored job refers to it and it was last used
        :data:`UPLOAD_GRACE_S` ago or more.
        Staging folders go once the process that made them is gone (killed, say: the lock it held
        on them is free), and in any case a day after they were made, or twice the longest time
        limit when that is longer (a running job reads its data there). ``now`` (UTC when naive)
        is for tests.
        """
        now = datetime.now(UTC) if now is None else now
        now = now if now.tzinfo else now.replace(tzinfo=UTC)
        stamp = now.timestamp()
        purged: list[str] = []
        if self.settings.retention_days is not None:
            purged = self.store.purge(now - timedelta(days=self.settings.retention_days))
        reports = self._remove_orphan_reports(stamp)
        removed = self.uploads.remove_unused(
            self.store.data_in_use(), unused_for=UPLOAD_GRACE_S, now=stamp, since=self.store.created_at().timestamp()
        )
        staging = self.uploads.remove_stale_staging(
            older_than=max(86_400.0, 2 * self.settings.max_time_limit_s), now=stamp
        )
        return SweepResult(
            jobs=len(purged),
            reports=reports,
            uploads_bytes=removed.freed_bytes,
            staging_folders=staging,
            uploads_predating_store=removed.predating,
        )

    def _remove_orphan_reports(self, now: float) -> int:
        """Delete cached reports whose job is gone (purged, even by another process) or that an older version
        of the report drew, and stale partial writes."""
        from advisor.report import renderer_fingerprint

        folder = self.settings.data_dir / "reports"
        current = f".{renderer_fingerprint()}.html"
        pages = list(folder.glob("*.html"))
        outdated = [path for path in pages if not path.name.endswith(current)]
        stale = [path for path in folder.glob("*.tmp") if _modified(path) < now - UPLOAD_GRACE_S]
        by_job = {path.name.split(".", 1)[0]: path for path in pages if path not in outdated}
        kept = self.store.existing_ids(by_job) if by_job else set()
        orphans = [path for job_id, path in by_job.items() if job_id not in kept]
        return sum(delete_file(path) and path.suffix == ".html" for path in orphans + outdated + stale)

    def _sweep_loop(self, stopping: threading.Event) -> None:
        """Sweep at start-up, then every ``sweep_interval_s``, until :meth:`stop` sets ``stopping``."""
        told_predating = False
        while not stopping.is_set():
            started = time.monotonic()
            try:
                done = self.sweep()
            except Exception:  # a failed sweep is retried at the next interval; serving goes on
                logger.exception("sweep failed")
            else:
                if done.jobs or done.reports or done.uploads_bytes or done.staging_folders:
                    logger.info(
                        "sweep: deleted %d expired job(s), %d report(s), %.1f MB of unused uploads, "
                        "%d stale staging folder(s) in %.1f s",
                        done.jobs,
                        done.reports,
                        done.uploads_bytes / 1024 / 1024,
                        done.staging_folders,
                        time.monotonic() - started,
                    )
                if done.uploads_predating_store and not told_predating:  # once per start: it will not change soon
                    told_predating = True
                    logger.warning(
                        "sweep: kept %d upload(s) in %s that no job refers to, last used before this job database "
                        "was created (%s); delete them by hand if no other database uses them",
                        done.uploads_predating_store,
                        self.uploads.root / "uploads",
                        self.store.created_at().isoformat(timespec="seconds"),
                    )
            stopping.wait(self.settings.sweep_interval_s)

    # --------------------------------------------------------------------------- submission

    def options(self, raw: dict[str, Any], *, verify: bool = True) -> JobOptions:
        """Validate the job options and apply the service's caps (422 ``limit_exceeded`` above them).

        ``verify=False`` (``POST /v1/recommend``) refuses verify jobs.
        """
        try:
            options = JobOptions.model_validate(raw)
        except ValidationError as exc:
            raise _invalid(exc, "job options") from None
        if options.kind == "verify" and not verify:
            raise InvalidRequestError(
                "POST /v1/recommend answers with recommendations; send a verify job to POST /v1/jobs and read it at "
                "GET /v1/jobs/{id}/verification.",
                details={"field": "kind"},
            )
        cap = self.settings.max_time_limit_s
        if options.budget not in self.settings.budgets:
            raise LimitExceededError(
                f"Budget '{options.budget}' is not offered by this service; use one of "
                f"{', '.join(self.settings.budgets)}.",
                details={"budget": options.budget, "allowed": list(self.settings.budgets)},
            )
        if options.kind == "verify":
            return self._verify_options(options)
        if options.runs is not None or options.paradigms is not None:
            raise InvalidRequestError(
                "'runs' and 'paradigms' belong to verify jobs; send kind=verify, or leave them out.",
                details={"field": "runs" if options.runs is not None else "paradigms"},
            )
        if options.time_limit is not None and options.time_limit > cap:
            raise LimitExceededError(
                f"time_limit {options.time_limit:g} s is above this service's limit of {cap:g} s; ask for less.",
                details={"time_limit": options.time_limit, "limit": cap},
            )
        return options

    def _verify_options(self, options: JobOptions) -> JobOptions:
        """A verify job's options: its runs within the service's cap; no time limit (a cut run is no full budget)."""
        allowed = self.settings.max_verify_runs
        if allowed == 0:
            raise LimitExceededError(
                "This service does not take verify jobs (ADVISOR_MAX_VERIFY_RUNS is 0); run advisor verify locally.",
                details={"kind": "verify", "max_verify_runs": 0},
            )
        runs = min(3, allowed) if options.runs is None else options.runs
        if runs > allowed:
            raise LimitExceededError(
                f"{runs} verify runs is above this service's limit of {allowed}; ask for fewer.",
                details={"runs": runs, "limit": allowed},
            )
        if options.time_limit is not None:
            raise InvalidRequestError(
                "A verify job has no time limit (a run cut short would not be the full budget); leave time_limit out.",
                details={"field": "time_limit"},
            )
        return options.model_copy(update={"runs": runs})

    def spec(self, raw: Any) -> dict[str, Any]:
        """Validate a spec (a mapping or its JSON text); returns its canonical JSON form."""
        from advisor.schemas import DatasetSpec

        if isinstance(raw, str | bytes):
            try:
                raw = json.loads(raw)
            except (ValueError, RecursionError) as exc:
                problem = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
                raise InvalidRequestError(
                    f"The 'spec' field is not valid JSON ({problem}). Send a JSON object such as "
                    '{"targets": ["y"], "task_column": "task"}.',
                    details={"field": "spec"},
                ) from None
        return DatasetSpec.from_dict(raw).model_dump(mode="json")

    def submit_file(
        self, owner: str, source: BinaryIO, filename: str, spec: Any, options: dict[str, Any], *, verify: bool = True
    ) -> tuple[JobRecord, bool]:
        """A job on an uploaded file (its name decides the format); ``verify=False`` refuses verify jobs."""
        suffix = data_suffix(filename or "")
        spec_json, opts = self.spec(spec), self.options(options, verify=verify)
        name = safe_name(filename, suffix)
        with self.uploads.stage(source, suffix=suffix, name=name, max_bytes=self.settings.max_upload_bytes) as staged:
            return self._submit(owner, staged, filename, spec_json, opts)

    def submit_records(self, owner: str, body: Any, *, verify: bool = True) -> tuple[JobRecord, bool]:
        """A job sent as JSON ``{records, spec, budget?, time_limit?, seed?, kind?, runs?, paradigms?}``."""
        if not isinstance(body, dict):
            raise InvalidRequestError(
                f"The JSON body must be an object with 'records' and 'spec', got {type(body).__name__}.",
                details={"expected": ["records", "spec"]},
            )
        body = dict(body)
        records, spec = body.pop("records", None), body.pop("spec", None)
        if not isinstance(records, list) or not records or not all(isinstance(r, dict) for r in records):
            raise InvalidRequestError(
                "'records' must be a non-empty list of rows, each an object mapping column to value.",
                details={"field": "records"},
            )
        if spec is None:
            raise InvalidRequestError(
                '\'spec\' is missing: send the dataset spec, e.g. {"targets": ["y"]}.', details={"field": "spec"}
            )
        spec_json, opts = self.spec(spec), self.options(body, verify=verify)
        if len(records) > self.settings.max_rows:  # the same 413 as a file over the row cap
            raise FileTooLargeError(
                f"{len(records):,} records; the limit is {self.settings.max_rows:,} rows.",
                details={"rows": len(records), "limit": self.settings.max_rows},
            )
        try:
            lines = [json.dumps(r, sort_keys=True, separators=(",", ":"), allow_nan=False) for r in records]
        except ValueError:
            raise InvalidRequestError("Records hold NaN or infinity; send null for a missing value.") from None
        payload = ("\n".join(lines) + "\n").encode("utf-8")
        with self.uploads.stage(
            io.BytesIO(payload), suffix=".jsonl", name="records.jsonl", max_bytes=self.settings.max_upload_bytes
        ) as staged:
            return self._submit(owner, staged, "records.jsonl", spec_json, opts)

    def _check_queue(self) -> None:
        """Refuse a new job before its data is parsed; the store checks again as it inserts (exact in one process).

        Not before the upload is read: only its hash tells a new job from one sent again, which is
        answered (200, the existing job) however full the queue, so a client's retry is safe.
        """
        queued = self.store.count("queued")
        if queued >= self.settings.max_queued:
            raise queue_full(queued, self.settings.max_queued)

    def _submit(
        self, owner: str, staged: StagedUpload, filename: str, spec: dict[str, Any], options: JobOptions
    ) -> tuple[JobRecord, bool]:
        # A job without a time limit runs without one: the budget fixes the work, so the same
        # data, spec, budget and seed give the same result however busy the service is. The
        # store keeps 0 for "no limit" (its column is not nullable); max_time_limit_s only caps
        # what a client may ask for.
        time_limit = options.time_limit
        identity = {
            "data": staged.sha256,
            "format": staged.suffix,
            "spec": spec,
            "budget": options.budget,
            "time_limit": time_limit,
            "seed": options.seed,
        }
        extra: dict[str, Any] | None = None
        if options.kind == "verify":  # a verification of the same data is another job than its recommendation
            extra = {"runs": options.runs, "paradigms": sorted(options.paradigms) if options.paradigms else None}
            identity.update(kind="verify", budget="full", **extra)
        fingerprint = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
        new = NewJob(
            owner=owner,
            fingerprint=fingerprint,
            data_hash=staged.sha256,
            data_name=(Path(filename.replace("\\", "/")).name or "data")[:255],
            data_suffix=staged.suffix,
            n_bytes=staged.n_bytes,
            spec=spec,
            budget="full" if options.kind == "verify" else options.budget,
            time_limit=time_limit or 0.0,
            seed=options.seed,
            kind=options.kind,
            options=extra,
        )
        if self.store.find_reusable(owner, fingerprint) is None:
            self._check_queue()
            self._validate(staged, spec)  # bad data is refused now, with its 4xx, not in a failed job later
        self.uploads.commit(staged)  # stored, or marked just used, so a sweep leaves it until its job exists
        record, reused = self.store.submit(new, max_queued=self.settings.max_queued)
        if not reused:
            self.pool.enqueue(record.id)
        return record, reused

    def _validate(self, staged: StagedUpload, spec: dict[str, Any]) -> None:
        from advisor.schemas import DatasetSpec
        from probes.data import load_taskset

        folder, name = str(staged.path.parent), staged.path.name
        try:
            taskset = load_taskset(staged.path, DatasetSpec.from_dict(spec), limits=_limits(self.settings))
        except AdvisorError as exc:
            exc.message = _scrub(exc.message, folder, name)
            exc.args = (exc.message,)
            exc.details = _scrub(exc.details, folder, name)
            raise
        except Exception as exc:  # garbage pandas could not make sense of: the caller's input, not our bug
            logger.warning("upload %s could not be read", name, exc_info=True)
            raise UnreadableFileError(
                f"'{name}' could not be read as a table ({type(exc).__name__}: {_scrub(str(exc), folder, name)}).",
                details={"filename": name},
            ) from None
        if taskset.n_tasks > self.settings.max_tasks:
            raise LimitExceededError(
                f"The data defines {taskset.n_tasks:,} tasks; this service takes at most {self.settings.max_tasks:,}. "
                "Keep the tasks you care about, or merge small ones.",
                details={"tasks": taskset.n_tasks, "limit": self.settings.max_tasks},
            )

    # ---------------------------------------------------------------------------- job views

    def cancel(self, owner: str, job_id: str) -> JobRecord:
        """Cancel the caller's job: a queued one at once, a running one at its next budget check."""
        job = self.store.get(job_id, owner)
        if job.status in ("succeeded", "failed"):
            raise JobFinishedError(
                f"Job '{job_id}' already {job.status}; there is nothing to cancel.",
                details={"job_id": job_id, "status": job.status},
            )
        if job.status == "cancelled":
            return job
        job = self.store.request_cancel(job_id)
        self.pool.cancel(job_id)
        return job

    def result_json(self, owner: str, job_id: str, kind: str = "recommend") -> str:
        """The recommendation's (or verification's) JSON; 409 while the job runs or when it failed or was cancelled.

        A job of the other kind is a 422 naming where its result is.
        """
        job = self.store.get(job_id, owner)
        if job.kind != kind:
            where = "verification" if job.kind == "verify" else "recommendation"
            raise InvalidRequestError(
                f"Job '{job_id}' is a {job.kind} job; read its result at GET /v1/jobs/{job_id}/{where}.",
                details={"job_id": job_id, "kind": job.kind},
            )
        if job.status == "succeeded":
            text = self.store.result(job_id)
            if text is not None:
                return text
        raise self.not_done(job)

    @staticmethod
    def not_done(job: JobRecord) -> AdvisorError:
        """The 409 error for a job that has no result."""
        if job.status in ("queued", "running"):
            return JobNotReadyError(
                f"Job '{job.id}' is {job.status}; the recommendation is not ready. Poll GET /v1/jobs/{job.id}.",
                details={"job_id": job.id, "status": job.status},
            )
        error = job.error or {"code": "internal_error", "message": "no reason recorded", "details": {}}
        if job.status == "cancelled":
            return Cancelled(f"Job '{job.id}' was cancelled.", details={"job_id": job.id, "error": error})
        return JobFailedError(
            f"Job '{job.id}' failed: {error.get('message')}", details={"job_id": job.id, "error": error}
        )

    def report_html(self, owner: str, job_id: str) -> str:
        """The self-contained HTML report, rendered once per version of the report and kept.

        The page is kept in ``data_dir/reports`` as ``<job id>.<renderer fingerprint>.html``: after
        an upgrade that changes the report, a finished job's page is drawn again from its stored
        result (and the older page deleted) instead of being served as it was.
        """
        from advisor.report import renderer_fingerprint
        from advisor.schemas import Recommendation

        text = self.result_json(owner, job_id)
        folder = self.settings.data_dir / "reports"
        cached = folder / f"{job_id}.{renderer_fingerprint()}.html"
        if cached.is_file():
            return cached.read_text(encoding="utf-8")
        html = Recommendation.from_json(text).to_html()
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f"{job_id}.{threading.get_ident()}.tmp"
        partial.write_text(html, encoding="utf-8")
        partial.replace(cached)
        for older in folder.glob(f"{job_id}.*html"):
            if older != cached:
                delete_file(older)
        return html
