"""Sign-in, sessions, CSRF, redaction of victims' data, generalisation for viewers, the audit
trail and the one error envelope."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select
from websupport import SUBMITTER, USERS, made, password

from safeground import example
from safeground.record.storage.schema import sessions, users
from safeground.record.users import csrf_token
from safeground.record.vocabulary import ReportStatus, ReportType

PERSONAL = {"name", "address", "date_of_birth"}


def _basic(name: str, pw: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{pw}".encode()).decode()}


# ------------------------------------------------------------------------ error envelope
def test_every_error_comes_in_one_envelope(site):
    c = site.as_user("chief")
    cases = [
        (c.get("/api/v1/no-such-route"), 404, "NOT_FOUND"),
        (c.put("/api/v1/status"), 405, "METHOD_NOT_ALLOWED"),
        (c.get("/api/v1/objects/hazardous_area/HA-999"), 404, "OBJECT_NOT_FOUND"),
        (c.get("/api/v1/objects/minefield"), 404, "TYPE_UNKNOWN"),
        (c.get("/api/v1/status?as_of=yesterday"), 400, "DATE_INVALID"),
        (c.post("/api/v1/reports/approve", json={"ids": "seven"}), 422, "REQUEST_INVALID"),
        (c.post("/api/v1/reports/reject", json={"ids": [10_000], "note": "x"}), 404,
         "REPORT_NOT_FOUND"),
        (c.post("/api/v1/reports/reject", json={"ids": [1], "note": "x"}), 409,
         "REPORT_NOT_SUBMITTED"),
        (site.client().get("/api/v1/status"), 401, "UNAUTHENTICATED"),
        (site.as_user("visitor").get("/api/v1/reports"), 403, "FORBIDDEN"),
    ]
    for r, status, code in cases:
        assert r.status_code == status, (code, r.text)
        body = r.json()
        assert set(body) == {"error"} and body["error"]["code"] == code, body
        assert body["error"]["message"]
    invalid = cases[5][0].json()["error"]
    assert invalid["details"][0]["where"].startswith("body.ids")


# ----------------------------------------------------------------------- victims' data
def test_victims_personal_data_is_redacted_except_for_victim_data(site):
    for who in ("chief", "analyst", "clerk", "root"):
        c = site.as_user(who)
        fc = c.get("/api/v1/objects/victim").json()
        props = {f["id"]: f["properties"] for f in fc["features"]}
        assert not PERSONAL & set(props["VIC-001"]), who
        assert props["VIC-001"]["redacted"] == ["address", "name"]
        assert fc["redacted"] == ["address", "name"] and "victim_data" in fc["redaction_note"]
        one = c.get("/api/v1/objects/victim/VIC-001").json()["properties"]
        assert not PERSONAL & set(one) and one["age"] == 46
        for rep in c.get("/api/v1/history/VIC-001").json()["reports"]:
            assert not PERSONAL & set(rep["payload"]) and rep["redacted"] == ["address", "name"]
        page = c.get("/objects/victim/VIC-001").text
        assert "Horadiz" not in page and "withheld" in page.lower()
    va = site.as_user("va")
    before = len(site.audit("victim_read"))
    one = va.get("/api/v1/objects/victim/VIC-001").json()["properties"]
    assert one["name"] == "(withheld)" and one["address"] == "Horadiz"
    assert "redacted" not in one
    reps = va.get("/api/v1/history/VIC-001").json()["reports"]
    assert reps[0]["payload"]["address"] == "Horadiz"
    reads = site.audit("victim_read")[before:]
    assert [e["user"] for e in reads] == ["va", "va"]
    assert reads[0]["detail"]["ids"] == ["VIC-001"] and reads[0]["target"].endswith("VIC-001")


def test_exports_never_carry_victims_personal_data(site):
    r = site.as_user("analyst").get("/api/v1/exports/hxl/victim")
    assert r.status_code == 200 and "VIC-001" in r.text and "Horadiz" not in r.text


# -------------------------------------------------------------- uncleared land, viewers
def test_viewers_see_hazardous_areas_only_as_generalised_points(site):
    viewer = site.as_user("visitor").get("/api/v1/map/layers").json()
    assert viewer["staff"] is False
    layers = viewer["layers"]
    assert set(layers) == {"hazardous_area_points", "released_land", "settlements", "admin_areas"}
    points = layers["hazardous_area_points"]["features"]
    assert len(points) == 8
    for f in points:
        assert f["geometry"]["type"] == "Point"
        for v in f["geometry"]["coordinates"]:
            assert abs(v * 100 - round(v * 100)) < 1e-6  # rounded to 0.01°
        assert f["properties"]["generalised"] is True
    staff = site.as_user("clerk").get("/api/v1/map/layers").json()["layers"]
    assert {f["geometry"]["type"] for f in staff["hazardous_areas"]["features"]} == {"Polygon"}
    assert len(staff["accidents"]["features"]) == 1
    assert staff["accidents"]["features"][0]["properties"]["killed"] == 1
    anonymous = site.client().get("/ogc/collections/hazardous_area_points/items")
    assert anonymous.status_code == 401


def test_viewers_get_no_more_from_the_new_map_parameters_and_single_features(site):
    """``layers``, ``detail`` and ``/map/features`` give a viewer nothing it did not get
    before: staff layers are refused (403, before any lookup, so ids cannot be probed), the
    generalised points stay points with their few figures."""
    v = site.as_user("visitor")
    staff = site.as_user("clerk").get("/api/v1/map/layers").json()["layers"]
    for layer in ("hazardous_areas", "accidents", "ordnance"):
        for query in (f"layers={layer}", f"layers=settlements,{layer}",
                      f"layers={layer}&detail=map&bbox=46,39,48,41&zoom=12"):
            r = v.get(f"/api/v1/map/layers?{query}")
            assert r.status_code == 403, (query, r.text)
            err = r.json()["error"]
            assert err["code"] == "FORBIDDEN" and err["details"]["needs"] == "read_detail"
        some = staff[layer]["features"][0]["id"]
        for fid in (some, "NO-SUCH-ID"):       # the same answer whether it exists or not
            r = v.get(f"/api/v1/map/features/{layer}/{fid}")
            assert r.status_code == 403 and r.json()["error"]["code"] == "FORBIDDEN"
            assert fid not in r.text
    viewer = v.get("/api/v1/map/layers").json()["layers"]
    for name in ("hazardous_area_points", "released_land", "settlements", "admin_areas"):
        lean = v.get(f"/api/v1/map/layers?layers={name}&detail=map").json()["layers"]
        assert list(lean) == [name]
        for f, g in zip(lean[name]["features"], viewer[name]["features"], strict=True):
            assert f["geometry"] == g["geometry"]
            assert set(f["properties"]) <= set(g["properties"])
    for f in viewer["hazardous_area_points"]["features"]:
        one = v.get(f"/api/v1/map/features/hazardous_area_points/{f['id']}").json()
        assert one["properties"] == f["properties"] and one["properties"]["generalised"]
        assert set(one) == {"as_of", "layer", "id", "properties"}    # no perimeter, no point
        assert not {"geometry", "remaining_m2", "benchmark", "name"} & set(one["properties"])


def test_the_map_never_carries_victims_personal_data_so_it_audits_no_read(site):
    """Accidents on the map carry casualty counts only, for every role, in every form; as
    with the layers, a map feature is no read of personal data (nothing to audit)."""
    before = len(site.audit("victim_read"))
    for who in ("clerk", "va"):
        c = site.as_user(who)
        layer = c.get("/api/v1/map/layers?layers=accidents").json()["layers"]["accidents"]
        for f in layer["features"]:
            one = c.get(f"/api/v1/map/features/accidents/{f['id']}").json()["properties"]
            assert one == f["properties"] and not PERSONAL & set(one)
            assert one["killed"] + one["injured"] >= 1
        r = c.get("/api/v1/map/features/victims/VIC-001")
        assert r.status_code == 400 and r.json()["error"]["code"] == "LAYER_UNKNOWN"
    assert len(site.audit("victim_read")) == before


# --------------------------------------------------------------- passwords and sessions
def test_passwords_and_tokens_are_stored_only_as_hashes(site):
    tok = site.token("chief")
    with site.ledger.db.read() as conn:
        hashes = [r.password_hash for r in conn.execute(select(users))]
        token_hashes = [r.token_hash for r in conn.execute(select(sessions))]
    assert all(h.startswith("scrypt$16384$8$1$") for h in hashes)
    assert len(set(hashes)) == len(USERS)
    assert not any(password(n) in h for n in USERS for h in hashes)
    assert tok not in token_hashes and len(token_hashes[0]) == 64


def test_cookie_session_needs_the_csrf_token_for_changes(fresh_site):
    c = fresh_site.client()
    r = c.post("/login", data={"name": "chief", "password": password("chief"), "next": "/review"},
               follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/review"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    session = c.cookies.get("sg_session")
    page = c.get("/review").text
    assert f'name="csrf-token" content="{csrf_token(session)}"' in page
    rid = fresh_site.waiting[0]
    r = c.post("/api/v1/reports/approve", json={"ids": [rid]})
    assert r.status_code == 403 and r.json()["error"]["code"] == "CSRF_FAILED"
    r = c.post("/api/v1/reports/approve", json={"ids": [rid]},
               headers={"X-CSRF-Token": "0" * 64})
    assert r.json()["error"]["code"] == "CSRF_FAILED"
    r = c.post("/api/v1/reports/approve", json={"ids": [rid]},
               headers={"X-CSRF-Token": csrf_token(session)})
    assert r.status_code == 200 and r.json()["approved"] == [rid]
    assert fresh_site.ledger.report(rid).decided_by == "chief"
    # signing out ends the session
    c.post("/logout", headers={"X-CSRF-Token": csrf_token(session)})
    c.cookies.set("sg_session", session)
    assert c.get("/api/v1/me").status_code == 401


def test_basic_auth_reads_but_never_writes(fresh_site):
    c = fresh_site.client()
    r = c.get("/ogc/collections", headers=_basic("analyst", password("analyst")))
    assert r.status_code == 200
    r = c.post("/api/v1/reports/approve", json={"ids": fresh_site.waiting},
               headers=_basic("chief", password("chief")))
    assert r.status_code == 401 and r.json()["error"]["code"] == "BASIC_READ_ONLY"
    r = c.get("/ogc/collections", headers=_basic("analyst", "wrong-password"))
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic")


def _from(site, address: str):
    from fastapi.testclient import TestClient

    return TestClient(site.app, raise_server_exceptions=False, client=(address, 50000))


def _token(client, name: str, pw: str) -> int:
    return client.post("/api/v1/auth/token", json={"name": name, "password": pw}).status_code


def test_sign_ins_are_audited_and_rate_limited(fresh_site):
    c = fresh_site.client()
    for _ in range(5):
        r = c.post("/api/v1/auth/token", json={"name": "chief", "password": "guess-guess"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "LOGIN_FAILED"
    r = c.post("/api/v1/auth/token", json={"name": "chief", "password": password("chief")})
    assert r.status_code == 429 and r.json()["error"]["code"] == "LOGIN_RATE_LIMITED"
    assert int(r.headers["Retry-After"]) > 0
    failed = fresh_site.audit("login_failed")
    assert len(failed) == 5 and {e["user"] for e in failed} == {"chief"}
    assert {e["source"] for e in failed} == {"web"}
    # the same address may still sign in to another account (no spraying limit reached yet),
    # and a forged X-Forwarded-For changes nothing: the peer is the client
    r = c.post("/api/v1/auth/token", json={"name": "analyst", "password": password("analyst")},
               headers={"X-Forwarded-For": "10.9.9.9"})
    assert r.status_code == 200
    r = c.post("/login", data={"name": "analyst", "password": password("analyst")},
               follow_redirects=False)
    assert r.status_code == 303
    ok = fresh_site.audit("login")
    assert [(e["user"], e["detail"]["kind"], e["target"]) for e in ok] == \
        [("analyst", "token", "testclient"), ("analyst", "cookie", "testclient")]
    r = c.post("/login", data={"name": "nobody", "password": "x" * 12})
    assert r.status_code == 401 and "wrong user name or password" in r.text


def test_an_attacker_elsewhere_cannot_lock_a_user_out(fresh_site):
    """Failures from one address (or many) never stop the right password from an address
    that has not failed."""
    attacker = _from(fresh_site, "203.0.113.7")
    for _ in range(5):
        assert _token(attacker, "ROOT", "guess-guess") == 401     # any case: the same account
    assert _token(attacker, "root", password("root")) == 429      # this pair is stopped
    assert _token(_from(fresh_site, "192.0.2.10"), "root", password("root")) == 200
    # a botnet: many addresses, enough failures to guard the account
    for i in range(10):
        assert _token(_from(fresh_site, f"198.51.100.{i}"), "root", "guess-guess") == 401
    # guarded: an address that has failed against root is refused at once...
    assert _token(_from(fresh_site, "198.51.100.3"), "root", "another-guess") == 429
    # ...one that has not still gets through, and the right password signs in
    assert _token(_from(fresh_site, "192.0.2.11"), "root", password("root")) == 200
    assert _token(_from(fresh_site, "192.0.2.12"), "root", "wrong-once") == 401
    assert _token(_from(fresh_site, "192.0.2.12"), "root", password("root")) == 429


def test_one_address_spraying_many_accounts_is_stopped(fresh_site):
    sprayer = _from(fresh_site, "203.0.113.8")
    for i in range(20):
        assert _token(sprayer, f"user{i}", "Winter2026!!") == 401
    assert _token(sprayer, "clerk", password("clerk")) == 429
    assert _token(_from(fresh_site, "192.0.2.20"), "clerk", password("clerk")) == 200


def test_the_limiter_forgets_after_its_window_and_keeps_bounded_memory():
    from safeground.web.auth import LoginLimiter, TooManyAttemptsError

    now = [1000.0]
    lim = LoginLimiter(pair=2, address=100, account=100, window=60, max_keys=30,
                       clock=lambda: now[0])
    lim.failed("amina", "a")
    lim.failed("Amina ", "a")
    with pytest.raises(TooManyAttemptsError) as e:
        lim.check("AMINA", "a")
    assert 1 <= e.value.details["retry_after"] <= 61
    lim.check("amina", "b")                      # another address is not stopped
    now[0] += 61
    lim.check("amina", "a")                      # the window has passed
    lim.failed("amina", "a")
    lim.succeeded("amina", "a")
    lim.failed("amina", "a")
    lim.check("amina", "a")                      # a success cleared the pair
    for i in range(200):
        lim.failed(f"u{i}", f"10.0.0.{i}")
    assert len(lim) <= 30 + 3


def test_deactivated_users_lose_their_tokens(fresh_site):
    c = fresh_site.as_user("clerk")
    assert c.get("/api/v1/me").json()["roles"] == ["data_entry"]
    root = fresh_site.as_user("root")
    r = root.put("/api/v1/users/clerk/active", json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False
    assert c.get("/api/v1/me").status_code == 401
    r = root.put("/api/v1/users/analyst/roles", json={"roles": ["analyst", "wizard"]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "USER_ROLE_UNKNOWN"
    r = root.post("/api/v1/users", json={"name": "new.one", "password": "short",
                                         "roles": ["viewer"]})
    assert r.json()["error"]["code"] == "PASSWORD_TOO_SHORT"
    r = root.post("/api/v1/users", json={"name": "new.one", "password": "long-enough-pw",
                                         "roles": ["viewer", "analyst"]})
    assert r.status_code == 201 and r.json()["roles"] == ["analyst", "viewer"]
    actions = [(e["user"], e["action"], e["target"]) for e in fresh_site.audit("user_add")]
    assert ("root", "user_add", "new.one") in actions
    trail = root.get("/api/v1/audit?limit=5").json()["entries"]
    assert trail[0]["action"] == "user_add" and trail[0]["user"] == "root"


# ------------------------------------------------------------- writes through the API
def _area(oid: str, lon: float, lat: float) -> dict:
    d = 0.002
    return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[
        [lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]]},
        "properties": {"report_type": "hazardous_area", "object_id": oid,
                       "date_of_information": "2021-07-01", "organisation": "ANAMA",
                       "author": "surveyor", "classification": "SHA",
                       "contamination": ["AP"]}}


def test_submit_and_approve_through_the_api_are_audited(site):
    clerk, chief = site.as_user("clerk"), site.as_user("chief")
    body = {"type": "FeatureCollection", "features": [
        _area("HA-API-1", 46.80, 39.90), {**_area("HA-API-2", 46.85, 39.90),
                                           "properties": {"report_type": "hazardous_area",
                                                          "object_id": "HA-API-2"}}]}
    r = clerk.post("/api/v1/reports", json=body)
    assert r.status_code == 201, r.text
    out = r.json()
    assert len(out["accepted"]) == 1 and len(out["rejected"]) == 1
    assert {p["code"] for p in out["rejected"][0]["problems"]} >= {"FIELD_REQUIRED"}
    rid = out["accepted"][0]
    assert site.ledger.report(rid).submitted_by == "clerk"
    # the approver sees it in the review queue, with a proposal
    queue = chief.get("/api/v1/review").json()["reports"]
    mine = next(q for q in queue if q["id"] == rid)
    assert mine["proposal"]["action"] == "new" and mine["own"] is False
    assert clerk.post("/api/v1/reports/approve", json={"ids": [rid]}).status_code == 403
    waiting = chief.get("/api/v1/review").json()["counts"]["waiting"]
    r = chief.post("/api/v1/reports/approve", json={"ids": [rid], "note": "checked"})
    counts = r.json().pop("counts")
    assert counts["waiting"] == waiting - 1      # the queue's counts after the decision
    body = r.json()
    del body["counts"]
    assert body == {"approved": [rid], "refused": [], "already_decided": [],
                        "not_found": [], "plan_job": None,   # no plan here
                        "outcomes": [{"report_id": rid, "outcome": "approved"}]}
    area = chief.get("/api/v1/objects/hazardous_area/HA-API-1").json()
    assert area["properties"]["status"] == "open" and area["properties"]["original_m2"] > 0
    trail = [(e["user"], e["action"]) for e in site.audit("submit") + site.audit("approve")]
    assert ("clerk", "submit") in trail and ("chief", "approve") in trail


def test_nobody_approves_their_own_submission(fresh_site):
    from safeground.record.users import Users

    Users(fresh_site.ledger.db).add(SUBMITTER, "officer-password", ["data_entry", "approver"])
    c = fresh_site.client()
    tok = c.post("/api/v1/auth/token", json={"name": SUBMITTER,
                                             "password": "officer-password"}).json()["token"]
    r = c.post("/api/v1/reports/approve", json={"ids": fresh_site.waiting[:1]},
               headers={"Authorization": f"Bearer {tok}"})
    assert r.status_code == 200 and r.json()["approved"] == []
    [out] = r.json()["outcomes"]
    assert out["outcome"] == "refused"
    assert [p["code"] for p in out["problems"]] == ["APPROVER_IS_SUBMITTER"]
    assert fresh_site.ledger.report(fresh_site.waiting[0]).status is ReportStatus.SUBMITTED


def test_an_approval_answers_report_by_report(fresh_site):
    """A report another approver decided meanwhile, or no report at all, is answered on its
    own: the others are approved, and nothing is refused whole."""
    first, second = fresh_site.waiting[:2]
    fresh_site.ledger.approve([first], user="someone.else")
    r = fresh_site.as_user("chief").post("/api/v1/reports/approve",
                                         json={"ids": [first, second, 999_999]})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["approved"] == [second] and out["not_found"] == [999_999]
    assert out["already_decided"] == [{"report_id": first, "status": "approved",
                                       "decided_by": "someone.else"}]
    assert [(o["report_id"], o["outcome"]) for o in out["outcomes"]] == [
        (first, "already_decided"), (second, "approved"), (999_999, "not_found")]
    assert [p["code"] for p in out["outcomes"][0]["problems"]] == ["REPORT_ALREADY_DECIDED"]
    assert fresh_site.ledger.report(first).decided_by == "someone.else"


def test_file_import_through_the_api(fresh_site, tmp_path):
    import json

    doc = {"type": "FeatureCollection", "features": [_area("HA-UP-1", 46.80, 39.95)]}
    r = fresh_site.as_user("clerk").post(
        "/api/v1/imports", files={"file": ("../../nts upload.geojson", json.dumps(doc),
                                           "application/geo+json")})
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["accepted"] == 1 and out["path"] == "nts_upload.geojson"
    assert fresh_site.ledger.report(out["report_ids"][0]).object_id == "HA-UP-1"


def test_analyst_outputs(site, tmp_path):
    a = site.as_user("analyst")
    r = a.get("/api/v1/exports/geopackage")
    assert r.status_code == 200 and r.content[:16] == b"SQLite format 3\x00"
    path = tmp_path / "x.gpkg"
    path.write_bytes(r.content)
    import pyogrio

    layers = {name for name, _ in pyogrio.list_layers(path)}
    assert "hazardous_areas" in layers and "settlements" in layers
    summary = a.get("/api/v1/exports/land-release-summary?by=year").json()
    assert {row["period"] for row in summary["rows"]} == {"2021"}
    assert a.get("/api/v1/risk/areas").json()["error"]["code"] == "OUTPUT_NOT_AVAILABLE"
    assert site.audit("export")[-1]["user"] == "analyst"


def test_programme_report_for_every_role_without_personal_data(site):
    anonymous = site.client().get("/api/v1/programme-report?start=2021-01-01")
    assert anonymous.status_code == 401
    v = site.as_user("visitor")
    figures = made(site, v, "/api/v1/programme-report?start=2021-01-01&end=2021-12-31&format=json")
    assert figures.status_code == 200
    body = figures.json()
    assert body["casualties"]["killed"] >= 1 and body["released_total_m2"] > 0
    page = made(site, v, "/api/v1/programme-report?start=2021-01-01&end=2021-12-31")
    assert page.status_code == 200 and "<svg" in page.text
    names = [r["name"] for r in example.records() if r["report_type"] == "victim"
             and r.get("name")]
    assert names and not any(n in page.text for n in names)
    book = made(site, v,
                "/api/v1/programme-report?start=2021-01-01&end=2021-12-31&format=xlsx")
    assert book.status_code == 200 and book.content[:2] == b"PK"
    bad = v.get("/api/v1/programme-report?start=2022-01-01&end=2021-01-01")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "PERIOD_INVALID"
    assert 'action="/api/v1/programme-report"' in v.get("/dashboard").text


# ------------------------------------------------------------------------ pages render
@pytest.mark.parametrize("who", ["visitor", "chief", "analyst", "root"])
def test_pages_render_for_each_role(site, who):
    c = site.as_user(who)
    r = c.get("/dashboard")
    assert r.status_code == 200 and "suspected hazardous areas" in r.text
    assert "<svg" in r.text and 'data-figure="sha"' in r.text
    assert c.get("/map").status_code == 200
    staff = who != "visitor"
    r = c.get("/objects/hazardous_area/HA-002?as_of=2021-04-20")
    assert r.status_code == (200 if staff else 403)
    if staff:
        assert "HA-002" in r.text and "LR-004" not in r.text  # cleared on 2021-05-10
        now = c.get("/objects/hazardous_area/HA-002").text
        assert "LR-004" in now and "LR-005" in now
    assert (c.get("/review").status_code == 200) == (who == "chief")


def test_status_as_of_a_past_date(site):
    c = site.as_user("visitor")
    now = c.get("/api/v1/status").json()
    past = c.get("/api/v1/status?as_of=2021-01-01").json()
    assert past["as_of"] == "2021-01-01"
    assert past["released_m2"]["cleared"] == 0 and now["released_m2"]["cleared"] > 0
    assert ReportType.HAZARDOUS_AREA  # the enum the API's types come from
