"""The jobs API in-process: submit (multipart and JSON), follow, read, list, cancel, limits and error bodies."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import httpx
import pytest

from advisor.schemas import Recommendation
from tests.api.conftest import ALICE, SPEC, StandInRunner, auth, serving, upload, wait_for

pytestmark = pytest.mark.anyio


def assert_error(response: httpx.Response, status: int, code: str) -> dict:
    """An error is exactly ``{code, message, details}`` with the expected status, and never a traceback."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == code and body["message"] and "Traceback" not in body["message"]
    return body


async def test_multipart_job_runs_to_a_recommendation_and_report(client: httpx.AsyncClient, tiny_csv: Path) -> None:
    response = await client.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv, time_limit=5, seed=3))
    assert response.status_code == 202
    job = response.json()
    assert response.headers["location"] == f"/v1/jobs/{job['id']}" == job["links"]["self"]
    assert job["status"] == "queued" and job["seed"] == 3 and job["time_limit"] == 5.0
    assert job["data"]["name"] == "tiny.csv" and job["data"]["bytes"] == tiny_csv.stat().st_size
    done = await wait_for(client, job["id"])
    assert done["status"] == "succeeded" and done["progress"]["fraction"] == 1.0
    assert done["started_at"] and done["finished_at"] >= done["started_at"] >= done["created_at"]
    rec = await client.get(job["links"]["recommendation"], headers=auth(ALICE))
    assert rec.status_code == 200 and rec.headers["content-type"] == "application/json"
    assert Recommendation.from_json(rec.content).paradigm in {"stl", "mtl", "transfer", "meta"}
    report = await client.get(job["links"]["report"], headers=auth(ALICE))
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    assert report.text.lstrip().lower().startswith("<!doctype html")
    assert report.headers["x-content-type-options"] == "nosniff"
    meta_policy = report.text.split('http-equiv="Content-Security-Policy" content="', 1)[1].split('"', 1)[0]
    assert report.headers["content-security-policy"].startswith(meta_policy + ";")  # the page's own, and no framing
    again = await client.get(job["links"]["report"], headers=auth(ALICE))  # served from the cache
    assert again.text == report.text


async def test_json_records_job(client: httpx.AsyncClient, tiny_frame) -> None:
    body = {"records": tiny_frame.to_dict("records"), "spec": SPEC, "time_limit": 5}
    response = await client.post("/v1/jobs", headers=auth(ALICE), json=body)
    assert response.status_code == 202
    job = response.json()
    assert job["data"]["name"] == "records.jsonl"
    assert (await wait_for(client, job["id"]))["status"] == "succeeded"


async def test_result_is_409_until_the_job_is_done(
    client: httpx.AsyncClient, runner: StandInRunner, tiny_csv: Path
) -> None:
    runner.hold()
    job = (await client.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv))).json()
    body = assert_error(await client.get(job["links"]["recommendation"], headers=auth(ALICE)), 409, "job_not_ready")
    assert body["details"]["status"] in {"queued", "running"}
    assert_error(await client.get(job["links"]["report"], headers=auth(ALICE)), 409, "job_not_ready")
    runner.release()
    assert (await wait_for(client, job["id"]))["status"] == "succeeded"
    assert (await client.get(job["links"]["recommendation"], headers=auth(ALICE))).status_code == 200


async def test_same_data_spec_seed_and_budget_return_the_existing_job(
    client: httpx.AsyncClient, runner: StandInRunner, tiny_csv: Path
) -> None:
    first = (await client.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv, seed=1))).json()
    await wait_for(client, first["id"])
    # The same spec written differently (a target as a string) is the same job, and its result is served.
    same_spec = {"targets": "y", "task_column": "task", "goal": "all_tasks"}
    again = await client.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv, same_spec, seed=1))
    assert again.status_code == 200 and again.json()["reused"] is True
    assert again.json()["id"] == first["id"] and again.json()["status"] == "succeeded"
    assert runner.calls == [first["id"]]  # not run twice
    other_seed = await client.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv, seed=2))
    assert other_seed.status_code == 202 and other_seed.json()["id"] != first["id"]
    other_budget = await client.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv, seed=1, time_limit=7))
    assert other_budget.status_code == 202 and other_budget.json()["id"] != first["id"]


async def test_recommend_waits_for_small_jobs_and_answers_202_otherwise(
    client: httpx.AsyncClient, runner: StandInRunner, tiny_csv: Path
) -> None:
    quick = await client.post("/v1/recommend", headers=auth(ALICE), **upload(tiny_csv))
    assert quick.status_code == 200
    assert Recommendation.from_json(quick.content) == Recommendation.from_json(runner.result)
    runner.hold()
    slow = await client.post("/v1/recommend", headers=auth(ALICE), params={"wait": 0.3}, **upload(tiny_csv, seed=9))
    assert slow.status_code == 202 and slow.json()["status"] in {"queued", "running"}
    assert slow.headers["location"] == slow.json()["links"]["self"]
    runner.release()
    await wait_for(client, slow.json()["id"])


async def test_list_is_paginated_and_filtered(client: httpx.AsyncClient, tiny_csv: Path) -> None:
    ids = []
    for seed in range(3):
        ids.append((await client.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv, seed=seed))).json()["id"])
    for job_id in ids:
        await wait_for(client, job_id)
    page = (await client.get("/v1/jobs", headers=auth(ALICE), params={"limit": 2})).json()
    assert page["total"] == 3 and len(page["items"]) == 2 and page["next"] == "/v1/jobs?limit=2&offset=2"
    assert [j["id"] for j in page["items"]] == ids[::-1][:2]  # newest first
    last = (await client.get(page["next"], headers=auth(ALICE))).json()
    assert [j["id"] for j in last["items"]] == [ids[0]] and last["next"] is None
    none = (await client.get("/v1/jobs", headers=auth(ALICE), params={"status": "failed"})).json()
    assert none["total"] == 0 and none["items"] == []
    assert_error(await client.get("/v1/jobs", headers=auth(ALICE), params={"limit": 0}), 422, "invalid_request")


async def test_cancel_a_queued_or_running_job_and_not_a_finished_one(
    client: httpx.AsyncClient, runner: StandInRunner, tiny_csv: Path
) -> None:
    runner.hold()
    running = (await client.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv, seed=1))).json()
    queued = (await client.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv, seed=2))).json()
    assert runner.started.wait(10)
    cancelled = await client.delete(f"/v1/jobs/{queued['id']}", headers=auth(ALICE))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    stopping = await client.delete(f"/v1/jobs/{running['id']}", headers=auth(ALICE))
    assert stopping.status_code == 202 and stopping.json()["cancel_requested"] is True
    done = await wait_for(client, running["id"])
    assert done["status"] == "cancelled" and done["error"]["code"] == "cancelled"
    assert_error(await client.get(running["links"]["recommendation"], headers=auth(ALICE)), 409, "cancelled")
    assert runner.calls == [running["id"]]  # the cancelled queued job never started
    runner.release()
    finished = (await client.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv, seed=3))).json()
    await wait_for(client, finished["id"])
    assert_error(await client.delete(f"/v1/jobs/{finished['id']}", headers=auth(ALICE)), 409, "job_finished")
    # A cancelled job is not reused: the same submission runs again.
    rerun = await client.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv, seed=2))
    assert rerun.status_code == 202 and rerun.json()["id"] != queued["id"]


# ------------------------------------------------------------------------------------- bad input


async def test_bad_spec_and_data_are_refused_at_submission_with_their_code(
    client: httpx.AsyncClient, tiny_csv: Path
) -> None:
    body = assert_error(
        await client.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv, {"targets": ["price"]})),
        422,
        "column_not_found",
    )
    assert "price" in body["message"] and str(tiny_csv.parent) not in json.dumps(body)
    assert_error(
        await client.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv, {"targets": ["y"], "goal": "nope"})),
        422,
        "invalid_spec",
    )
    bad_json = upload(tiny_csv)
    bad_json["data"]["spec"] = "{not json"
    assert_error(await client.post("/v1/jobs", headers=auth(ALICE), **bad_json), 422, "invalid_request")
    no_file = {"data": {"spec": json.dumps(SPEC)}, "files": {"other": ("x.csv", b"a\n1\n")}}
    assert_error(await client.post("/v1/jobs", headers=auth(ALICE), **no_file), 422, "invalid_request")
    # a field named like DatasetSpec's own constructor argument is an unknown field, not a crash
    body = assert_error(
        await client.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv, {**SPEC, "self": 1})), 422, "invalid_spec"
    )
    assert "self: unknown field" in body["message"]
    for time_limit in ("inf", "Infinity", "-inf", "nan"):  # non-finite limits are refused, not a 500 on the error body
        assert_error(
            await client.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv, time_limit=time_limit)),
            422,
            "invalid_request",
        )
    assert (await client.get("/v1/jobs", headers=auth(ALICE))).json()["total"] == 0  # nothing was queued


async def test_unreadable_and_unsupported_files(client: httpx.AsyncClient) -> None:
    spec = {"spec": json.dumps(SPEC)}
    exe = {"files": {"file": ("model.pkl", b"\x80\x04\x95pickle")}, "data": spec}
    assert_error(await client.post("/v1/jobs", headers=auth(ALICE), **exe), 415, "unsupported_format")
    garbage = {"files": {"file": ("data.csv", bytes(range(256)) * 20)}, "data": spec}
    response = await client.post("/v1/jobs", headers=auth(ALICE), **garbage)
    assert 400 <= response.status_code < 500 and set(response.json()) == {"code", "message", "details"}
    fake_gz = {"files": {"file": ("data.csv.gz", b"not gzip at all")}, "data": spec}
    response = await client.post("/v1/jobs", headers=auth(ALICE), **fake_gz)
    assert 400 <= response.status_code < 500


async def test_json_body_problems(client: httpx.AsyncClient, tiny_frame) -> None:
    records = tiny_frame.to_dict("records")
    post = client.post
    assert_error(
        await post("/v1/jobs", headers={**auth(ALICE), "content-type": "application/json"}, content=b"{oops"),
        422,
        "invalid_request",
    )
    assert_error(await post("/v1/jobs", headers=auth(ALICE), json=[1, 2]), 422, "invalid_request")
    deep = b"[" * 100_000  # nested past the JSON parser's recursion limit, well under the size cap
    for content in (deep, b'{"records": [{"x": 1}], "spec": "' + deep + b'"}'):
        body = assert_error(
            await post("/v1/jobs", headers={**auth(ALICE), "content-type": "application/json"}, content=content),
            422,
            "invalid_request",
        )
    body = assert_error(
        await post(
            "/v1/jobs", headers=auth(ALICE), files={"file": ("d.csv", b"x,y\n1,2\n")}, data={"spec": "[" * 100_000}
        ),
        422,
        "invalid_request",
    )
    assert "nested too deeply" in body["message"]
    assert_error(
        await post("/v1/jobs", headers=auth(ALICE), json={"records": [], "spec": SPEC}), 422, "invalid_request"
    )
    assert_error(await post("/v1/jobs", headers=auth(ALICE), json={"records": records}), 422, "invalid_request")
    assert_error(
        await post("/v1/jobs", headers=auth(ALICE), json={"records": records, "spec": SPEC, "seed": -1}),
        422,
        "invalid_request",
    )
    for option in ({"seed": True}, {"time_limit": True}):  # a boolean is not read as 1
        assert_error(
            await post("/v1/jobs", headers=auth(ALICE), json={"records": records, "spec": SPEC, **option}),
            422,
            "invalid_request",
        )
    huge = json.dumps({"records": records, "spec": SPEC})[:-1] + ', "time_limit": 1e400}'  # parses to infinity
    assert_error(
        await post("/v1/jobs", headers={**auth(ALICE), "content-type": "application/json"}, content=huge.encode()),
        422,
        "invalid_request",
    )
    assert_error(
        await post("/v1/jobs", headers=auth(ALICE), json={"records": records, "spec": SPEC, "colour": "red"}),
        422,
        "invalid_request",
    )
    assert_error(
        await post("/v1/jobs", headers={**auth(ALICE), "content-type": "text/plain"}, content=b"a,b\n1,2\n"),
        415,
        "unsupported_format",
    )


async def test_limits_answer_413_and_422(settings, runner, tiny_csv: Path, tiny_frame) -> None:
    from api import create_app

    tight = settings.model_copy(
        update={"max_upload_mb": 0.004, "max_rows": 50, "max_columns": 4, "max_tasks": 1, "max_time_limit_s": 30}
    )
    app = create_app(tight, runner=runner)
    async with serving(app) as http:
        # 6.6 kB file > 4 kB limit
        body = assert_error(await http.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv)), 413, "file_too_large")
        assert "MB" in body["message"]
        small = tiny_csv.parent / "small.csv"
        tiny_frame.head(60).to_csv(small, index=False)
        assert_error(await http.post("/v1/jobs", headers=auth(ALICE), **upload(small)), 413, "file_too_large")  # rows
        narrow = tiny_csv.parent / "narrow.csv"
        tiny_frame.head(40).to_csv(narrow, index=False)
        assert_error(await http.post("/v1/jobs", headers=auth(ALICE), **upload(narrow)), 413, "too_many_columns")
        three = tiny_csv.parent / "three.csv"
        tiny_frame.head(40)[["task", "x0", "y"]].assign(task=["a", "b"] * 20).to_csv(three, index=False)
        body = assert_error(await http.post("/v1/jobs", headers=auth(ALICE), **upload(three)), 422, "limit_exceeded")
        assert body["details"] == {"tasks": 2, "limit": 1}
        assert_error(
            await http.post("/v1/jobs", headers=auth(ALICE), **upload(three, time_limit=31)), 422, "limit_exceeded"
        )
        assert_error(
            await http.post("/v1/jobs", headers=auth(ALICE), **upload(three, budget="thorough")),
            422,
            "limit_exceeded",
        )
        big = {"records": [{"x": i, "y": i} for i in range(60)], "spec": {"targets": ["y"]}}
        body = assert_error(await http.post("/v1/jobs", headers=auth(ALICE), json=big), 413, "file_too_large")
        assert body["details"] == {"rows": 60, "limit": 50}  # the same answer as a file over the row cap


async def test_a_file_over_the_cell_limit_answers_413_before_it_is_parsed(
    settings, runner, tiny_csv, tiny_frame
) -> None:
    from api import create_app

    app = create_app(settings.model_copy(update={"max_cells": 100}), runner=runner)
    async with serving(app) as http:
        wide = tiny_csv.parent / "wide.csv"
        tiny_frame.head(30).to_csv(wide, index=False)  # 30 rows x 5+ columns > 100 cells
        body = assert_error(await http.post("/v1/jobs", headers=auth(ALICE), **upload(wide)), 413, "file_too_large")
        assert "cells" in body["message"] and body["details"]["limit"] == 100


async def test_a_streamed_upload_without_a_length_is_cut_off_at_the_limit(settings, runner) -> None:
    from api import create_app

    app = create_app(settings.model_copy(update={"max_upload_mb": 0.004}), runner=runner)
    sent = 0

    async def body():  # chunked: no Content-Length for the early check to see
        nonlocal sent
        yield b'--b\r\nContent-Disposition: form-data; name="spec"\r\n\r\n' + json.dumps(SPEC).encode()
        yield b'\r\n--b\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\nx,y\n'
        for _ in range(480):  # 30 MB
            sent += 1
            yield b"1,2\n" * 16_384
        yield b"\r\n--b--\r\n"

    async with serving(app) as http:
        headers = {**auth(ALICE), "content-type": "multipart/form-data; boundary=b"}
        response = await http.post("/v1/jobs", headers=headers, content=body())
        assert_error(response, 413, "file_too_large")
    assert sent < 40  # refused after ~1 MB, not after reading all 30 MB


async def test_queue_is_bounded(settings, runner, tiny_csv: Path) -> None:
    from api import create_app

    app = create_app(settings.model_copy(update={"max_queued": 1}), runner=runner)
    runner.hold()
    async with serving(app) as http:
        first = (await http.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv, seed=1))).json()
        assert runner.started.wait(10)  # first is running: one worker, so the next one waits
        second = await http.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv, seed=2))
        assert second.status_code == 202
        assert (await http.get(f"/v1/jobs/{second.json()['id']}", headers=auth(ALICE))).json()["status"] == "queued"
        full = await http.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv, seed=3))
        assert_error(full, 429, "queue_full")
        assert full.headers["retry-after"] == "30"
        for job_id, seed in ((first["id"], 1), (second.json()["id"], 2)):  # a retry is answered, however full
            again = await http.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv, seed=seed))
            assert again.status_code == 200 and again.json()["id"] == job_id
        runner.release()
        for job_id in (first["id"], second.json()["id"]):
            assert (await wait_for(http, job_id))["status"] == "succeeded"


async def test_unknown_routes_and_methods_answer_the_error_body(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/v2/nothing", headers=auth(ALICE)), 404, "not_found")
    response = await client.put("/v1/jobs", headers=auth(ALICE))
    assert_error(response, 405, "method_not_allowed")
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}  # HTTP requires it on 405
    response = await client.put("/v1/jobs/" + "a" * 32, headers=auth(ALICE))
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "DELETE"}
    response = await client.post("/openapi.json")  # not in the OpenAPI paths: Starlette's own header
    assert "GET" in response.headers["allow"]
    assert_error(await client.get("/v1/jobs/does-not-exist", headers=auth(ALICE)), 404, "job_not_found")


async def test_405_behind_a_proxy_prefix_names_the_methods(settings, runner) -> None:
    from api import create_app

    app = create_app(settings, runner=runner)
    transport = httpx.ASGITransport(app=app, root_path="/api")
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        response = await http.put("/api/v1/jobs", headers=auth(ALICE))
    assert_error(response, 405, "method_not_allowed")
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["workers"] == 1 and ready.json()["database"] == "ok"


async def test_gzipped_upload_is_read_in_its_format(client: httpx.AsyncClient, tmp_path: Path, tiny_csv: Path) -> None:
    packed = tmp_path / "tiny.csv.gz"
    packed.write_bytes(gzip.compress(tiny_csv.read_bytes()))
    response = await client.post("/v1/jobs", headers=auth(ALICE), **upload(packed))
    assert response.status_code == 202 and response.json()["data"]["name"] == "tiny.csv.gz"


def test_upload_names_are_made_harmless() -> None:
    from api.uploads import data_suffix, safe_name

    assert data_suffix("t.csv.gz") == ".csv.gz" and data_suffix("A.PARQUET") == ".parquet"
    assert safe_name("../../etc/passwd.csv", ".csv") == "passwd.csv"
    assert safe_name("dir\\évil name.tsv.gz", ".tsv.gz") == "vil_name.tsv.gz"
    assert safe_name("..", ".csv") == "data.csv"


def test_an_error_body_always_renders() -> None:
    from api.errors import error_response

    response = error_response(422, "limit_exceeded", "too long", {"time_limit": float("inf"), "x": [float("nan")]})
    assert json.loads(response.body)["details"] == {"time_limit": "inf", "x": ["nan"]}


async def test_operability_request_ids_head_probes_retry_after_and_cors(settings, runner, tiny_csv) -> None:
    from api import create_app

    app = create_app(settings.model_copy(update={"cors_origins": ["https://ml.example.com"]}), runner=runner)
    async with serving(app) as http:
        sent = await http.get("/healthz", headers={"X-Request-ID": "trace-42"})
        assert sent.headers["x-request-id"] == "trace-42"
        made = await http.get("/healthz", headers={"X-Request-ID": "bad\x01id"})
        assert len(made.headers["x-request-id"]) == 32 and made.headers["x-request-id"] != "bad\x01id"
        for path in ("/healthz", "/readyz"):
            head = await http.head(path)
            assert head.status_code == 200 and head.content == b""
        cors = await http.options("/v1/jobs", headers={"Origin": "https://ml.example.com",
                                                        "Access-Control-Request-Method": "POST"})  # fmt: skip
        assert cors.headers["access-control-allow-origin"] == "https://ml.example.com"
        other = await http.get("/healthz", headers={"Origin": "https://elsewhere.example"})
        assert "access-control-allow-origin" not in other.headers
        assert_error(await http.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv, time_limit=0.5)), 422,
                     "invalid_request")  # fmt: skip


async def test_the_documented_json_example_is_accepted_as_it_is(settings, runner) -> None:
    from api import create_app
    from api.schemas import JobRequest

    example = JobRequest.model_config["json_schema_extra"]["examples"][0]
    async with serving(create_app(settings, runner=runner)) as http:
        response = await http.post("/v1/jobs", headers=auth(ALICE), json=example)
        assert response.status_code == 202, response.text


async def test_docs_render_from_the_service_itself_and_metrics_count_jobs(settings, runner, tiny_csv) -> None:
    import re

    from api import create_app

    app = create_app(settings.model_copy(update={"max_rows": 5}), runner=runner)
    async with serving(app) as http:
        page = (await http.get("/docs")).text
        scripts = re.findall(r'(?:src|href)="([^"]+)"', page)
        assert scripts and all(s.startswith("/docs/assets/") for s in scripts), scripts  # no CDN
        for asset in scripts:
            assert (await http.get(asset)).status_code == 200
        done = (await http.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv))).status_code
        assert done == 413  # over 5 rows: refused, and counted
        text = (await http.get("/metrics")).text
        assert 'advisor_jobs{status="queued"} 0.0' in text and "advisor_queue_depth 0.0" in text
        assert 'advisor_requests_refused_total{code="file_too_large"} 1.0' in text


async def test_metrics_time_the_jobs_a_worker_ran(settings, runner, tiny_csv) -> None:
    from api import create_app

    async with serving(create_app(settings, runner=runner)) as http:
        job = (await http.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv))).json()
        assert (await wait_for(http, job["id"]))["status"] == "succeeded"
        text = (await http.get("/metrics")).text
        assert 'advisor_job_seconds_count{outcome="succeeded"} 1.0' in text
        assert "advisor_job_claim_wait_seconds_count 1.0" in text
        assert 'advisor_jobs{status="succeeded"} 1.0' in text
