"""The job table is the queue: several service processes on one database share the work.

Each app below is one service process (its own store connection, worker threads and lease
holder) on one SQLite database and data folder, as two processes on one host would be.
"""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import pytest

from api import create_app
from tests.api.conftest import ALICE, StandInRunner, auth, serving, upload, wait_for

pytestmark = pytest.mark.anyio


def _twin(settings, tmp_path: Path, **update):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    return settings.model_copy(update={"database_url": url, "data_dir": tmp_path / "shared", **update})


async def test_work_queued_in_one_process_is_run_once_by_any(settings, real_result, tiny_csv, tmp_path) -> None:
    busy, idle = StandInRunner(real_result), StandInRunner(real_result)
    busy.hold()  # the accepting process is busy with its first job: the others must move
    first = create_app(_twin(settings, tmp_path, workers=1), runner=busy)
    second = create_app(_twin(settings, tmp_path, workers=1), runner=idle)
    async with serving(first) as a, serving(second) as b:
        ids = [
            (await a.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv, seed=i))).json()["id"] for i in range(4)
        ]
        for job_id in ids[1:]:
            deadline = time.monotonic() + 20
            while (await b.get(f"/v1/jobs/{job_id}", headers=auth(ALICE))).json()["status"] != "succeeded":
                assert time.monotonic() < deadline, "a job queued by the busy process was not taken"
                await anyio.sleep(0.1)
        busy.release()
        assert (await wait_for(a, ids[0]))["status"] == "succeeded"
    ran = busy.calls + idle.calls
    assert sorted(ran) == sorted(ids) and len(set(ran)) == len(ran)  # every job exactly once
    assert len(idle.calls) >= 3


async def test_a_job_whose_runner_died_is_taken_over_after_its_lease(settings, real_result, tiny_csv, tmp_path) -> None:
    runner = StandInRunner(real_result)
    live = create_app(_twin(settings, tmp_path, workers=1, lease_s=3), runner=runner)
    async with serving(live) as http:
        runner.hold()
        busy = (await http.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv))).json()["id"]
        assert await anyio.to_thread.run_sync(runner.started.wait, 10)
        store = live.state.service.store
        # The live process renews its lease: another process starting now leaves its job alone.
        assert store.recover(max_attempts=3) == ([], [])
        assert store.get(busy).status == "running"
        # A job another process claimed and then died with (its 1 s lease is never renewed) ...
        orphan = (await http.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv, seed=9))).json()["id"]
        assert store.claim(orphan, holder="dead-process", lease_s=1) is not None  # the one worker is busy
        died = time.monotonic()
        runner.release()
        assert (await wait_for(http, busy))["status"] == "succeeded"
        # ... is re-queued by the live process once the lease ran out, and run there.
        done = await wait_for(http, orphan, timeout=30)
        assert done["status"] == "succeeded" and time.monotonic() - died < 1 + 3 + 10
        assert store.get(orphan).attempts == 2 and runner.calls.count(orphan) == 1


async def test_an_api_only_process_and_a_worker_process_share_the_jobs(settings, tiny_csv, tmp_path) -> None:
    import os
    import signal
    import subprocess
    import sys

    api_only = create_app(_twin(settings, tmp_path, workers=0), runner=StandInRunner("never used"))
    async with serving(api_only) as http:
        job_id = (await http.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv, time_limit=5))).json()["id"]
        await anyio.sleep(1.5)
        assert (await http.get(f"/v1/jobs/{job_id}", headers=auth(ALICE))).json()["status"] == "queued"
        env = {k: v for k, v in os.environ.items() if not k.startswith("ADVISOR_")}
        worker = subprocess.Popen(
            [sys.executable, "-m", "advisor", "worker", "--database-url", f"sqlite:///{tmp_path / 'shared.db'}",
             "--data-dir", str(tmp_path / "shared")],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        try:
            done = await wait_for(http, job_id, timeout=120)
        finally:
            worker.send_signal(signal.SIGTERM)
            out, _ = worker.communicate(timeout=60)
    assert done["status"] == "succeeded", out
    assert worker.returncode == 0 and f"job {job_id}: succeeded" in out
