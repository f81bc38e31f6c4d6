"""The web tests' small programme: the built-in example (two districts, eight hazardous
areas, an accident with two victims — one with a name and address), its last reports left
submitted for the review queue, and one user per role.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fastapi.testclient import TestClient

from safeground import example
from safeground.record.ledger import Ledger
from safeground.record.storage import Database
from safeground.record.users import Users
from safeground.settings import Settings
from safeground.web import create_app

#: user name -> roles; every password is NAME + "-password" (test data only)
USERS = {
    "visitor": ["viewer"],
    "clerk": ["data_entry"],
    "chief": ["approver"],
    "analyst": ["analyst"],
    "va": ["victim_data"],
    "root": ["admin"],
}
SUBMITTER = "records.officer"
#: reports of the example programme left submitted (for the review queue)
WAITING = 3

#: Debian's Chromium and its driver, for the browser tests (Selenium Manager is never asked to
#: download anything)
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def password(name: str) -> str:
    return f"{name}-password"


@dataclass
class Site:
    url: str
    ledger: Ledger
    app: object
    waiting: list[int] = field(default_factory=list)
    plan: object = None          # the plan in its work directory (write_plan), if any
    work_dir: Path | None = None
    _tokens: dict[str, str] = field(default_factory=dict)

    def client(self) -> TestClient:
        return TestClient(self.app, raise_server_exceptions=False)

    def token(self, name: str) -> str:
        if name not in self._tokens:
            r = self.client().post("/api/v1/auth/token",
                                   json={"name": name, "password": password(name)})
            assert r.status_code == 200, r.text
            self._tokens[name] = r.json()["token"]
        return self._tokens[name]

    def forget(self, name: str) -> None:
        self._tokens.pop(name, None)

    def as_user(self, name: str) -> TestClient:
        c = self.client()
        c.headers["Authorization"] = f"Bearer {self.token(name)}"
        return c

    def audit(self, action: str) -> list[dict]:
        from sqlalchemy import select

        from safeground.record.storage.schema import audit_log
        with self.ledger.db.read() as conn:
            return [dict(r._mapping) for r in conn.execute(
                select(audit_log).where(audit_log.c.action == action)
                .order_by(audit_log.c.id))]


def build_site(url: str, work_dir=None) -> Site:
    db = Database.open(url)
    ledger = Ledger(db, Settings(database_url=url))
    res = ledger.submit(example.records(), user=SUBMITTER)
    assert not res.rejected, [p.message for r in res.rejected for p in r.problems]
    done = ledger.approve(res.accepted[:-WAITING], user="ops.chief")
    assert not done.refused, done.refused
    users = Users(db)
    for name, roles in USERS.items():
        users.add(name, password(name), roles, by="test set-up", direct=True)
    app = create_app(ledger.settings, ledger=ledger, work_dir=work_dir)
    return Site(url, ledger, app, res.accepted[-WAITING:])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Live:
    site: Site
    base: str


def write_plan(site: Site, work_dir: Path):
    """A five-year plan of the site's record (the heuristic, briefly) written where the web app
    reads it: ``work_dir/plan`` (``planning.outputs.write_all``). Returns the plan."""
    import datetime as dt

    from safeground.planning.heuristic import plan_heuristic
    from safeground.planning.outputs import write_all
    from safeground.planning.record import instance_from_record

    inst = instance_from_record(site.ledger, start=dt.date(2021, 4, 1), horizon_weeks=260)
    plan = plan_heuristic(inst, seconds=0.3)
    write_all(plan, Path(work_dir) / "plan")
    return plan


@contextmanager
def served(app) -> Iterator[str]:
    """``app`` served by a real uvicorn in a thread of this process, on a free localhost port;
    yields its base URL. The server stops when the block ends."""
    import threading
    import time

    import requests
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(f"{base}/ogc", timeout=2)
            break
        except requests.ConnectionError:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start") from None
            time.sleep(0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def made(site: Site, client: TestClient, url: str, timeout: float = 120):
    """GET an output made in the background (the programme report): wait for the job the
    request starts, then GET again, which leads (303) to the result."""
    r = client.get(url, follow_redirects=False)
    if r.status_code != 202:
        return client.get(url) if r.status_code == 303 else r
    job = site.app.state.jobs.wait(r.json()["id"], timeout)
    assert job.state == "done", job.error
    return client.get(url)


@contextmanager
def serve_in_process(url: str, work: Path, log: Path, *extra: str) -> Iterator[str]:
    """``safeground serve`` of the record at ``url`` in a process of its own (GDAL's HTTP
    client holds the GIL) on a free localhost port, with ``extra`` options; yields its base
    URL once it answers and stops it afterwards. The server's output goes to ``log``."""
    import subprocess
    import sys
    import time

    import pytest
    import requests

    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "safeground.cli", "serve", "--db", url,
                                 "--host", "127.0.0.1", "--port", str(port),
                                 "--work-dir", str(work),
                                 # tests that approve a report and then read the plan they
                                 # wrote: it must not be made again under them (following
                                 # approvals: test_plan_pages.py)
                                 "--no-follow-approvals", *extra],
                                stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    try:
        while True:
            try:
                if requests.get(f"{base}/ogc", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"safeground serve did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
