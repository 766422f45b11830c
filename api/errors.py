"""Every error leaves the API as ``{code, message, details}`` with the right status, never a traceback.

Errors the advisor raises on purpose (:class:`~advisor.exceptions.AdvisorError`) carry their own
code and status; FastAPI's request validation becomes ``invalid_request`` (422); routing errors
keep their status; anything unexpected is logged and answered 500 ``internal_error``.
"""

from __future__ import annotations

import contextvars
import logging
import math
import re
import uuid
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from advisor.exceptions import AdvisorError

__all__ = ["error_response", "install_error_handlers"]

logger = logging.getLogger("api")

_CODES = {400: "invalid_request", 404: "not_found", 405: "method_not_allowed", 413: "file_too_large"}


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    headers = {**(headers or {}), **({"WWW-Authenticate": "Bearer"} if status == 401 else {})}
    body = {"code": code, "message": message, "details": _finite(jsonable_encoder(details or {}))}
    return JSONResponse(body, status_code=status, headers=headers or None)


def _finite(value: Any) -> Any:
    """``value`` with infinities and NaN as text: JSON has no such numbers, and an error body must always render."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


#: Seconds a client told "too many queued jobs" (429) is asked to wait before it retries.
RETRY_AFTER_S = 30


def _count_refusal(request: Request, status: int, code: str) -> None:
    """A submission refused before it made a job (413, 422, 429): counted by code for ``/metrics``."""
    service = getattr(request.app.state, "service", None)
    if service is not None and status in (413, 422, 429) and request.url.path.startswith(("/v1/jobs", "/v1/recommend")):
        service.metrics.refused.labels(code).inc()


async def _advisor_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AdvisorError)
    _count_refusal(request, exc.http_status, exc.code)
    headers = {"Retry-After": str(RETRY_AFTER_S)} if exc.http_status == 429 else None
    return error_response(exc.http_status, exc.code, exc.message, exc.details, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]
    where = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5])
    _count_refusal(request, 422, "invalid_request")
    return error_response(422, "invalid_request", f"The request is not valid: {where}.", {"errors": errors})


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    message = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else None
    if status == 404 and message is None:
        message = f"No such endpoint: {request.method} {request.url.path}. See /docs for the API."
    elif status == 405:
        message = f"{request.method} is not allowed on {request.url.path}. See /docs for the API."
    allow = None
    if status == 405:  # HTTP requires Allow on 405: every method of the path, else Starlette's own
        methods = _allowed(request) or (exc.headers or {}).get("Allow", "")
        allow = {"Allow": methods} if methods else None
    return error_response(status, _CODES.get(status, "http_error"), message or phrase, {}, allow)


def _allowed(request: Request) -> str:
    """Every method the API documents for this path (Starlette's own header names only the first route's).

    Read from the OpenAPI paths, a public and stable view of the routes, whatever the router nesting.
    """
    root = request.scope.get("root_path", "")
    path = request.url.path.removeprefix(root) if root else request.url.path  # behind a proxy's prefix
    methods: set[str] = set()
    for template, item in request.app.openapi().get("paths", {}).items():
        if re.fullmatch(re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)), path):
            methods |= {m.upper() for m in item if m.lower() in _HTTP_METHODS}
    return ", ".join(sorted(methods))


_HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("internal error on %s %s", request.method, request.url.path)
    return error_response(
        500, "internal_error", f"Internal error ({type(exc).__name__}); the service log has the details.", {}
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AdvisorError, _advisor_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)


#: The request being served (``X-Request-ID``): log records of the ``api`` logger carry it as ``request_id``.
REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record (``%(request_id)s`` in a log format)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


def _usable_request_id(value: str | None) -> bool:
    return bool(value) and len(value) <= 128 and value.isascii() and value.isprintable()  # type: ignore[union-attr]


def install_request_ids(app: FastAPI) -> None:
    """Accept a client's ``X-Request-ID`` (up to 128 printable ASCII characters) or make one; echo it."""
    if not any(isinstance(f, RequestIdFilter) for f in logger.filters):
        logger.addFilter(RequestIdFilter())

    @app.middleware("http")
    async def request_id(request: Request, call_next: Any) -> Any:
        sent = request.headers.get("x-request-id")
        rid = sent if _usable_request_id(sent) else uuid.uuid4().hex
        token = REQUEST_ID.set(rid)
        try:
            response = await call_next(request)
        finally:
            REQUEST_ID.reset(token)
        response.headers["X-Request-ID"] = rid
        return response
