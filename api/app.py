"""The application factory: ``create_app(settings)`` builds a FastAPI app with no global state.

Start-up (the app's lifespan) opens the database, re-queues jobs a dead process left running and
starts the worker pool and the sweeper (expired jobs, unused uploads); shutdown stops them, and
running jobs go back to the queue.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema
from starlette.concurrency import run_in_threadpool

from api.errors import install_error_handlers, install_request_ids
from api.routes import health, jobs, recommend
from api.schemas import JobRequest
from api.service import Service
from api.settings import Settings
from api.worker import JobRunner

__all__ = ["create_app"]

_DESCRIPTION = """\
Should these related prediction tasks use single-task, multi-task, transfer or meta-learning?
Post a dataset and its spec; the service runs budgeted probe trainings and returns a
`Recommendation` (the same schema as the SDK's `Advisor.recommend`).

Authenticate with `Authorization: Bearer KEY`. Every error is `{code, message, details}`.
"""


def create_app(settings: Settings | None = None, *, runner: JobRunner | None = None) -> FastAPI:
    """Build the service's app.

    Parameters
    ----------
    settings:
        The configuration; read from ``ADVISOR_*`` environment variables when omitted.
    runner:
        What running a job means (default: the SDK's ``Advisor.recommend``); tests pass their own.

    Examples
    --------
    >>> app = create_app(Settings(api_keys="a-long-secret-key-0001"))  # doctest: +SKIP
    >>> uvicorn.run(app)  # doctest: +SKIP
    """
    from advisor import __version__

    service = Service(settings or Settings(), runner=runner)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(service.start)
        try:
            yield
        finally:
            await run_in_threadpool(service.stop)

    app = FastAPI(
        title="Paradigm Advisor",
        version=__version__,
        description=_DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served below from the package's own Swagger UI files: no CDN, works offline
        redoc_url=None,
        openapi_tags=[
            {"name": "jobs", "description": "Submit datasets, follow and cancel jobs, read results."},
            {"name": "recommend", "description": "Submit and wait for small jobs."},
            {"name": "health", "description": "Liveness and readiness probes."},
        ],
    )
    app.state.service = service
    install_error_handlers(app)
    install_request_ids(app)
    if service.settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(service.settings.cors_origins),
            allow_methods=["GET", "HEAD", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    app.include_router(health.router)
    app.include_router(jobs.router)
    app.include_router(recommend.router)
    _offline_docs(app)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _offline_docs(app: FastAPI) -> None:
    """``/docs``: Swagger UI (version 5: OpenAPI 3.1) from the ``fastapi-offline`` package's files, at ``/docs/assets``."""
    from pathlib import Path

    import fastapi_offline
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import HTMLResponse
    from fastapi.staticfiles import StaticFiles

    assets = Path(fastapi_offline.__file__).parent / "static"
    app.mount("/docs/assets", StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} — API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon.png",
        )


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document plus the schemas of bodies the routes parse themselves (JSON submissions).

    Errors are JSON on every route (the HTML report's included), so their content is set here.
    """
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    _, extra = models_json_schema([(JobRequest, "validation")], ref_template="#/components/schemas/{model}")
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in extra.get("$defs", {}).items():
        components.setdefault(name, definition)
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    for item in schema["paths"].values():
        for operation in item.values():
            for status, response in operation.get("responses", {}).items():
                if status[0] in "45":
                    response["content"] = error
    return schema
