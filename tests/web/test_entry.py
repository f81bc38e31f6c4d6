"""Data entry in the browser's routes: the Import page's background import (summary and
rejects file), the New report page's form made from REPORT_SPECS, coordinates pasted as
lat/lon, UTM or MGRS, and who may use them (a viewer gets 403)."""

from __future__ import annotations

import csv
import io

import pytest

from safeground.record.reports import REPORT_SPECS
from safeground.record.vocabulary import ReportStatus, ReportType

CSV = """report_type,object_id,date_of_information,organisation,author,category,source,\
reliability,longitude,latitude
evidence,EV-UP-1,2024-03-01,ANAMA,team 1,find,observed,high,47.31,40.31
evidence,EV-UP-2,2024-03-02,ANAMA,team 1,verbal,verbal,medium,47.32,40.32
evidence,EV-UP-3,2024-03-03,ANAMA,team 1,not_a_category,observed,high,47.33,40.33
"""


def _wait_job(client, job: dict) -> dict:
    site_jobs = client.app.state.jobs
    site_jobs.wait(job["id"], timeout=120)
    r = client.get(job["href"])
    assert r.status_code == 200, r.text
    return r.json()


def test_an_import_job_gives_the_summary_and_the_rejects_file(fresh_site):
    site = fresh_site
    clerk = site.as_user("clerk")
    r = clerk.post("/api/v1/import-jobs", files={"file": ("finds.csv", CSV, "text/csv")})
    assert r.status_code == 202, r.text
    assert r.headers["Location"] == r.json()["href"]
    job = _wait_job(clerk, r.json())
    assert job["state"] == "done", job
    s = job["summary"]
    assert (s["accepted"] + s["needs_review"], s["rejected"]) == (2, 1)
    assert s["rejections"][0]["problems"][0]["code"] == "CHOICE_UNKNOWN"
    assert {site.ledger.report(i).object_id for i in s["report_ids"]} == {"EV-UP-1", "EV-UP-2"}
    assert all(site.ledger.report(i).status is ReportStatus.SUBMITTED for i in s["report_ids"])
    rejects = clerk.get(job["result"])
    assert rejects.status_code == 200
    assert rejects.headers["content-disposition"].startswith("attachment")
    rows = list(csv.DictReader(io.StringIO(rejects.text)))
    assert [row["object_id"] for row in rows] == ["EV-UP-3"]
    assert "CHOICE_UNKNOWN" in rows[0]["_problems"]
    # another user does not see the job
    assert site.as_user("chief").get(job["href"]).status_code == 404


def test_a_file_refused_whole_says_why(fresh_site):
    clerk = fresh_site.as_user("clerk")
    r = clerk.post("/api/v1/import-jobs", files={"file": ("empty.csv", "", "text/csv")})
    job = _wait_job(clerk, r.json())
    assert job["summary"]["refused"]["code"] in ("FILE_EMPTY", "FILE_UNREADABLE",
                                                 "COLUMN_MISSING")
    assert job["summary"]["stored"] == 0


@pytest.mark.parametrize("path", ["/api/v1/import-jobs", "/api/v1/geometry/parse"])
def test_a_viewer_may_not_enter_data(site, path):
    r = site.as_user("visitor").post(path, json={})
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize("page", ["/import", "/submit"])
def test_the_entry_pages_are_for_data_entry(site, page):
    c = site.client()
    c.post("/login", data={"name": "visitor", "password": "visitor-password"})
    assert c.get(page, headers={"Accept": "text/html"}).status_code == 403
    c = site.client()
    c.post("/login", data={"name": "clerk", "password": "clerk-password"})
    r = c.get(page)
    assert r.status_code == 200
    assert f'href="{page}"' in r.text            # in the clerk's menu
    c = site.client()
    c.post("/login", data={"name": "visitor", "password": "visitor-password"})
    assert f'href="{page}"' not in c.get("/map").text


def _page(site, who: str, url: str) -> str:
    c = site.client()
    c.post("/login", data={"name": who, "password": f"{who}-password"})
    r = c.get(url)
    assert r.status_code == 200, r.text
    return r.text


@pytest.mark.parametrize("rtype", [t.value for t in ReportType])
def test_the_form_of_each_report_type_is_made_from_its_spec(site, rtype):
    page = _page(site, "clerk", f"/submit?type={rtype}")
    spec = REPORT_SPECS[ReportType(rtype)]
    for f in spec.fields:
        assert f'data-field="{f.name}"' in page, f.name
        if f.kind == "choice":
            for c in f.choices:
                assert f'<option value="{c.value}"' in page
    assert ('id="draw-map"' in page) == bool(spec.geometry)
    assert ('id="victims"' in page) == (rtype == "accident")


def test_a_correction_starts_from_the_object_and_keeps_its_id(site):
    page = _page(site, "clerk", "/submit?type=hazardous_area&object=HA-001")
    assert 'value="HA-001"' in page and "readonly" in page
    assert '<option value="SHA" selected>' in page
    r = site.client()
    r.post("/login", data={"name": "clerk", "password": "clerk-password"})
    assert r.get("/submit?type=hazardous_area&object=HA-NONE").status_code == 404
    assert r.get("/submit?type=no_such_type").status_code == 404


@pytest.mark.parametrize(("body", "want"), [
    ({"text": "39.985, 46.945"}, [46.945, 39.985]),
    ({"text": "39,985 46,945"}, [46.945, 39.985]),
    ({"text": "38N 412345 4431234", "system": "utm"}, None),
    ({"text": "412345 4431234", "system": "utm", "zone": "38T"}, None),
    ({"text": "38T MK 1234 6789", "system": "mgrs"}, None),
])
def test_pasted_coordinates_become_a_geometry(site, body, want):
    from pyproj import Transformer

    r = site.as_user("clerk").post("/api/v1/geometry/parse", json=body)
    assert r.status_code == 200, r.text
    g = r.json()["geometry"]
    assert g["type"] == "Point"
    if want:
        assert g["coordinates"] == pytest.approx(want)
    elif body["system"] == "utm":       # back to UTM 38N: the same metres
        x, y = Transformer.from_crs(4326, 32638, always_xy=True).transform(*g["coordinates"])
        assert (x, y) == pytest.approx((412345, 4431234), abs=0.01)
    else:                               # the centre of the 10 m MGRS square
        import mgrs
        assert mgrs.MGRS().toMGRS(g["coordinates"][1], g["coordinates"][0],
                                  MGRSPrecision=4) == "38TMK12346789"


def test_a_polygon_is_closed_and_bad_coordinates_name_the_line(site):
    clerk = site.as_user("clerk")
    r = clerk.post("/api/v1/geometry/parse", json={
        "text": "40.0 47.0\n40.0 47.01\n40.01 47.01", "shape": "polygon"})
    ring = r.json()["geometry"]["coordinates"][0]
    assert len(ring) == 4 and ring[0] == ring[-1]
    r = clerk.post("/api/v1/geometry/parse", json={"text": "40.0 47.0\nforty 47", "shape": "line"})
    assert r.status_code == 422
    problem = r.json()["error"]["details"][0]
    assert problem["code"] == "GEO_ENCODING" and "line 2" in problem["message"]
    r = clerk.post("/api/v1/geometry/parse", json={"text": "XX", "system": "mgrs"})
    assert r.json()["error"]["details"][0]["code"] == "MGRS_INVALID"


def test_an_uploaded_file_gives_its_first_geometry(site):
    import json

    fc = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
          "geometry": {"type": "Polygon", "coordinates": [[[47, 40], [47.01, 40], [47.01, 40.01],
                                                           [47, 40]]]}}]}
    r = site.as_user("clerk").post("/api/v1/geometry/file", files={
        "file": ("area.geojson", json.dumps(fc), "application/geo+json")})
    assert r.status_code == 200, r.text
    assert r.json()["geometry"]["type"] == "Polygon"
    r = site.as_user("clerk").post("/api/v1/geometry/file", files={
        "file": ("area.geojson", "not geojson", "application/geo+json")})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["code"] == "GEOM_UNPARSABLE"
