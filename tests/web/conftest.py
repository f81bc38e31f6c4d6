"""Fixtures of the web tests (the programme and its users: websupport.py).

``site``   the example programme with one user per role, on SQLite and on PostGIS.
``fresh_site`` the same, of its own, on SQLite (for tests that change sign-in state).
``live``   the same on SQLite, served by a real uvicorn on a free localhost port.
"""

from __future__ import annotations

import threading
import time

import pytest
import uvicorn
from websupport import Live, Site, build_site, free_port


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The example programme with users, on SQLite and on PostGIS (one per test module)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('web')}/record.sqlite"
        s = build_site(url)
        yield s
        s.ledger.db.close()
        return
    server = request.getfixturevalue("postgis_server")
    url = server.create_database()
    s = build_site(url)
    yield s
    s.ledger.db.close()
    server.drop_database(url.rsplit("/", 1)[1])


@pytest.fixture
def fresh_site(tmp_path) -> Site:
    """A site of its own (for tests that change the record or sign-in state), on SQLite."""
    s = build_site(f"sqlite:///{tmp_path}/record.sqlite")
    yield s
    s.ledger.db.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory):
    """The example site served by a real uvicorn on a free localhost port."""
    s = build_site(f"sqlite:///{tmp_path_factory.mktemp('live')}/record.sqlite")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(s.app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield Live(s, f"http://127.0.0.1:{port}")
    server.should_exit = True
    thread.join(timeout=10)
    s.ledger.db.close()
