"""Shared pytest fixtures for the Safeground test suite.

Keep this file small: put the logic of a fixture in ``tests/harness/`` and only the pytest
wiring here.

Databases
---------
``database_url``   the test runs twice, once on SQLite (``sqlite:///<tmp_path>/record.sqlite``)
                   and once on a fresh PostGIS database; the PostGIS run is marked ``postgis``.
``postgis_url``    a fresh, empty PostGIS database (``postgresql+psycopg://...``), dropped after
                   the test.
``postgis_server`` the session's PostgreSQL 15 + PostGIS server (tests/harness/postgis.py),
                   started on first use and shared by all pytest-xdist workers.

Tests that use the PostGIS fixtures are marked ``postgis`` automatically, so
``pytest -m "not postgis"`` leaves them out. Missing PostgreSQL programs make those tests fail
with instructions, unless SAFEGROUND_SKIP_POSTGIS=1 is set, which makes them skip instead.
"""

from __future__ import annotations

import os
import uuid

import pytest

from harness import postgis as pg_harness

_SESSION_KEY = pytest.StashKey[tuple[str, int]]()


def pytest_configure(config: pytest.Config) -> None:
    # One PostGIS server per test session. The pytest-xdist controller (or the only process,
    # without -n) makes up a session id and is the server's owner; its workers inherit both
    # through the environment, since they are spawned after this hook has run.
    if "PYTEST_XDIST_WORKER" not in os.environ:
        os.environ["SAFEGROUND_PG_SESSION"] = uuid.uuid4().hex
        os.environ["SAFEGROUND_PG_OWNER"] = str(os.getpid())
    config.stash[_SESSION_KEY] = (
        os.environ["SAFEGROUND_PG_SESSION"],
        int(os.environ["SAFEGROUND_PG_OWNER"]),
    )


def pytest_sessionfinish(session: pytest.Session) -> None:
    # The controller outlives its workers: it stops the shared server once everything is done.
    # (If this process is killed instead, the harness's watchdog stops the server.)
    if "PYTEST_XDIST_WORKER" not in os.environ and _SESSION_KEY in session.config.stash:
        pg_harness.stop_session(session.config.stash[_SESSION_KEY][0])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Mark every test that needs the server, so `-m "not postgis"` deselects it.
    for item in items:
        if "postgis_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgis)


@pytest.fixture(scope="session")
def postgis_server(pytestconfig: pytest.Config) -> pg_harness.PostgisServer:
    """The session's PostgreSQL + PostGIS server (see tests/harness/postgis.py)."""
    session_id, owner_pid = pytestconfig.stash[_SESSION_KEY]
    try:
        return pg_harness.session_server(session_id, owner_pid)
    except pg_harness.PostgisUnavailable as exc:
        if os.environ.get("SAFEGROUND_SKIP_POSTGIS") == "1":
            pytest.skip(f"SAFEGROUND_SKIP_POSTGIS=1: {exc}")
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def postgis_url(postgis_server: pg_harness.PostgisServer):
    """URL of a fresh, empty database with the postgis extension; dropped afterwards."""
    url = postgis_server.create_database()
    yield url
    postgis_server.drop_database(url.rsplit("/", 1)[1])


@pytest.fixture(params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """A SQLAlchemy URL of an empty database: a SQLite file, or a fresh PostGIS database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/record.sqlite"
    return request.getfixturevalue("postgis_url")


@pytest.fixture
def cli_accounts(tmp_path):
    """A fresh SQLite record with one registered user per role, and a way to run
    ``safeground`` commands as one of them (tests/harness/accounts.py)."""
    from harness.accounts import CliAccounts

    return CliAccounts.create(f"sqlite:///{tmp_path}/cli-record.sqlite")
