"""``/v1/jobs``: submit a dataset (multipart file or JSON records), follow, read, cancel and list jobs."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from advisor.exceptions import FileTooLargeError, InvalidRequestError, UnsupportedFormatError
from advisor.report import CONTENT_SECURITY_POLICY
from advisor.schemas import Recommendation, Verification
from api.deps import CallerDep, ServiceDep
from api.schemas import MIN_TIME_LIMIT_S, DataInfo, ErrorBody, Job, JobError, JobLinks, JobPage, JobProgress
from api.service import Service
from api.storage import JobRecord
from probes.seeds import MAX_SEED

__all__ = ["ERRORS", "SUBMISSION_BODY", "job_view", "read_submission", "router"]

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

_OPTION_FIELDS = ("budget", "time_limit", "seed", "kind", "runs", "paradigms")
_FORM_FIELDS = {"file", "spec", *_OPTION_FIELDS}

#: Error responses shared by the routes, for the OpenAPI document.
ERRORS: dict[int, dict[str, Any]] = {
    400: {
        "model": ErrorBody,
        "description": "The uploaded file could not be read as a table (unreadable_file, malformed_file, bad_encoding).",
    },
    401: {"model": ErrorBody, "description": "No valid API key ('Authorization: Bearer KEY')."},
    404: {"model": ErrorBody, "description": "No such job for this key (another key's jobs are not visible)."},
    409: {
        "model": ErrorBody,
        "description": "The job is not in a state that allows this (not ready, failed, finished).",
    },
    413: {"model": ErrorBody, "description": "Over a size limit: upload bytes, rows or columns."},
    415: {"model": ErrorBody, "description": "Unsupported content type or file format."},
    422: {"model": ErrorBody, "description": "Invalid request, spec or data, or over the task or budget limits."},
    429: {"model": ErrorBody, "description": "Too many queued jobs; retry later."},
}

_MULTIPART_SCHEMA = {
    "type": "object",
    "required": ["file", "spec"],
    "properties": {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "The table: CSV, TSV, Parquet or JSON Lines, optionally gzipped; the name's suffix gives the format.",
        },
        "spec": {
            "type": "string",
            "description": "The DatasetSpec as JSON text (see the DatasetSpec schema).",
            "examples": ['{"targets": ["y"], "task_column": "task"}'],
        },
        "budget": {"type": "string", "enum": ["fast", "standard", "thorough"], "default": "fast"},
        "time_limit": {"type": "number", "minimum": MIN_TIME_LIMIT_S, "description": "Probe time limit in seconds."},
        "seed": {"type": "integer", "minimum": 0, "maximum": MAX_SEED, "default": 0},
        "kind": {
            "type": "string",
            "enum": ["recommend", "verify"],
            "default": "recommend",
            "description": "verify: the full-budget comparison (see JobRequest.kind).",
        },
        "runs": {"type": "integer", "minimum": 1, "maximum": 20, "description": "Verify jobs: full-budget runs."},
        "paradigms": {
            "type": "string",
            "description": "Verify jobs: comma-separated paradigms to compare (stl, transfer, mtl, meta).",
            "examples": ["stl,mtl"],
        },
    },
    "additionalProperties": False,
}

#: The request body of ``POST /v1/jobs`` and ``POST /v1/recommend`` (parsed by :func:`read_submission`).
SUBMISSION_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A file upload with its spec (multipart), or the rows as JSON records with the spec.",
        "content": {
            "multipart/form-data": {
                "schema": _MULTIPART_SCHEMA,
                "example": {"spec": '{"targets": ["y"], "task_column": "task"}', "budget": "fast", "seed": 0},
            },
            "application/json": {"schema": {"$ref": "#/components/schemas/JobRequest"}},
        },
    }
}


def job_view(job: JobRecord, *, reused: bool = False) -> Job:
    """The API's view of a stored job."""
    base = f"/v1/jobs/{job.id}"
    options = job.options or {}
    return Job(
        id=job.id,
        kind=job.kind,  # type: ignore[arg-type]
        status=job.status,
        progress=JobProgress(phase=job.progress_phase, fraction=job.progress_fraction, message=job.progress_message),
        error=JobError(**job.error) if job.error else None,
        cancel_requested=job.cancel_requested,
        reused=reused,
        attempts=job.attempts,
        budget=job.budget,
        time_limit=job.time_limit,
        seed=job.seed,
        runs=options.get("runs"),
        paradigms=options.get("paradigms"),
        spec=job.spec,
        data=DataInfo(name=job.data_name, sha256=job.data_hash, bytes=job.n_bytes),
        created_at=job.created_at,
        updated_at=job.updated_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        links=JobLinks(
            self=base,
            recommendation=f"{base}/recommendation",
            report=f"{base}/report",
            verification=f"{base}/verification",
        ),
    )


async def read_submission(
    request: Request, service: Service, owner: str, *, verify: bool = True
) -> tuple[JobRecord, bool]:
    """Create (or reuse) a job from a multipart upload or a JSON body; every problem is a 4xx.

    ``verify=False`` refuses verify jobs (``POST /v1/recommend`` answers with recommendations).
    """
    cap = service.settings.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > cap + (1 << 20):  # + room for the form's other fields
        raise FileTooLargeError(
            f"The request is {int(declared) / 1024 / 1024:.1f} MB; this service takes at most "
            f"{service.settings.max_upload_mb:g} MB. Send a sample of the rows.",
            details={"bytes": int(declared), "limit_bytes": cap},
        )
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "multipart/form-data":
        capped = Request(request.scope, receive=_capped_receive(request.receive, cap + (1 << 20), cap))
        async with capped.form(max_files=1, max_fields=len(_FORM_FIELDS)) as form:
            unknown = sorted(set(form.keys()) - _FORM_FIELDS)
            if unknown:
                raise InvalidRequestError(
                    f"Unknown form field(s) {unknown}; send 'file', 'spec' and optionally {list(_OPTION_FIELDS)}.",
                    details={"unknown": unknown},
                )
            upload, spec = form.get("file"), form.get("spec")
            if not isinstance(upload, UploadFile):
                raise InvalidRequestError(
                    "The form has no 'file' part: upload the table as a file field named 'file'.",
                    details={"field": "file"},
                )
            if not isinstance(spec, str) or not spec.strip():
                raise InvalidRequestError(
                    "The form has no 'spec' field: send the DatasetSpec as JSON text, "
                    'e.g. {"targets": ["y"], "task_column": "task"}.',
                    details={"field": "spec"},
                )
            options: dict[str, Any] = {}
            for name in _OPTION_FIELDS:
                value = form.get(name)
                if isinstance(value, UploadFile):
                    raise InvalidRequestError(f"'{name}' must be a plain form field, not a file.")
                if value not in (None, ""):
                    options[name] = value
            if isinstance(options.get("paradigms"), str):  # a form field: comma-separated
                options["paradigms"] = [p.strip() for p in options["paradigms"].split(",") if p.strip()]
            return await run_in_threadpool(
                partial(service.submit_file, verify=verify), owner, upload.file, upload.filename or "", spec, options
            )
    if media == "application/json" or media.endswith("+json"):
        body = await _read_capped(request, cap)
        import json

        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise InvalidRequestError(f"The body is not valid JSON: {exc}.", details={"field": "body"}) from None
        except RecursionError:  # a body of deeply nested brackets: refused as malformed, not a 500
            raise InvalidRequestError(
                "The body is not valid JSON: it is nested too deeply.", details={"field": "body"}
            ) from None
        return await run_in_threadpool(partial(service.submit_records, verify=verify), owner, payload)
    raise UnsupportedFormatError(
        f"Content type '{media or 'none'}' is not accepted: send multipart/form-data (a 'file' and a 'spec') "
        "or application/json ({'records': [...], 'spec': {...}}).",
        details={"content_type": media, "supported": ["multipart/form-data", "application/json"]},
    )


def _capped_receive(receive: Any, cap: int, limit: int) -> Any:
    """``receive`` that refuses a body past ``cap`` bytes as it arrives (``limit``: the upload limit it
    enforces, named in the error; ``cap`` adds room for the form's other fields).

    The Content-Length check above cannot see a chunked upload (no declared length); without
    this the form parser would spool all of it to disk before the size limit was checked.
    """
    n_bytes = 0

    async def capped() -> Any:
        nonlocal n_bytes
        message = await receive()
        if message.get("type") == "http.request":
            n_bytes += len(message.get("body", b""))
            if n_bytes > cap:
                raise FileTooLargeError(
                    f"The upload is larger than this service's limit of {limit / 1024 / 1024:g} MB. "
                    "Send a sample of the rows.",
                    details={"limit_bytes": limit},
                )
        return message

    return capped


async def _read_capped(request: Request, cap: int) -> bytes:
    chunks: list[bytes] = []
    n_bytes = 0
    async for chunk in request.stream():
        n_bytes += len(chunk)
        if n_bytes > cap:
            raise FileTooLargeError(
                f"The JSON body is larger than this service's limit of {cap / 1024 / 1024:g} MB.",
                details={"limit_bytes": cap},
            )
        chunks.append(chunk)
    return b"".join(chunks)


JobId = Annotated[str, Path(description="The job's id, as returned on submission.", max_length=64)]


@router.post(
    "",
    status_code=202,
    response_model=Job,
    summary="Submit a dataset",
    openapi_extra=SUBMISSION_BODY,
    responses={
        200: {"model": Job, "description": "The same data, spec, seed and budget were submitted before: that job."},
        202: {
            "model": Job,
            "description": "Job created and queued.",
            "headers": {"Location": {"description": "The job's URL.", "schema": {"type": "string"}}},
        },
        **{k: v for k, v in ERRORS.items() if k != 404 and k != 409},
    },
)
async def create_job(request: Request, service: ServiceDep, caller: CallerDep) -> JSONResponse:
    """Queue a recommendation job on an uploaded file (multipart) or on JSON records.

    The data is validated against the spec before the job is queued: bad input is answered at once
    with its error. Submitting the same data, spec, seed and budget again returns the existing job
    (status 200, ``reused: true``) and, once it has finished, its result.
    """
    record, reused = await read_submission(request, service, caller.owner)
    view = job_view(record, reused=reused)
    return JSONResponse(
        view.model_dump(mode="json"), status_code=200 if reused else 202, headers={"Location": view.links.self}
    )


@router.get(
    "",
    response_model=JobPage,
    summary="List your jobs",
    responses={k: ERRORS[k] for k in (401, 422)},
)
async def list_jobs(
    request: Request,
    service: ServiceDep,
    caller: CallerDep,
    limit: Annotated[int, Query(ge=1, le=100, description="Jobs per page.")] = 20,
    offset: Annotated[int, Query(ge=0, le=10**9, description="Jobs to skip.")] = 0,
    status: Annotated[
        Literal["queued", "running", "succeeded", "failed", "cancelled"] | None,
        Query(description="Only jobs in this state."),
    ] = None,
) -> JobPage:
    """The caller's jobs, newest first (another key's jobs are never listed)."""
    records, total = await run_in_threadpool(
        service.store.list_jobs, caller.owner, status=status, limit=limit, offset=offset
    )
    following = None
    if offset + len(records) < total:
        query = f"limit={limit}&offset={offset + limit}" + (f"&status={status}" if status else "")
        following = f"{request.url.path}?{query}"
    return JobPage(items=[job_view(r) for r in records], total=total, limit=limit, offset=offset, next=following)


@router.get(
    "/{job_id}", response_model=Job, summary="A job's status", responses={k: ERRORS[k] for k in (401, 404, 422)}
)
async def get_job(job_id: JobId, service: ServiceDep, caller: CallerDep) -> Job:
    """Status, progress ``{phase, fraction, message}``, timestamps and, when it failed, the error."""
    return job_view(await run_in_threadpool(service.store.get, job_id, caller.owner))


@router.get(
    "/{job_id}/recommendation",
    response_model=None,
    summary="The recommendation",
    responses={
        200: {"model": Recommendation, "description": "The Recommendation (the SDK's schema, unchanged)."},
        **{k: ERRORS[k] for k in (401, 404, 409, 422)},
    },
)
async def get_recommendation(job_id: JobId, service: ServiceDep, caller: CallerDep) -> Response:
    """The job's ``Recommendation`` as JSON; 409 while it is queued or running, or when it failed."""
    text = await run_in_threadpool(service.result_json, caller.owner, job_id)
    return Response(content=text, media_type="application/json")


@router.get(
    "/{job_id}/verification",
    response_model=None,
    summary="The verification",
    responses={
        200: {"model": Verification, "description": "The Verification of a verify job (the SDK's schema)."},
        **{k: ERRORS[k] for k in (401, 404, 409, 422)},
    },
)
async def get_verification(job_id: JobId, service: ServiceDep, caller: CallerDep) -> Response:
    """A verify job's ``Verification`` as JSON; 409 while it is queued or running, or when it failed."""
    text = await run_in_threadpool(service.result_json, caller.owner, job_id, "verify")
    return Response(content=text, media_type="application/json")


@router.get(
    "/{job_id}/report",
    response_class=HTMLResponse,
    summary="The HTML report",
    responses={
        200: {"content": {"text/html": {"schema": {"type": "string"}}}, "description": "Self-contained HTML."},
        **{k: ERRORS[k] for k in (401, 404, 409, 422)},
    },
)
async def get_report(job_id: JobId, service: ServiceDep, caller: CallerDep) -> HTMLResponse:
    """The self-contained HTML report of a succeeded job (ranking plot, affinity heatmap, risks, curves)."""
    html = await run_in_threadpool(service.report_html, caller.owner, job_id)
    return HTMLResponse(html, headers=_REPORT_HEADERS)


#: The page's own policy (it loads nothing and runs only its table sorter) sent as headers too, with no
#: framing and no MIME sniffing.
_REPORT_HEADERS = {
    "Content-Security-Policy": f"{CONTENT_SECURITY_POLICY}; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@router.delete(
    "/{job_id}",
    response_model=Job,
    summary="Cancel a job",
    responses={
        200: {"model": Job, "description": "Cancelled (it was queued, or already cancelled)."},
        202: {"model": Job, "description": "Cancellation requested: the running job stops at its next budget check."},
        **{k: ERRORS[k] for k in (401, 404, 409, 422)},
    },
)
async def cancel_job(job_id: JobId, service: ServiceDep, caller: CallerDep) -> JSONResponse:
    """Cancel a queued job at once, or a running one at its next budget check; 409 once it has finished."""
    record = await run_in_threadpool(service.cancel, caller.owner, job_id)
    return JSONResponse(
        job_view(record).model_dump(mode="json"), status_code=202 if record.status == "running" else 200
    )
