"""Figures computed once per version of the record, heavy outputs as background jobs, and
Basic credentials remembered for a while without being trusted blindly."""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading

import pytest
from fastapi.encoders import jsonable_encoder
from websupport import SUBMITTER, password

from safeground import example
from safeground.record import users as users_module
from safeground.record.summary import status
from safeground.record.users import Users
from safeground.reports import programme as pr
from safeground.web import api
from safeground.web.auth import VerifiedCredentials
from safeground.web.jobs import JobLimitError, Jobs, JobsBusyError, Output
from safeground.web.pages import dashboard_figures

REPORT = "/api/v1/programme-report?start=2021-01-01&end=2021-12-31"


def _basic(name: str, pw: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{pw}".encode()).decode()}


def _plain(value):
    return json.loads(json.dumps(jsonable_encoder(value)))


# ------------------------------------------------------------- figures per record version
def test_cached_figures_equal_the_uncached_ones_and_follow_every_write(fresh_site):
    site, cache = fresh_site, fresh_site.app.state.derived
    chief = site.as_user("chief")
    first = chief.get("/api/v1/status").json()
    assert first == _plain(status(site.ledger).to_dict())
    computed = cache.computed
    assert chief.get("/api/v1/status").json() == first
    assert chief.get("/dashboard").status_code == 200
    page = chief.get("/dashboard").text
    assert cache.computed == computed + 1          # status once, dashboard once
    s, figures, charts = next(v for (k, _), v in cache._values.items() if k[0] == "dashboard")
    s2, figures2, charts2 = dashboard_figures(site.ledger, None)
    assert (s.to_dict(), figures, charts) == (s2.to_dict(), figures2, charts2)
    # an approval through the API: the figures follow at once
    r = chief.post("/api/v1/reports/approve", json={"ids": site.waiting, "note": "checked"})
    assert r.status_code == 200 and r.json()["approved"] == site.waiting
    after = chief.get("/api/v1/status").json()
    assert after != first and after == _plain(status(site.ledger).to_dict())
    assert chief.get("/dashboard").text != page
    # a write by another process (straight to the ledger, no request of this app): the
    # record's version moves, so the figures follow too
    res = site.ledger.submit([{**example.records()[0], "object_id": "ORG-NEW",
                               "name": "New NGO"}], user=SUBMITTER)
    assert res.accepted
    later = chief.get("/api/v1/status").json()
    assert later != after and later == _plain(status(site.ledger).to_dict())
    # signing in, or reading, writes to the audit trail but does not move the version
    from safeground.web.cache import version

    before = version(site.ledger)
    site.token("analyst")
    site.as_user("analyst").get("/api/v1/exports/geopackage")
    assert version(site.ledger) == before
    # a date asked is a figure of its own
    day = chief.get("/api/v1/status?as_of=2021-03-01").json()
    assert day == _plain(status(site.ledger, dt.date(2021, 3, 1)).to_dict())


def test_the_cache_holds_a_bounded_number_of_values():
    from safeground.web.cache import RecordCache

    cache = RecordCache(max_entries=3)
    for i in range(10):
        assert cache.get(("k", i), (1, 1), lambda i=i: i * i) == i * i
    assert len(cache) == 3
    assert cache.get(("k", 9), (1, 1), lambda: -1) == 81       # kept
    assert cache.get(("k", 9), (1, 2), lambda: -1) == -1       # another version: computed
    assert cache.get(("k", 9), (1, 1), lambda: -2) == -2       # the older one was dropped


def test_many_asking_at_once_for_a_missing_value_compute_it_once():
    from safeground.web.cache import RecordCache

    cache, calls, go = RecordCache(), [], threading.Event()

    def compute():
        calls.append(1)
        go.wait(0.5)          # everyone else arrives while this one computes
        return "figures"

    got: list[str] = []
    threads = [threading.Thread(target=lambda: got.append(cache.get("status", (1, 1),
                                                                     compute)))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert got == ["figures"] * 8 and len(calls) == 1 and cache.computed == 1


# ------------------------------------------------------------------------------ jobs
def test_the_programme_report_is_a_job_whose_result_is_the_direct_build(fresh_site):
    site = fresh_site
    visitor = site.as_user("visitor")
    r = visitor.post("/api/v1/jobs", json={"kind": "programme-report", "start": "2021-01-01",
                                           "end": "2021-12-31", "format": "json"},
                     follow_redirects=False)
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["location"] == job["href"] == f"/api/v1/jobs/{job['id']}"
    assert job["state"] in ("waiting", "running", "done") and job["kind"] == "programme-report"
    assert site.app.state.jobs.wait(job["id"], 120).state == "done"
    polled = visitor.get(job["href"]).json()
    assert polled["state"] == "done" and polled["progress"] == 1.0
    got = visitor.get(polled["result"])
    assert got.status_code == 200 and got.headers["content-type"].startswith("application/json")
    direct = pr.build(site.ledger, dt.date(2021, 1, 1), dt.date(2021, 12, 31))
    assert got.json() == _plain(direct.to_dict())
    # the HTML report as well
    html = visitor.post("/api/v1/jobs", json={"kind": "programme-report",
                                              "start": "2021-01-01", "end": "2021-12-31"},
                        follow_redirects=False).json()
    site.app.state.jobs.wait(html["id"], 120)
    page = visitor.get(f"/api/v1/jobs/{html['id']}/result")
    from safeground.reports.maps import overview_map

    assert page.text == pr.render_html(direct, "Mine action programme report",
                                       map_svg=overview_map(site.ledger, dt.date(2021, 1, 1),
                                                            dt.date(2021, 12, 31)))
    names = [x["name"] for x in example.records() if x["report_type"] == "victim"
             and x.get("name")]
    assert names and not any(n in page.text for n in names)
    # asked again, for the same record: the result made before, at once, for anyone
    again = site.as_user("chief").get(REPORT + "&format=json", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"].endswith("/result")
    assert site.as_user("chief").get(again.headers["location"]).json() == got.json()
    # once the record changes, the report is made again
    site.as_user("chief").post("/api/v1/reports/approve",
                               json={"ids": site.waiting, "note": "checked"})
    assert visitor.get(REPORT + "&format=json", follow_redirects=False).status_code == 202


@pytest.fixture
def held(monkeypatch):
    """Programme report jobs that wait for ``release`` before they end."""
    release = threading.Event()

    def work(ledger, first, last, fmt, title, plan_dir):
        def run(progress):
            progress(0.5, "held")
            release.wait(60)
            return Output(f"{first}..{last}".encode(), "text/plain", "r.txt")
        return run

    monkeypatch.setattr(api, "programme_report_work", work)
    yield release
    release.set()


def test_one_job_per_user_only_the_owner_sees_it_and_no_result_before_it_ends(fresh_site,
                                                                              held):
    site = fresh_site
    visitor, chief = site.as_user("visitor"), site.as_user("chief")
    first = visitor.get(REPORT, follow_redirects=False)
    assert first.status_code == 202
    job = first.json()
    # the same report asked again: the same job
    assert visitor.get(REPORT, follow_redirects=False).json()["id"] == job["id"]
    # another one while it runs: refused, saying which job runs
    other = visitor.post("/api/v1/jobs", json={"kind": "programme-report",
                                               "start": "2020-01-01"})
    assert other.status_code == 429 and other.headers["retry-after"]
    assert other.json()["error"]["code"] == "JOB_RUNNING"
    assert other.json()["error"]["details"]["job"]["id"] == job["id"]
    # another user may ask meanwhile, but may not look at this user's job
    assert chief.get(REPORT + "&format=json", follow_redirects=False).status_code == 202
    hidden = chief.get(job["href"])
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "JOB_NOT_FOUND"
    early = visitor.get(f"{job['href']}/result")
    assert early.status_code == 409 and early.json()["error"]["code"] == "JOB_NOT_DONE"
    # a browser is given a page that waits and opens the result when it is there
    page = visitor.get(job["href"], headers={"Accept": "text/html"})
    assert page.status_code == 200 and 'http-equiv="refresh"' in page.text
    held.set()
    assert site.app.state.jobs.wait(job["id"], 30).state == "done"
    done = visitor.get(job["href"], headers={"Accept": "text/html"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].endswith("/result")
    assert visitor.get(f"{job['href']}/result").text == "2021-01-01..2021-12-31"
    # bad periods are refused before any job starts
    bad = visitor.get("/api/v1/programme-report?start=2022-01-01&end=2021-01-01")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "PERIOD_INVALID"
    long = visitor.get("/api/v1/programme-report?start=1000-01-01&end=2021-01-01")
    assert long.status_code == 422 and long.json()["error"]["code"] == "PERIOD_TOO_LONG"
    assert site.client().get(job["href"]).status_code == 401


def _service_db(tmp_path):
    from safeground.record.storage import Database

    return Database.open(f"sqlite:///{tmp_path / 'service.sqlite'}")


def test_few_jobs_run_at_once_and_the_waiting_line_is_bounded(tmp_path):
    jobs = Jobs(_service_db(tmp_path), workers=1, max_waiting=1)
    release = threading.Event()

    def work(progress):
        release.wait(30)
        return Output(b"x", "text/plain", "x.txt")

    a, started = jobs.start("a", "k", {}, "key-a", work)
    assert started
    b, _ = jobs.start("b", "k", {}, "key-b", work)         # waits for the worker
    with pytest.raises(JobsBusyError):
        jobs.start("c", "k", {}, "key-c", work)
    with pytest.raises(JobLimitError):
        jobs.start("a", "k", {}, "key-a2", work)
    release.set()
    assert jobs.wait(a.id, 30).state == "done" and jobs.wait(b.id, 30).state == "done"
    again, started = jobs.start("c", "k", {}, "key-a", work)   # made already: shared
    assert not started and again.state == "done" and again.id != a.id
    assert jobs.result(again.id, "c").body == b"x"


def test_a_failing_job_says_why(tmp_path):
    jobs = Jobs(_service_db(tmp_path), workers=1)

    def work(progress):
        raise ValueError("broken")

    job, _ = jobs.start("a", "k", {}, "key", work)
    assert jobs.wait(job.id, 30).state == "failed"
    with pytest.raises(Exception) as err:
        jobs.result(job.id, "a")
    assert err.value.code == "JOB_FAILED" and "broken" in str(err.value)


# ------------------------------------------------------------- Basic credentials cache
def test_basic_credentials_are_hashed_once_and_a_new_password_or_deactivation_counts_at_once(
        fresh_site, monkeypatch):
    site = fresh_site
    calls = []
    real = users_module.verify_password

    def counting(pw, stored):
        calls.append(1)
        return real(pw, stored)

    monkeypatch.setattr(users_module, "verify_password", counting)
    c = site.client()
    for _ in range(5):
        assert c.get("/ogc/collections", headers=_basic("analyst", password("analyst"))
                     ).status_code == 200
    assert len(calls) == 1                      # the password hash was checked once
    # the cache holds keyed digests, never the password
    remembered = site.app.state.credentials
    assert len(remembered) == 1
    for key, (_, digest) in remembered._seen.items():
        assert len(key) == 32 and len(digest) == 32
        assert password("analyst").encode() not in key + digest
    # a wrong password is still checked, and refused
    assert c.get("/ogc/collections", headers=_basic("analyst", "not-the-password")
                 ).status_code == 401
    # a new password: the old one is refused at once, though remembered
    Users(site.ledger.db).set_password("analyst", "a-new-long-password", by="root")
    r = c.get("/ogc/collections", headers=_basic("analyst", password("analyst")))
    assert r.status_code == 401 and r.json()["error"]["code"] == "LOGIN_FAILED"
    assert c.get("/ogc/collections", headers=_basic("analyst", "a-new-long-password")
                 ).status_code == 200
    assert c.get("/ogc/collections", headers=_basic("analyst", "a-new-long-password")
                 ).status_code == 200
    # a deactivated user is refused at once, though remembered
    Users(site.ledger.db).set_active("analyst", False, by="root")
    r = c.get("/ogc/collections", headers=_basic("analyst", "a-new-long-password"))
    assert r.status_code == 401 and r.json()["error"]["code"] == "LOGIN_FAILED"


def test_remembered_credentials_expire():
    now = [0.0]
    remembered = VerifiedCredentials(ttl=300, max_entries=2, clock=lambda: now[0])
    remembered.remember("Analyst", "secret-password", "scrypt$stored")
    assert remembered.known("analyst", "secret-password", "scrypt$stored")   # any case
    assert not remembered.known("analyst", "secret-password", "scrypt$other")
    assert not remembered.known("analyst", "other-password", "scrypt$stored")
    now[0] = 301
    assert not remembered.known("analyst", "secret-password", "scrypt$stored")
    for i in range(5):
        remembered.remember(f"u{i}", "pw", "h")
    assert len(remembered) == 2
    # another process (another key) knows nothing of these
    assert not VerifiedCredentials().known("u4", "pw", "h")
