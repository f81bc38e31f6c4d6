"""The audit trail for admins: a page (and the API) filtered by actor, action, target and
dates, newest first, a page at a time, read through ``safeground.record.audit``."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import insert

from safeground.record import audit
from safeground.record.storage.schema import audit_log

#: (days ago, actor, action, target) of the entries the tests lay down
ENTRIES = [(d, actor, action, target)
           for d in range(0, 30)
           for actor, action, target in [
               ("amina", "export", f"hxl:area-{d}"),
               ("rashad", "approve", f"HA-{d:04d}"),
           ]] + [
    (3, "intruder", "login_failed", "10.0.0.9"),
    (2, "amina", "export", "100% done_ok"),
    (1, "root", "user_add", "<script>alert(1)</script>"),
]


@pytest.fixture(scope="module")
def trail(site):
    """The site (SQLite and PostGIS) with ENTRIES added (at noon UTC, so many days ago)."""
    today = dt.datetime.now(dt.UTC).replace(tzinfo=None).date()
    rows = [{"at": dt.datetime.combine(today - dt.timedelta(days=d), dt.time(12)),
             "user": u, "action": a, "target": t, "detail": {"n": i}}
            for i, (d, u, a, t) in enumerate(ENTRIES)]
    with site.ledger.db.write() as conn:
        conn.execute(insert(audit_log), rows)
    return site, today


def _all(site) -> list[dict]:
    return audit.entries(site.ledger.db, 100_000)


def _ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-id="(\d+)"', html)]


def test_only_admins_see_the_page_and_its_link(site):
    assert site.as_user("root").get("/audit").status_code == 200
    assert 'href="/audit"' in site.as_user("root").get("/map").text
    for who in ("visitor", "clerk", "chief", "analyst", "va"):
        c = site.as_user(who)
        r = c.get("/audit")
        assert r.status_code == 403 and r.json()["error"]["code"] == "FORBIDDEN"
        assert 'href="/audit"' not in c.get("/map").text
    assert site.client().get("/audit", headers={"Accept": "text/html"},
                             follow_redirects=False).headers["location"] == "/login?next=/audit"


@pytest.mark.parametrize("query, keep", [
    ("actor=amina", lambda e: e["user"] == "amina"),
    ("action=approve", lambda e: e["action"] == "approve"),
    ("target=ha-000", lambda e: "ha-000" in (e["target"] or "").lower()),
    ("actor=amina&action=export&target=area-1", lambda e: e["user"] == "amina"
     and e["action"] == "export" and "area-1" in e["target"]),
])
def test_filters_keep_exactly_the_matching_entries(trail, query, keep):
    site, _ = trail
    want = [e["id"] for e in _all(site) if keep(e)]
    assert want
    html = site.as_user("root").get(f"/audit?{query}&per_page=200").text
    assert _ids(html) == want                         # newest first, all of them
    assert f"{len(want):,} entries match" in html
    api = site.as_user("root").get(f"/api/v1/audit?{query}&limit=10000").json()
    assert [e["id"] for e in api["entries"]] == want and api["total"] == len(want)


def test_date_range_includes_both_days(trail):
    site, today = trail
    since, until = today - dt.timedelta(days=5), today - dt.timedelta(days=2)
    want = [e["id"] for e in _all(site) if since <= e["at"].date() <= until]
    assert len(want) == 4 * 2 + 2           # days 5..2, two a day, plus two extra entries
    r = site.as_user("root").get(f"/audit?since={since}&until={until}&per_page=200")
    assert _ids(r.text) == want
    api = site.as_user("root").get(f"/api/v1/audit?since={since}&until={until}").json()
    assert api["total"] == len(want)
    bad = site.as_user("root").get("/api/v1/audit?since=last-week")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "DATE_INVALID"
    assert site.as_user("root").get("/audit?until=2021-13-01").json()["error"]["code"] \
        == "DATE_INVALID"
    none = site.as_user("root").get(f"/audit?since={until}&until={since}").text
    assert "No entries match" in none and _ids(none) == []


def test_paging_walks_every_entry_once_newest_first(trail):
    site, _ = trail
    c = site.as_user("root")
    want = [e["id"] for e in _all(site) if e["action"] == "export"]
    assert len(want) >= 31
    seen, url = [], "/audit?action=export&per_page=10"
    pages = 0
    while url:
        html = c.get(url.replace("&amp;", "&")).text
        seen += _ids(html)
        pages += 1
        m = re.search(r'href="([^"]+)" rel="next"', html)
        url = m.group(1) if m else None
        assert "action=export" in (url or "action=export")       # filters kept
    last = -(-len(want) // 10)
    assert pages == last and seen == want
    page2 = c.get("/audit?action=export&per_page=10&page=2").text
    assert f"showing 11–20 (page 2 of {last})" in page2 and 'rel="prev"' in page2
    assert '<option value="10" selected>' in page2          # the page size asked for
    beyond = c.get("/audit?action=export&per_page=10&page=99").text
    assert _ids(beyond) == want[(last - 1) * 10:]                 # the last page
    api = c.get("/api/v1/audit?action=export&limit=10&offset=10").json()
    assert [e["id"] for e in api["entries"]] == want[10:20]


def test_filters_are_bound_parameters_not_sql_or_wildcards(trail):
    site, _ = trail
    c = site.as_user("root")
    literal = [e["id"] for e in _all(site) if e["target"] == "100% done_ok"]
    assert _ids(c.get("/audit?target=%25").text) == literal       # '%' is a character
    assert _ids(c.get("/audit?target=_").text) == literal         # '_' too
    for evil in ("' OR '1'='1", "x%' OR 1=1 --", "amina' --"):
        assert _ids(c.get("/audit", params={"actor": evil}).text) == []
        assert _ids(c.get("/audit", params={"target": evil}).text) == []
    assert audit.count(site.ledger.db, user="amina") == sum(e[1] == "amina" for e in ENTRIES)
    # what is shown is escaped
    html = c.get("/audit?action=user_add").text
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_new_entries_show_up_with_their_actions_in_the_filter(trail):
    site, _ = trail
    c = site.as_user("root")
    c.get("/api/v1/exports/hxl/settlement")  # root is not an analyst: 403, nothing written
    site.as_user("analyst").get("/api/v1/exports/hxl/settlement")
    html = c.get("/audit?actor=analyst").text
    rows = _ids(html)
    assert len(rows) == 2      # the token sign-in and the export
    assert "hxl:settlement" in html
    assert '<option value="login_failed"' in html and '<option value="export"' in html
