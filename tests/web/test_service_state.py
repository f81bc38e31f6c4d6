"""The service's state kept in the database (migration 0009): sign-in throttling counted by
every app on one record, and the migration going down and up."""

from __future__ import annotations

import pytest

from safeground.record.storage import Database
from safeground.web.auth import LoginLimiter, TooManyAttemptsError


def test_the_limiter_counts_failures_of_every_app_on_the_database(database_url):
    db = Database.open(database_url)
    now = [1_000_000.0]
    one = LoginLimiter(pair=3, address=100, account=100, window=60, db=db,
                       clock=lambda: now[0])
    other = LoginLimiter(pair=3, address=100, account=100, window=60,
                         db=Database.open(database_url, migrate=False), clock=lambda: now[0])
    one.failed("amina", "10.0.0.1")
    other.failed("AMINA", "10.0.0.1")
    one.check("amina", "10.0.0.1")                  # two failures: not yet
    other.failed("amina ", "10.0.0.1")
    for lim in (one, other):
        with pytest.raises(TooManyAttemptsError) as e:
            lim.check("amina", "10.0.0.1")
        assert 1 <= e.value.details["retry_after"] <= 61
    other.check("amina", "10.0.0.2")                # another address is not stopped
    one.succeeded("amina", "10.0.0.1")              # a success clears the pair for both
    other.check("amina", "10.0.0.1")
    # the window passes: old rows are deleted as new failures come
    one.failed("amina", "10.0.0.1")
    assert len(one) == 4 * 3 - 3            # (the success deleted the pair's three)
    now[0] += 61
    other.failed("someone", "10.0.0.9")
    assert len(one) == 3
    one.check("amina", "10.0.0.1")


def test_migration_0009_goes_down_and_up(database_url):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect

    from safeground.record.storage.database import MIGRATIONS

    db = Database.open(database_url)

    def run(step, target):
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with db.write() as conn:
            cfg.attributes["connection"] = conn
            step(cfg, target)

    state = {"login_failures", "service_jobs", "plan_jobs"}
    assert state <= set(inspect(db.engine).get_table_names())
    run(command.downgrade, "0008")
    assert not state & set(inspect(db.engine).get_table_names())
    run(command.upgrade, "head")
    assert state <= set(inspect(db.engine).get_table_names())
    assert db.schema_revision()[0] == "0009"


def test_the_jobs_of_a_stopped_server_are_failed_and_may_be_asked_again(tmp_path):
    import threading

    from sqlalchemy import update

    from safeground.record.storage.schema import service_jobs
    from safeground.web.jobs import STALE, Jobs, Output

    url = f"sqlite:///{tmp_path / 'record.sqlite'}"
    one, other = Jobs(Database.open(url)), Jobs(Database.open(url, migrate=False))
    release = threading.Event()

    def work(progress):
        release.wait(30)
        return Output(b"made", "text/plain", "x.txt")

    job, started = one.start("amina", "report", {}, ("report", 1), work)
    assert started and other.get(job.id, "amina").state in ("waiting", "running")
    # the same user asking the other server for the same output gets the same job
    same, started = other.start("amina", "report", {}, ("report", 1), work)
    assert same.id == job.id and not started
    one.stop()                                       # the first server stops
    seen = other.get(job.id, "amina")
    assert seen.state == "failed" and "stopped" in seen.error["message"]
    release.set()
    assert one.wait(job.id, 30).state == "failed"    # its thread ending changes nothing
    again, started = other.start("amina", "report", {}, ("report", 1), work)
    assert started and again.id != job.id
    assert other.wait(again.id, 30).state == "done"
    assert one.result(again.id, "amina").body == b"made"     # fetched from either server
    # a server that vanished without stopping: its job is failed once it gives no sign of life
    release.clear()
    lost, _ = one.start("bahram", "report", {}, ("report", 2), work)
    with one.db.write() as conn:
        conn.execute(update(service_jobs).where(service_jobs.c.id == lost.id)
                     .values(beat=service_jobs.c.beat - STALE - 1))
    assert other.get(lost.id, "bahram").state == "failed"
    release.set()
