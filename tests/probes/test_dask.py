"""The probes on a ``dask.distributed`` cluster give the in-process results, bit for bit.

A ``LocalCluster`` of two worker processes, one whose worker is killed mid-run, and a scheduler and
workers started separately with Dask's own commands on loopback.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

distributed = pytest.importorskip(
    "distributed", reason='dask.distributed is in the dask extra: pip install -e ".[dask]"'
)

from advisor import Advisor  # noqa: E402
from advisor.exceptions import InvalidRequestError  # noqa: E402
from probes.data import load_taskset  # noqa: E402
from probes.runner import run_probes  # noqa: E402
from tests.probes.test_reproducible import fingerprint  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo():
    with resources.as_file(resources.files("advisor.examples") / "related_tasks.csv.gz") as path:
        return load_taskset(path, targets="y", task_column="task")


@pytest.fixture(scope="module")
def in_process(demo) -> dict[str, Any]:
    return fingerprint(run_probes(demo, budget="fast", seed=0, n_jobs=1))


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, worker_dashboard_address=None
    ) as local:
        yield local


def _without_timings(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if k not in {"seconds", "seconds_used"}}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def test_a_local_cluster_gives_the_in_process_results(demo, in_process, cluster) -> None:
    assert fingerprint(run_probes(demo, budget="fast", seed=0, scheduler=cluster.scheduler_address)) == in_process


def test_recommend_on_a_cluster_gives_the_same_json(demo, cluster) -> None:
    frame = demo_frame()
    here = Advisor(budget="fast", seed=0, n_jobs=1).recommend(frame, targets="y", task_column="task")
    there = Advisor(budget="fast", seed=0, scheduler=cluster.scheduler_address).recommend(
        frame, targets="y", task_column="task"
    )
    assert _without_timings(json.loads(there.to_json())) == _without_timings(json.loads(here.to_json()))


def test_a_worker_killed_mid_run_does_not_change_the_result(demo, in_process, cluster) -> None:
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        pids = list(client.run(os.getpid).values())
        done = threading.Event()
        seen = [0]

        def progress(phase: str, fraction: float, message: str) -> None:
            if phase == "probe":
                seen[0] += 1
                if seen[0] == 4:
                    done.set()

        killed: list[int] = []

        def killer() -> None:
            if done.wait(120):
                os.kill(pids[0], signal.SIGKILL)  # the nanny starts a new worker; Dask reruns its units
                killed.append(pids[0])

        thread = threading.Thread(target=killer)
        thread.start()
        report = run_probes(demo, budget="fast", seed=0, scheduler=client, progress=progress)
        thread.join(10)
    assert killed, "no unit finished: the worker was never killed"
    assert fingerprint(report) == in_process


def test_a_separately_started_scheduler_and_workers(demo, in_process, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    log = (tmp_path / "dask.log").open("w")
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port),
         "--no-dashboard"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    worker = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nworkers", "2", "--nthreads", "1",
         "--no-dashboard"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        with distributed.Client(address, timeout=60, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=90)
        assert fingerprint(run_probes(demo, budget="fast", seed=0, scheduler=address)) == in_process
        from benchmarks.scenarios import make_scenario

        frame = make_scenario(n_tasks=2, rows_per_task=50, n_features=3, seed=6).frame
        spec = {"targets": "y", "task_column": "task"}
        for call, options in (("recommend", {}), ("verify", {"paradigms": ["stl", "mtl"], "runs": 2})):
            here = getattr(Advisor(budget="fast", seed=0, n_jobs=1), call)(frame, **spec, **options)
            there = getattr(Advisor(budget="fast", seed=0, scheduler=address), call)(frame, **spec, **options)
            assert _without_timings(json.loads(there.to_json())) == _without_timings(json.loads(here.to_json())), call
    finally:
        for process in (worker, scheduler):
            process.send_signal(signal.SIGTERM)
        for process in (worker, scheduler):
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()


@pytest.mark.parametrize("bad", ["not an address at all", "tcp://host:port/x", 42])
def test_a_bad_scheduler_is_refused_with_its_field(bad) -> None:
    with pytest.raises(InvalidRequestError, match="scheduler") as caught:
        Advisor(scheduler=bad)
    assert caught.value.details == {"field": "scheduler"}


def test_the_scheduler_defaults_to_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("ADVISOR_DASK_ADDRESS", "tcp://10.0.0.5:8786")
    assert Advisor().scheduler == "tcp://10.0.0.5:8786"
    monkeypatch.delenv("ADVISOR_DASK_ADDRESS")
    assert Advisor().scheduler is None


def demo_frame():
    import pandas as pd

    with resources.as_file(resources.files("advisor.examples") / "related_tasks.csv.gz") as path:
        return pd.read_csv(path)


def test_verify_on_a_cluster_gives_the_same_json(cluster) -> None:
    from benchmarks.scenarios import make_scenario

    frame = make_scenario(n_tasks=2, rows_per_task=50, n_features=3, seed=6).frame
    options = {"targets": "y", "task_column": "task", "paradigms": ["stl", "mtl"], "runs": 2}  # runs side by side
    here = Advisor(seed=0, n_jobs=1).verify(frame, **options)
    there = Advisor(seed=0, scheduler=cluster.scheduler_address).verify(frame, **options)
    assert _without_timings(json.loads(there.to_json())) == _without_timings(json.loads(here.to_json()))
