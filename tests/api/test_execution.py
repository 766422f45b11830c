"""Execution: the real probes behind the API report progress, stop when cancelled, and survive shutdowns."""

from __future__ import annotations

import threading
import time

import pytest

from advisor import Advisor
from advisor.exceptions import BudgetExhausted, Cancelled
from api import create_app
from benchmarks.scenarios import make_scenario
from probes.budget import Budget
from tests.api.conftest import ALICE, SPEC, auth, serving, upload, wait_for


def test_budget_check_raises_cancelled_and_children_share_the_flag() -> None:
    flag = threading.Event()
    budget = Budget(100.0, cancelled=flag.is_set)
    child = budget.sub(0.5).sub(seconds=1.0)
    budget.check("epoch 1")
    child.check("epoch 1")
    flag.set()
    with pytest.raises(Cancelled, match="during epoch 2"):
        child.check("epoch 2")
    assert not isinstance(Cancelled("x"), BudgetExhausted)  # never swallowed as "keep the partial result"
    now = [0.0]
    with pytest.raises(BudgetExhausted):
        timed = Budget(1.0, clock=lambda: now[0])
        now[0] = 2.0
        timed.check()


def test_sdk_stops_at_the_first_budget_check_once_cancelled(single_frame) -> None:
    started = time.perf_counter()
    with pytest.raises(Cancelled):
        Advisor(budget="fast", time_limit=30, cancel=lambda: True).recommend(single_frame, **SPEC)
    assert time.perf_counter() - started < 15


@pytest.mark.anyio
async def test_real_job_reports_progress_and_stops_when_cancelled(settings, tmp_path) -> None:
    """With the SDK runner: progress from the probe runner shows on the job; DELETE stops it at a budget check."""
    frame = make_scenario(n_tasks=4, rows_per_task=300, n_features=4, seed=2).frame
    data = tmp_path / "four.csv"
    frame.to_csv(data, index=False)
    app = create_app(settings)  # the real runner
    async with serving(app) as http:
        job = (await http.post("/v1/jobs", headers=auth(ALICE), **upload(data, time_limit=60))).json()
        phases = []
        deadline = time.monotonic() + 60
        while True:
            state = (await http.get(job["links"]["self"], headers=auth(ALICE))).json()
            phases.append((state["progress"]["phase"], state["progress"]["fraction"]))
            if state["progress"]["phase"] == "probe" and state["progress"]["fraction"] > 0:
                break
            assert state["status"] in {"queued", "running"} and time.monotonic() < deadline, state
            await _sleep(0.1)
        asked = time.monotonic()
        response = await http.delete(job["links"]["self"], headers=auth(ALICE))
        assert response.status_code == 202
        done = await wait_for(http, job["id"], timeout=30)
        stopped_after = time.monotonic() - asked
    assert done["status"] == "cancelled" and done["error"]["code"] == "cancelled"
    assert stopped_after < 15, f"took {stopped_after:.1f} s to stop"
    assert ("starting", 0.0) in phases or ("queued", 0.0) in phases


@pytest.mark.anyio
async def test_shutdown_puts_a_running_job_back_in_the_queue(settings, runner, tiny_csv) -> None:
    runner.hold()
    first = create_app(settings, runner=runner)
    async with serving(first) as http:
        job = (await http.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv))).json()
        assert runner.started.wait(10)
    runner.release()
    second = create_app(settings, runner=runner)
    async with serving(second) as http:
        done = await wait_for(http, job["id"])
    assert done["status"] == "succeeded" and done["attempts"] == 1  # the interrupted start was not counted
    assert runner.calls == [job["id"], job["id"]]


async def _sleep(seconds: float) -> None:
    import anyio

    await anyio.sleep(seconds)


@pytest.mark.anyio
async def test_a_verify_job_runs_the_full_budget_and_is_read_at_its_own_link(settings, tmp_path) -> None:
    from advisor.schemas import Verification

    data = tmp_path / "one.csv"
    make_scenario(n_tasks=1, rows_per_task=60, n_features=3, seed=3).frame.to_csv(data, index=False)
    spec = {"targets": ["y"]}
    async with serving(create_app(settings)) as http:  # the real runner
        job = (await http.post("/v1/jobs", headers=auth(ALICE), **upload(data, spec, kind="verify", runs=1))).json()
        assert (job["kind"], job["runs"], job["status"]) == ("verify", 1, "queued")
        done = await wait_for(http, job["id"], timeout=120)
        assert done["status"] == "succeeded", done
        body = (await http.get(done["links"]["verification"], headers=auth(ALICE))).json()
        wrong = await http.get(done["links"]["recommendation"], headers=auth(ALICE))
        refused = {
            "over the runs cap": await http.post(
                "/v1/jobs", headers=auth(ALICE), **upload(data, spec, kind="verify", runs=4)
            ),
            "with a time limit": await http.post(
                "/v1/jobs", headers=auth(ALICE), **upload(data, spec, kind="verify", time_limit=30)
            ),
            "on the waiting door": await http.post(
                "/v1/recommend", headers=auth(ALICE), **upload(data, spec, kind="verify")
            ),
            "runs on a recommend job": await http.post("/v1/jobs", headers=auth(ALICE), **upload(data, spec, runs=2)),
        }
        same = (await http.post("/v1/jobs", headers=auth(ALICE), **upload(data, spec))).json()
    result = Verification.model_validate(body)
    assert result.runs == 1 and result.paradigm == "stl"
    assert wrong.status_code == 422 and "verification" in wrong.json()["message"]
    assert {why: r.status_code for why, r in refused.items()} == dict.fromkeys(refused, 422)
    assert refused["over the runs cap"].json()["code"] == "limit_exceeded"
    assert same["kind"] == "recommend" and same["id"] != job["id"]  # the same data, another kind: another job


def test_the_client_verifies_through_the_service(sync_http) -> None:
    from advisor import AdvisorClient

    frame = make_scenario(n_tasks=1, rows_per_task=60, n_features=3, seed=3).frame
    client = AdvisorClient("http://test", api_key=ALICE, seed=2, http_client=sync_http(None))  # the real runner
    result = client.verify(frame, runs=1, targets="y")
    assert result.runs == 1 and result.seed == 2 and result.paradigm == "stl"
