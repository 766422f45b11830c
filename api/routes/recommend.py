"""``POST /v1/recommend``: submit and wait a little — the result for small jobs, else the job (202)."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from advisor.schemas import Recommendation
from api.deps import CallerDep, ServiceDep
from api.routes.jobs import ERRORS, SUBMISSION_BODY, job_view, read_submission
from api.schemas import Job

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["recommend"])

_POLL_S = 0.2


@router.post(
    "/recommend",
    response_model=None,
    summary="Recommend, waiting for small jobs",
    openapi_extra=SUBMISSION_BODY,
    responses={
        200: {"model": Recommendation, "description": "The job finished within the wait: its Recommendation."},
        202: {
            "model": Job,
            "description": "Still queued or running after the wait: follow the job.",
            "headers": {"Location": {"description": "The job's URL.", "schema": {"type": "string"}}},
        },
        **{k: v for k, v in ERRORS.items() if k != 404},
    },
)
async def recommend(
    request: Request,
    service: ServiceDep,
    caller: CallerDep,
    wait: Annotated[
        float | None,
        Query(
            ge=0,
            le=3600,
            description="Seconds to wait for the result (at most the service's ADVISOR_RECOMMEND_WAIT_S).",
        ),
    ] = None,
) -> Response:
    """Submit like ``POST /v1/jobs``, then wait up to the configured time for the result.

    Answers 200 with the ``Recommendation`` when the job finishes in time, 202 with the job when
    it is still queued or running, 409 when it failed or was cancelled.
    """
    record, _ = await read_submission(request, service, caller.owner, verify=False)
    limit = service.settings.recommend_wait_s if wait is None else min(wait, service.settings.recommend_wait_s)
    deadline = time.monotonic() + limit
    while not record.finished and time.monotonic() < deadline:
        await asyncio.sleep(min(_POLL_S, max(0.0, deadline - time.monotonic())))
        record = await run_in_threadpool(service.store.get, record.id)
    if record.status == "succeeded":
        text = await run_in_threadpool(service.result_json, caller.owner, record.id)
        return Response(content=text, media_type="application/json")
    if record.finished:
        raise service.not_done(record)
    view = job_view(record)
    return JSONResponse(view.model_dump(mode="json"), status_code=202, headers={"Location": view.links.self})
