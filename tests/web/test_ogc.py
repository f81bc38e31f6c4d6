"""OGC API – Features against a real uvicorn, read with the clients GIS users have: OWSLib
(QGIS's Python side) and GDAL's OAPIF driver through pyogrio."""

from __future__ import annotations

import pyogrio
import pytest
import requests
from owslib.ogcapi.features import Features
from owslib.util import Authentication
from websupport import password


def _features(live, who: str) -> Features:
    return Features(f"{live.base}/ogc", auth=Authentication(who, password(who)))


def test_owslib_reads_the_landing_page_conformance_and_collections(live):
    api = _features(live, "visitor")
    assert any(link["rel"] == "data" for link in api.links)
    conf = api.conformance()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in conf
    assert set(api.feature_collections()) == {"hazardous_area_points", "released_land",
                                              "settlements"}
    staff = _features(live, "analyst")
    assert set(staff.feature_collections()) == {"hazardous_area_points", "released_land",
                                                "settlements", "hazardous_areas", "ordnance",
                                                "accidents", "planned_release"}
    # the plan is for analysts: an approver sees the record's collections only
    assert "planned_release" not in _features(live, "chief").feature_collections()
    col = staff.collection("hazardous_areas")
    bbox = col["extent"]["spatial"]["bbox"][0]
    assert 46.9 < bbox[0] < bbox[2] < 47.2 and 39.4 < bbox[1] < bbox[3] < 40.1


def test_owslib_pages_filters_and_reads_items(live):
    api = _features(live, "analyst")
    first = api.collection_items("hazardous_areas", limit=3)
    assert first["numberMatched"] == 8 and first["numberReturned"] == 3
    assert [f["geometry"]["type"] for f in first["features"]] == ["Polygon"] * 3
    rels = {link["rel"]: link["href"] for link in first["links"]}
    assert "next" in rels and "prev" not in rels and "offset=3" in rels["next"]
    ids = []
    offset = 0
    while True:
        page = api.collection_items("hazardous_areas", limit=3, offset=offset)
        ids += [f["id"] for f in page["features"]]
        if not any(link["rel"] == "next" for link in page["links"]):
            break
        offset += 3
    assert sorted(ids) == [f"HA-00{i}" for i in range(1, 9)]
    # bbox around Fuzuli district: HA-004..HA-008
    south = api.collection_items("hazardous_areas", bbox=[46.85, 39.45, 47.25, 39.75])
    assert {f["id"] for f in south["features"]} == {"HA-004", "HA-005", "HA-006", "HA-007",
                                                    "HA-008"}
    # land released between March and May 2021; then the record as known before any release
    spring = api.collection_items("released_land", datetime="2021-03-01/2021-05-31")
    assert {f["id"] for f in spring["features"]} == {"LR-003", "LR-004"}
    later = api.collection_items("released_land", datetime="2021-05-11/..")
    assert {f["id"] for f in later["features"]} == {"LR-005"}
    released = api.collection_items("released_land", limit=100)
    assert released["numberMatched"] == 5
    before = api.collection_items("released_land", as_of="2021-01-31")
    assert before["numberMatched"] == 0
    one = api.collection_item("hazardous_areas", "HA-002")
    assert one["properties"]["status"] == "closed" and one["properties"]["cleared_m2"] > 0
    accidents = api.collection_items("accidents")["features"]
    assert accidents[0]["properties"]["killed"] == 1
    assert accidents[0]["properties"]["injured"] == 1
    assert not {"name", "address"} & set(accidents[0]["properties"])


def test_viewers_and_strangers_are_kept_out_of_staff_collections(live):
    api = _features(live, "visitor")
    with pytest.raises(RuntimeError, match="FORBIDDEN"):
        api.collection_items("hazardous_areas")
    points = api.collection_items("hazardous_area_points", limit=100)
    assert {f["geometry"]["type"] for f in points["features"]} == {"Point"}
    r = requests.get(f"{live.base}/ogc/collections", timeout=10)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic")
    bad = requests.get(f"{live.base}/ogc/collections", auth=("analyst", "nope-nope"),
                       timeout=10)
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "LOGIN_FAILED"
    bad_bbox = requests.get(f"{live.base}/ogc/collections/settlements/items?bbox=1,2,3",
                            auth=("analyst", password("analyst")), timeout=10)
    assert bad_bbox.status_code == 400 and bad_bbox.json()["error"]["code"] == "BBOX_INVALID"


@pytest.fixture
def gdal_basic_auth(live):
    who = "analyst"
    pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": "BASIC",
                                     "GDAL_HTTP_USERPWD": f"{who}:{password(who)}"})
    yield
    pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": None, "GDAL_HTTP_USERPWD": None})


def test_gdal_oapif_driver_reads_the_collections(live, gdal_basic_auth):
    layers = {name for name, _ in pyogrio.list_layers(f"OAPIF:{live.base}/ogc")}
    assert {"hazardous_areas", "settlements", "released_land"} <= layers
    areas = pyogrio.read_dataframe(f"OAPIF:{live.base}/ogc", layer="hazardous_areas")
    assert len(areas) == 8 and set(areas.geom_type) == {"Polygon"}
    assert areas.crs.to_epsg() in (4326, None) or "CRS84" in areas.crs.to_string()
    closed = areas[areas["status"] == "closed"]
    assert set(closed["id"]) == {"HA-002", "HA-008"}  # cleared; wholly cancelled by NTS
    towns = pyogrio.read_dataframe(f"OAPIF:{live.base}/ogc", layer="settlements")
    assert len(towns) == 5 and "returned_population" in towns.columns


def test_gdal_reads_an_items_response_as_geojson(live, gdal_basic_auth):
    url = f"{live.base}/ogc/collections/released_land/items?limit=100"
    frame = pyogrio.read_dataframe(url)
    assert len(frame) == 5
    assert set(frame["release"]) == {"cancelled", "reduced", "cleared"}


def test_the_current_plan_is_a_collection_for_analysts(live):
    """``planned_release``: the areas the work directory's plan puts a team on, with its
    dates, read by OWSLib and by GDAL; other staff are refused it."""
    from safeground.planning.outputs import area_table

    table = area_table(live.site.plan).set_index("area_id")
    planned = table[table.teams != ""]
    api = _features(live, "analyst")
    got = api.collection_items("planned_release", limit=100)
    assert {f["id"] for f in got["features"]} == set(planned.index) != set()
    for f in got["features"]:
        assert f["geometry"]["type"] in ("Polygon", "MultiPolygon")
        release = planned.loc[f["id"]].release_date
        assert f["properties"]["planned_release_date"] == (str(release) if release else "")
        assert f["properties"]["planned_activities"] == planned.loc[f["id"]].activities
    first = next(iter(planned.index))
    assert api.collection_item("planned_release", first)["properties"]["planned_teams"]
    unplanned = sorted(set(table.index) - set(planned.index))
    if unplanned:
        r = requests.get(f"{live.base}/ogc/collections/planned_release/items/{unplanned[0]}",
                         auth=("analyst", password("analyst")), timeout=10)
        assert r.status_code == 404
    with pytest.raises(RuntimeError, match="FORBIDDEN"):
        _features(live, "chief").collection_items("planned_release")
    pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": "BASIC",
                                     "GDAL_HTTP_USERPWD": f"analyst:{password('analyst')}"})
    try:
        frame = pyogrio.read_dataframe(f"OAPIF:{live.base}/ogc", layer="planned_release")
    finally:
        pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": None, "GDAL_HTTP_USERPWD": None})
    assert set(frame["id"]) == set(planned.index)
    assert "planned_release_date" in frame.columns


def test_the_fast_geojson_and_encoder_write_what_the_standard_ones_do():
    import json
    import math

    import shapely
    from shapely.geometry import LineString, MultiPolygon, Point, Polygon, mapping

    from safeground.web.views import FastJSONResponse, geojson

    holed = shapely.box(2, 2, 3, 3).difference(shapely.box(2.2, 2.2, 2.5, 2.5))
    for g in (shapely.box(44.1234567, 39.7654321, 44.2, 39.8), holed,
              Polygon([(0, 0, 1), (1, 0, 2), (1, 1, 3)]), Polygon(),
              MultiPolygon([shapely.box(0, 0, 1, 1), holed]), Point(1, 2),
              LineString([(0, 0), (1, 1)])):
        assert json.loads(json.dumps(geojson(g))) == json.loads(json.dumps(mapping(g)))
    body = {"type": "FeatureCollection", "features": [
        {"id": "HA-1", "geometry": geojson(holed), "properties": {"name": "Şuşa", "m2": 1.5,
                                                                   "tags": ("a", "b")}}]}
    raw = FastJSONResponse(body).body
    assert json.loads(raw) == json.loads(json.dumps(body))
    assert json.loads(FastJSONResponse({"x": math.nan}).body) == {"x": None}
