"""``GET /healthz`` (the process answers), ``GET /readyz`` (database reachable, workers running)
and ``GET /metrics`` (Prometheus).

The probes answer ``HEAD`` too, as load balancers probe.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import ServiceDep
from api.errors import error_response
from api.metrics import CONTENT_TYPE
from api.schemas import ErrorBody, Health, Readiness

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="Liveness")
def healthz() -> Health:
    """The process is up. No key needed."""
    return Health()


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Readiness",
    responses={503: {"model": ErrorBody, "description": "Database unreachable or workers stopped."}},
)
async def readyz(service: ServiceDep) -> Readiness | JSONResponse:
    """The database answers and the worker pool runs. No key needed."""
    try:
        pool = service.pool
        queued = await run_in_threadpool(service.store.count, "queued")
    except Exception as exc:
        return error_response(503, "not_ready", f"Not ready: {type(exc).__name__}: {exc}")
    if not pool.alive:
        return error_response(503, "not_ready", "Not ready: the worker pool is not running.")
    return Readiness(workers=pool.workers, queued=queued, running=len(pool.running_ids()))


@router.head("/healthz", include_in_schema=False)
def healthz_head() -> Response:
    """``HEAD /healthz``: the liveness answer without a body (load balancers probe so)."""
    return Response(status_code=200)


@router.head("/readyz", include_in_schema=False)
async def readyz_head(service: ServiceDep) -> Response:
    """``HEAD /readyz``: the readiness status code without a body."""
    answer = await readyz(service)
    return Response(status_code=answer.status_code if isinstance(answer, JSONResponse) else 200)


@router.get("/metrics", include_in_schema=False)
async def metrics(service: ServiceDep) -> Response:
    """Prometheus metrics (text exposition format; :mod:`api.metrics`). No key needed."""
    body = await run_in_threadpool(service.metrics.render)
    return Response(body, media_type=CONTENT_TYPE)
