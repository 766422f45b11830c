"""Log lines of the service: text or one JSON object per line, each with the request id.

``configure_logging`` installs one handler on the root logger (``advisor serve`` calls it); its
filter stamps every record with the id of the request being served (``-`` outside requests), so
the service's, uvicorn's and the libraries' lines all carry it.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from api.errors import RequestIdFilter

__all__ = ["LOG_FORMATS", "JsonFormatter", "configure_logging"]

LOG_FORMATS = ("text", "json")
_TEXT = "%(levelname)s:     %(name)s: [%(request_id)s] %(message)s"


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "request_id", "message"}`` (and ``exception``) on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str = "INFO", fmt: str = "text") -> logging.Handler:
    """One stream handler on the root logger, in ``fmt`` (``text`` or ``json``); returns it."""
    if fmt not in LOG_FORMATS:
        raise ValueError(f"unknown log format {fmt!r}; choose one of {', '.join(LOG_FORMATS)}")
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(_TEXT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    return handler
