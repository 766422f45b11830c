"""Fixtures of the service tests: keys, tiny datasets, apps in-process (httpx ASGITransport), a real Recommendation.

Most tests run the real app with a stand-in job runner that returns a real, stored Recommendation
at once, so HTTP behaviour is tested in milliseconds; the tests of execution itself (progress,
cancellation, restarts, the real server) run the SDK on tiny data with short time limits.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("fastapi", reason='the service extra is not installed: pip install -e ".[service]"')

from advisor.exceptions import Cancelled
from api import Settings, create_app
from benchmarks.scenarios import make_scenario

ALICE = "alice-key-0123456789abcdef"
BOB = "bob-key-0123456789abcdef-00"
SPEC = {"targets": ["y"], "task_column": "task"}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def tiny_frame() -> Any:
    """Two tasks x 40 rows, three features: the probes finish in a few seconds."""
    return make_scenario(n_tasks=2, rows_per_task=40, n_features=3, seed=0).frame


@pytest.fixture(scope="session")
def single_frame() -> Any:
    """One task x 60 rows: a recommendation in about a second (STL only)."""
    return make_scenario(n_tasks=1, rows_per_task=60, n_features=3, seed=1).frame


@pytest.fixture(scope="session")
def tiny_csv(tmp_path_factory: pytest.TempPathFactory, tiny_frame: Any) -> Path:
    path = tmp_path_factory.mktemp("data") / "tiny.csv"
    tiny_frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def real_result(single_frame: Any) -> str:
    """A real Recommendation's JSON (the SDK on one tiny task), returned by the stand-in runner."""
    from advisor import Advisor

    return Advisor(budget="fast", time_limit=5, seed=0).recommend(single_frame, **SPEC).to_json(indent=None)


class StandInRunner:
    """Returns a stored result after reporting progress; ``hold()`` keeps jobs running until ``release()``.

    Like the real runner it checks ``cancelled()`` while it works and raises ``Cancelled``.
    """

    def __init__(self, result: str) -> None:
        self.result = result
        self.calls: list[str] = []
        self._gate = threading.Event()
        self._gate.set()
        self.started = threading.Event()

    def hold(self) -> None:
        self._gate.clear()

    def release(self) -> None:
        self._gate.set()

    def __call__(self, job: Any, path: Path, progress: Callable[..., None], cancelled: Callable[[], bool]) -> str:
        assert path.is_file() and path.stat().st_size == job.n_bytes
        self.calls.append(job.id)
        progress("probe", 0.5, "stand-in probe")
        self.started.set()
        while not self._gate.wait(0.02):
            if cancelled():
                raise Cancelled("Cancelled on request during the stand-in probe.")
        return self.result


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(api_keys=[ALICE, BOB], data_dir=tmp_path / "data", recommend_wait_s=5.0)


@pytest.fixture
def runner(real_result: str) -> StandInRunner:
    return StandInRunner(real_result)


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """Start ``app`` (its lifespan: database, workers) and reach it in-process through httpx's ASGITransport."""
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture
async def client(settings: Settings, runner: StandInRunner) -> AsyncIterator[httpx.AsyncClient]:
    """The real app in-process with the stand-in runner."""
    async with serving(create_app(settings, runner=runner)) as http:
        yield http


async def wait_for(http: httpx.AsyncClient, job_id: str, key: str = ALICE, timeout: float = 60.0) -> dict[str, Any]:
    """Poll a job until it finishes."""
    import anyio

    deadline = time.monotonic() + timeout
    while True:
        body = (await http.get(f"/v1/jobs/{job_id}", headers=auth(key))).json()
        if body["status"] in ("succeeded", "failed", "cancelled"):
            return body
        assert time.monotonic() < deadline, f"job still {body['status']} after {timeout} s"
        await anyio.sleep(0.05)


def upload(path: Path, spec: dict[str, Any] | None = None, **options: Any) -> dict[str, Any]:
    """``files``/``data`` keyword arguments of a multipart submission."""
    form = {"spec": json.dumps(spec or SPEC), **{k: str(v) for k, v in options.items()}}
    return {"files": {"file": (path.name, path.read_bytes(), "text/csv")}, "data": form}


class SyncASGITransport(httpx.BaseTransport):
    """A synchronous httpx transport over httpx's ``ASGITransport``, for the synchronous ``AdvisorClient``.

    The app runs (lifespan included) on an anyio blocking portal's event loop, in-process.
    """

    def __init__(self, app: Any, portal: Any) -> None:
        self._transport = httpx.ASGITransport(app=app)
        self._portal = portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def call() -> httpx.Response:
            forwarded = httpx.Request(request.method, request.url, headers=request.headers, content=body)
            response = await self._transport.handle_async_request(forwarded)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content)

        return self._portal.call(call)


@pytest.fixture
def sync_http(settings: Settings, runner: StandInRunner) -> Iterator[Callable[..., httpx.Client]]:
    """``make(runner=None) -> httpx.Client`` bound in-process to a started app (default: the stand-in runner)."""
    from anyio.from_thread import start_blocking_portal

    with start_blocking_portal() as portal:
        opened: list[Any] = []

        def make(job_runner: Any = runner) -> httpx.Client:
            app = create_app(settings, runner=job_runner)
            manager = portal.wrap_async_context_manager(app.router.lifespan_context(app))
            manager.__enter__()
            http = httpx.Client(transport=SyncASGITransport(app, portal), base_url="http://test")
            opened.append((manager, http))
            return http

        try:
            yield make
        finally:
            for manager, http in reversed(opened):
                http.close()
                manager.__exit__(None, None, None)


@pytest.fixture(scope="session")
def postgresql_server() -> Iterator[str]:
    """A real PostgreSQL server for the session (skipped, with the reason, where it cannot start)."""
    from tests.api._postgres import postgres_server

    try:
        manager = postgres_server()
        url = manager.__enter__()
    except RuntimeError as exc:
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    try:
        yield url
    finally:
        manager.__exit__(None, None, None)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each backend: a SQLite file, and a new database on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'jobs.db'}"
        return
    import uuid

    import psycopg

    server = request.getfixturevalue("postgresql_server")
    name = f"advisor_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield server.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
