"""The remote SDK: ``AdvisorClient(base_url, api_key=...)`` talks to ``advisor serve`` over HTTP.

``AdvisorClient.recommend`` takes the same arguments as :meth:`Advisor.recommend` and returns the
same :class:`Recommendation`; the service's ``{code, message, details}`` errors come back as the
SDK's own exception classes (:func:`advisor.exceptions.error_for_code`). Only httpx is imported
up front: pandas and the probes load when a result is parsed.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from advisor._checks import SPEC_FIELDS, check_budget, check_seconds, check_seed, check_time_limit, spec_fields
from advisor.exceptions import (
    AdvisorError,
    AuthenticationError,
    InvalidRequestError,
    JobNotFoundError,
    ServiceError,
    ServiceTimeoutError,
    UnsupportedFormatError,
    WaitTimeoutError,
    error_for_code,
)

if TYPE_CHECKING:
    import pandas as pd

    from advisor._recommendation import Recommendation
    from advisor._verification import Verification
    from advisor.schemas import DatasetSpec
    from probes.data import Limits

__all__ = ["AdvisorClient", "Job", "JobStatus"]

Progress = Callable[[str, float, str], None]

#: What a job id may hold (the service's are 32 hex digits); anything else is refused before a request.
_JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
#: A job's states, as ``GET /v1/jobs?status=`` takes them.
_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
#: Answers a wait rides out, like a refused connection: a proxy or the service restarting.
_UNAVAILABLE = {502, 503, 504}
#: Longest pause between polls while the service cannot be reached.
_MAX_BACKOFF_S = 10.0


@dataclass(frozen=True)
class JobStatus:
    """A job as the service last described it (``GET /v1/jobs/{id}``)."""

    id: str
    status: str
    phase: str | None
    fraction: float
    message: str | None
    error: dict[str, Any] | None
    reused: bool
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    raw: dict[str, Any] = field(repr=False)

    @property
    def finished(self) -> bool:
        return self.status in ("succeeded", "failed", "cancelled")

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> JobStatus:
        try:
            return cls._from_json(body)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ServiceError(
                f"The service's job description is not the advisor API's ({type(exc).__name__}: {exc}); "
                "check base_url, or use the client version the service runs.",
                details={"body": str(body)[:200]},
            ) from None

    @classmethod
    def _from_json(cls, body: dict[str, Any]) -> JobStatus:
        def when(key: str) -> datetime | None:
            value = body.get(key)
            return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None

        progress = body.get("progress") or {}
        return cls(
            id=body["id"],
            status=body["status"],
            phase=progress.get("phase"),
            fraction=float(progress.get("fraction") or 0.0),
            message=progress.get("message"),
            error=body.get("error"),
            reused=bool(body.get("reused")),
            cancel_requested=bool(body.get("cancel_requested")),
            created_at=when("created_at") or datetime.min,
            started_at=when("started_at"),
            finished_at=when("finished_at"),
            raw=body,
        )


class Job:
    """A handle on a job of the service: poll it, wait for it, read its result or cancel it."""

    def __init__(self, client: AdvisorClient, job_id: str, *, last: JobStatus | None = None) -> None:
        self.client = client
        self.id = _check_job_id(job_id)
        self.last = last

    def __repr__(self) -> str:
        state = self.last.status if self.last else "?"
        return f"Job({self.id!r}, status={state!r})"

    @property
    def _path(self) -> str:
        return "/v1/jobs/" + quote(self.id, safe="")

    def status(self, *, timeout: float | None = None) -> JobStatus:
        """The job's current status, progress and error (``timeout``: for this request, else the client's)."""
        self.last = JobStatus.from_json(_json(self.client._request("GET", self._path, timeout=timeout)))
        return self.last

    def wait(
        self, progress: bool | Progress = False, timeout: float | None = None, poll_interval: float | None = None
    ) -> JobStatus:
        """Poll until the job finishes; ``progress=True`` draws a bar on stderr (or pass a callback).

        Raises :class:`~advisor.exceptions.WaitTimeoutError` after ``timeout`` seconds (each poll is
        cut to the time left); the job goes on. A service that cannot be reached (a restart, a
        proxy's 502-504) is polled again with a growing pause: jobs survive a restart. Without
        ``timeout``, the wait gives up after the client's ``retry_for`` seconds without an answer.
        """
        interval = self.client.poll_interval if poll_interval is None else check_seconds(poll_interval, "poll_interval")
        if timeout is not None:
            timeout = check_seconds(timeout, "timeout", none_ok=" or None")
        deadline = None if timeout is None else time.monotonic() + timeout
        unreachable_since: float | None = None
        backoff = interval
        with _progress(progress) as notify:
            while True:
                left = None if deadline is None else deadline - time.monotonic()
                try:  # one poll never outlasts the wait (but gets a moment, however late)
                    state = self.status(timeout=None if left is None else min(self.client.timeout, max(left, 0.5)))
                except ServiceError as exc:
                    if not exc.details.get("retryable"):
                        raise
                    now = time.monotonic()
                    if unreachable_since is None:
                        unreachable_since = now
                    if deadline is not None and now >= deadline:
                        last = self.last.status if self.last else "unknown"
                        raise WaitTimeoutError(
                            f"Job '{self.id}' was last seen {last}; after {timeout:g} s the service still does "
                            f"not answer ({exc}). The job goes on if the service does: wait again later.",
                            details={"job_id": self.id, "status": last},
                        ) from None
                    if deadline is None and now - unreachable_since >= self.client.retry_for:
                        exc.message = (
                            f"{exc.message} (for {now - unreachable_since:.0f} s while waiting for job '{self.id}'; "
                            f"it goes on if the service does: client.job('{self.id}').wait())"
                        )
                        exc.args = (exc.message,)
                        exc.details["job_id"] = self.id
                        raise
                    pause = backoff if deadline is None else min(backoff, max(0.0, deadline - now))
                    time.sleep(pause)
                    backoff = min(2 * backoff, _MAX_BACKOFF_S)
                    continue
                unreachable_since, backoff = None, interval
                notify(state.phase or state.status, state.fraction, state.message or "")
                if state.finished:
                    return state
                if deadline is not None and time.monotonic() >= deadline:
                    raise WaitTimeoutError(
                        f"Job '{self.id}' is still {state.status} after {timeout:g} s; wait again or cancel it.",
                        details={"job_id": self.id, "status": state.status},
                    )
                pause = interval if deadline is None else min(interval, max(0.0, deadline - time.monotonic()))
                time.sleep(pause)

    def result(self) -> Recommendation:
        """The recommendation; raises the job's own error if it failed (the same class the SDK raises)."""
        try:
            response = self.client._request("GET", self._path + "/recommendation")
        except AdvisorError as exc:
            inner = exc.details.get("error") if exc.code == "job_failed" else None
            if isinstance(inner, dict) and "code" in inner:
                raise error_for_code(inner["code"], inner.get("message", ""), inner.get("details")) from exc
            raise
        return _recommendation(_json(response))

    def verification(self) -> Verification:
        """A verify job's :class:`Verification`; raises the job's own error if it failed."""
        try:
            response = self.client._request("GET", self._path + "/verification")
        except AdvisorError as exc:
            inner = exc.details.get("error") if exc.code == "job_failed" else None
            if isinstance(inner, dict) and "code" in inner:
                raise error_for_code(inner["code"], inner.get("message", ""), inner.get("details")) from exc
            raise
        from advisor._verification import Verification

        return Verification.model_validate(_json(response))

    def report(self) -> str:
        """The self-contained HTML report."""
        return self.client._request("GET", self._path + "/report").text

    def cancel(self) -> JobStatus:
        """Cancel: a queued job at once, a running one at its next budget check."""
        self.last = JobStatus.from_json(_json(self.client._request("DELETE", self._path)))
        return self.last


class AdvisorClient:
    """Recommend through a running ``advisor serve``; the remote twin of :class:`~advisor.Advisor`.

    Parameters
    ----------
    base_url:
        Where the service listens, e.g. ``http://127.0.0.1:8000``.
    api_key:
        One of the service's keys (sent as ``Authorization: Bearer KEY``).
    budget, time_limit, seed, progress:
        As for :class:`~advisor.Advisor`; ``progress`` is called while :meth:`recommend` waits.
    timeout:
        Seconds the service may take to answer one request: to connect, and between two pieces
        of an answer or of an upload (httpx's timeouts), not for a whole upload.
        :class:`~advisor.exceptions.ServiceTimeoutError` when it is exceeded.
    poll_interval:
        Seconds between status polls while waiting.
    wait_timeout:
        Longest :meth:`recommend` waits for a job (``None``: until it finishes).
    retry_for:
        Seconds a wait without a timeout keeps polling a service that does not answer (it may be
        restarting; jobs survive that) before it raises.
    http_client:
        An ``httpx.Client`` to send requests with (tests pass one bound to the app in-process).

    Examples
    --------
    >>> from advisor import AdvisorClient
    >>> client = AdvisorClient("http://127.0.0.1:8000", api_key="...")  # doctest: +SKIP
    >>> rec = client.recommend("school.csv.gz", targets="exam_score", task_column="school_id")  # doctest: +SKIP
    >>> job = client.submit("school.csv.gz", targets="exam_score", task_column="school_id")  # doctest: +SKIP
    >>> job.wait(progress=True).status  # doctest: +SKIP
    'succeeded'
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        budget: str = "fast",
        time_limit: float | None = None,
        seed: int = 0,
        progress: Progress | None = None,
        timeout: float = 120.0,
        poll_interval: float = 1.0,
        wait_timeout: float | None = None,
        retry_for: float = 120.0,
        http_client: httpx.Client | None = None,
    ) -> None:
        self.base_url = _check_base_url(base_url)
        self.budget = check_budget(budget, presets=False)
        self.time_limit = check_time_limit(time_limit)
        self.seed = check_seed(seed)
        self.progress = progress
        self.timeout = check_seconds(timeout, "timeout")
        self.poll_interval = check_seconds(poll_interval, "poll_interval")
        self.wait_timeout = (
            None if wait_timeout is None else check_seconds(wait_timeout, "wait_timeout", none_ok=" or None")
        )
        self.retry_for = check_seconds(retry_for, "retry_for")
        self._headers = _auth_headers(api_key)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=self.timeout)

    def __repr__(self) -> str:
        return f"AdvisorClient({self.base_url!r}, budget={self.budget!r}, seed={self.seed!r})"

    def __enter__(self) -> AdvisorClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    # ------------------------------------------------------------------------------ the door

    def recommend(
        self,
        data: str | os.PathLike[str] | pd.DataFrame,
        spec: DatasetSpec | None = None,
        *,
        targets: str | list[str] | None = None,
        task_column: str | None = None,
        goal: str = "all_tasks",
        target_task: str | None = None,
        shots: int | None = None,
        features: list[str] | None = None,
        ignore: list[str] | None = None,
        task_types: Any = None,
        metric: str | None = None,
        small_tasks: str | None = None,
    ) -> Recommendation:
        """Submit ``data`` to the service, wait for the job and return its :class:`Recommendation`.

        Same arguments, result and errors as :meth:`Advisor.recommend`.
        """
        return self._finish(self._submit(data, spec, spec_fields(locals())), Job.result)

    def verify(
        self,
        data: str | os.PathLike[str] | pd.DataFrame,
        spec: DatasetSpec | None = None,
        *,
        runs: int | None = None,
        paradigms: list[str] | None = None,
        **fields: Any,
    ) -> Verification:
        """Submit a verify job (the full-budget comparison, see :meth:`Advisor.verify`), wait, return its result.

        ``runs`` defaults to the service's (3, or fewer where the service allows fewer); the
        spec's fields are :meth:`recommend`'s. The client's budget and time limit do not apply.
        """
        unknown = sorted(set(fields) - set(SPEC_FIELDS))
        if unknown:
            raise InvalidRequestError(
                f"unknown argument(s) {', '.join(unknown)}; the spec's fields are {', '.join(SPEC_FIELDS)}",
                details={"unknown": unknown},
            )
        job = self._submit(data, spec, spec_fields(fields), kind="verify", runs=runs, paradigms=paradigms)
        return self._finish(job, Job.verification)

    def _finish(self, job: Job, read: Callable[[Job], Any]) -> Any:
        """Wait for ``job`` and ``read`` its result; any error names the job, so the caller can find it."""
        try:
            job.wait(progress=self.progress or False, timeout=self.wait_timeout)
            return read(job)
        except AdvisorError as exc:
            exc.details.setdefault("job_id", job.id)
            raise

    def submit(
        self,
        data: str | os.PathLike[str] | pd.DataFrame,
        spec: DatasetSpec | None = None,
        *,
        targets: str | list[str] | None = None,
        task_column: str | None = None,
        goal: str = "all_tasks",
        target_task: str | None = None,
        shots: int | None = None,
        features: list[str] | None = None,
        ignore: list[str] | None = None,
        task_types: Any = None,
        metric: str | None = None,
        small_tasks: str | None = None,
    ) -> Job:
        """Upload ``data`` (a file path, or a DataFrame sent as Parquet) and queue a job; returns its handle.

        Submitting the same data, spec, budget, time limit and seed again returns the existing job
        (unless it failed or was cancelled), even while the queue is full: a retry is safe.
        """
        return self._submit(data, spec, spec_fields(locals()))

    def _submit(
        self,
        data: Any,
        spec: DatasetSpec | None,
        fields: dict[str, Any],
        *,
        kind: str = "recommend",
        runs: int | None = None,
        paradigms: list[str] | None = None,
    ) -> Job:
        """Upload and queue a job: ``spec``, or else its ``fields``; ``kind="verify"`` with ``runs``, ``paradigms``."""
        if spec is not None:
            spec_json = spec.model_dump(mode="json") if hasattr(spec, "model_dump") else dict(spec)
        else:
            spec_json = fields
        form = {"spec": json.dumps(spec_json), "budget": self.budget, "seed": str(self.seed)}
        if kind == "verify":
            form["kind"] = "verify"
            if runs is not None:
                form["runs"] = str(runs)
            if paradigms:
                form["paradigms"] = ",".join(paradigms)
        elif kind != "recommend":
            raise InvalidRequestError(f"kind must be 'recommend' or 'verify', got {kind!r}", details={"field": "kind"})
        if self.time_limit is not None and kind == "recommend":
            form["time_limit"] = repr(float(self.time_limit))
        with _upload(data) as (name, stream):
            try:
                response = self._request("POST", "/v1/jobs", data=form, files={"file": (name, stream)})
            except ServiceTimeoutError as exc:
                exc.message += " The job may have been queued all the same: submitting the same data again returns it."
                exc.args = (exc.message,)
                raise
        state = JobStatus.from_json(_json(response))
        return Job(self, state.id, last=state)

    def job(self, job_id: str) -> Job:
        """A handle on an existing job (404 ``JobNotFoundError`` when it is not this key's)."""
        handle = Job(self, job_id)  # an id that cannot be one: JobNotFoundError before any request
        handle.status()
        return handle

    def jobs(self, *, status: str | None = None, limit: int = 20, offset: int = 0) -> list[JobStatus]:
        """One page of this key's jobs, newest first: ``limit`` (1–100) after skipping ``offset``.

        :meth:`iter_jobs` walks every page.
        """
        return self._jobs_page(status, limit, offset)[0]

    def iter_jobs(self, *, status: str | None = None, page_size: int = 100) -> Iterator[JobStatus]:
        """Every one of this key's jobs, newest first, fetched ``page_size`` (1–100) at a time.

        A job submitted while the pages are read can push older ones a place down; a job already
        yielded is not yielded again.
        """
        seen: set[str] = set()
        offset = 0
        while True:
            items, total = self._jobs_page(status, page_size, offset)
            for item in items:
                if item.id not in seen:
                    seen.add(item.id)
                    yield item
            offset += len(items)
            if not items or offset >= total:
                return

    def _jobs_page(self, status: str | None, limit: int, offset: int) -> tuple[list[JobStatus], int]:
        """``GET /v1/jobs``: one page of jobs and the number matching the filter over all pages."""
        if status is not None and status not in _STATUSES:
            raise InvalidRequestError(
                f"status must be one of {', '.join(_STATUSES)} (or None for all), got {status!r}.",
                details={"field": "status"},
            )
        for name, value, low, high in (("limit", limit, 1, 100), ("offset", offset, 0, 10**9)):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise InvalidRequestError(
                    f"{name} must be an integer from {low} to {high}, got {value!r}.", details={"field": name}
                )
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if status is not None:
            params["status"] = status
        body = _json(self._request("GET", "/v1/jobs", params=params))
        items, total = body.get("items"), body.get("total")
        if not isinstance(items, list) or isinstance(total, bool) or not isinstance(total, int):
            raise ServiceError(
                "The service's job list has no 'items' and 'total'; check base_url.", details={"keys": list(body)}
            )
        return [JobStatus.from_json(item) for item in items], total

    # ------------------------------------------------------------------------------ plumbing

    def _request(self, method: str, path: str, *, timeout: float | None = None, **kwargs: Any) -> httpx.Response:
        """Send one request; every failure is an :class:`AdvisorError` with a one-line message."""
        if self._http.is_closed:
            raise ServiceError("This AdvisorClient is closed; make a new one (or use it in a 'with' block).")
        url = self.base_url + path
        where = {"base_url": self.base_url, "method": method, "path": path}
        limit = self.timeout if timeout is None else timeout
        try:
            response = self._http.request(method, url, headers=self._headers, timeout=limit, **kwargs)
        except httpx.TimeoutException as exc:
            raise ServiceTimeoutError(
                f"No answer from the advisor service at {self.base_url} within {limit:.3g} s "
                f"({type(exc).__name__}, {method} {path}).",
                details={**where, "retryable": True},
            ) from None
        except httpx.ConnectError as exc:
            raise ServiceError(
                f"Cannot reach the advisor service at {self.base_url}: {exc}. Is 'advisor serve' running there?",
                details={**where, "retryable": True},
            ) from None
        except httpx.TransportError as exc:
            raise ServiceError(
                f"The connection to the advisor service at {self.base_url} failed: {type(exc).__name__}: {exc}.",
                details={**where, "retryable": isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError)},
            ) from None
        if response.is_success:
            return response
        if response.is_redirect:
            target = response.headers.get("location", "elsewhere")
            raise ServiceError(
                f"HTTP {response.status_code} from {url}: the service answers at {target}; "
                "set base_url to that address (redirects are not followed, so the API key is not sent on).",
                details={**where, "http_status": response.status_code, "location": target},
            )
        raise _error_from(response)


def _error_from(response: httpx.Response) -> AdvisorError:
    """The error a 4xx/5xx answer stands for: the service's own ``{code, message, details}``, else by status."""
    status = response.status_code
    try:
        body = response.json()
        code, message, details = body["code"], body["message"], body.get("details") or {}
        if not isinstance(code, str) or not isinstance(message, str) or not isinstance(details, dict):
            raise TypeError
    except (ValueError, KeyError, TypeError):  # a proxy's page, an empty body: one line, classed by status
        kind = _content_type(response)
        reason = f" {response.reason_phrase}" if response.reason_phrase else ""
        code = {401: "unauthorized", 403: "unauthorized", 413: "file_too_large", 429: "queue_full"}.get(
            status, "service_error"
        )
        message = f"HTTP {status}{reason} from {response.request.url} ({kind}, not the advisor API's error body)."
        details = {}
    if status == 401:
        return AuthenticationError(message, details=details)
    error = error_for_code(code, message, details)
    if isinstance(error, ServiceError):
        error.details.setdefault("http_status", status)
        if status in _UNAVAILABLE:
            error.details["retryable"] = True
    return error


def _content_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";")[0].strip() or "no content type"


def _json(response: httpx.Response) -> dict[str, Any]:
    """The JSON object of a successful answer; a clear error when it is not the advisor API's."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        kind = _content_type(response)
        raise ServiceError(
            f"The answer from {response.request.url} is not the advisor API's (HTTP {response.status_code}, {kind}); "
            "check base_url.",
            details={"http_status": response.status_code, "content_type": kind},
        )
    return body


def _recommendation(payload: dict[str, Any]) -> Recommendation:
    """Parse a result; fields a newer service added (same major schema version) are left out with a warning."""
    from pydantic import ValidationError

    from advisor._recommendation import SCHEMA_VERSION, Recommendation

    try:
        return Recommendation.model_validate(payload)
    except ValidationError as exc:
        errors = exc.errors()
    theirs = payload.get("schema_version")
    same_major = isinstance(theirs, str) and theirs.split(".")[0] == SCHEMA_VERSION.split(".")[0]
    if same_major and all(e["type"] == "extra_forbidden" for e in errors):
        for error in errors:
            _drop(payload, error["loc"])
        names = ", ".join(sorted(".".join(str(part) for part in e["loc"]) for e in errors)[:5])
        warnings.warn(
            f"The service's result (schema {theirs}) has fields this client (schema {SCHEMA_VERSION}) does not know "
            f"({names}); they are left out. Upgrade the advisor package to read them.",
            stacklevel=3,
        )
        return Recommendation.model_validate(payload)
    first = errors[0]
    raise ServiceError(
        f"This client cannot read the service's result: it reads Recommendation schema {SCHEMA_VERSION}, the "
        f"service sent {theirs or 'no schema_version'} ({'.'.join(str(p) for p in first['loc'])}: {first['msg']}). "
        "Install the advisor version the service runs.",
        details={"schema_version": theirs, "client_schema_version": SCHEMA_VERSION},
    ) from None


def _drop(payload: Any, loc: tuple[Any, ...]) -> None:
    for part in loc[:-1]:
        payload = payload[part]
    payload.pop(loc[-1], None)


def _check_base_url(base_url: Any) -> str:
    try:
        url = httpx.URL(base_url.strip()) if isinstance(base_url, str) else None
    except httpx.InvalidURL:
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise InvalidRequestError(
            f"base_url must be an http:// or https:// address such as 'http://127.0.0.1:8000', got {base_url!r}",
            details={"field": "base_url"},
        )
    return str(url).rstrip("/")


def _auth_headers(api_key: Any) -> dict[str, str]:
    """``Authorization: Bearer KEY``; a key read from a file keeps no trailing newline. Never echoes the key."""
    if api_key is None:
        return {}
    if not isinstance(api_key, str):
        raise InvalidRequestError(
            f"api_key must be a string, got {type(api_key).__name__}", details={"field": "api_key"}
        )
    key = api_key.strip()
    if key and not (key.isascii() and key.isprintable() and " " not in key):
        raise InvalidRequestError(
            "api_key holds characters an HTTP header cannot carry (spaces, control or non-ASCII characters); "
            "copy the key again",
            details={"field": "api_key"},
        )
    return {"Authorization": f"Bearer {key}"} if key else {}


def _check_job_id(job_id: Any) -> str:
    text = job_id.strip() if isinstance(job_id, str) else None
    if text is None or not _JOB_ID.fullmatch(text):
        raise JobNotFoundError(
            f"{job_id!r} is not a job id: ids are letters, digits, '-' and '_' (pass job.id, not a link).",
            details={"job_id": str(job_id)[:200]},
        )
    return text


@contextmanager
def _upload(data: Any) -> Iterator[tuple[str, Any]]:
    if hasattr(data, "to_parquet") and hasattr(data, "columns"):
        yield "data.parquet", _parquet(data)
        return
    if not isinstance(data, str | os.PathLike):
        raise UnsupportedFormatError(f"Data must be a file path or a pandas DataFrame, got {type(data).__name__}.")
    from probes.data import check_path

    check_path(data, _no_limits())  # the SDK's checks and errors; the service applies its own limits
    path = Path(data)
    with path.open("rb") as stream:
        yield path.name, stream


def _no_limits() -> Limits:
    from probes.data import Limits

    return Limits(max_file_mb=math.inf, max_rows=sys.maxsize, max_columns=sys.maxsize)


def _parquet(frame: pd.DataFrame) -> io.BytesIO:
    """The DataFrame as Parquet, after the checks :class:`~advisor.Advisor` makes on a DataFrame.

    The service's size limits are its own to apply, so none are checked here. A column mixing
    text and numbers (which Parquet cannot hold) is sent as text, as the SDK reads such a column.
    """
    import pandas as pd

    from probes.data import check_frame

    frame = check_frame(frame, _no_limits())
    mixed = [c for c in frame.columns if frame[c].dtype == object and len({type(v) for v in frame[c].dropna()}) > 1]
    if mixed:  # a new frame: the caller's is never modified
        frame = frame.assign(
            **{c: frame[c].map(lambda v: v if pd.api.types.is_scalar(v) and pd.isna(v) else str(v)) for c in mixed}
        )
    buffer = io.BytesIO()
    try:
        frame.to_parquet(buffer, index=False)
    except (TypeError, ValueError, OverflowError) as exc:  # pyarrow's ArrowTypeError / ArrowInvalid among them
        raise UnsupportedFormatError(
            f"The DataFrame cannot be sent as Parquet ({type(exc).__name__}: {str(exc).splitlines()[0]}); "
            "convert that column to numbers or text, or save the data to a CSV file and send the file.",
        ) from None
    buffer.seek(0)
    return buffer


@contextmanager
def _progress(progress: bool | Progress) -> Iterator[Progress]:
    if callable(progress):
        yield progress
        return
    from advisor.cli._progress import stderr_progress

    with stderr_progress(enabled=bool(progress)) as notify:
        yield notify
