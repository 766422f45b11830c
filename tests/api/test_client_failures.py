"""``AdvisorClient`` when things go wrong between it and the service: outages, proxies, bad arguments, version skew.

The service is faked with ``httpx.MockTransport`` so each failure is exact and instant; the happy
paths against the real app are in ``test_client.py``.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from advisor import AdvisorClient, Recommendation
from advisor._client import Job
from advisor.exceptions import (
    AuthenticationError,
    DuplicateColumnError,
    EmptyDataError,
    FileTooLargeError,
    InvalidRequestError,
    JobNotFoundError,
    QueueFullError,
    ServiceError,
    ServiceTimeoutError,
    UnreadableFileError,
    WaitTimeoutError,
)

JOB_ID = "0123456789abcdef0123456789abcdef"


def job_body(status: str = "running", job_id: str = JOB_ID) -> dict[str, Any]:
    return {
        "id": job_id,
        "status": status,
        "progress": {"phase": status, "fraction": 1.0 if status == "succeeded" else 0.5, "message": ""},
        "created_at": "2026-11-24T10:00:00Z",
    }


def fake(handler: Callable[[httpx.Request], httpx.Response], **options: Any) -> tuple[AdvisorClient, list]:
    """A client whose every request goes to ``handler``; returns it and the list of requests it sent."""
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return handler(request)

    http = httpx.Client(transport=httpx.MockTransport(record))
    options = {"api_key": "k" * 24, "poll_interval": 0.01, **options}
    return AdvisorClient("http://advisor.test", http_client=http, **options), sent


@pytest.mark.parametrize(
    "options",
    [
        {"seed": "abc"}, {"seed": True}, {"seed": 1.5}, {"seed": -1}, {"time_limit": float("nan")},
        {"time_limit": float("inf")}, {"time_limit": "ten"}, {"time_limit": 0}, {"budget": None},
        {"budget": "huge"}, {"timeout": 0}, {"poll_interval": -1}, {"wait_timeout": float("nan")},
        {"api_key": "clé-secrète"}, {"api_key": "two words"}, {"api_key": 123},
    ],
)  # fmt: skip
def test_bad_arguments_are_refused_when_the_client_is_made(options: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        AdvisorClient("http://127.0.0.1:8000", **options)
    assert raised.value.details["field"] in options
    if "api_key" in options:
        assert str(options["api_key"]) not in str(raised.value)  # a key is never echoed


@pytest.mark.parametrize("base_url", ["localhost:8000", "127.0.0.1:8000", "ftp://host", "http://", "", None])
def test_a_base_url_without_http_scheme_and_host_is_refused(base_url: Any) -> None:
    with pytest.raises(InvalidRequestError, match="http:// or https://"):
        AdvisorClient(base_url)


def test_a_key_read_from_a_file_loses_its_newline() -> None:
    client, sent = fake(lambda request: httpx.Response(200, json={"items": [], "total": 0}), api_key="secret-key\n")
    assert client.jobs() == []
    assert sent[0].headers["authorization"] == "Bearer secret-key"


def test_answers_that_are_not_the_advisor_api_are_one_line_errors() -> None:
    pages = {
        "/v1/jobs": httpx.Response(301, headers={"location": "https://advisor.test/v1/jobs"}),
        f"/v1/jobs/{JOB_ID}": httpx.Response(200, html="<html><body>Welcome to nginx</body></html>"),
    }
    client, _ = fake(lambda request: pages[request.url.path])
    with pytest.raises(ServiceError, match=r"answers at https://advisor\.test/v1/jobs; set base_url"):
        client.jobs()
    with pytest.raises(ServiceError, match=r"not the advisor API's \(HTTP 200, text/html\)"):
        client.job(JOB_ID)

    client, _ = fake(lambda request: httpx.Response(200, json={"hello": "world"}))
    with pytest.raises(ServiceError, match="no 'items' and 'total'"):
        client.jobs()
    with pytest.raises(ServiceError, match="job description is not the advisor API's"):
        client.job(JOB_ID)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (502, "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n</html>", ServiceError),
        (503, "", ServiceError),
        (413, "<html>Request Entity Too Large</html>", FileTooLargeError),
        (429, "slow down", QueueFullError),
        (403, "<html>Forbidden</html>", AuthenticationError),
    ],
)
def test_error_pages_without_the_api_body_are_classed_by_status(status: int, body: str, expected: type) -> None:
    client, _ = fake(lambda request: httpx.Response(status, text=body, headers={"content-type": "text/html"}))
    with pytest.raises(expected) as raised:
        client.jobs()
    message = str(raised.value)
    assert "\n" not in message and "\r" not in message and "<html>" not in message
    assert message.startswith(f"HTTP {status} ") and "not the advisor API's error body" in message


@pytest.mark.parametrize("bad", ["", "   ", "../jobs", f"{JOB_ID}?x=1", f"{JOB_ID}#frag", f"/v1/jobs/{JOB_ID}", None])
def test_job_ids_that_cannot_be_ids_are_refused_before_any_request(bad: Any) -> None:
    client, sent = fake(lambda request: httpx.Response(200, json=job_body()))
    with pytest.raises(JobNotFoundError, match="is not a job id"):
        client.job(bad)
    assert sent == []


def test_a_job_id_with_stray_whitespace_is_used_trimmed() -> None:
    client, sent = fake(lambda request: httpx.Response(200, json=job_body()))
    assert client.job(f" {JOB_ID}\n").id == JOB_ID
    assert sent[0].url.path == f"/v1/jobs/{JOB_ID}"


def test_a_wait_rides_out_a_restart() -> None:
    answers = iter(["refused", "refused", "gateway", "running", "succeeded"])

    def service(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        if answer == "refused":
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        if answer == "gateway":
            return httpx.Response(502, text="<html>Bad Gateway</html>")
        return httpx.Response(200, json=job_body(answer))

    client, sent = fake(service)
    state = Job(client, JOB_ID).wait(timeout=30)
    assert state.status == "succeeded" and len(sent) == 5


def test_a_wait_timeout_bounds_a_stalled_service() -> None:
    asked: list[float] = []

    def stalled(request: httpx.Request) -> httpx.Response:
        asked.append(request.extensions["timeout"]["read"])
        raise httpx.ReadTimeout("timed out", request=request)

    client, _ = fake(stalled, timeout=120)
    started = time.monotonic()
    with pytest.raises(WaitTimeoutError) as raised:
        Job(client, JOB_ID).wait(timeout=0.3)
    assert time.monotonic() - started < 5
    assert raised.value.details["job_id"] == JOB_ID and "does not answer" in str(raised.value)
    assert max(asked) <= 0.5  # each poll is cut to the time left (or half a second), not the client's 120 s


def test_a_wait_without_timeout_gives_up_after_retry_for_and_names_the_job() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    client, _ = fake(down, retry_for=0.2)
    with pytest.raises(ServiceError, match="Cannot reach") as raised:
        Job(client, JOB_ID).wait()
    assert raised.value.details["job_id"] == JOB_ID and f"client.job('{JOB_ID}')" in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__  # no chained httpx traceback


def test_other_errors_end_a_wait_at_once() -> None:
    client, sent = fake(lambda request: httpx.Response(401, json={"code": "unauthorized", "message": "Bad key."}))
    with pytest.raises(AuthenticationError):
        Job(client, JOB_ID).wait(timeout=30)
    assert len(sent) == 1


def test_a_submission_that_timed_out_says_it_may_have_been_queued(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("task,x,y\na,1,2\n")

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    client, _ = fake(slow, timeout=0.5)
    with pytest.raises(ServiceTimeoutError, match="submitting the same data again returns it") as raised:
        client.submit(data, targets="y", task_column="task")
    assert isinstance(raised.value, TimeoutError) and "within 0.5 s" in str(raised.value)


def test_a_newer_service_result_is_read_without_its_new_fields(real_result: str) -> None:
    newer = json.loads(real_result)
    newer["schema_version"] = "1.9.0"
    newer["brand_new"] = {"a": 1}
    newer["ranking"][0]["also_new"] = 0.5
    client, _ = fake(lambda request: httpx.Response(200, json=newer))
    with pytest.warns(UserWarning, match=r"brand_new, ranking\.0\.also_new\); they are left out"):
        rec = Job(client, JOB_ID).result()
    assert isinstance(rec, Recommendation) and rec.paradigm == json.loads(real_result)["paradigm"]

    newer["schema_version"] = "2.0.0"  # another major version: refused, with what to do
    with pytest.raises(
        ServiceError, match=r"reads Recommendation schema 1\..*sent 2\.0\.0.*Install the advisor version"
    ):
        Job(client, JOB_ID).result()


def test_dataframes_get_the_sdks_checks_and_mixed_columns_go_as_text() -> None:
    bodies: list[bytes] = []

    def service(request: httpx.Request) -> httpx.Response:
        bodies.append(request.read())
        return httpx.Response(202, json=job_body("queued"))

    client, sent = fake(service)
    twice = pd.DataFrame([[1, 2, 3]], columns=["x", "x", "y"])
    with pytest.raises(DuplicateColumnError, match="'x'"):
        client.submit(twice, targets="y")
    assert sent == []

    mixed = pd.DataFrame({"task": ["a", "b"] * 20, "note": [1, "one"] * 20, "y": range(40)})
    before = mixed.copy()
    assert client.submit(mixed, targets="y", task_column="task").id == JOB_ID
    pd.testing.assert_frame_equal(mixed, before)  # the caller's frame is untouched
    start = bodies[0].index(b"PAR1")
    uploaded = pd.read_parquet(io.BytesIO(bodies[0][start : bodies[0].rindex(b"PAR1") + 4]))
    assert uploaded["note"].tolist()[:2] == ["1", "one"]


def test_a_folder_and_a_closed_client_are_clear_errors(tmp_path: Path) -> None:
    client, sent = fake(lambda request: httpx.Response(200, json={"items": []}))
    with pytest.raises(UnreadableFileError, match="is a directory"):  # the SDK's own check and class
        client.submit(tmp_path, targets="y")
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(EmptyDataError, match="is empty"):
        client.submit(tmp_path / "empty.csv", targets="y")
    with AdvisorClient("http://127.0.0.1:9") as closed:
        pass
    with pytest.raises(ServiceError, match="closed"):
        closed.jobs()
    assert sent == []


def test_iter_jobs_walks_every_page_once_even_when_a_new_job_shifts_them() -> None:
    jobs = [f"{i:032x}" for i in range(7)]  # newest first

    def page(request: httpx.Request) -> httpx.Response:
        limit, offset = int(request.url.params["limit"]), int(request.url.params["offset"])
        listing = ["f" * 32, *jobs] if sent[1:] else jobs  # a job submitted after the first page was read
        items = [job_body("succeeded", i) for i in listing[offset : offset + limit]]
        return httpx.Response(200, json={"items": items, "total": len(listing), "limit": limit, "offset": offset})

    client, sent = fake(page)
    assert [j.id for j in client.iter_jobs(page_size=3)] == jobs  # the one pushed down is not repeated
    assert [r.url.params["offset"] for r in sent] == ["0", "3", "6"]
    assert [j.id for j in client.jobs(limit=2, offset=2)] == jobs[1:3]


@pytest.mark.parametrize(
    "call",
    [
        {"status": "done"}, {"limit": 0}, {"limit": 101}, {"limit": 2.5}, {"offset": -1}, {"offset": True},
        {"page_size": 0}, {"page_size": 500},
    ],
)  # fmt: skip
def test_bad_job_list_arguments_are_refused_before_any_request(call: dict[str, Any]) -> None:
    client, sent = fake(lambda request: httpx.Response(200, json={"items": [], "total": 0}))
    with pytest.raises(InvalidRequestError) as raised:
        if "page_size" in call:
            list(client.iter_jobs(**call))
        else:
            client.jobs(**call)
    assert raised.value.details["field"] in {*call, "limit"} and not sent
