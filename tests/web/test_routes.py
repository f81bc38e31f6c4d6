"""Every route needs a signed-in user with the right role, except a short documented list.

The test walks ``app.routes``: each route must declare its permission through
``auth.require`` (or be on ``PUBLIC_ROUTES``), answer an anonymous caller with 401, a caller
without the permission with 403, and let a caller with it through.
"""

from __future__ import annotations

import re

from fastapi.routing import APIRoute
from websupport import USERS

from safeground.record.users import GRANTS, Permission, Role
from safeground.web.app import PUBLIC_ROUTES, route_table
from safeground.web.auth import permission_of

#: sample values for path parameters (a staff-only collection, a victim: the strictest case;
#: the map layer every role reads, so that the route's own layer check is not met first)
SAMPLES = {"rtype": "victim", "object_id": "VIC-001", "report_id": "1",
           "collection_id": "hazardous_areas", "feature_id": "HA-001", "name": "visitor",
           "layer": "hazardous_area_points", "settlement_id": "SET-AGHDAM", "grant_id": "1",
           "job_id": "no-such-job", "z": "0", "x": "0", "y": "0"}


def _routes(app) -> list[tuple[str, str, APIRoute]]:
    return [(m, p, r) for m, p, r in route_table(app) if isinstance(r, APIRoute)]


def _url(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: SAMPLES[m.group(1)], path)


def _user_with(perm: Permission) -> str:
    return next(n for n, roles in USERS.items() if perm in GRANTS[Role(roles[0])])


def _user_without(perm: Permission) -> str | None:
    return next((n for n, roles in USERS.items() if perm not in GRANTS[Role(roles[0])]), None)


def test_every_route_declares_its_permission_or_is_on_the_public_list(site):
    seen_public = set()
    for method, path, route in _routes(site.app):
        if (method, path) in PUBLIC_ROUTES:
            seen_public.add((method, path))
            assert permission_of(route) is None, f"{method} {path} is public and guarded?"
            continue
        assert permission_of(route) is not None, f"{method} {path} has no role check"
    others = [(m, p) for m, p, r in route_table(site.app) if not isinstance(r, APIRoute)]
    assert others == [("GET", "/static")]
    assert len(_routes(site.app)) >= 40
    # the allow-list holds only routes that exist (plus the static mount)
    assert PUBLIC_ROUTES - seen_public == {("GET", "/static")}


def test_the_walk_covers_the_map_view_account_and_audit_routes(site):
    perms = {(m, p): permission_of(r) for m, p, r in _routes(site.app)}
    assert perms[("GET", "/api/v1/map/layers")] is Permission.READ_PUBLIC
    # the map's single feature: every role, then the layer's own rule (test_map_view.py)
    assert perms[("GET", "/api/v1/map/features/{layer}/{feature_id}")] is Permission.READ_PUBLIC
    assert perms[("GET", "/account/password")] is Permission.READ_PUBLIC
    assert perms[("POST", "/api/v1/me/password")] is Permission.READ_PUBLIC
    assert perms[("GET", "/audit")] is Permission.MANAGE_USERS
    assert perms[("GET", "/api/v1/audit")] is Permission.MANAGE_USERS


def test_anonymous_callers_get_401_in_the_error_envelope(site):
    c = site.client()
    checked = 0
    for method, path, _route in _routes(site.app):
        if (method, path) in PUBLIC_ROUTES:
            continue
        r = c.request(method, _url(path), headers={"Accept": "application/json"},
                      follow_redirects=False)
        assert r.status_code == 401, (method, path, r.status_code, r.text[:200])
        assert r.json()["error"]["code"] == "UNAUTHENTICATED"
        assert "WWW-Authenticate" in r.headers
        checked += 1
    assert checked >= 35


def test_pages_send_an_anonymous_browser_to_the_sign_in_page(site):
    r = site.client().get("/review", headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/review"


def test_callers_without_the_permission_get_403(site):
    checked = set()
    for method, path, route in _routes(site.app):
        perm = permission_of(route)
        if perm is None:
            continue
        who = _user_without(perm)
        if who is None:  # every role reads the public view
            assert perm is Permission.READ_PUBLIC
            continue
        r = site.as_user(who).request(method, _url(path))
        assert r.status_code == 403, (method, path, who, r.status_code, r.text[:200])
        assert r.json()["error"]["code"] == "FORBIDDEN"
        checked.add(perm)
    # READ_VICTIMS guards fields, not routes (test_security.py)
    assert checked == set(Permission) - {Permission.READ_PUBLIC, Permission.READ_VICTIMS}


def test_callers_with_the_permission_get_through(site):
    for method, path, route in _routes(site.app):
        perm = permission_of(route)
        if perm is None:
            continue
        who = _user_with(perm)
        if "{collection_id}" in path:  # the sample collection is for staff
            who = _user_with(Permission.READ_DETAIL)
        r = site.as_user(who).request(method, _url(path))
        # 404 / 409 / 422: past the role check, refused for the (empty) request itself
        assert r.status_code not in (401, 403), (method, path, who, r.text[:200])
        assert r.status_code < 500, (method, path, who, r.text[:300])
        if path.endswith("/logout"):
            site.forget(who)  # that token is gone now


def test_staff_collections_are_forbidden_to_viewers_and_listed_only_for_staff(site):
    viewer, staff = site.as_user("visitor"), site.as_user("analyst")
    for cid in ("hazardous_areas", "ordnance", "accidents"):
        r = viewer.get(f"/ogc/collections/{cid}/items")
        assert r.status_code == 403 and r.json()["error"]["code"] == "FORBIDDEN"
        assert staff.get(f"/ogc/collections/{cid}/items").status_code == 200
    listed = {c["id"] for c in viewer.get("/ogc/collections").json()["collections"]}
    assert listed == {"hazardous_area_points", "released_land", "settlements"}


def test_the_public_routes_answer_without_sign_in(site):
    c = site.client()
    assert c.get("/login").status_code == 200
    assert c.get("/ogc").json()["links"]
    assert "conformsTo" in c.get("/ogc/conformance").json()
    css = c.get("/static/vendor/leaflet/leaflet.css")
    assert css.status_code == 200 and ".leaflet-container" in css.text
    assert c.get("/static/vendor/leaflet/leaflet.js").status_code == 200


def test_the_health_check_is_public_and_says_only_whether_the_database_answers(site):
    answer = site.client().get("/healthz")
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"status", "record_version"} and body["status"] == "ok"
    with site.app.state.ledger.db.read() as conn:
        from safeground.record.ledger.rows import record_version

        assert body["record_version"] == list(record_version(conn))


def test_the_health_check_answers_503_in_the_envelope_when_the_database_is_gone(tmp_path):
    from fastapi.testclient import TestClient
    from sqlalchemy import create_engine

    from safeground.record.ledger import Ledger
    from safeground.record.storage import Database
    from safeground.settings import Settings
    from safeground.web import create_app

    url = f"sqlite:///{tmp_path}/missing-folder/record.sqlite"   # a folder that is not there
    app = create_app(Settings(database_url=url),
                     ledger=Ledger(Database(create_engine(url)), Settings(database_url=url)))
    answer = TestClient(app).get("/healthz")
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "DB_UNREACHABLE"
    assert "record_version" not in answer.text


def test_no_page_loads_anything_from_another_host(site):
    """Offline: no CDN, no tile server, no web fonts."""
    c = site.as_user("root")
    pages = ["/map", "/dashboard", "/review", "/analysis", "/users", "/api/v1/docs", "/audit",
             "/objects/hazardous_area/HA-002", "/account/password"]
    for page in pages:
        r = c.get(page)
        assert r.status_code in (200, 403), page
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", r.text), page
    for asset in ("app.js", "map.js", "review.js", "object.js", "users.js", "password.js",
                  "app.css"):
        assert "http" not in site.client().get(f"/static/{asset}").text.replace(
            "http://www.w3.org", ""), asset
    assert "Content-Security-Policy" in c.get("/map").headers
