"""``advisor serve``: run the HTTP service (uvicorn) with settings from ``ADVISOR_*`` and these flags."""

from __future__ import annotations

import errno
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from advisor.cli._common import EXIT_INTERNAL, EXIT_OK, BadOption


class LogLevel(StrEnum):
    """uvicorn's log levels."""

    critical = "critical"
    error = "error"
    warning = "warning"
    info = "info"
    debug = "debug"
    trace = "trace"


_INSTALL_HINT = 'the service needs its extra packages: pip install -e ".[service]"'


def serve_command(
    host: Annotated[str, typer.Option("--host", metavar="HOST", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", metavar="N", help="Port to listen on.", min=0, max=65535)] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            metavar="N",
            help="Jobs run at once (env ADVISOR_WORKERS, default 1); 0 serves the API only (see advisor worker).",
            min=0,
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            metavar="URL",
            help="SQLAlchemy URL (env ADVISOR_DATABASE_URL; default SQLite in the data dir).",
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", metavar="DIR", help="Uploads, reports, SQLite file (env ADVISOR_DATA_DIR)."),
    ] = None,
    open_access: Annotated[
        bool, typer.Option("--open", help="Serve without API keys (logged as a warning) (env ADVISOR_OPEN).")
    ] = False,
    log_level: Annotated[
        LogLevel,
        typer.Option(
            "--log-level", metavar="LEVEL", help="uvicorn log level: critical, error, warning, info, debug or trace."
        ),
    ] = LogLevel.info,
) -> int:
    """Serve the advisor over HTTP: POST a dataset, get a recommendation (docs at /docs).

    API keys come from ADVISOR_API_KEYS (comma-separated; clients send 'Authorization: Bearer KEY').
    Other settings: ADVISOR_MAX_UPLOAD_MB, ADVISOR_MAX_ROWS, ADVISOR_MAX_COLUMNS, ADVISOR_MAX_TASKS,
    ADVISOR_BUDGETS, ADVISOR_MAX_TIME_LIMIT_S, ADVISOR_MAX_QUEUED, ADVISOR_MAX_ATTEMPTS,
    ADVISOR_RECOMMEND_WAIT_S, ADVISOR_RETENTION_DAYS, ADVISOR_SWEEP_INTERVAL_S, ADVISOR_DEVICE, ADVISOR_MAX_CELLS,
    ADVISOR_CORS_ORIGINS, ADVISOR_LOG_FORMAT (see the README).
    """
    try:
        import fastapi  # noqa: F401
        import uvicorn

        from api import create_app
    except ImportError as exc:
        raise BadOption(f"{_INSTALL_HINT} ({exc.name or exc} is missing)") from None
    settings = _settings(workers=workers, database_url=database_url, data_dir=data_dir, open_access=open_access)
    from api.logs import configure_logging

    level = log_level.value
    configure_logging("DEBUG" if level == "trace" else level.upper(), settings.log_format)
    _check_can_listen(host, port)  # before the database and the workers start
    try:
        uvicorn.run(create_app(settings), host=host, port=port, log_level=level, timeout_graceful_shutdown=30)
    except SystemExit as exc:  # uvicorn exits 3 when start-up fails; 3 is this CLI's "gate failed"
        return EXIT_OK if exc.code in (0, None) else EXIT_INTERNAL
    return EXIT_OK


def _settings(
    *, workers: int | None, database_url: str | None, data_dir: Path | None, open_access: bool = False
) -> Any:
    """The service's settings from the environment and these flags; a one-line error when invalid."""
    from pydantic import ValidationError

    from api import Settings

    overrides: dict[str, Any] = {}
    if workers is not None:
        overrides["workers"] = workers
    if database_url is not None:
        overrides["database_url"] = database_url
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if open_access:
        overrides["open"] = True
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_setting_name(e['loc'], overrides) + ': ' if e['loc'] else ''}{e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise BadOption(f"invalid service settings: {problems}") from None


def worker_command(
    workers: Annotated[
        int | None,
        typer.Option("--workers", metavar="N", help="Jobs run at once (env ADVISOR_WORKERS, default 1).", min=1),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", metavar="URL", help="The service's database (env ADVISOR_DATABASE_URL)."),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", metavar="DIR", help="The service's data dir (env ADVISOR_DATA_DIR)."),
    ] = None,
    log_level: Annotated[
        LogLevel, typer.Option("--log-level", metavar="LEVEL", help="critical, error, warning, info or debug.")
    ] = LogLevel.info,
) -> int:
    """Run queued jobs of a service without serving HTTP, until Ctrl-C or SIGTERM.

    Point it at the same database and data dir as the API processes (advisor serve --workers 0 to
    serve the API only); every process takes queued jobs from the database, and a job whose
    process died is taken over by another once its lease (ADVISOR_LEASE_S) has run out.
    """
    try:
        import sqlalchemy  # noqa: F401

        from api.logs import configure_logging
        from api.service import Service
    except ImportError as exc:
        raise BadOption(f"{_INSTALL_HINT} ({exc.name or exc} is missing)") from None
    import os
    import signal
    import threading

    # A worker answers no request: it needs no keys (and takes them, unused, when the environment sets them).
    keys = bool(os.environ.get("ADVISOR_API_KEYS", "").strip())
    settings = _settings(workers=workers, database_url=database_url, data_dir=data_dir, open_access=not keys)
    level = log_level.value
    configure_logging("DEBUG" if level == "trace" else level.upper(), settings.log_format)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    service = Service(settings)
    service.start()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        service.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return EXIT_OK


#: The settings this command's flags set (the others come from ``ADVISOR_<FIELD>`` in the environment).
_FLAGS = {"workers": "--workers", "database_url": "--database-url", "data_dir": "--data-dir", "open": "--open"}


def _setting_name(loc: tuple[int | str, ...], overrides: dict[str, Any]) -> str:
    """A setting as the user wrote it: its flag when given on the command line, else its environment variable
    (``max_upload_mb`` -> ``ADVISOR_MAX_UPLOAD_MB``), never the Python field name."""
    field = str(loc[0])
    name = _FLAGS[field] if field in overrides and field in _FLAGS else f"ADVISOR_{field.upper()}"
    return ".".join([name, *(str(part) for part in loc[1:])])


def _check_can_listen(host: str, port: int) -> None:
    """A one-line usage error when ``host:port`` cannot be listened on (in use, or not this machine's)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise BadOption(f"--host {host!r} cannot be resolved: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is no conflict
        try:
            probe.bind(address)
        except OSError as exc:
            hint = "; pick another --port" if exc.errno == errno.EADDRINUSE else ""
            raise BadOption(f"cannot listen on {host}:{port}: {exc.strerror}{hint}") from None
