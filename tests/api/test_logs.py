"""Log lines carry the request id; JSON lines parse."""

from __future__ import annotations

import io
import json
import logging

import pytest

from api.errors import REQUEST_ID
from api.logs import configure_logging


@pytest.fixture
def restore_root():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_every_line_carries_the_request_id(restore_root, fmt: str) -> None:
    handler = configure_logging("INFO", fmt)
    stream = io.StringIO()
    handler.setStream(stream)
    token = REQUEST_ID.set("req-7")
    try:
        logging.getLogger("uvicorn.access").info("GET /v1/jobs 200")
    finally:
        REQUEST_ID.reset(token)
    logging.getLogger("api").warning("outside a request")
    first, second = stream.getvalue().splitlines()
    if fmt == "json":
        entry = json.loads(first)
        assert entry["request_id"] == "req-7" and entry["message"] == "GET /v1/jobs 200"
        assert entry["logger"] == "uvicorn.access" and entry["level"] == "INFO"
        assert json.loads(second)["request_id"] == "-"
    else:
        assert "[req-7] GET /v1/jobs 200" in first and "[-] outside a request" in second
    with pytest.raises(ValueError, match="unknown log format"):
        configure_logging("INFO", "xml")
