"""Web app benchmark: what is computed once per version of the record, and what is not.

On the example programme (SQLite, in-process test client) it prints

* the cost of reading the record's version (``web.cache.version``) beside the ledger's
  ``record_version`` (which counts the audit trail), with ``--audit N`` audit rows;
* ``/api/v1/status`` and ``/dashboard``: the first request (computed) and the next ones
  (from the cache), median of 20;
* 50 ``/api/v1/status`` requests with HTTP Basic and 50 with a token (Bearer), and 50 Basic
  ones with the verified-credentials cache turned off (each pays the password hash);
* ``/api/v1/programme-report``: how long the request takes (it only starts a job), how long the
  job takes, and a second request for the same report (the result kept).

    .venv/bin/python benchmarks/bench_web_cache.py [--audit 200000]
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import statistics
import tempfile
import time

from fastapi.testclient import TestClient
from sqlalchemy import insert

from safeground import example
from safeground.record.ledger import Ledger
from safeground.record.ledger.rows import record_version
from safeground.record.storage import Database
from safeground.record.storage.schema import audit_log
from safeground.record.users import Users
from safeground.settings import Settings
from safeground.web.app import create_app
from safeground.web.auth import VerifiedCredentials
from safeground.web.cache import version


def ms(f, n: int = 20) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        f()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--audit", type=int, default=200_000, help="audit rows to add first")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/record.sqlite"
        ledger = Ledger(Database.open(url), Settings(database_url=url))
        res = ledger.submit(example.records(), user="clerk")
        ledger.approve(res.accepted, user="chief")
        now = dt.datetime(2026, 1, 1)
        with ledger.db.write() as conn:
            for i in range(0, args.audit, 50_000):
                conn.execute(insert(audit_log), [
                    {"at": now, "user": f"u{j % 50}", "action": "login", "target": "web",
                     "detail": None} for j in range(i, min(args.audit, i + 50_000))])
        with ledger.db.read() as conn:
            old = ms(lambda: record_version(conn))
        print(f"record version, {args.audit:,} audit rows: web.cache.version "
              f"{ms(lambda: version(ledger)):.2f} ms; ledger record_version {old:.2f} ms")
        Users(ledger.db).add("viewer", "viewer-password", ["viewer"], by="bench", direct=True)
        app = create_app(ledger.settings, ledger=ledger)
        c = TestClient(app)
        token = c.post("/api/v1/auth/token", json={"name": "viewer",
                                                   "password": "viewer-password"}).json()["token"]
        bearer = {"Authorization": f"Bearer {token}"}
        basic = {"Authorization": "Basic " + base64.b64encode(b"viewer:viewer-password").decode()}
        for path in ("/api/v1/status", "/dashboard"):
            t = time.perf_counter()
            assert c.get(path, headers=bearer).status_code == 200
            first = (time.perf_counter() - t) * 1000
            print(f"{path}: first request {first:.1f} ms, then "
                  f"{ms(lambda p=path: c.get(p, headers=bearer)):.1f} ms (median of 20)")

        def fifty(headers: dict[str, str]) -> float:
            t = time.perf_counter()
            for _ in range(50):
                assert c.get("/api/v1/status", headers=headers).status_code == 200
            return time.perf_counter() - t

        fifty(basic)                                    # the first Basic request hashes
        b, tok = fifty(basic), fifty(bearer)
        app.state.credentials = VerifiedCredentials(ttl=0)
        cold = fifty(basic)
        print(f"50 requests: Basic {b * 1000:.0f} ms, token {tok * 1000:.0f} ms, Basic without "
              f"the credentials cache {cold * 1000:.0f} ms")
        app.state.credentials = VerifiedCredentials()
        q = "/api/v1/programme-report?start=2021-01-01&end=2021-12-31&format=json"
        t = time.perf_counter()
        r = c.get(q, headers=bearer, follow_redirects=False)
        asked = (time.perf_counter() - t) * 1000
        job = app.state.jobs.wait(r.json()["id"], 600)
        made = time.perf_counter() - t
        t = time.perf_counter()
        again = c.get(q, headers=bearer)
        print(f"programme report: request {asked:.1f} ms (answers {r.status_code}), job "
              f"{job.state} after {made:.2f} s; asked again {(time.perf_counter() - t) * 1000:.1f}"
              f" ms (answers {again.history[0].status_code if again.history else '-'} then "
              f"{again.status_code})")
        ledger.db.close()


if __name__ == "__main__":
    main()
