"""``AdvisorClient`` against the real app in-process: same signature and result as the SDK, errors mapped back."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest

from advisor import Advisor, AdvisorClient, Recommendation
from advisor.exceptions import (
    AdvisorError,
    AuthenticationError,
    Cancelled,
    ColumnNotFoundError,
    DataFileNotFoundError,
    InvalidSpecError,
    JobNotFoundError,
    JobNotReadyError,
    ServiceError,
    WaitTimeoutError,
    error_for_code,
)
from tests.api.conftest import ALICE, BOB


def test_recommend_has_the_sdks_signature() -> None:
    assert inspect.signature(AdvisorClient.recommend) == inspect.signature(Advisor.recommend)
    assert (
        inspect.signature(AdvisorClient.submit).parameters.keys()
        == inspect.signature(Advisor.recommend).parameters.keys()
    )


def test_recommend_through_the_service_equals_the_sdk_in_schema(
    sync_http, single_frame, real_result: str, tmp_path: Path
) -> None:
    """The real probes behind the API: the client's Recommendation has exactly the SDK's fields and choice."""
    data = tmp_path / "one_task.csv"
    single_frame.to_csv(data, index=False)
    client = AdvisorClient(
        "http://test", api_key=ALICE, time_limit=5, seed=0, poll_interval=0.1, http_client=sync_http(None)
    )
    remote = client.recommend(str(data), targets="y", task_column="task")
    local = Recommendation.from_json(real_result)  # Advisor(budget="fast", time_limit=5, seed=0) on the same rows
    assert isinstance(remote, Recommendation)
    remote_json, local_json = json.loads(remote.to_json()), json.loads(local.to_json())
    assert remote_json.keys() == local_json.keys() == Recommendation.model_json_schema()["properties"].keys()
    assert remote.data.source["name"] == "one_task.csv"  # the user's file name, not the stored hash
    assert (remote.paradigm, remote.seed, remote.goal) == (local.paradigm, local.seed, local.goal)
    assert [e.paradigm for e in remote.ranking] == [e.paradigm for e in local.ranking]


def test_dataframe_is_uploaded_as_a_file(sync_http, single_frame) -> None:
    http = sync_http(None)
    client = AdvisorClient("http://test", api_key=ALICE, time_limit=5, poll_interval=0.1, http_client=http)
    job = client.submit(single_frame, targets=["y"], task_column="task")
    assert job.last.raw["data"]["name"] == "data.parquet"
    state = job.wait(timeout=60)
    assert state.status == "succeeded" and state.finished_at is not None
    rec = job.result()
    assert rec.paradigm == "stl" and rec.data.n_rows == len(single_frame)
    assert client.job(job.id).status().status == "succeeded"
    assert [j.id for j in client.jobs()] == [job.id]
    assert [j.id for j in client.iter_jobs(status="succeeded", page_size=1)] == [job.id]
    assert list(client.iter_jobs(status="failed")) == []


def test_job_handle_wait_result_report_cancel(sync_http, runner, tiny_csv: Path, capsys) -> None:
    client = AdvisorClient("http://test", api_key=ALICE, poll_interval=0.05, http_client=sync_http())
    runner.hold()
    job = client.submit(tiny_csv, targets="y", task_column="task")
    with pytest.raises(JobNotReadyError):
        job.result()
    with pytest.raises(WaitTimeoutError):
        job.wait(timeout=0.2)
    seen = []
    runner.release()
    final = job.wait(progress=lambda phase, fraction, message: seen.append((phase, fraction)))
    assert final.status == "succeeded" and seen[-1] == ("done", 1.0)
    assert isinstance(job.result(), Recommendation)
    assert job.report().lstrip().lower().startswith("<!doctype html")
    again = client.submit(tiny_csv, targets="y", task_column="task")
    assert again.id == job.id and again.last.reused
    runner.hold()
    other = client.submit(tiny_csv, targets="y", task_column="task", metric="rmse")
    assert other.cancel().cancel_requested
    assert other.wait(progress=True).status == "cancelled"
    with pytest.raises(Cancelled):
        other.result()
    runner.release()


def test_api_errors_come_back_as_the_sdks_types(sync_http, tiny_csv: Path) -> None:
    http = sync_http()
    client = AdvisorClient("http://test", api_key=ALICE, http_client=http)
    with pytest.raises(ColumnNotFoundError, match="price"):
        client.recommend(tiny_csv, targets="price")
    with pytest.raises(InvalidSpecError):
        client.submit(tiny_csv, targets="y", goal="target_task")
    with pytest.raises(DataFileNotFoundError):
        client.submit(tiny_csv.with_name("missing.csv"), targets="y")
    with pytest.raises(AuthenticationError):
        AdvisorClient("http://test", api_key="not-a-key-0123456789", http_client=http).jobs()
    with pytest.raises(AuthenticationError):
        AdvisorClient("http://test", http_client=http).jobs()
    job = client.submit(tiny_csv, targets="y", task_column="task")
    with pytest.raises(JobNotFoundError):
        AdvisorClient("http://test", api_key=BOB, http_client=http).job(job.id)


def test_a_failed_job_raises_its_own_error(sync_http, tiny_csv: Path) -> None:
    def broken(job, path, progress, cancelled):
        raise ColumnNotFoundError("Column 'x9' vanished.", details={"column": "x9"})

    client = AdvisorClient("http://test", api_key=ALICE, poll_interval=0.05, http_client=sync_http(broken))
    job = client.submit(tiny_csv, **{"targets": "y", "task_column": "task"})
    assert job.wait(timeout=30).error["code"] == "column_not_found"
    with pytest.raises(ColumnNotFoundError) as raised:
        job.result()
    assert raised.value.details == {"column": "x9"}


def test_unknown_codes_and_unreachable_services() -> None:
    error = error_for_code("brand_new_code", "Something new.", {"a": 1})
    assert isinstance(error, ServiceError) and isinstance(error, AdvisorError) and error.code == "brand_new_code"
    assert type(error_for_code("too_many_columns", "wide")).__name__ == "TooManyColumnsError"
    with pytest.raises(ServiceError, match="Cannot reach"):
        AdvisorClient("http://127.0.0.1:9", api_key=ALICE, timeout=2).jobs()


def test_importing_advisor_does_not_import_the_service() -> None:
    import subprocess
    import sys

    code = (
        "import sys, advisor; advisor.AdvisorClient; "
        "print(sorted(m for m in ('fastapi', 'uvicorn', 'sqlalchemy', 'torch', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_verify_refuses_an_unknown_spec_field_before_any_request() -> None:
    from advisor.exceptions import InvalidRequestError

    client = AdvisorClient("http://127.0.0.1:9", api_key=ALICE)  # nothing listens there: no request is made
    with pytest.raises(InvalidRequestError, match=r"unknown argument\(s\) target") as caught:
        client.verify("data.csv", target="y")  # the field is 'targets'
    assert caught.value.details == {"unknown": ["target"]}
