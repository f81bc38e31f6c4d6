"""The map asks only for what is in view: ``bbox`` keeps the features that meet the box,
``zoom`` simplifies lines and polygons for the screen (mapview.py). Without them the answer
is exact. Role protections hold whatever is asked."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import shape
from websupport import SUBMITTER

from safeground.record.geometry import reproject
from safeground.record.vocabulary import ReportType
from safeground.web import mapview
from safeground.web.mapview import MapView, decimals, simplify, tolerance_3857
from safeground.web.views import public_area

DEG_M = 2 * math.pi * mapview.R / 360     # EPSG:3857 metres per degree of longitude


def _ids(body: dict, layer: str) -> set[str]:
    return {f["id"] for f in body["layers"][layer]["features"]}


def _vertices(fc: dict) -> int:
    return sum(len(shapely.get_coordinates(shape(f["geometry"]))) for f in fc["features"])


def _far(a, b) -> float:
    """How far apart two shapes are drawn (Hausdorff distance in EPSG:3857 metres, segments
    split in 20 so that it is not only measured between vertices)."""
    return shapely.hausdorff_distance(
        shapely.boundary(reproject(a, "EPSG:4326", "EPSG:3857")),
        shapely.boundary(reproject(b, "EPSG:4326", "EPSG:3857")), densify=0.05)


def _drift(zoom: float, lat: float) -> float:
    """How far a simplified shape may be drawn from the exact one, in EPSG:3857 metres: twice
    the tolerance (GEOS also drops a ring's start point when it is within the tolerance of
    its neighbours' chord, which can add one tolerance next to it), and the snapping grid."""
    grid = 10.0 ** -decimals(zoom) * DEG_M / math.cos(math.radians(min(lat, 85)))
    return 2 * tolerance_3857(zoom) + 2 * grid


def _bbox(*b: float) -> str:
    return ",".join(f"{v:.6f}" for v in b)


# ------------------------------------------------------------------------------- in view
def test_bbox_keeps_exactly_the_features_that_meet_the_box(site):
    ledger = site.ledger
    c = site.as_user("analyst")
    areas = {r["id"]: r["geometry"] for r in ledger.objects(ReportType.HAZARDOUS_AREA)}
    settlements = {r["id"]: r["geometry"] for r in ledger.objects(ReportType.SETTLEMENT)}
    # the Aghdam district's half of the example, and a box that cuts HA-001 in two
    for box in [(46.70, 39.85, 47.20, 40.20), (46.945, 39.90, 47.30, 40.20),
                (40.0, 30.0, 40.1, 30.1)]:
        body = c.get(f"/api/v1/map/layers?bbox={_bbox(*box)}").json()
        want = {i for i, g in areas.items() if g.intersects(shapely.box(*box))}
        assert _ids(body, "hazardous_areas") == want
        assert _ids(body, "settlements") == {i for i, g in settlements.items()
                                             if g.intersects(shapely.box(*box))}
        assert body["bbox"] == list(box)
    body = c.get(f"/api/v1/map/layers?bbox={_bbox(46.945, 39.90, 47.30, 40.20)}").json()
    assert "HA-001" in _ids(body, "hazardous_areas")           # cut by the box: still drawn
    assert {"HA-004", "HA-005"}.isdisjoint(_ids(body, "hazardous_areas"))   # Fuzuli
    # a bbox alone filters but leaves the geometry exact
    exact = c.get("/api/v1/objects/hazardous_area").json()
    exact = {f["id"]: f["geometry"] for f in exact["features"]}
    for f in body["layers"]["hazardous_areas"]["features"]:
        assert f["geometry"] == exact[f["id"]]
    nothing = c.get(f"/api/v1/map/layers?bbox={_bbox(40.0, 30.0, 40.1, 30.1)}").json()
    assert all(not fc["features"] for fc in nothing["layers"].values())


def test_without_bbox_or_zoom_the_answer_is_whole_and_exact(site):
    from safeground.record.users import Role, User
    from safeground.web.api import map_layers

    body = site.as_user("chief").get("/api/v1/map/layers").json()
    assert "bbox" not in body and "zoom" not in body
    user = User(0, "chief", frozenset({Role.APPROVER}))
    import json
    want = json.loads(json.dumps(map_layers(site.ledger, user, None)))
    assert body["layers"] == want
    areas = site.ledger.objects(ReportType.HAZARDOUS_AREA)
    assert len(body["layers"]["hazardous_areas"]["features"]) == len(areas) == 8
    for f in body["layers"]["hazardous_areas"]["features"]:
        stored = next(a["geometry"] for a in areas if a["id"] == f["id"])
        assert shape(f["geometry"]).equals_exact(stored, 0)


def test_viewers_boxes_are_tested_against_the_generalised_point_never_the_perimeter(site):
    """A box around an area's perimeter must not tell a viewer where the perimeter is."""
    v = site.as_user("visitor")
    rows = site.ledger.objects(ReportType.HAZARDOUS_AREA)
    points = {r["id"]: shape(public_area(r)["geometry"]) for r in rows}
    differ = 0
    for r in rows:
        box = r["geometry"].bounds            # exactly the perimeter's box
        body = v.get(f"/api/v1/map/layers?bbox={_bbox(*box)}&zoom=14").json()
        assert set(body["layers"]) == {"hazardous_area_points", "released_land", "settlements",
                                       "admin_areas"}
        got = _ids(body, "hazardous_area_points")
        assert got == {i for i, p in points.items() if p.intersects(shapely.box(*box))}
        differ += r["id"] not in got
        for f in body["layers"]["hazardous_area_points"]["features"]:
            assert f["geometry"]["type"] == "Point" and f["properties"]["generalised"]
    assert differ >= 4    # the perimeters' boxes mostly miss the rounded points
    # and a box around a rounded point finds the area without ever showing its perimeter
    p = points["HA-001"]
    body = v.get(f"/api/v1/map/layers?bbox={_bbox(p.x - 1e-4, p.y - 1e-4, p.x + 1e-4, p.y + 1e-4)}"
                 ).json()
    assert "HA-001" in _ids(body, "hazardous_area_points")


def test_roles_are_enforced_whatever_the_view(site):
    box = _bbox(46.0, 39.0, 48.0, 41.0)
    for who in ("visitor",):
        body = site.as_user(who).get(f"/api/v1/map/layers?bbox={box}&zoom=9").json()
        assert body["staff"] is False
        assert {"hazardous_areas", "accidents", "ordnance"}.isdisjoint(body["layers"])
    staff = site.as_user("clerk").get(f"/api/v1/map/layers?bbox={box}&zoom=9").json()
    accident = staff["layers"]["accidents"]["features"][0]["properties"]
    assert accident["killed"] == 1 and not {"name", "address", "date_of_birth"} & set(accident)
    assert site.client().get(f"/api/v1/map/layers?bbox={box}&zoom=9").status_code == 401


@pytest.mark.parametrize("query, status, code", [
    ("bbox=1,2,3", 400, "BBOX_INVALID"), ("bbox=3,2,1,4", 400, "BBOX_INVALID"),
    ("bbox=a,b,c,d", 400, "BBOX_INVALID"), ("bbox=nan,0,1,1", 400, "BBOX_INVALID"),
    ("zoom=31", 422, "REQUEST_INVALID"), ("zoom=-1", 422, "REQUEST_INVALID"),
    ("zoom=far", 422, "REQUEST_INVALID")])
def test_bad_views_are_refused_in_the_error_envelope(site, query, status, code):
    r = site.as_user("visitor").get(f"/api/v1/map/layers?{query}")
    assert r.status_code == status and r.json()["error"]["code"] == code, r.text


# --------------------------------------------------------------------------- simplified
def _round_area(oid: str, lon: float, lat: float, radius_deg: float, n: int = 720):
    """A many-vertex area: a wobbly circle (a GPS track walked around a field)."""
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = radius_deg * (1 + 0.03 * np.sin(a * 17))
    ring = np.column_stack([lon + r * np.cos(a), lat + r * np.sin(a) * 0.77])
    return {"report_type": "hazardous_area", "object_id": oid,
            "date_of_information": "2021-07-01", "organisation": "ANAMA", "author": "surveyor",
            "classification": "SHA", "contamination": ["AP"],
            "geometry": shapely.Polygon(np.round(ring, 7))}


def test_zoom_simplifies_polygons_and_keeps_them_valid(fresh_site):
    ledger = fresh_site.ledger
    recs = [_round_area("HA-ROUND-1", 46.80, 39.90, 0.01),
            _round_area("HA-ROUND-2", 46.83, 39.90, 0.004, 360)]
    res = ledger.submit(recs, user=SUBMITTER)
    assert not res.rejected
    assert not ledger.approve(res.accepted, user="ops.chief").refused
    c = fresh_site.as_user("analyst")
    box = _bbox(46.7, 39.8, 46.9, 40.0)
    exact = c.get(f"/api/v1/map/layers?bbox={box}").json()["layers"]["hazardous_areas"]
    stored = {f["id"]: shape(f["geometry"]) for f in exact["features"]}
    assert set(stored) == {"HA-ROUND-1", "HA-ROUND-2"}
    counts = {}
    for zoom in (8, 10, 12, 14, 16, 18):
        body = c.get(f"/api/v1/map/layers?bbox={box}&zoom={zoom}").json()
        assert body["zoom"] == zoom and body["decimals"] == decimals(zoom)
        assert body["tolerance_3857"] == pytest.approx(tolerance_3857(zoom), abs=1e-4)
        fc = body["layers"]["hazardous_areas"]
        assert {f["id"] for f in fc["features"]} == set(stored)
        for f in fc["features"]:
            g = shape(f["geometry"])
            assert g.is_valid and not g.is_empty and g.geom_type == "Polygon"
            # never further from the stored shape than the tolerance and the grid allow
            far = _far(g, stored[f["id"]])
            assert far <= _drift(zoom, 39.9)
            # coordinates written with no more decimals than the zoom needs
            for x, y in shapely.get_coordinates(g):
                assert round(x, decimals(zoom)) == x and round(y, decimals(zoom)) == y
        counts[zoom] = _vertices(fc)
        # the properties are the exact ones
        assert [f["properties"] for f in fc["features"]] == [f["properties"] for f in
                                                              exact["features"]]
    full = _vertices(exact)
    assert full == 720 + 1 + 360 + 1
    assert counts[8] < counts[12] < counts[16] <= full
    assert counts[8] <= 40 and counts[12] < full / 2
    # the answer is smaller on the wire, too
    small = c.get(f"/api/v1/map/layers?bbox={box}&zoom=10", headers={"Accept-Encoding": "identity"})
    whole = c.get(f"/api/v1/map/layers?bbox={box}", headers={"Accept-Encoding": "identity"})
    assert len(small.content) < len(whole.content) / 3


def _star(cx: float, cy: float, radius: float, radii: list[float]) -> shapely.Polygon:
    a = np.linspace(0, 2 * np.pi, len(radii), endpoint=False)
    r = radius * np.asarray(radii)
    return shapely.Polygon(np.column_stack([cx + r * np.cos(a), cy + r * np.sin(a)]))


@settings(max_examples=60, deadline=None)
@given(cx=st.floats(-170, 170), cy=st.floats(-70, 70),
       radius=st.floats(1e-4, 0.5), zoom=st.floats(0, 19),
       radii=st.lists(st.floats(0.4, 1.0), min_size=5, max_size=300),
       hole=st.booleans(), twin=st.booleans())
def test_simplified_geometries_stay_valid_and_close(cx, cy, radius, zoom, radii, hole, twin):
    outer = _star(cx, cy, radius, radii)
    if hole:   # a hole inside the smallest radius
        outer = shapely.Polygon(outer.exterior, [_star(cx, cy, radius * 0.3,
                                                       [1.0] * 12).exterior.coords[::-1]])
    geom = outer
    if twin:   # a second part just beside the first: the parts must not be merged or cross
        geom = shapely.MultiPolygon([outer, _star(cx + 2.05 * radius, cy, radius,
                                                  [0.9] * 40)])
    assert geom.is_valid
    before = len(shapely.get_coordinates(geom))
    arr = np.empty(3, dtype=object)
    arr[:] = [geom, shapely.Point(cx, cy), None]
    out = simplify(arr, zoom)
    assert out[1] is arr[1] and out[2] is None            # points and nothing: unchanged
    g = out[0]
    assert g.is_valid and not g.is_empty
    assert len(shapely.get_coordinates(g)) <= before
    assert g is geom or _far(g, geom) <= _drift(zoom, abs(cy) + 1)


def test_the_view_is_described_and_exact_when_empty():
    assert MapView().exact and MapView().describe() == {}
    v = MapView(mapview.parse_bbox("46,39,47,40"), 12)
    assert v.describe() == {"bbox": [46.0, 39.0, 47.0, 40.0], "zoom": 12,
                            "tolerance_3857": round(tolerance_3857(12), 4), "decimals": 5}
    # half a pixel at zoom 12 in web Mercator metres; decimals within a tenth of a pixel
    assert tolerance_3857(12) == pytest.approx(156543.03392804097 / 4096 / 2)
    assert [decimals(z) for z in (0, 9, 12, 15, 18, 25)] == [1, 4, 5, 6, 7, 7]
    rows = [{"id": "a", "geometry": shapely.box(0, 0, 1, 1)}, {"id": "b", "geometry": None}]
    assert MapView().rows(rows) is rows
    assert MapView(mapview.parse_bbox("0.5,0.5,2,2")).rows(rows) == rows[:1]


# ----------------------------------------------------------------------------- the page
def test_the_map_page_opens_on_what_the_user_may_see(site):
    for who, layer in (("analyst", "hazardous_areas"), ("visitor", "hazardous_area_points")):
        c = site.as_user(who)
        page = c.get("/map").text
        m = re.search(r"data-extent='(\[[^']*\])'", page)
        assert m, who
        w, s, e, n = (float(v) for v in m.group(1)[1:-1].split(","))
        body = c.get("/api/v1/map/layers").json()
        for f in body["layers"][layer]["features"]:
            b = shape(f["geometry"]).bounds
            assert w <= b[0] and s <= b[1] and b[2] <= e and b[3] <= n
        assert 'id="map"' in page and "data-layers-url=\"/api/v1/map/layers\"" in page


# ------------------------------------------------------------------ only the layers asked
def test_layers_gives_only_the_layers_named_each_as_in_the_whole_answer(site):
    c = site.as_user("clerk")
    box = _bbox(46.0, 39.0, 48.0, 41.0)
    for query in ("", f"&bbox={box}&zoom=10"):
        whole = c.get(f"/api/v1/map/layers?{query}").json()
        assert list(whole["layers"]) == ["hazardous_areas", "admin_areas", "released_land",
                                         "settlements", "accidents", "ordnance"]
        for asked in (["ordnance"], ["settlements", "accidents"],
                      ["ordnance", "hazardous_areas"]):
            body = c.get(f"/api/v1/map/layers?layers={','.join(asked)}{query}").json()
            # in the layers' own order, whatever order they were named in
            assert list(body["layers"]) == [n for n in whole["layers"] if n in asked]
            for name in asked:
                assert body["layers"][name] == whole["layers"][name], (name, query)
    # spaces and repeats are forgiven
    body = c.get("/api/v1/map/layers?layers= settlements,settlements ,").json()
    assert list(body["layers"]) == ["settlements"]


def test_staff_may_ask_for_the_generalised_points_too(site):
    staff = site.as_user("analyst").get("/api/v1/map/layers?layers=hazardous_area_points")
    viewer = site.as_user("visitor").get("/api/v1/map/layers")
    assert staff.json()["layers"]["hazardous_area_points"] == \
        viewer.json()["layers"]["hazardous_area_points"]


@pytest.mark.parametrize("query, status, code", [
    ("layers=", 400, "LAYER_UNKNOWN"), ("layers=minefields", 400, "LAYER_UNKNOWN"),
    ("layers=settlements,victims", 400, "LAYER_UNKNOWN"), ("detail=everything", 400,
                                                           "DETAIL_UNKNOWN")])
def test_bad_layers_and_details_are_refused_in_the_error_envelope(site, query, status, code):
    r = site.as_user("analyst").get(f"/api/v1/map/layers?{query}")
    assert r.status_code == status and r.json()["error"]["code"] == code, r.text


# ------------------------------------------------------------------------- lean answers
def test_detail_map_keeps_only_the_attributes_the_map_draws_with(site):
    from safeground.web.mapview import MAP_FIELDS

    box = _bbox(46.0, 39.0, 48.0, 41.0)
    for who in ("clerk", "visitor", "va"):
        c = site.as_user(who)
        for query in ("", f"&bbox={box}&zoom=11"):
            full = c.get(f"/api/v1/map/layers?{query}").json()
            lean = c.get(f"/api/v1/map/layers?detail=map{query}").json()
            assert "detail" not in full and lean["detail"] == "map"
            assert list(lean["layers"]) == list(full["layers"])
            assert lean["fields"] == {n: list(MAP_FIELDS[n]) for n in full["layers"]}
            for name, fc in full["layers"].items():
                feats = lean["layers"][name]["features"]
                assert [f["id"] for f in feats] == [f["id"] for f in fc["features"]]
                for f, g in zip(feats, fc["features"], strict=True):
                    assert f["geometry"] == g["geometry"]     # shapes as in the full answer
                    want = {k: g["properties"][k] for k in MAP_FIELDS[name]
                            if k in g["properties"]}
                    assert f["properties"] == want, (who, name)
    # what map.js styles and labels with is there
    staff = site.as_user("clerk").get("/api/v1/map/layers?detail=map").json()["layers"]
    ha = staff["hazardous_areas"]["features"][0]["properties"]
    assert set(ha) == {"name", "classification", "status"}
    assert staff["accidents"]["features"][0]["properties"] == {}
    one = site.as_user("clerk").get("/api/v1/map/layers?detail=map&layers=settlements")
    whole = site.as_user("clerk").get("/api/v1/map/layers")
    assert len(one.content) < len(whole.content) / 5


# ----------------------------------------------------------------- one feature, in full
def test_a_feature_has_the_attributes_it_has_in_the_whole_layer(site):
    for who in ("clerk", "visitor", "va"):
        c = site.as_user(who)
        for as_of in ("", "2021-04-20"):
            q = f"?as_of={as_of}" if as_of else ""
            whole = c.get(f"/api/v1/map/layers{q}").json()["layers"]
            checked = 0
            for name, fc in whole.items():
                for f in fc["features"]:
                    r = c.get(f"/api/v1/map/features/{name}/{f['id']}{q}")
                    assert r.status_code == 200, (who, name, f["id"], r.text)
                    body = r.json()
                    assert body["layer"] == name and body["id"] == f["id"]
                    assert body["properties"] == f["properties"], (who, name, f["id"])
                    assert "geometry" not in body
                    assert body["as_of"] == (as_of or None)
                    checked += 1
            assert checked >= 15, (who, as_of)


def test_a_feature_that_is_not_there_is_not_found(site):
    c = site.as_user("clerk")
    r = c.get("/api/v1/map/features/hazardous_areas/HA-999")
    assert r.status_code == 404 and r.json()["error"]["code"] == "OBJECT_NOT_FOUND"
    # nothing of the record was known before the programme began
    r = c.get("/api/v1/map/features/hazardous_areas/HA-002?as_of=2000-01-01")
    assert r.status_code == 404 and r.json()["error"]["code"] == "OBJECT_NOT_FOUND"
    r = c.get("/api/v1/map/features/minefields/HA-001")
    assert r.status_code == 400 and r.json()["error"]["code"] == "LAYER_UNKNOWN"
    r = c.get("/api/v1/map/features/settlements/SET-AGHDAM?as_of=soon")
    assert r.status_code == 400 and r.json()["error"]["code"] == "DATE_INVALID"
    assert site.client().get("/api/v1/map/features/settlements/SET-AGHDAM").status_code == 401
