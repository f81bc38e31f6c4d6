"""What the API answers to hostile requests: ids past 64 bits, malformed and deeply nested
bodies, bodies and fields over the limits, and a failure nobody foresaw — always the coded
error envelope, never a 500 from the input, and never a dropped connection."""

from __future__ import annotations

import http.client
import json
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from websupport import served

from safeground.web import create_app

HUGE = 2**64 + 7


def _code(r) -> str:
    assert r.headers["content-type"].startswith("application/json"), r.headers
    return r.json()["error"]["code"]


def _count_reports(site) -> int:
    from sqlalchemy import func, select

    from safeground.record.storage.schema import reports
    with site.ledger.db.read() as conn:
        return conn.execute(select(func.count()).select_from(reports)).scalar_one()


def _limited(site, user: str, **limits) -> TestClient:
    """A client, signed in as ``user``, of the site's app made again with other limits."""
    app = create_app(replace(site.ledger.settings, **limits), ledger=site.ledger)
    client = TestClient(app, raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {site.token(user)}"
    return client


def test_ids_past_64_bits_are_refused_in_the_envelope(fresh_site):
    analyst, chief = fresh_site.as_user("analyst"), fresh_site.as_user("chief")
    r = analyst.get(f"/api/v1/reports/{HUGE}")
    assert r.status_code == 422 and _code(r) == "REQUEST_INVALID"
    assert r.json()["error"]["details"][0]["where"] == "path.report_id"
    for route, body in (("approve", {"ids": [HUGE]}), ("reject", {"ids": [HUGE], "note": "x"})):
        r = chief.post(f"/api/v1/reports/{route}", json=body)
        assert r.status_code == 422 and _code(r) == "REQUEST_INVALID", r.text
    r = fresh_site.as_user("root").get(f"/api/v1/audit?offset={HUGE}")
    assert r.status_code == 422 and _code(r) == "REQUEST_INVALID"
    # the largest id that fits is a plain "no such report"
    r = analyst.get(f"/api/v1/reports/{2**63 - 1}")
    assert r.status_code == 404


def test_malformed_and_deeply_nested_bodies_are_coded_400s(fresh_site):
    clerk = fresh_site.as_user("clerk")
    before = _count_reports(fresh_site)
    r = clerk.post("/api/v1/reports", json={"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": [1, 2], "geometry": None}]})
    assert r.status_code == 400 and _code(r) == "BODY_INVALID"
    assert r.json()["error"]["details"] == {"where": "feature 1", "field": "properties"}
    r = clerk.post("/api/v1/reports", json={"records": [1]})
    assert r.status_code == 400 and _code(r) == "BODY_INVALID"
    deep: object = [46.9, 39.98]
    for _ in range(500):
        deep = [deep]
    r = clerk.post("/api/v1/reports", json={"records": [
        {"report_type": "hazardous_area", "geometry": {"type": "Polygon",
                                                       "coordinates": deep}}]})
    assert r.status_code == 400 and _code(r) == "BODY_TOO_DEEP"
    # deeper than the JSON parser goes: unreadable, still coded
    r = clerk.post("/api/v1/reports", content=b"[" * 100_000,
                   headers={"Content-Type": "application/json"})
    assert r.status_code in (400, 422) and _code(r) in ("BODY_INVALID", "REQUEST_INVALID")
    assert _count_reports(fresh_site) == before   # nothing of them was stored


def test_a_field_over_its_limit_is_refused_before_anything_is_stored(fresh_site):
    clerk = _limited(fresh_site, "clerk", max_field_chars=1000)
    before = _count_reports(fresh_site)
    record = {"report_type": "evidence", "object_id": "EV-BIG", "description": "x" * 1001}
    r = clerk.post("/api/v1/reports", json={"records": [{"report_type": "organisation"},
                                                        record]})
    assert r.status_code == 422 and _code(r) == "FIELD_TOO_LARGE", r.text
    (problem,) = r.json()["error"]["details"]
    assert problem["where"] == "record 2" and problem["field"] == "description"
    assert problem["params"] == {"value": 1001, "limit": 1000}
    assert _count_reports(fresh_site) == before
    # a list counts as its JSON text; a field name has its own limit
    r = clerk.post("/api/v1/reports", json={"records": [{"contamination": ["AP"] * 300}]})
    assert r.status_code == 422 and _code(r) == "FIELD_TOO_LARGE"
    r = clerk.post("/api/v1/reports", json={"records": [{"k" * 300: 1}]})
    assert r.status_code == 422 and _code(r) == "FIELD_TOO_LARGE"
    # at the limit, the record goes to the gate as usual
    record["description"] = "x" * 1000
    r = clerk.post("/api/v1/reports", json={"records": [record]})
    assert r.status_code == 201, r.text


def test_a_body_over_the_limit_is_413_whether_its_length_is_declared_or_not(fresh_site):
    client = _limited(fresh_site, "clerk", max_request_bytes=10_000)
    before = _count_reports(fresh_site)
    body = json.dumps({"records": [{"report_type": "organisation",
                                    "name": "n" * 5000}] * 3}).encode()
    r = client.post("/api/v1/reports", content=body,
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and _code(r) == "BODY_TOO_LARGE"
    assert r.json()["error"]["details"] == {"limit": 10_000}

    def chunks():          # no Content-Length: counted as it arrives
        for i in range(0, len(body), 1000):
            yield body[i:i + 1000]

    r = client.post("/api/v1/reports", content=chunks(),
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and _code(r) == "BODY_TOO_LARGE"
    # the limit holds before authentication too, and on every route
    anonymous = TestClient(client.app, raise_server_exceptions=False)
    r = anonymous.post("/api/v1/auth/token", content=b"{" + b" " * 20_000 + b"}",
                       headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and _code(r) == "BODY_TOO_LARGE"
    assert _count_reports(fresh_site) == before
    # under the limit: through as usual
    small = json.dumps({"records": [{"report_type": "organisation", "name": "n"}]}).encode()
    r = client.post("/api/v1/reports", content=small,
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 201, r.text


def test_the_upload_route_takes_its_own_larger_limit(fresh_site, tmp_path):
    client = _limited(fresh_site, "clerk", max_request_bytes=1000, max_upload_bytes=50_000)
    csv = b"report_type,object_id\n" + b"organisation,ORG-X\n" * 1000   # 19 kB
    r = client.post("/api/v1/imports", files={"file": ("orgs.csv", csv, "text/csv")})
    assert r.status_code != 413, r.text
    r = client.post("/api/v1/imports",
                    files={"file": ("orgs.csv", csv * 3, "text/csv")})
    assert r.status_code == 413 and _code(r) == "BODY_TOO_LARGE"


def test_an_unexpected_error_is_a_500_envelope_and_the_connection_stays_usable(fresh_site,
                                                                               monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a failure nobody foresaw")

    monkeypatch.setattr(fresh_site.ledger, "report", broken)
    token = fresh_site.token("analyst")
    with served(fresh_site.app) as base:
        conn = http.client.HTTPConnection(base.removeprefix("http://"), timeout=10)
        headers = {"Authorization": f"Bearer {token}"}
        conn.request("GET", "/api/v1/reports/1", headers=headers)
        r = conn.getresponse()
        body = json.loads(r.read())
        assert r.status == 500 and body == {"error": {
            "code": "INTERNAL_ERROR", "message": "an unexpected error occurred; it was logged"}}
        assert r.getheader("X-Content-Type-Options") == "nosniff"   # through the middlewares
        assert r.getheader("Connection", "").lower() != "close"
        sock = conn.sock
        # the same connection answers the next request (it was not dropped)
        conn.request("GET", "/api/v1/me", headers=headers)
        r = conn.getresponse()
        assert r.status == 200 and json.loads(r.read())["name"] == "analyst"
        assert conn.sock is sock
        conn.close()


@pytest.mark.parametrize("path", ["/api/v1/reports/{report_id}", "/api/v1/reports"])
def test_the_description_lists_every_error_with_the_envelope(site, path):
    spec = site.as_user("visitor").get("/api/v1/openapi.json").json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert spec["components"]["schemas"]["ErrorEnvelope"]["required"] == ["error"]
    for method, op in spec["paths"][path].items():
        codes = set(op["responses"])
        assert {"401", "403", "422", "500"} <= codes, (method, codes)
        for code in codes - {"200", "201"}:
            schema = op["responses"][code]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorEnvelope"}
    assert {"400", "413"} <= set(spec["paths"]["/api/v1/reports"]["post"]["responses"])
    assert "404" in spec["paths"]["/api/v1/reports/{report_id}"]["get"]["responses"]
    param = spec["paths"]["/api/v1/reports/{report_id}"]["get"]["parameters"][0]
    assert param["schema"]["maximum"] == 2**63 - 1


def test_the_limits_come_from_the_environment(monkeypatch):
    from safeground.errors import ConfigError
    from safeground.settings import Settings

    monkeypatch.setenv("SAFEGROUND_MAX_REQUEST_BYTES", "2048")
    monkeypatch.setenv("SAFEGROUND_MAX_FIELD_CHARS", "500")
    s = Settings.from_env()
    assert (s.max_request_bytes, s.max_field_chars) == (2048, 500)
    assert s.max_upload_bytes == Settings().max_upload_bytes
    monkeypatch.setenv("SAFEGROUND_MAX_JSON_DEPTH", "0")
    with pytest.raises(ConfigError):
        Settings.from_env()
