"""Several service processes on one database, for real: API processes, worker processes, ``kill -9``.

Each test starts real ``advisor`` processes on loopback ports, sends 60 jobs (real probes on a
small one-task table, about a second each), kills a process that runs jobs twice with SIGKILL
(starting it again after the first kill) and then checks, from the store's run records and the
processes' own logs, that every job ended exactly once, that no job ever had two runners at the
same time, and that a dead runner's jobs moved on within the lease plus 10 s.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from api.storage import SQLJobStore
from benchmarks.scenarios import make_scenario
from tests.api.conftest import ALICE, SPEC, auth
from tests.api.test_server import ROOT, free_port

JOBS = 60
LEASE_S = 4.0
#: Each job may be interrupted by both kills and still finish.
MAX_ATTEMPTS = 4


@dataclass
class Process:
    name: str
    args: list[str]
    log: Path
    popen: subprocess.Popen
    port: int | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid


@dataclass
class Cluster:
    """The processes of one service, all on one database and data dir."""

    tmp: Path
    database_url: str
    env: dict[str, str]
    processes: list[Process] = field(default_factory=list)
    killed: dict[int, float] = field(default_factory=dict)  # pid -> when it was killed (epoch seconds)

    def start(self, name: str, *args: str, port: int | None = None) -> Process:
        log = self.tmp / f"{name}-{len(self.processes)}.log"
        command = [sys.executable, "-m", "advisor", *args, "--database-url", self.database_url,
                   "--data-dir", str(self.tmp / "data")]  # fmt: skip
        if port is not None:
            command += ["--port", str(port)]
        with log.open("w") as out:
            popen = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        process = Process(name, list(args), log, popen, port)
        self.processes.append(process)
        if port is not None:
            self.wait_ready(process)
        return process

    def wait_ready(self, process: Process) -> None:
        deadline = time.monotonic() + 90
        while True:
            assert process.popen.poll() is None, process.log.read_text()[-2000:]
            try:
                if httpx.get(f"http://127.0.0.1:{process.port}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"{process.name} did not become ready in 90 s"
            time.sleep(0.2)

    def kill(self, process: Process) -> None:
        process.popen.send_signal(signal.SIGKILL)
        self.killed[process.pid] = time.time()
        process.popen.wait(10)

    def api(self) -> str:
        """A live process that serves HTTP."""
        for process in self.processes:
            if process.port is not None and process.popen.poll() is None:
                return f"http://127.0.0.1:{process.port}"
        raise AssertionError("no API process is alive")

    def stop(self) -> None:
        for process in self.processes:
            if process.popen.poll() is None:
                process.popen.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.popen.wait(30)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait()


@contextmanager
def cluster(tmp: Path, database_url: str) -> Iterator[Cluster]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADVISOR_")}
    env.update(
        ADVISOR_API_KEYS=ALICE, ADVISOR_LEASE_S=str(LEASE_S), ADVISOR_MAX_ATTEMPTS=str(MAX_ATTEMPTS),
        ADVISOR_MAX_QUEUED=str(2 * JOBS), ADVISOR_PROBE_JOBS="1", PYTHONUNBUFFERED="1",
    )  # fmt: skip
    running = Cluster(tmp, database_url, env)
    try:
        yield running
    finally:
        running.stop()


def submit_all(service: Cluster, data: Path) -> list[str]:
    """Send the jobs, alternating between the API processes; every one is accepted."""
    apis = [f"http://127.0.0.1:{p.port}" for p in service.processes if p.port is not None]
    ids = []
    for i in range(JOBS):
        response = httpx.post(
            f"{apis[i % len(apis)]}/v1/jobs", headers=auth(ALICE), timeout=30,
            files={"file": (data.name, data.read_bytes())},
            data={"spec": json.dumps(SPEC), "budget": "fast", "time_limit": "5", "seed": str(i)},
        )  # fmt: skip
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    assert len(set(ids)) == JOBS
    return ids


def statuses(service: Cluster, ids: list[str]) -> dict[str, str]:
    listed = httpx.get(f"{service.api()}/v1/jobs", headers=auth(ALICE), params={"limit": 100}, timeout=10).json()
    found = {job["id"]: job["status"] for job in listed["items"]}
    return {job_id: found.get(job_id, "missing") for job_id in ids}


def holds_a_running_job(store: SQLJobStore, process: Process, ids: list[str]) -> bool:
    """``process`` runs a job and is inside its probes (past the claim, its log line written)."""
    return any(
        (job := store.get(job_id)).status == "running"
        and (job.lease_holder or "").split(":")[1:2] == [str(process.pid)]
        and job.progress_phase not in {"queued", "starting"}
        for job_id in ids
    )


def kill_mid_run(service: Cluster, store: SQLJobStore, victim: Process, ids: list[str], *, after: int) -> None:
    """Once ``after`` jobs have ended, SIGKILL ``victim`` while it holds a running job."""
    deadline = time.monotonic() + 180
    while True:
        ended = sum(s in {"succeeded", "failed", "cancelled"} for s in statuses(service, ids).values())
        if ended >= after and holds_a_running_job(store, victim, ids):
            service.kill(victim)
            return
        assert time.monotonic() < deadline, f"{victim.name} never held a running job after {after} ended"
        time.sleep(0.05)


def wait_all_ended(service: Cluster, ids: list[str], timeout: float = 300) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        now = statuses(service, ids)
        if all(s in {"succeeded", "failed", "cancelled"} for s in now.values()):
            return now
        assert time.monotonic() < deadline, {s: list(now.values()).count(s) for s in set(now.values())}
        time.sleep(0.5)


def check_runs(service: Cluster, store: SQLJobStore, ids: list[str], final: dict[str, str]) -> int:
    """Every job ended exactly once; its runs never overlap; a dead runner's job moved on in time.

    Returns how many runs the kills cut short (the test requires some: else nothing was tested).
    """
    started_in_logs: dict[str, int] = {}
    for process in service.processes:
        for job_id in re.findall(r"job ([0-9a-f]{32}): started", process.log.read_text(errors="replace")):
            started_in_logs[job_id] = started_in_logs.get(job_id, 0) + 1
    lost = 0
    for job_id in ids:
        assert final[job_id] == "succeeded", (job_id, final[job_id], store.get(job_id).error)
        runs = store.runs(job_id)
        assert [r.outcome for r in runs].count("succeeded") == 1 and runs[-1].outcome == "succeeded", runs
        assert [r.attempt for r in runs] == list(range(1, len(runs) + 1)), runs
        assert started_in_logs.get(job_id) == len(runs), (job_id, started_in_logs.get(job_id), runs)
        for before, after in itertools.pairwise(runs):
            # One runner at a time: a run ends (or is found dead) before the next one starts ...
            assert before.ended_at is not None and before.ended_at <= after.started_at, runs
            assert before.outcome == "lost", runs
            pid = int(before.holder.split(":")[1])
            # ... only a killed process ever loses a job ...
            assert pid in service.killed, (f"a live process lost job {job_id}", runs)
            # ... and the job runs again within the lease plus 10 s of its runner's death.
            died = datetime.fromtimestamp(service.killed[pid], UTC)
            assert (after.started_at - died).total_seconds() <= LEASE_S + 10, (runs, died)
            lost += 1
    return lost


@pytest.fixture(scope="module")
def one_task_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scale") / "one_task.csv"
    make_scenario(n_tasks=1, rows_per_task=60, n_features=3, seed=1).frame.to_csv(path, index=False)
    return path


def test_postgresql_two_api_and_two_worker_processes_survive_two_kills(
    postgresql_server: str, tmp_path: Path, one_task_csv: Path
) -> None:
    import uuid

    import psycopg

    name = f"advisor_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgresql_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = postgresql_server.rsplit("/", 1)[0] + f"/{name}"
    store = SQLJobStore(url)
    try:
        with cluster(tmp_path, url) as service:
            for _ in range(2):
                service.start("api", "serve", "--workers", "0", port=free_port())
            ids = submit_all(service, one_task_csv)  # queued before any worker runs: work must move
            victim = service.start("worker", "worker", "--workers", "2")
            service.start("worker", "worker", "--workers", "2")
            kill_mid_run(service, store, victim, ids, after=10)
            victim = service.start("worker", "worker", "--workers", "2")  # the platform restarts it
            kill_mid_run(service, store, victim, ids, after=30)
            final = wait_all_ended(service, ids)
            lost = check_runs(service, store, ids, final)
    finally:
        store.close()
    assert lost >= 2  # each kill cut at least one running job short
    assert len(service.killed) == 2


def test_sqlite_two_processes_on_one_host_survive_two_kills(tmp_path: Path, one_task_csv: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    store = SQLJobStore(url)
    try:
        with cluster(tmp_path, url) as service:
            victim = service.start("serve", "serve", "--workers", "2", port=free_port())
            service.start("serve", "serve", "--workers", "2", port=free_port())
            ids = submit_all(service, one_task_csv)
            kill_mid_run(service, store, victim, ids, after=10)
            victim = service.start("serve", "serve", "--workers", "2", port=free_port())
            kill_mid_run(service, store, victim, ids, after=30)
            final = wait_all_ended(service, ids)
            lost = check_runs(service, store, ids, final)
    finally:
        store.close()
    assert lost >= 2
    assert len(service.killed) == 2
