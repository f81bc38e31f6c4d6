"""Several servers on one database answer as one service.

Two ``safeground serve`` processes on different ports (as on two machines) share one record —
PostGIS, and SQLite in WAL mode — and one work directory; the first runs two worker processes
(``--workers 2``). A client signs in on one and acts on the other with the same session or
token, an approval made through one is seen by the other (its cached figures included),
failed sign-ins are counted across both, a programme report asked of one is followed and
fetched on the other, and one plan is made at a time whichever server is asked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
import requests
from websupport import Site, build_site, password, serve_in_process, write_plan

from safeground.record.summary import status


@dataclass
class Pair:
    site: Site
    a: str           # base URL of the first server (two workers)
    b: str           # base URL of the second


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("service")
    server = None
    if request.param == "sqlite":
        url = f"sqlite:///{work}/record.sqlite"
    else:
        server = request.getfixturevalue("postgis_server")
        url = server.create_database()
    s = build_site(url)
    s.plan, s.work_dir = write_plan(s, work), work
    logs = tmp_path_factory.mktemp("service-logs")
    with serve_in_process(url, work, logs / "a.log", "--workers", "2") as a, \
            serve_in_process(url, work, logs / "b.log") as b:
        yield Pair(s, a, b)
    s.ledger.db.close()
    if server is not None:
        server.drop_database(url.rsplit("/", 1)[1])


def _token(base: str, name: str) -> str:
    r = requests.post(f"{base}/api/v1/auth/token",
                      json={"name": name, "password": password(name)}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()["token"]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_session_made_on_one_server_works_on_the_other(pair):
    # the web UI's cookie: signed in on A, pages and the API on B
    web = requests.Session()
    r = web.post(f"{pair.a}/login", data={"name": "chief", "password": password("chief"),
                                         "next": "/dashboard"}, allow_redirects=False,
                 timeout=60)
    assert r.status_code == 303 and "sg_session" in web.cookies
    me = web.get(f"{pair.b}/api/v1/me", timeout=60)
    assert me.status_code == 200 and me.json()["name"] == "chief"
    page = web.get(f"{pair.b}/review", headers={"Accept": "text/html"}, timeout=60)
    assert page.status_code == 200 and "login" not in page.url
    # signing out on B ends the session on A too
    csrf = web.get(f"{pair.b}/dashboard", headers={"Accept": "text/html"}, timeout=60).text \
        .split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    out = web.post(f"{pair.b}/logout", headers={"X-CSRF-Token": csrf}, allow_redirects=False,
                   timeout=60)
    assert out.status_code == 303
    web.cookies.set("sg_session", r.cookies["sg_session"])
    assert web.get(f"{pair.a}/api/v1/me", timeout=60).status_code == 401
    # an API token made on B, used on A
    token = _token(pair.b, "analyst")
    me = requests.get(f"{pair.a}/api/v1/me", headers=_bearer(token), timeout=60)
    assert me.status_code == 200 and me.json()["name"] == "analyst"


def test_an_approval_on_one_server_is_seen_by_the_other(pair):
    chief = _bearer(_token(pair.a, "chief"))
    before = [requests.get(f"{base}/api/v1/status", headers=chief, timeout=60).json()
              for base in (pair.b, pair.b, pair.a)]      # B's figures cached, then A's
    assert before[0] == before[1] == before[2]
    queue = requests.get(f"{pair.b}/api/v1/review", headers=chief, timeout=60).json()
    waiting = {r["id"] for r in queue["reports"]}
    report = pair.site.waiting[0]
    assert report in waiting
    r = requests.post(f"{pair.a}/api/v1/reports/approve", headers=chief,
                      json={"ids": [report]}, timeout=120)
    assert r.status_code == 200 and r.json()["approved"] == [report], r.text
    after = requests.get(f"{pair.b}/api/v1/status", headers=chief, timeout=60).json()
    assert after != before[0]
    # B's figures are those of the record as it is now, not of what B had cached
    from fastapi.encoders import jsonable_encoder

    assert after == jsonable_encoder(status(pair.site.ledger).to_dict())
    queue = requests.get(f"{pair.b}/api/v1/review", headers=chief, timeout=60).json()
    left = {r["id"] for r in queue["reports"]}
    assert report not in left
    # deciding it again on B: already decided (by chief, through A)
    again = requests.post(f"{pair.b}/api/v1/reports/approve", headers=chief,
                          json={"ids": [report]}, timeout=120).json()
    assert [d["report_id"] for d in again["already_decided"]] == [report]


def test_failed_sign_ins_are_counted_across_servers(pair):
    name = "nobody.guessing"
    codes = []
    for base in (pair.a, pair.b, pair.a, pair.b, pair.a):       # five failures, both servers
        r = requests.post(f"{base}/api/v1/auth/token",
                          json={"name": name, "password": "wrong-password-1"}, timeout=60)
        codes.append(r.status_code)
    assert codes == [401] * 5
    for base in (pair.a, pair.b):
        r = requests.post(f"{base}/api/v1/auth/token",
                          json={"name": name, "password": "wrong-password-1"}, timeout=60)
        assert r.status_code == 429 and r.json()["error"]["code"] == "LOGIN_RATE_LIMITED"
        assert int(r.headers["Retry-After"]) > 0


def test_a_report_asked_of_one_server_is_fetched_from_the_other(pair):
    visitor = _bearer(_token(pair.a, "visitor"))
    r = requests.get(f"{pair.a}/api/v1/programme-report?start=2021-01-01&end=2021-12-31"
                     "&format=json", headers=visitor, allow_redirects=False, timeout=60)
    assert r.status_code in (202, 303), r.text
    href = r.headers["Location"]
    deadline = time.monotonic() + 300
    job = requests.get(f"{pair.b}{href}", headers=visitor, timeout=60).json()
    while job.get("state") not in ("done", "failed"):
        assert time.monotonic() < deadline, job
        time.sleep(0.5)
        job = requests.get(f"{pair.b}{href}", headers=visitor, timeout=60).json()
    assert job["state"] == "done", job
    out = requests.get(f"{pair.b}{job['result']}", headers=visitor, timeout=60)
    assert out.status_code == 200 and out.json()["start"] == "2021-01-01"
    # another user sees neither the job nor its result
    other = _bearer(_token(pair.b, "clerk"))
    assert requests.get(f"{pair.a}{href}", headers=other, timeout=60).status_code == 404


def _plan_state(base: str, headers: dict[str, str]) -> dict:
    return requests.get(f"{base}/api/v1/plan/jobs/current", headers=headers, timeout=60).json()


def _wait_plan(base: str, headers: dict[str, str]) -> dict:
    deadline = time.monotonic() + 600
    job = _plan_state(base, headers)
    while job["state"] == "running":
        assert time.monotonic() < deadline, job
        time.sleep(0.5)
        job = _plan_state(base, headers)
    return job


def test_one_plan_is_made_at_a_time_whichever_server_is_asked(pair):
    analyst = _bearer(_token(pair.a, "analyst"))
    body = {"start": "2021-06-01", "horizon_weeks": 52, "seconds": 3}
    first = requests.post(f"{pair.a}/api/v1/plan/jobs", headers=analyst, json=body,
                          timeout=60)
    assert first.status_code == 202 and first.json()["state"] == "running", first.text
    # while A makes it, B refuses another and tells who asked
    refused = requests.post(f"{pair.b}/api/v1/plan/jobs", headers=analyst, json=body,
                            timeout=60)
    running = _plan_state(pair.b, analyst)
    if running["state"] == "running":        # (the job may, rarely, be done already)
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "PLAN_JOB_RUNNING"
        assert running["by"] == "analyst" and running["start"] == "2021-06-01"
    done = _wait_plan(pair.b, analyst)
    assert done["state"] == "done", done
    assert done["summary"]["areas_released_in_horizon"] >= 0
    # now B may make one, and A sees it
    second = requests.post(f"{pair.b}/api/v1/plan/jobs", headers=analyst,
                           json={**body, "start": "2021-07-01"}, timeout=60)
    assert second.status_code == 202, second.text
    done = _wait_plan(pair.a, analyst)
    assert done["state"] == "done" and done["start"] == "2021-07-01", done
    made = pair.site.audit("plan_made")
    assert [e["detail"]["start"] for e in made][-2:] == ["2021-06-01", "2021-07-01"]
