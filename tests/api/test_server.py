"""The real thing: ``advisor serve`` as a process on a loopback port — an upload end to end, and a kill -9 mid-job."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import jsonschema
import pytest

from advisor import Recommendation
from benchmarks.scenarios import make_scenario
from tests.api.conftest import ALICE, SPEC, auth

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(data_dir: Path, port: int, **env: str) -> Iterator[subprocess.Popen]:
    """Run ``advisor serve`` until the block ends (or the test kills it); waits until it answers /readyz."""
    environment = {**os.environ, "ADVISOR_API_KEYS": ALICE, **env}
    log = (data_dir.parent / f"server-{port}-{time.monotonic_ns()}.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "advisor", "serve", "--port", str(port), "--data-dir", str(data_dir), "--workers", "1"],
        cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, Path(log.name).read_text()[-2000:]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "advisor serve did not become ready in 60 s"
            time.sleep(0.2)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def poll(base: str, job_id: str, *, until: set[str], timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = httpx.get(f"{base}/v1/jobs/{job_id}", headers=auth(ALICE), timeout=10).json()
        if body["status"] in until or (body["status"] == "running" and "running" in until):
            return body
        assert time.monotonic() < deadline, f"job {job_id} still {body['status']} after {timeout} s"
        time.sleep(0.2)


def test_real_server_multipart_upload_to_recommendation(tmp_path: Path, tiny_csv: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serve(tmp_path / "data", port):
        response = httpx.post(
            f"{base}/v1/jobs",
            headers=auth(ALICE),
            files={"file": ("tiny.csv", tiny_csv.read_bytes(), "text/csv")},
            data={"spec": json.dumps(SPEC), "budget": "fast", "time_limit": "3", "seed": "0"},
            timeout=30,
        )
        assert response.status_code == 202, response.text
        job = poll(base, response.json()["id"], until={"succeeded", "failed", "cancelled"})
        assert job["status"] == "succeeded", job
        result = httpx.get(f"{base}{job['links']['recommendation']}", headers=auth(ALICE), timeout=10)
        assert (httpx.get(f"{base}/v1/jobs", timeout=10)).status_code == 401
    body = result.json()
    schema = Recommendation.json_schema()  # the SDK's own schema
    jsonschema.validate(body, schema)
    assert body.keys() == Recommendation.model_json_schema()["properties"].keys() == schema["properties"].keys()
    rec = Recommendation.model_validate(body)
    assert rec.data.n_tasks == 2 and rec.budget.seconds_limit == 3.0


def test_killing_the_server_mid_job_loses_no_job(tmp_path: Path) -> None:
    """kill -9 while a job runs and another waits; after a restart on the same data both finish."""
    data_dir = tmp_path / "data"
    long_csv, short_csv = tmp_path / "long.csv", tmp_path / "short.csv"
    make_scenario(n_tasks=4, rows_per_task=300, n_features=4, seed=3).frame.to_csv(long_csv, index=False)
    make_scenario(n_tasks=1, rows_per_task=60, n_features=3, seed=4).frame.to_csv(short_csv, index=False)
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    def submit(path: Path, time_limit: float) -> str:
        files = {"file": (path.name, path.read_bytes())}
        form = {"spec": json.dumps(SPEC), "time_limit": str(time_limit)}
        response = httpx.post(f"{base}/v1/jobs", headers=auth(ALICE), files=files, data=form, timeout=30)
        assert response.status_code == 202, response.text
        return response.json()["id"]

    with serve(data_dir, port, ADVISOR_MAX_ATTEMPTS="2") as process:
        # A generous limit: after the restart this job shares two cores with the waiting one, and
        # a limit too short for one fold fails it for want of time, which is not what is tested here.
        running = submit(long_csv, 20)
        waiting = submit(short_csv, 5)
        state = poll(base, running, until={"running"})
        deadline = time.monotonic() + 30
        while state["progress"]["phase"] in {"starting", "queued"}:  # inside the probes, not loading
            assert time.monotonic() < deadline
            time.sleep(0.1)
            state = poll(base, running, until={"running"})
        assert state["status"] == "running" and state["attempts"] == 1
        process.kill()  # SIGKILL: no shutdown code runs
        process.wait(10)
    with serve(data_dir, port):
        first = poll(base, running, until={"succeeded", "failed", "cancelled"}, timeout=120)
        second = poll(base, waiting, until={"succeeded", "failed", "cancelled"}, timeout=60)
        listed = httpx.get(f"{base}/v1/jobs", headers=auth(ALICE), timeout=10).json()
    assert first["status"] == "succeeded" and first["attempts"] == 2, first
    assert second["status"] == "succeeded" and second["attempts"] == 1, second
    assert listed["total"] == 2


def test_serve_without_the_service_extra_exits_2_with_the_install_hint() -> None:
    code = "import sys; sys.modules['fastapi'] = None; from advisor.cli import run; sys.exit(run(['serve']))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and 'pip install -e ".[service]"' in lines[0]


def test_serve_refuses_unsafe_settings_in_one_line(monkeypatch, capsys) -> None:
    from advisor.cli import run

    monkeypatch.delenv("ADVISOR_API_KEYS", raising=False)
    monkeypatch.delenv("ADVISOR_OPEN", raising=False)
    assert run(["serve", "--port", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "ADVISOR_API_KEYS" in err[0] and "--open" in err[0]


@pytest.mark.parametrize("args", [["serve", "--help"]])
def test_serve_is_a_command(args, capsys) -> None:
    from advisor.cli import run

    assert run(args) == 0
    out = capsys.readouterr().out
    assert "--database-url" in out and "--data-dir" in out and "--open" in out


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--open", "--database-url", "nonsense"], "'nonsense' is not a database URL"),
        (["--open", "--log-level", "bogus"], "Invalid value for '--log-level'"),
    ],
)
def test_serve_bad_options_exit_2_in_one_line(args: list[str], fragment: str, monkeypatch, capsys) -> None:
    from advisor.cli import run

    monkeypatch.delenv("ADVISOR_API_KEYS", raising=False)
    assert run(["serve", "--port", "1", *args]) == 2  # refused before the server starts
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1


def test_serve_on_a_port_in_use_exits_2_in_one_line_before_making_the_database(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    import socket

    from advisor.cli import run

    monkeypatch.delenv("ADVISOR_API_KEYS", raising=False)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = run(["serve", "--open", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(tmp_path / "d")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and f"cannot listen on 127.0.0.1:{port}" in err and "--port" in err
    assert not (tmp_path / "d").exists()  # nothing was set up for a server that could not start
