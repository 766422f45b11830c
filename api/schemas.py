"""Request and response bodies of the HTTP API (the OpenAPI document is generated from these).

The ``Recommendation`` itself is the SDK's schema (:mod:`advisor.schemas`), served unchanged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from advisor.schemas import DatasetSpec
from probes.seeds import MAX_SEED

__all__ = [
    "DataInfo",
    "ErrorBody",
    "Health",
    "Job",
    "JobError",
    "JobLinks",
    "JobOptions",
    "JobPage",
    "JobProgress",
    "JobRequest",
    "Readiness",
]

_SPEC_EXAMPLE = {"targets": ["y"], "task_column": "task", "goal": "all_tasks"}


class ErrorBody(BaseModel):
    """Every error the API returns: a stable ``code``, a message saying how to fix it, and context."""

    code: str = Field(description="Stable machine-readable code, e.g. 'column_not_found', 'unauthorized'.")
    message: str = Field(description="What was expected, what was found, and how to fix it.")
    details: dict[str, Any] = Field(default_factory=dict, description="Machine-readable context.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "column_not_found",
                    "message": "Column 'price' is not in the data. Columns are: 'x0', 'x1', 'y'. Pass one of them as a target.",
                    "details": {"column": "price"},
                }
            ]
        }
    )


#: The shortest probe time limit a job may ask for: less cannot finish a fold, and only occupies a worker.
MIN_TIME_LIMIT_S = 1.0


class JobOptions(BaseModel):
    """How much probing to do, and the seed (same data, spec, seed and budget give the same job)."""

    model_config = ConfigDict(extra="forbid")

    budget: Literal["fast", "standard", "thorough"] = Field(
        "fast", description="Budget preset; the service may allow only some (ADVISOR_BUDGETS)."
    )
    time_limit: float | None = Field(
        None,
        ge=MIN_TIME_LIMIT_S,
        allow_inf_nan=False,
        description="Probe wall-time limit in seconds, at least 1 and at most the service's maximum (default: "
        "none; the budget fixes the work, so a run without a limit gives the same result however busy the "
        "service is).",
    )
    seed: int = Field(0, ge=0, le=MAX_SEED, description="Random seed.")
    kind: Literal["recommend", "verify"] = Field(
        "recommend",
        description="'recommend': budgeted probes and the advice (the default); 'verify': the full-budget comparison "
        "of the paradigms on this data (the benchmark's oracle, 'runs' times, and its truth rule), read at "
        "GET /v1/jobs/{id}/verification. Far more work; no budget or time limit applies to it.",
    )
    runs: int | None = Field(
        None, ge=1, le=20, description="Verify jobs: full-budget runs (default 3; the service may allow fewer)."
    )
    paradigms: list[Literal["stl", "transfer", "mtl", "meta"]] | None = Field(
        None, min_length=1, description="Verify jobs: the paradigms to compare (default: all four)."
    )

    @field_validator("time_limit", "seed", "runs", mode="before")
    @classmethod
    def _not_a_boolean(cls, value: Any) -> Any:
        # pydantic's lax mode reads true as 1; a boolean here is a client's mistake, not a number.
        if isinstance(value, bool):
            raise ValueError("must be a number, not a boolean")
        return value


#: Two tasks of 12 rows, enough for the protocol's folds: the example a reader can send as it is.
_EXAMPLE_RECORDS = [
    {
        "task": task,
        "x0": round(0.1 * i - 0.6, 2),
        "y": round((1.5 if task == "a" else 1.2) * (0.1 * i - 0.6) + 0.05 * (i % 3), 3),
    }
    for task in ("a", "b")
    for i in range(12)
]


class JobRequest(JobOptions):
    """A job sent as JSON: the rows as records plus the spec."""

    records: list[dict[str, Any]] = Field(
        min_length=1, description="The table as a list of rows (column -> value); null for a missing value."
    )
    spec: DatasetSpec = Field(description="Which columns are targets and tasks, and the goal.")

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "records": _EXAMPLE_RECORDS,
                    "spec": _SPEC_EXAMPLE,
                    "budget": "fast",
                    "time_limit": 30,
                    "seed": 0,
                }
            ]
        },
    )


class JobProgress(BaseModel):
    """Where a job is: the probe runner's last ``(phase, fraction, message)``."""

    phase: str | None = Field(None, description="queued, starting, prepare, probe, done, failed, cancelled ...")
    fraction: float = Field(ge=0.0, le=1.0)
    message: str | None = None


class JobError(BaseModel):
    """Why a job failed or was cancelled."""

    code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class DataInfo(BaseModel):
    """The dataset a job runs on (stored once per content hash)."""

    name: str = Field(description="The uploaded file's name ('records.jsonl' for JSON records).")
    sha256: str = Field(description="SHA-256 of the stored bytes.")
    bytes: int


class JobLinks(BaseModel):
    """Where to look next (a verify job's result is at ``verification``, a recommend job's at ``recommendation``)."""

    self: str
    recommendation: str
    report: str
    verification: str


class Job(BaseModel):
    """A recommendation job."""

    id: str
    kind: Literal["recommend", "verify"] = Field("recommend", description="What the job computes.")
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    progress: JobProgress
    error: JobError | None = Field(None, description="Set when the job failed or was cancelled.")
    cancel_requested: bool = Field(description="Cancellation asked; a running job stops at its next budget check.")
    reused: bool = Field(False, description="True when this submission matched an existing job (idempotency).")
    attempts: int = Field(description="Times a worker started the job (a restart may re-queue it).")
    budget: str
    time_limit: float | None = Field(description="The job's probe time limit in seconds; null: none.")
    seed: int
    runs: int | None = Field(None, description="Verify jobs: full-budget runs.")
    paradigms: list[str] | None = Field(None, description="Verify jobs: the paradigms compared (null: all).")
    spec: dict[str, Any]
    data: DataInfo
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    links: JobLinks

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "4f9c2a7d0e7b4a43b1f8f0f6c1d2e3a4",
                    "kind": "recommend",
                    "status": "running",
                    "progress": {"phase": "probe", "fraction": 0.4, "message": "mtl/hard"},
                    "error": None,
                    "cancel_requested": False,
                    "reused": False,
                    "attempts": 1,
                    "budget": "fast",
                    "time_limit": None,
                    "seed": 0,
                    "spec": _SPEC_EXAMPLE,
                    "data": {"name": "tasks.csv", "sha256": "9f86d08188" + "0" * 54, "bytes": 18234},
                    "created_at": "2026-01-01T12:00:00Z",
                    "updated_at": "2026-01-01T12:00:05Z",
                    "started_at": "2026-01-01T12:00:01Z",
                    "finished_at": None,
                    "links": {
                        "self": "/v1/jobs/4f9c2a7d0e7b4a43b1f8f0f6c1d2e3a4",
                        "recommendation": "/v1/jobs/4f9c2a7d0e7b4a43b1f8f0f6c1d2e3a4/recommendation",
                        "report": "/v1/jobs/4f9c2a7d0e7b4a43b1f8f0f6c1d2e3a4/report",
                        "verification": "/v1/jobs/4f9c2a7d0e7b4a43b1f8f0f6c1d2e3a4/verification",
                    },
                }
            ]
        }
    )

    @field_validator("time_limit", mode="before")
    @classmethod
    def _no_limit(cls, value: Any) -> Any:
        # the job store keeps 0 for a job without a time limit (its column is not nullable)
        return None if value == 0 else value


class JobPage(BaseModel):
    """One page of the caller's jobs, newest first."""

    items: list[Job]
    total: int = Field(description="Jobs matching the filter, over all pages.")
    limit: int
    offset: int
    next: str | None = Field(None, description="URL of the next page, if any.")


class Health(BaseModel):
    """Liveness: the process answers."""

    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    """Readiness: the database answers and the workers run."""

    status: Literal["ready"] = "ready"
    database: Literal["ok"] = "ok"
    workers: int
    queued: int
    running: int
