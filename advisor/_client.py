"""The remote SDK: ``AdvisorClient(base_url, api_key=...)`` talks to ``advisor serve`` over HTTP.

``AdvisorClient.recommend`` takes the same arguments as :meth:`Advisor.recommend` and returns the
same :class:`Recommendation`; the service's ``{code, message, details}`` errors come back as the
SDK's own exception classes (:func:`advisor.exceptions.error_for_code`). Only httpx is imported
up front: pandas and the probes load when a result is parsed.
"""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from advisor.exceptions import (
    AdvisorError,
    AuthenticationError,
    DataFileNotFoundError,
    ServiceError,
    UnsupportedFormatError,
    WaitTimeoutError,
    error_for_code,
)

if TYPE_CHECKING:
    import pandas as pd

    from advisor._recommendation import Recommendation
    from advisor.schemas import DatasetSpec

__all__ = ["AdvisorClient", "Job", "JobStatus"]

Progress = Callable[[str, float, str], None]


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
        self.id = job_id
        self.last = last

    def __repr__(self) -> str:
        state = self.last.status if self.last else "?"
        return f"Job({self.id!r}, status={state!r})"

    def status(self) -> JobStatus:
        """The job's current status, progress and error."""
        self.last = JobStatus.from_json(self.client._request("GET", f"/v1/jobs/{self.id}").json())
        return self.last

    def wait(
        self, progress: bool | Progress = False, timeout: float | None = None, poll_interval: float | None = None
    ) -> JobStatus:
        """Poll until the job finishes; ``progress=True`` draws a bar on stderr (or pass a callback).

        Raises :class:`~advisor.exceptions.WaitTimeoutError` after ``timeout`` seconds; the job goes on.
        """
        interval = self.client.poll_interval if poll_interval is None else poll_interval
        deadline = None if timeout is None else time.monotonic() + timeout
        with _progress(progress) as notify:
            while True:
                state = self.status()
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
        from advisor._recommendation import Recommendation

        try:
            response = self.client._request("GET", f"/v1/jobs/{self.id}/recommendation")
        except AdvisorError as exc:
            inner = exc.details.get("error") if exc.code == "job_failed" else None
            if isinstance(inner, dict) and "code" in inner:
                raise error_for_code(inner["code"], inner.get("message", ""), inner.get("details")) from exc
            raise
        return Recommendation.from_json(response.content)

    def report(self) -> str:
        """The self-contained HTML report."""
        return self.client._request("GET", f"/v1/jobs/{self.id}/report").text

    def cancel(self) -> JobStatus:
        """Cancel: a queued job at once, a running one at its next budget check."""
        self.last = JobStatus.from_json(self.client._request("DELETE", f"/v1/jobs/{self.id}").json())
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
        Seconds allowed for one HTTP request (uploads included).
    poll_interval:
        Seconds between status polls while waiting.
    wait_timeout:
        Longest :meth:`recommend` waits for a job (``None``: until it finishes).
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
        http_client: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.budget = budget
        self.time_limit = time_limit
        self.seed = seed
        self.progress = progress
        self.poll_interval = poll_interval
        self.wait_timeout = wait_timeout
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=timeout)
        self._headers = headers

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
        job = self.submit(
            data,
            spec,
            targets=targets,
            task_column=task_column,
            goal=goal,
            target_task=target_task,
            shots=shots,
            features=features,
            ignore=ignore,
            task_types=task_types,
            metric=metric,
            small_tasks=small_tasks,
        )
        job.wait(progress=self.progress or False, timeout=self.wait_timeout)
        return job.result()

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

        Submitting the same data, spec, seed and budget again returns the existing job.
        """
        if spec is not None:
            spec_json = spec.model_dump(mode="json") if hasattr(spec, "model_dump") else dict(spec)
        else:
            fields = {
                "targets": targets,
                "task_column": task_column,
                "goal": goal,
                "target_task": target_task,
                "shots": shots,
                "features": features,
                "ignore": ignore,
                "task_types": task_types,
                "metric": metric,
                "small_tasks": small_tasks,
            }
            spec_json = {k: v for k, v in fields.items() if v is not None}
        form = {"spec": json.dumps(spec_json), "budget": self.budget, "seed": str(self.seed)}
        if self.time_limit is not None:
            form["time_limit"] = repr(float(self.time_limit))
        with _upload(data) as (name, stream):
            response = self._request("POST", "/v1/jobs", data=form, files={"file": (name, stream)})
        state = JobStatus.from_json(response.json())
        return Job(self, state.id, last=state)

    def job(self, job_id: str) -> Job:
        """A handle on an existing job (404 ``JobNotFoundError`` when it is not this key's)."""
        handle = Job(self, job_id)
        handle.status()
        return handle

    def jobs(self, *, status: str | None = None, limit: int = 20, offset: int = 0) -> list[JobStatus]:
        """This key's jobs, newest first."""
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if status is not None:
            params["status"] = status
        body = self._request("GET", "/v1/jobs", params=params).json()
        return [JobStatus.from_json(item) for item in body["items"]]

    # ------------------------------------------------------------------------------ plumbing

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, self.base_url + path, headers=self._headers, **kwargs)
        except httpx.TransportError as exc:
            raise ServiceError(
                f"Cannot reach the advisor service at {self.base_url}: {type(exc).__name__}: {exc}. "
                "Is 'advisor serve' running there?",
                details={"base_url": self.base_url},
            ) from exc
        if response.status_code < 400:
            return response
        raise _error_from(response)


def _error_from(response: httpx.Response) -> AdvisorError:
    try:
        body = response.json()
        code, message, details = body["code"], body["message"], body.get("details") or {}
    except (ValueError, KeyError, TypeError):
        body_text = response.text[:300]
        code, message, details = "service_error", f"HTTP {response.status_code}: {body_text}", {}
    if response.status_code == 401:
        return AuthenticationError(message, details=details)
    error = error_for_code(code, message, details)
    if isinstance(error, ServiceError):
        error.details.setdefault("http_status", response.status_code)
    return error


@contextmanager
def _upload(data: Any) -> Iterator[tuple[str, Any]]:
    if hasattr(data, "to_parquet") and hasattr(data, "columns"):
        buffer = io.BytesIO()
        data.to_parquet(buffer, index=False)
        buffer.seek(0)
        yield "data.parquet", buffer
        return
    if not isinstance(data, str | os.PathLike):
        raise UnsupportedFormatError(f"Data must be a file path or a pandas DataFrame, got {type(data).__name__}.")
    path = Path(data)
    if not path.is_file():
        raise DataFileNotFoundError(f"No such file: '{path}'. Check the path.", details={"path": str(path)})
    with path.open("rb") as stream:
        yield path.name, stream


@contextmanager
def _progress(progress: bool | Progress) -> Iterator[Progress]:
    if callable(progress):
        yield progress
        return
    from advisor.cli._progress import stderr_progress

    with stderr_progress(enabled=bool(progress)) as notify:
        yield notify
