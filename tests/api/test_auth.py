"""API keys: 401 without a valid key, another key's job is 404, keys never stored, open mode only on purpose."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from api import Settings, create_app
from api.auth import KeyRing, hash_key
from tests.api.conftest import ALICE, BOB, auth, serving, upload, wait_for

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-key-0123456789abcdef"}, {"Authorization": f"Basic {ALICE}"},
     {"Authorization": "Bearer "}, {"Authorization": ALICE}],
    ids=["none", "unknown", "wrong-scheme", "empty", "no-scheme"],
)  # fmt: skip
async def test_requests_without_a_valid_key_get_401(client: httpx.AsyncClient, tiny_csv: Path, headers) -> None:
    for method, url, kwargs in [
        ("POST", "/v1/jobs", upload(tiny_csv)),
        ("POST", "/v1/recommend", upload(tiny_csv)),
        ("GET", "/v1/jobs", {}),
        ("GET", "/v1/jobs/abc", {}),
        ("DELETE", "/v1/jobs/abc", {}),
    ]:
        response = await client.request(method, url, headers=headers, **kwargs)
        assert response.status_code == 401, (method, url)
        assert response.json()["code"] == "unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"
    assert (await client.get("/v1/jobs", headers=auth(ALICE))).json()["total"] == 0  # nothing was submitted


async def test_another_keys_job_is_404_and_never_listed(client: httpx.AsyncClient, tiny_csv: Path) -> None:
    job = (await client.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv))).json()
    await wait_for(client, job["id"])
    for url in (job["links"]["self"], job["links"]["recommendation"], job["links"]["report"]):
        response = await client.get(url, headers=auth(BOB))
        assert response.status_code == 404 and response.json()["code"] == "job_not_found"
    assert (await client.delete(job["links"]["self"], headers=auth(BOB))).status_code == 404
    assert (await client.get("/v1/jobs", headers=auth(BOB))).json()["total"] == 0
    assert (await client.get(job["links"]["recommendation"], headers=auth(ALICE))).status_code == 200
    # Bob's identical submission is his own job, not Alice's (idempotency is per key).
    bobs = await client.post("/v1/jobs", headers=auth(BOB), **upload(tiny_csv))
    assert bobs.status_code == 202 and bobs.json()["id"] != job["id"]


async def test_keys_are_stored_only_as_hashes(settings: Settings, client: httpx.AsyncClient, tiny_csv: Path) -> None:
    await client.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv))
    database = b"".join(p.read_bytes() for p in settings.data_dir.glob("advisor.db*"))  # with the WAL file
    assert ALICE.encode() not in database and hash_key(ALICE).encode() not in database
    assert hash_key(ALICE)[:16].encode() in database  # the owner id: a prefix of the hash
    assert ALICE not in repr(settings) and ALICE not in repr(KeyRing(settings.api_keys))


def test_settings_refuse_to_serve_without_keys_unless_opened(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("ADVISOR_API_KEYS", raising=False)
    monkeypatch.delenv("ADVISOR_OPEN", raising=False)
    with pytest.raises(ValueError, match="no API keys configured"):
        Settings(data_dir=tmp_path)
    with pytest.raises(ValueError, match="shorter than 16"):
        Settings(api_keys="short", data_dir=tmp_path)
    with pytest.raises(ValueError, match="both set"):
        Settings(api_keys=ALICE, open=True, data_dir=tmp_path)
    assert Settings(open=True, data_dir=tmp_path).open


def test_settings_come_from_the_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ADVISOR_API_KEYS", f" {ALICE} ,{BOB},")
    monkeypatch.setenv("ADVISOR_DATABASE_URL", "postgresql://advisor@db:5432/advisor")
    monkeypatch.setenv("ADVISOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ADVISOR_MAX_UPLOAD_MB", "12.5")
    monkeypatch.setenv("ADVISOR_WORKERS", "3")
    monkeypatch.setenv("ADVISOR_BUDGETS", "fast")
    settings = Settings()
    assert [k.get_secret_value() for k in settings.api_keys] == [ALICE, BOB]
    assert settings.database == "postgresql://advisor@db:5432/advisor"
    assert settings.data_dir == tmp_path and settings.max_upload_bytes == int(12.5 * 1024 * 1024)
    assert settings.workers == 3 and settings.budgets == ["fast"]
    monkeypatch.delenv("ADVISOR_DATABASE_URL")
    assert Settings().database == f"sqlite:///{tmp_path.as_posix()}/advisor.db"


async def test_open_mode_serves_without_keys_and_warns(tmp_path: Path, runner, tiny_csv: Path, caplog) -> None:
    app = create_app(Settings(open=True, data_dir=tmp_path), runner=runner)
    with caplog.at_level(logging.WARNING, logger="api"):
        async with serving(app) as http:
            job = await http.post("/v1/jobs", **upload(tiny_csv))
            assert job.status_code == 202
            assert (await wait_for(http, job.json()["id"], key="ignored"))["status"] == "succeeded"
    assert any("OPEN MODE" in r.getMessage() for r in caplog.records)


def test_every_configured_key_is_compared() -> None:
    ring = KeyRing([ALICE, BOB])
    assert ring.authenticate(f"Bearer {ALICE}").owner != ring.authenticate(f"bearer {BOB}").owner
    assert ring.authenticate(f"Bearer {ALICE}").owner == f"key-{hash_key(ALICE)[:16]}"
