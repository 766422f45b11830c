"""What the service deletes, and when: expired jobs (with ``retention_days``), uploads no job uses, crash leftovers."""

from __future__ import annotations

import io
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from advisor.exceptions import QueueFullError
from advisor.report import renderer_fingerprint
from api import Settings, create_app
from api.service import UPLOAD_GRACE_S
from api.uploads import UploadStore
from tests.api.conftest import ALICE, auth, serving, upload, wait_for


def _store_bytes(uploads: UploadStore, payload: bytes, suffix: str = ".csv") -> Path:
    with uploads.stage(io.BytesIO(payload), suffix=suffix, name=f"x{suffix}", max_bytes=1 << 20) as staged:
        return uploads.commit(staged)


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_unused_uploads_go_after_the_grace_period_and_used_ones_stay(tmp_path: Path) -> None:
    uploads = UploadStore(tmp_path)
    used, unused, young = (_store_bytes(uploads, p) for p in (b"a,b\n1,2\n", b"c\n3\n", b"d\n4\n"))
    stranger = used.parent / "notes.txt"  # not an upload's name: never touched
    stranger.write_text("x")
    for path in (used, unused, stranger):
        _age(path, 2 * UPLOAD_GRACE_S)
    keep = {(used.name.removesuffix(".csv"), ".csv")}

    removed = uploads.remove_unused(keep, unused_for=UPLOAD_GRACE_S)

    assert removed.freed_bytes == len(b"c\n3\n") and removed.predating == 0
    assert used.is_file() and young.is_file() and stranger.is_file() and not unused.exists()


def test_uploads_last_used_before_the_store_began_are_kept_and_counted(tmp_path: Path) -> None:
    uploads = UploadStore(tmp_path)
    older, newer = _store_bytes(uploads, b"o\n1\n"), _store_bytes(uploads, b"n\n2\n")
    _age(older, 10 * UPLOAD_GRACE_S)
    _age(newer, 2 * UPLOAD_GRACE_S)
    removed = uploads.remove_unused(set(), unused_for=UPLOAD_GRACE_S, since=time.time() - 5 * UPLOAD_GRACE_S)
    assert (removed.freed_bytes, removed.predating) == (len(b"n\n2\n"), 1)
    assert older.is_file() and not newer.exists()


def test_storing_the_same_bytes_again_marks_the_upload_used(tmp_path: Path) -> None:
    uploads = UploadStore(tmp_path)
    path = _store_bytes(uploads, b"y\n1\n")
    _age(path, 2 * UPLOAD_GRACE_S)
    assert _store_bytes(uploads, b"y\n1\n") == path
    assert uploads.remove_unused(set(), unused_for=UPLOAD_GRACE_S).freed_bytes == 0 and path.is_file()


def test_what_cannot_be_deleted_is_skipped_and_the_rest_still_goes(tmp_path: Path) -> None:
    uploads = UploadStore(tmp_path)
    unused = _store_bytes(uploads, b"c\n3\n")
    odd = unused.parent / ("0" * 64 + ".csv")  # a folder under an upload's name
    odd.mkdir()
    for path in (unused, odd):
        _age(path, 2 * UPLOAD_GRACE_S)
    assert uploads.remove_unused(set(), unused_for=UPLOAD_GRACE_S).freed_bytes == len(b"c\n3\n")
    assert odd.is_dir() and not unused.exists()


def test_an_upload_the_service_may_not_touch_is_still_used(tmp_path: Path, monkeypatch) -> None:
    uploads = UploadStore(tmp_path)
    path = _store_bytes(uploads, b"y\n1\n")

    def refuse(*_args, **_kwargs):
        raise PermissionError("not the owner")

    monkeypatch.setattr(os, "utime", refuse)
    assert _store_bytes(uploads, b"y\n1\n") == path and path.read_bytes() == b"y\n1\n"


def test_staging_folders_left_by_a_crash_are_removed(tmp_path: Path) -> None:
    uploads = UploadStore(tmp_path)
    old, new, foreign = (tmp_path / "tmp" / name for name in ("tmp_old", "tmp_new", "backup"))
    for folder in (old, new, foreign):
        folder.mkdir(parents=True)
        (folder / "part.csv").write_text("y\n")
    for folder in (old, foreign):
        _age(folder, 3 * 86_400)
    assert uploads.remove_stale_staging(older_than=86_400) == 1
    assert not old.exists() and new.is_dir() and foreign.is_dir()  # only tempfile's own folders (tmp*)


def test_a_killed_process_staging_folder_goes_at_the_next_sweep_a_live_one_stays(tmp_path: Path) -> None:
    import io
    import signal
    import subprocess
    import sys

    code = (
        "import io, sys, time; from pathlib import Path; from api.uploads import UploadStore\n"
        "with UploadStore(Path(sys.argv[1])).stage(io.BytesIO(b'y\\n1\\n'), suffix='.csv', name='d.csv', "
        "max_bytes=100):\n    print('staged', flush=True); time.sleep(600)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "staged"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    uploads = UploadStore(tmp_path)
    with uploads.stage(io.BytesIO(b"y\n2\n"), suffix=".csv", name="d.csv", max_bytes=100) as live:
        dead, alive = sorted((tmp_path / "tmp").glob("tmp*"), key=lambda f: f == live.path.parent)
        assert alive == live.path.parent
        assert uploads.remove_stale_staging(older_than=86_400) == 0  # both under a minute old
        for folder in (dead, alive):
            _age(folder, 120)
        assert uploads.remove_stale_staging(older_than=86_400) == 1
        assert not dead.exists() and alive.is_dir() and live.path.is_file()
    assert not alive.exists()


def test_retention_and_sweep_interval_are_checked() -> None:
    for bad in ({"retention_days": 0}, {"retention_days": float("inf")}, {"sweep_interval_s": float("nan")}):
        with pytest.raises(ValidationError):
            Settings(open=True, **bad)
    assert Settings(open=True).retention_days is None  # finished jobs are kept unless asked otherwise


@pytest.mark.anyio
async def test_sweep_deletes_expired_jobs_with_their_report_and_upload(
    settings: Settings, runner, tiny_csv: Path, anyio_backend
) -> None:
    app = create_app(settings.model_copy(update={"retention_days": 7.0}), runner=runner)
    service = app.state.service
    async with serving(app) as http:
        job = (await http.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv))).json()
        assert (await wait_for(http, job["id"]))["status"] == "succeeded"
        assert (await http.get(job["links"]["report"], headers=auth(ALICE))).status_code == 200
        stored = list((settings.data_dir / "uploads").glob("*/*.csv"))
        report = settings.data_dir / "reports" / f"{job['id']}.{renderer_fingerprint()}.html"
        assert len(stored) == 1 and report.is_file()

        kept = service.sweep(datetime.now(UTC) + timedelta(days=6))  # within the retention: all kept
        assert (kept.jobs, kept.reports, kept.uploads_bytes) == (0, 0, 0) and stored[0].is_file()

        done = service.sweep(datetime.now(UTC) + timedelta(days=8))
        assert (done.jobs, done.reports, done.uploads_bytes) == (1, 1, tiny_csv.stat().st_size)
        assert not report.exists() and not stored[0].exists()
        gone = await http.get(job["links"]["self"], headers=auth(ALICE))
        assert gone.status_code == 404 and gone.json()["code"] == "job_not_found"

        late = report  # written by a render the purge overtook
        late.write_text("<html></html>")
        partial = settings.data_dir / "reports" / f"{job['id']}.123.tmp"  # a write a crash cut short
        partial.write_text("<ht")
        _age(partial, 2 * UPLOAD_GRACE_S)
        assert service.sweep().reports == 1 and not late.exists() and not partial.exists()

        again = await http.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv))  # stored anew, runs anew
        assert again.status_code == 202 and (await wait_for(http, again.json()["id"]))["status"] == "succeeded"


@pytest.mark.anyio
async def test_a_report_drawn_by_an_older_version_is_drawn_again(
    settings: Settings, runner, tiny_csv: Path, anyio_backend
) -> None:
    app = create_app(settings, runner=runner)
    service = app.state.service
    folder = settings.data_dir / "reports"
    async with serving(app) as http:
        job = (await http.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv))).json()
        assert (await wait_for(http, job["id"]))["status"] == "succeeded"
        folder.mkdir(parents=True, exist_ok=True)
        before_upgrade = folder / f"{job['id']}.html"  # the name an older version kept its page under
        before_upgrade.write_text("<html>old page</html>")
        older_digest = folder / f"{job['id']}.000000000000.html"
        older_digest.write_text("<html>old page</html>")

        page = await http.get(job["links"]["report"], headers=auth(ALICE))
        assert page.status_code == 200 and "old page" not in page.text and "<!DOCTYPE html>" in page.text
        assert [p.name for p in folder.glob("*.html")] == [f"{job['id']}.{renderer_fingerprint()}.html"]
        assert (await http.get(job["links"]["report"], headers=auth(ALICE))).text == page.text  # kept, not redrawn

        before_upgrade.write_text("<html>old page</html>")  # e.g. another process still on the older version
        assert service.sweep().reports == 1 and not before_upgrade.exists()
        assert len(list(folder.glob("*.html"))) == 1  # the current page of a live job stays


@pytest.mark.anyio
async def test_without_retention_jobs_stay_and_a_refused_submissions_upload_is_swept(
    settings: Settings, runner, tiny_csv: Path, tmp_path: Path, anyio_backend, monkeypatch
) -> None:
    app = create_app(settings, runner=runner)
    service = app.state.service
    async with serving(app) as http:
        job = (await http.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv))).json()
        assert (await wait_for(http, job["id"]))["status"] == "succeeded"

        other = tmp_path / "other.csv"
        other.write_text(tiny_csv.read_text() + tiny_csv.read_text().splitlines()[1] + "\n")

        def full(*_args, **_kwargs):  # the store's check at insert refuses, after the upload was stored
            raise QueueFullError("full", details={})

        monkeypatch.setattr(service.store, "submit", full)
        refused = await http.post("/v1/jobs", headers=auth(ALICE), **upload(other))
        assert refused.status_code == 429
        monkeypatch.undo()
        assert len(list((settings.data_dir / "uploads").glob("*/*.csv"))) == 2

        assert service.sweep().uploads_bytes == 0  # the orphan is young: a submission may still be on its way
        naive = datetime.now(UTC).replace(tzinfo=None)  # read as UTC, whatever the local zone
        assert service.sweep(naive + timedelta(seconds=UPLOAD_GRACE_S - 60)).uploads_bytes == 0
        later = service.sweep(naive + timedelta(seconds=UPLOAD_GRACE_S + 60))
        assert later.jobs == 0 and later.uploads_bytes == other.stat().st_size
        assert (await http.get(job["links"]["recommendation"], headers=auth(ALICE))).status_code == 200
        assert len(list((settings.data_dir / "uploads").glob("*/*.csv"))) == 1


@pytest.mark.anyio
async def test_a_job_whose_upload_is_gone_fails_with_a_reason(
    settings: Settings, runner, tiny_csv: Path, anyio_backend
) -> None:
    async with serving(create_app(settings, runner=runner)) as http:
        runner.hold()
        first = (await http.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv))).json()
        second = (await http.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv, seed=1))).json()
        assert runner.started.wait(10)
        for path in (settings.data_dir / "uploads").glob("*/*.csv"):
            path.unlink()  # deleted by hand while the second job waits
        runner.release()
        assert (await wait_for(http, first["id"]))["status"] == "succeeded"
        failed = await wait_for(http, second["id"])
        assert failed["status"] == "failed" and failed["error"]["code"] == "data_missing"
        assert "submit it again" in failed["error"]["message"]


@pytest.mark.anyio
async def test_the_sweeper_runs_on_its_own_every_interval(
    settings: Settings, runner, tiny_csv: Path, anyio_backend
) -> None:
    import anyio

    quick = settings.model_copy(update={"retention_days": 1e-6, "sweep_interval_s": 0.2})  # ~0.09 s
    async with serving(create_app(quick, runner=runner)) as http:
        job = (await http.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv))).json()
        assert (await wait_for(http, job["id"]))["status"] == "succeeded"
        deadline = time.monotonic() + 20
        while (await http.get(job["links"]["self"], headers=auth(ALICE))).status_code != 404:
            assert time.monotonic() < deadline, "the sweeper never deleted the expired job"
            await anyio.sleep(0.1)


@pytest.mark.anyio
async def test_a_new_empty_database_keeps_the_uploads_it_never_saw(
    settings: Settings, runner, tiny_csv: Path, tmp_path: Path, anyio_backend, caplog
) -> None:
    """Pointing the service at a new database (a migration gone wrong) must not empty the uploads."""
    async with serving(create_app(settings, runner=runner)) as http:
        job = (await http.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv))).json()
        assert (await wait_for(http, job["id"]))["status"] == "succeeded"
    stored = list((settings.data_dir / "uploads").glob("*/*.csv"))
    _age(stored[0], 2 * UPLOAD_GRACE_S)  # unused for two hours when the new database is made

    fresh = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'new.db'}"})
    app = create_app(fresh, runner=runner)
    with caplog.at_level("WARNING", logger="api"):
        async with serving(app):
            swept = app.state.service.sweep(datetime.now(UTC) + timedelta(days=30))
            assert (swept.uploads_bytes, swept.uploads_predating_store) == (0, 1) and stored[0].is_file()
            deadline = time.monotonic() + 10  # the start-up sweep, in its own thread, says so once
            while "kept 1 upload(s)" not in caplog.text:
                assert time.monotonic() < deadline, caplog.text
                time.sleep(0.05)
    assert "last used before this job database was created" in caplog.text
