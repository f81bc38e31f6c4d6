"""Every way field data writes a place, read into shapely geometries in EPSG:4326 (lon/lat).

- ODK geopoint ``"lat lon alt accuracy"``; geotrace and geoshape as ``;``-separated points;
- GeoJSON (lon/lat), with ODK Central's OData ``properties.accuracy``;
- KoboToolbox ``_geolocation`` ``[lat, lon]``;
- MGRS grid references (``38TMK 12345 67890``), read as the centre of the square.

GPS accuracy (metres) is returned beside the geometry so the intake can keep it. Every reader
raises ``GeoEncodingError`` carrying a catalogue code (``GEO_ENCODING``, ``MGRS_INVALID``).
"""

from __future__ import annotations

import math
import re
from typing import Any

import mgrs as _mgrs
import shapely
from shapely.geometry import LineString, Point, Polygon, shape
from shapely.geometry.base import BaseGeometry

import safeground.intake.catalogue  # noqa: F401 - registers the intake codes
from safeground.record.geometry import geojson_problem


class GeoEncodingError(ValueError):
    """A place written in a way that cannot be read. ``code``/``params`` name the problem."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(f"{code}: {params}")
        self.code = code
        self.params = params


def _fail(value: Any, encoding: str, reason: str) -> GeoEncodingError:
    try:
        text = str(value)[:60]
    except RecursionError:  # a list nested thousands deep
        text = type(value).__name__
    return GeoEncodingError("GEO_ENCODING", value=text, encoding=encoding, reason=reason)


def _odk_vertex(text: str, encoding: str, whole: str) -> tuple[float, float, float | None]:
    parts = text.split()
    if len(parts) < 2 or len(parts) > 4:
        raise _fail(whole, encoding, "expected 'latitude longitude [altitude accuracy]'")
    try:
        nums = [float(p) for p in parts]
    except ValueError as exc:
        raise _fail(whole, encoding, "a coordinate is not a number") from exc
    if not all(math.isfinite(n) for n in nums):
        raise _fail(whole, encoding, "a coordinate is not finite")
    lat, lon = nums[0], nums[1]
    if not -90 <= lat <= 90 or not -180 <= lon <= 180:
        raise _fail(whole, encoding, f"latitude {lat:g} / longitude {lon:g} out of range")
    acc = nums[3] if len(nums) == 4 else None
    return lon, lat, acc


def odk_geopoint(text: str) -> tuple[Point, float | None]:
    """``"40.1 47.5 120 4.5"`` -> (Point(47.5, 40.1), 4.5)."""
    lon, lat, acc = _odk_vertex(text.strip(), "ODK geopoint", text)
    return Point(lon, lat), acc


def _odk_vertices(text: str, encoding: str) -> tuple[list[tuple[float, float]], float | None]:
    pts = [p for p in (s.strip() for s in text.strip().split(";")) if p]
    if not pts:
        raise _fail(text, encoding, "no points")
    verts, accs = [], []
    for p in pts:
        lon, lat, acc = _odk_vertex(p, encoding, text)
        verts.append((lon, lat))
        if acc is not None:
            accs.append(acc)
    return verts, (max(accs) if accs else None)


def odk_geotrace(text: str) -> tuple[LineString, float | None]:
    verts, acc = _odk_vertices(text, "ODK geotrace")
    if len(verts) < 2:
        raise _fail(text, "ODK geotrace", "a line needs at least 2 points")
    return LineString(verts), acc


def odk_geoshape(text: str) -> tuple[Polygon, float | None]:
    """A ``;``-separated ring; closed when the last point is not the first. Accuracy is the
    worst vertex's. Validity (self-intersection, too few vertices) is left to the gate."""
    verts, acc = _odk_vertices(text, "ODK geoshape")
    if verts[0] != verts[-1]:
        verts.append(verts[0])
    if len(verts) < 4:
        raise _fail(text, "ODK geoshape",
                    f"a polygon needs at least 3 points, got {len(verts) - 1}")
    return Polygon(verts), acc


def odk_any(text: str) -> tuple[BaseGeometry, float | None]:
    """An ODK geo string of unknown kind: one point, or a trace/shape (closed -> polygon)."""
    if ";" not in text:
        return odk_geopoint(text)
    verts, _ = _odk_vertices(text, "ODK geo string")
    if len(verts) >= 4 and verts[0] == verts[-1]:
        return odk_geoshape(text)
    return odk_geotrace(text)


def geojson(obj: Any) -> tuple[BaseGeometry, float | None]:
    """A GeoJSON geometry dict (lon/lat); ``properties.accuracy`` (ODK OData) is kept."""
    if not isinstance(obj, dict) or "type" not in obj:
        raise _fail(obj, "GeoJSON geometry", "not a GeoJSON object")
    why = geojson_problem(obj)
    if why is not None:
        raise _fail(_brief(obj), "GeoJSON geometry", why)
    try:
        geom = shape(obj)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError,
            shapely.errors.ShapelyError) as exc:
        raise _fail(_brief(obj), "GeoJSON geometry", str(exc)[:80]) from exc
    props = obj.get("properties")
    acc = props.get("accuracy") if isinstance(props, dict) else None
    return geom, (float(acc) if isinstance(acc, int | float) else None)


def _brief(obj: dict[str, Any]) -> str:
    """A short description of a GeoJSON object (its text may be huge or nested too deep to
    print)."""
    return f"{{type: {str(obj.get('type'))[:30]}, ...}}"


def kobo_geolocation(value: Any) -> Point | None:
    """Kobo ``_geolocation`` is ``[lat, lon]``, ``[None, None]`` when the form has no point."""
    if not isinstance(value, list | tuple) or len(value) != 2 or None in value:
        return None
    try:
        lat, lon = float(value[0]), float(value[1])
    except (TypeError, ValueError, OverflowError) as exc:
        raise _fail(value, "Kobo _geolocation", "not two numbers") from exc
    return Point(lon, lat)


_MGRS_RE = re.compile(r"^\s*(\d{1,2})\s*([C-HJ-NP-X])\s*([A-HJ-NP-Z]{2})\s*(\d*)\s*(\d*)\s*$",
                      re.IGNORECASE)
_MGRS = _mgrs.MGRS()


def mgrs_point(text: str) -> Point:
    """An MGRS reference (spaces allowed) -> the centre of its grid square, lon/lat."""
    m = _MGRS_RE.match(str(text))
    if not m:
        raise GeoEncodingError("MGRS_INVALID", value=str(text)[:40],
                               reason="expected zone, band, square and digits")
    zone, band, square, e, n = m.groups()
    digits = e + n
    if not e or not n:
        if len(digits) % 2:
            raise GeoEncodingError("MGRS_INVALID", value=str(text)[:40],
                                   reason="an odd number of digits")
        e, n = digits[: len(digits) // 2], digits[len(digits) // 2:]
    if len(e) != len(n) or len(e) > 5:
        raise GeoEncodingError("MGRS_INVALID", value=str(text)[:40],
                               reason="easting and northing need the same number of digits (<= 5)")
    precision = len(e)
    # MGRS names the south-west corner of a square; its centre is the fairer point
    half = 10 ** (5 - precision) / 2
    e5 = f"{(int(e or 0) * 10 ** (5 - precision) + half):05.0f}"
    n5 = f"{(int(n or 0) * 10 ** (5 - precision) + half):05.0f}"
    ref = f"{int(zone):02d}{band.upper()}{square.upper()}{e5}{n5}"
    try:
        lat, lon = _MGRS.toLatLon(ref)
    except Exception as exc:
        raise GeoEncodingError("MGRS_INVALID", value=str(text)[:40], reason=str(exc)[:60]) from exc
    return Point(lon, lat)
