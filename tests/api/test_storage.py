"""The job store contract, run against every backend: a SQLite file and a real PostgreSQL server.

One test class, parametrised by the ``database_url`` fixture (optuna's storage-contract pattern);
the PostgreSQL cases skip with the reason where no server can be started.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from advisor.exceptions import JobNotFoundError, QueueFullError
from api.storage import JobStore, NewJob, SQLJobStore, get_store
from tests.api.conftest import ALICE, auth, serving, upload, wait_for


def new_job(owner: str = "alice", fingerprint: str = "f" * 64, seed: int = 0, data_hash: str = "d" * 64) -> NewJob:
    return NewJob(
        owner=owner, fingerprint=fingerprint, data_hash=data_hash, data_name="tiny.csv", data_suffix=".csv",
        n_bytes=123, spec={"targets": ["y"], "task_column": "task"}, budget="fast", time_limit=5.0, seed=seed,
    )  # fmt: skip


@pytest.fixture
def store(database_url: str) -> JobStore:
    store = get_store(database_url)
    yield store
    store.close()


class TestJobStoreContract:
    def test_submit_creates_a_queued_job_and_reuses_it(self, store: JobStore) -> None:
        job, reused = store.submit(new_job())
        assert not reused and job.status == "queued" and job.attempts == 0
        assert job.created_at.tzinfo is not None and job.created_at.utcoffset() == UTC.utcoffset(None)
        assert job.spec == {"targets": ["y"], "task_column": "task"}
        again, reused = store.submit(new_job())
        assert reused and again.id == job.id
        other, reused = store.submit(new_job(owner="bob"))
        assert not reused and other.id != job.id
        assert store.find_reusable("alice", "f" * 64).id == job.id
        assert store.find_reusable("alice", "e" * 64) is None

    def test_failed_and_cancelled_jobs_are_not_reused(self, store: JobStore) -> None:
        job, _ = store.submit(new_job())
        store.fail(job.id, {"code": "invalid_data", "message": "bad", "details": {"column": "y"}})
        failed = store.get(job.id)
        assert failed.status == "failed" and failed.error == {
            "code": "invalid_data",
            "message": "bad",
            "details": {"column": "y"},
        }
        retry, reused = store.submit(new_job())
        assert not reused and retry.id != job.id
        store.request_cancel(retry.id)
        third, reused = store.submit(new_job())
        assert not reused and third.id not in {job.id, retry.id}

    def test_get_is_scoped_to_the_owner(self, store: JobStore) -> None:
        job, _ = store.submit(new_job())
        assert store.get(job.id, "alice").id == job.id
        with pytest.raises(JobNotFoundError):
            store.get(job.id, "bob")
        with pytest.raises(JobNotFoundError):
            store.get("missing")

    def test_life_of_a_job(self, store: JobStore) -> None:
        job, _ = store.submit(new_job())
        running = store.claim(job.id)
        assert running.status == "running" and running.attempts == 1 and running.started_at is not None
        assert store.claim(job.id) is None  # a job runs once
        store.set_progress(job.id, "probe", 0.5, "mtl/hard")
        seen = store.get(job.id)
        assert (seen.progress_phase, seen.progress_fraction, seen.progress_message) == ("probe", 0.5, "mtl/hard")
        store.succeed(job.id, '{"paradigm": "stl"}')
        done = store.get(job.id)
        assert done.status == "succeeded" and done.finished and done.finished_at >= done.started_at
        assert store.result(job.id) == '{"paradigm": "stl"}'
        store.fail(job.id, {"code": "x", "message": "late", "details": {}})  # a finished job stays finished
        assert store.get(job.id).status == "succeeded"

    def test_cancel_queued_at_once_running_by_flag(self, store: JobStore) -> None:
        queued, _ = store.submit(new_job(seed=1))
        cancelled = store.request_cancel(queued.id)
        assert cancelled.status == "cancelled" and cancelled.error["code"] == "cancelled"
        assert store.claim(queued.id) is None
        running, _ = store.submit(new_job(seed=2, fingerprint="a" * 64))
        store.claim(running.id)
        flagged = store.request_cancel(running.id)
        assert flagged.status == "running" and flagged.cancel_requested
        store.mark_cancelled(running.id)
        assert store.get(running.id).status == "cancelled"

    def test_claim_next_takes_the_oldest_queued_job_once(self, store: JobStore) -> None:
        ids = [store.submit(new_job(seed=i, fingerprint=f"{i:064d}"))[0].id for i in range(3)]
        store.request_cancel(ids[0])
        first = store.claim_next(holder="a", lease_s=30)
        assert first.id == ids[1] and first.status == "running" and first.lease_holder == "a"
        assert store.claim_next(holder="b", lease_s=30).id == ids[2]
        assert store.claim_next(holder="b", lease_s=30) is None

    def test_concurrent_claimants_share_the_queue_without_overlap(self, store: JobStore) -> None:
        ids = {store.submit(new_job(seed=i, fingerprint=f"{i:064d}"))[0].id for i in range(24)}
        taken: dict[str, list[str]] = {}

        def claimant(name: str) -> None:
            mine = taken.setdefault(name, [])
            while (job := store.claim_next(holder=name, lease_s=30)) is not None:
                mine.append(job.id)

        threads = [threading.Thread(target=claimant, args=(f"t{i}",)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        claimed = [job_id for mine in taken.values() for job_id in mine]
        assert sorted(claimed) == sorted(ids)  # each job to exactly one claimant
        assert all(len(store.runs(job_id)) == 1 for job_id in ids)

    def test_runs_record_every_start_and_how_it_ended(self, store: JobStore) -> None:
        job, _ = store.submit(new_job())
        store.claim(job.id, holder="first", lease_s=30)
        [open_run] = store.runs(job.id)
        assert (open_run.attempt, open_run.holder, open_run.ended_at, open_run.outcome) == (1, "first", None, None)
        # The first runner dies: its lease runs out and a recovery closes its run as lost.
        requeued, _ = store.recover(max_attempts=3, now=datetime.now(UTC) + timedelta(seconds=60))
        assert requeued == [job.id]
        store.claim(job.id, holder="second", lease_s=30)
        store.succeed(job.id, "{}", holder="first")  # the lost runner wakes up: it changes nothing
        assert store.get(job.id).status == "running"
        store.succeed(job.id, "{}", holder="second")
        lost, done = store.runs(job.id)
        assert (lost.holder, lost.outcome, done.holder, done.outcome, done.attempt) == (
            "first", "lost", "second", "succeeded", 2
        )  # fmt: skip
        assert lost.ended_at <= done.started_at <= done.ended_at
        other, _ = store.submit(new_job(seed=5, fingerprint="b" * 64))
        store.claim(other.id, holder="x", lease_s=30)
        store.requeue(other.id, message="shutting down", holder="x")
        assert [r.outcome for r in store.runs(other.id)] == ["requeued"]
        store.claim(other.id, holder="y", lease_s=30)
        store.fail(other.id, {"code": "x", "message": "m", "details": {}}, holder="y")
        assert [r.outcome for r in store.runs(other.id)] == ["requeued", "failed"]
        assert store.purge(datetime.now(UTC) + timedelta(days=1)) and store.runs(job.id) == []

    def test_recover_requeues_interrupted_jobs_then_fails_them_with_a_reason(self, store: JobStore) -> None:
        job, _ = store.submit(new_job())
        store.claim(job.id)
        requeued, failed = store.recover(max_attempts=2)
        assert (requeued, failed) == ([job.id], [])
        back = store.get(job.id)
        assert back.status == "queued" and "runner stopped" in back.progress_message and store.queued_ids() == [job.id]
        assert store.claim(job.id).attempts == 2
        requeued, failed = store.recover(max_attempts=2)
        assert (requeued, failed) == ([], [job.id])
        dead = store.get(job.id)
        assert dead.status == "failed" and dead.error["code"] == "interrupted"
        assert "2 attempt" in dead.error["message"] and dead.error["details"] == {"attempts": 2, "max_attempts": 2}

    def test_a_job_cancelled_while_running_then_interrupted_ends_cancelled(self, store: JobStore) -> None:
        for attempts_left in (True, False):  # on an early attempt, and on its last one
            job, _ = store.submit(new_job(seed=int(attempts_left), fingerprint=str(int(attempts_left)) * 64))
            store.claim(job.id)
            store.request_cancel(job.id)
            requeued, failed = store.recover(max_attempts=2 if attempts_left else 1)
            assert job.id not in requeued and job.id not in failed
            ended = store.get(job.id)
            assert ended.status == "cancelled" and ended.error["code"] == "cancelled" and ended.finished_at

    def test_a_leased_job_is_never_recovered_while_its_runner_renews(self, store: JobStore) -> None:
        job, _ = store.submit(new_job())
        held = store.claim(job.id, holder="live", lease_s=30)
        assert held.lease_holder == "live" and held.lease_until > held.started_at
        assert store.recover(max_attempts=2) == ([], [])  # another process starting: hands off
        assert store.get(job.id).status == "running"
        later = datetime.now(UTC) + timedelta(seconds=31)
        assert store.recover(max_attempts=2, now=later) == ([job.id], [])  # the runner stopped renewing
        back = store.get(job.id)
        assert back.status == "queued" and back.lease_holder is None and back.lease_until is None

    def test_renewal_extends_the_lease_and_passes_cancellations_on(self, store: JobStore) -> None:
        job, _ = store.submit(new_job())
        first = store.claim(job.id, holder="a", lease_s=5).lease_until
        assert store.renew([job.id], holder="b", lease_s=60) == {}  # not b's job
        assert store.renew([job.id], holder="a", lease_s=60) == {job.id: False}
        assert store.get(job.id).lease_until > first
        store.request_cancel(job.id)
        assert store.renew([job.id], holder="a", lease_s=60) == {job.id: True}
        assert store.renew([], holder="a", lease_s=60) == {}

    def test_a_runner_that_lost_its_lease_changes_nothing(self, store: JobStore) -> None:
        job, _ = store.submit(new_job())
        store.claim(job.id, holder="slow", lease_s=1)
        store.recover(max_attempts=3, now=datetime.now(UTC) + timedelta(seconds=2))
        store.claim(job.id, holder="fresh", lease_s=30)
        store.succeed(job.id, '{"stale": true}', holder="slow")  # the first runner wakes up late
        store.set_progress(job.id, "probe", 0.5, "stale", holder="slow")
        assert store.get(job.id).status == "running" and store.result(job.id) is None
        store.succeed(job.id, '{"fresh": true}', holder="fresh")
        assert store.get(job.id).status == "succeeded" and store.result(job.id) == '{"fresh": true}'
        assert store.get(job.id).lease_holder is None

    def test_requeue_at_shutdown_does_not_count_the_attempt(self, store: JobStore) -> None:
        job, _ = store.submit(new_job())
        store.claim(job.id)
        store.requeue(job.id, message="re-queued: shutdown")
        back = store.get(job.id)
        assert back.status == "queued" and back.attempts == 0 and back.started_at is None

    def test_list_is_per_owner_newest_first_and_paginated(self, store: JobStore) -> None:
        ids = [store.submit(new_job(fingerprint=str(i) * 64))[0].id for i in range(5)]
        store.submit(new_job(owner="bob", fingerprint="9" * 64))
        page, total = store.list_jobs("alice", limit=2, offset=1)
        assert total == 5 and [j.id for j in page] == ids[::-1][1:3]
        store.claim(ids[0])
        running, total = store.list_jobs("alice", status="running")
        assert total == 1 and running[0].id == ids[0]
        assert store.count("queued") == 5 and store.queued_ids() == [*ids[1:], store.list_jobs("bob")[0][0].id]

    def test_concurrent_identical_submissions_make_one_job(self, store: JobStore) -> None:
        results: list[tuple[str, bool]] = []

        def submit() -> None:
            job, reused = store.submit(new_job())
            results.append((job.id, reused))

        threads = [threading.Thread(target=submit) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len({job_id for job_id, _ in results}) == 1 and sum(not reused for _, reused in results) == 1

    def test_concurrent_submissions_never_queue_more_than_the_limit(self, store: JobStore) -> None:
        outcomes: list[str] = []

        def submit(seed: int) -> None:
            try:
                store.submit(new_job(fingerprint=f"{seed:064d}", seed=seed), max_queued=2)
                outcomes.append("queued")
            except QueueFullError:
                outcomes.append("full")

        threads = [threading.Thread(target=submit, args=(seed,)) for seed in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["full"] * 6 + ["queued"] * 2 and store.count("queued") == 2
        first = store.list_jobs("alice")[0][0]  # an identical resubmission is no new job: the limit does not apply
        again, reused = store.submit(new_job(fingerprint=first.fingerprint, seed=first.seed), max_queued=2)
        assert reused and again.id == first.id

    def test_stores_of_several_processes_keep_the_limit_and_one_job_per_submission(
        self, store: JobStore, database_url: str
    ) -> None:
        # Each service process has its own store (engine, pool, lock): the database must serialise them.
        stores = [get_store(database_url) for _ in range(6)]
        outcomes: list[str] = []
        start = threading.Barrier(len(stores) * 2)

        def submit(other: JobStore, seed: int) -> None:
            start.wait()
            try:
                job, reused = other.submit(new_job(fingerprint=f"{seed % 4:064d}", seed=seed % 4), max_queued=3)
                outcomes.append(f"{'reused' if reused else 'queued'} {job.seed}")
            except QueueFullError:
                outcomes.append("full")

        threads = [threading.Thread(target=submit, args=(s, i)) for i, s in enumerate(stores * 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for other in stores:
            other.close()
        assert len(outcomes) == 12 and store.count("queued") == 3  # no error, none over the limit
        queued = {o for o in outcomes if o.startswith("queued")}
        assert len(queued) == sum(o.startswith("queued") for o in outcomes) == 3  # never two jobs for one submission

    def test_ids_that_are_not_ours_and_nul_characters(self, store: JobStore) -> None:
        for job_id in ("\x00", "a\x00b", "../x", "F" * 32, "f" * 33):
            with pytest.raises(JobNotFoundError):
                store.get(job_id)
        job, _ = store.submit(NewJob(**{**new_job().__dict__, "data_name": "a\x00b.csv"}))
        assert store.get(job.id).data_name == "a\ufffdb.csv"
        store.claim(job.id)
        store.set_progress(job.id, "probe", 0.5, "task t\x00 done")
        assert store.get(job.id).progress_message == "task t\ufffd done"

    def test_ping(self, store: JobStore) -> None:
        store.ping()

    def test_purge_deletes_only_jobs_that_ended_before_the_cutoff(self, store: JobStore, monkeypatch) -> None:
        monkeypatch.setattr("api.storage._sql._BATCH", 2)  # several delete statements
        ended = []
        for i in range(3):
            job, _ = store.submit(new_job(fingerprint=str(i) * 64, data_hash=str(i) * 64))
            store.claim(job.id)
            store.succeed(job.id, '{"paradigm": "stl"}')
            ended.append(job.id)
        failed, _ = store.submit(new_job(fingerprint="a" * 64))
        store.fail(failed.id, {"code": "invalid_data", "message": "bad", "details": {}})
        cancelled, _ = store.submit(new_job(fingerprint="b" * 64))
        store.request_cancel(cancelled.id)
        ended += [failed.id, cancelled.id]
        queued, _ = store.submit(new_job(fingerprint="c" * 64, data_hash="e" * 64))
        running, _ = store.submit(new_job(fingerprint="e" * 64))
        store.claim(running.id)
        assert store.data_in_use() == {("0" * 64, ".csv"), ("1" * 64, ".csv"), ("2" * 64, ".csv"),
                                       ("d" * 64, ".csv"), ("e" * 64, ".csv")}  # fmt: skip

        assert store.purge(datetime.now(UTC) - timedelta(hours=1)) == []  # none ended an hour ago
        assert sorted(store.purge(datetime.now(UTC) + timedelta(days=1))) == sorted(ended)
        for job_id in ended:
            with pytest.raises(JobNotFoundError):
                store.get(job_id)
            assert store.result(job_id) is None
        assert store.get(queued.id).status == "queued" and store.get(running.id).status == "running"
        assert store.data_in_use() == {("d" * 64, ".csv"), ("e" * 64, ".csv")}
        assert store.purge(datetime.now(UTC) + timedelta(days=1)) == []
        assert store.existing_ids([queued.id, running.id, *ended, "nope"]) == {queued.id, running.id}

    def test_a_job_sent_again_counts_as_used_and_is_not_purged(self, store: JobStore) -> None:
        job, _ = store.submit(new_job())
        store.claim(job.id)
        store.succeed(job.id, '{"paradigm": "stl"}')
        before_reuse = datetime.now(UTC)
        again, reused = store.submit(new_job())
        assert reused and again.id == job.id and again.updated_at > before_reuse
        assert store.purge(before_reuse) == [] and store.get(job.id).status == "succeeded"
        assert store.purge(datetime.now(UTC) + timedelta(seconds=1)) == [job.id]

    def test_created_at_is_written_once_and_kept_across_reopening(self, store: JobStore, database_url: str) -> None:
        made = store.created_at()
        assert made.tzinfo is not None and abs(datetime.now(UTC) - made) < timedelta(minutes=1)
        store.submit(new_job())
        again = get_store(database_url)
        try:
            assert again.created_at() == made
        finally:
            again.close()

    def test_a_store_made_before_created_at_was_kept_dates_from_its_oldest_job(
        self, store: JobStore, database_url: str
    ) -> None:
        import sqlalchemy as sa

        from api.storage._sql import jobs, store_facts

        job, _ = store.submit(new_job())
        with store.engine.begin() as conn:  # an older version's database: jobs, no store facts
            conn.execute(jobs.update().values(created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)))
            conn.execute(sa.delete(store_facts))
        upgraded = get_store(database_url)
        try:
            assert upgraded.created_at() == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
            assert upgraded.get(job.id).status == "queued"
        finally:
            upgraded.close()


def test_postgres_urls_use_psycopg3() -> None:
    from api.storage._sql import normalise_url

    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"
    assert isinstance(get_store("sqlite://"), SQLJobStore)


@pytest.mark.anyio
async def test_jobs_and_results_survive_an_app_restart(
    database_url: str, settings, runner, tiny_csv, real_result: str, anyio_backend
) -> None:
    """The whole service on each backend: a finished job is still there, with its result, after a restart."""
    from api import create_app

    on_db = replace_settings(settings, database_url)
    first = create_app(on_db, runner=runner)
    async with serving(first) as http:
        job = (await http.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv))).json()
        assert (await wait_for(http, job["id"]))["status"] == "succeeded"
    second = create_app(on_db, runner=runner)
    async with serving(second) as http:
        assert (await http.get(job["links"]["self"], headers=auth(ALICE))).json()["status"] == "succeeded"
        result = await http.get(job["links"]["recommendation"], headers=auth(ALICE))
        assert result.status_code == 200 and result.json() == json.loads(real_result)
        again = await http.post("/v1/jobs", headers=auth(ALICE), **upload(tiny_csv))
        assert again.status_code == 200 and again.json()["id"] == job["id"]


def replace_settings(settings, database_url: str):
    return settings.model_copy(update={"database_url": database_url})
