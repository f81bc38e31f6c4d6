"""Requirement 2: every field encoding of a place, GPS accuracy kept; MGRS (requirement 3)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import Point, box

from safeground.intake import geo
from safeground.intake.field_exports import odk_string
from safeground.intake.submissions import read_geometry


def test_odk_geopoint_is_lat_lon_alt_accuracy():
    point, acc = geo.odk_geopoint("40.1 47.5 120 4.5")
    assert (point.x, point.y, acc) == (47.5, 40.1, 4.5)


def test_odk_geopoint_without_altitude_and_accuracy():
    point, acc = geo.odk_geopoint("40.1 47.5")
    assert (point.x, point.y, acc) == (47.5, 40.1, None)


def test_odk_geoshape_is_closed_and_keeps_the_worst_accuracy():
    shape, acc = geo.odk_geoshape("40.1 47.5 0 3;40.2 47.5 0 5;40.2 47.6 0 2")
    assert shape.geom_type == "Polygon" and shape.exterior.is_closed
    assert shape.exterior.coords[0] == (47.5, 40.1)
    assert acc == 5


def test_odk_geotrace():
    line, _ = geo.odk_geotrace("40.1 47.5 0 3;40.2 47.6 0 3;")
    assert line.geom_type == "LineString" and len(line.coords) == 2


@pytest.mark.parametrize("text, reason", [
    ("40.1", "expected"), ("abc 47.5", "not a number"), ("95 47.5 0 1", "out of range"),
    ("40.1 47.5 0 1;40.2 47.5 0 1", "at least 3 points"),
])
def test_broken_odk_strings_are_coded(text, reason):
    with pytest.raises(geo.GeoEncodingError) as exc:
        geo.odk_geoshape(text) if ";" in text else geo.odk_geopoint(text)
    assert exc.value.code == "GEO_ENCODING"
    assert reason in exc.value.params["reason"]


def test_odata_geojson_keeps_accuracy():
    g, acc = geo.geojson({"type": "Point", "coordinates": [47.5, 40.1, 0],
                          "properties": {"accuracy": 3.2}})
    assert (g.x, g.y, acc) == (47.5, 40.1, 3.2)


def test_kobo_geolocation_is_lat_lon():
    assert geo.kobo_geolocation([40.1, 47.5]) == Point(47.5, 40.1)
    assert geo.kobo_geolocation([None, None]) is None


def test_mgrs_reference_is_the_centre_of_its_square():
    p = geo.mgrs_point("38T MK 12345 67890")
    q = geo.mgrs_point("38TMK1234567890")
    assert p.distance(q) < 1e-9
    coarse = geo.mgrs_point("38TMK1267")          # a 1 km square
    assert coarse.distance(p) < 0.02


@pytest.mark.parametrize("text", ["38TMK123", "XYZ", "38TMK 123 45"])
def test_bad_mgrs_is_coded(text):
    with pytest.raises(geo.GeoEncodingError) as exc:
        geo.mgrs_point(text)
    assert exc.value.code == "MGRS_INVALID"


@given(st.floats(44.8, 50.8), st.floats(38.4, 41.9), st.floats(0.0005, 0.05),
       st.floats(0, 100))
def test_odk_strings_round_trip(x, y, size, acc):
    poly = box(x, y, x + size, y + size)
    back, acc_back = read_geometry(odk_string(poly, acc))
    assert back.equals_exact(poly.normalize(), 1e-7) or back.normalize().equals_exact(
        poly.normalize(), 1e-7)
    assert acc_back == pytest.approx(acc, rel=1e-5, abs=1e-9)
    pt, _ = read_geometry(odk_string(Point(x, y), acc))
    assert pt.distance(Point(x, y)) < 1e-7
