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


# ------------------------------------------------------------------ coordinates typed or pasted
#: how pasted coordinates are written
COORDINATE_SYSTEMS = ("latlon", "utm", "mgrs")
SHAPES = ("point", "line", "polygon")
_UTM_ZONE = re.compile(r"^\s*(\d{1,2})\s*([A-Za-z])?\s*$")
_NUMBERS = re.compile(r"[-+]?\d+(?:[.,]\d+)?")


def utm_epsg(zone: str) -> int:
    """The EPSG code of a UTM zone written ``38N``, ``38 S`` or with its MGRS band (``38T``:
    bands N to X are north). Raises GeoEncodingError."""
    m = _UTM_ZONE.match(str(zone or ""))
    if not m or not 1 <= int(m.group(1)) <= 60:
        raise _fail(zone, "UTM zone", "expected a zone number 1-60 and N or S, e.g. 38N")
    letter = (m.group(2) or "N").upper()
    if letter in "IO" or letter in "YZAB":
        raise _fail(zone, "UTM zone", "the letter is N or S, or a latitude band C-X")
    north = letter == "N" or (letter not in "S" and letter >= "N")
    return (32600 if north else 32700) + int(m.group(1))


def parse_coordinates(text: str, system: str = "latlon", shape_: str = "point",
                      zone: str | None = None, max_vertices: int = 10_000) -> BaseGeometry:
    """Coordinates typed or pasted, one vertex a line (or separated by ``;``), as a point, a
    line or a polygon in lon/lat:

    * ``latlon``: latitude then longitude in decimal degrees (``40.123, 46.987``);
    * ``utm``: easting then northing in metres, in ``zone`` (``38N``) or with the zone first
      on the line (``38N 412345 4431234``);
    * ``mgrs``: one MGRS reference a line (``38T MK 12345 67890``), its square's centre.

    A polygon's ring is closed if it is not. Raises GeoEncodingError (``GEO_ENCODING``,
    ``MGRS_INVALID``) naming the line."""
    from pyproj import Transformer

    if system not in COORDINATE_SYSTEMS:
        raise _fail(system, "coordinate system", f"expected one of {', '.join(COORDINATE_SYSTEMS)}")
    if shape_ not in SHAPES:
        raise _fail(shape_, "shape", f"expected one of {', '.join(SHAPES)}")
    lines = [ln.strip() for part in str(text or "").splitlines() for ln in part.split(";")]
    lines = [ln for ln in lines if ln]
    if not lines:
        raise _fail("", system, "no coordinates given")
    if len(lines) > max_vertices:
        raise _fail(f"{len(lines)} lines", system, f"at most {max_vertices} vertices")
    out: list[tuple[float, float]] = []
    for n, line in enumerate(lines, start=1):
        where = f"line {n}: {line}"
        if system == "mgrs":
            try:
                p = mgrs_point(line)
            except GeoEncodingError as exc:
                exc.params["value"] = where[:60]
                raise
            out.append((p.x, p.y))
            continue
        head, nums_text = None, line
        if system == "utm":
            m = re.match(r"^\s*(\d{1,2}\s*[A-Za-z])\s+(.*)$", line)
            if m:
                head, nums_text = m.group(1), m.group(2)
        tokens = [t for t in re.split(r"\s*,\s+|\s+", nums_text.strip()) if t]
        if len(tokens) == 1 and tokens[0].count(",") == 1:     # "40.1,46.9"
            tokens = tokens[0].split(",")
        try:
            nums = [float(t.replace(",", ".")) for t in tokens
                    if _NUMBERS.fullmatch(t)] if all(_NUMBERS.fullmatch(t)
                                                     for t in tokens) else []
        except ValueError:
            nums = []
        if len(nums) != 2 or not all(math.isfinite(v) for v in nums):
            raise _fail(where, system, "expected two numbers on the line")
        if system == "latlon":
            lat, lon = nums
            if not -90 <= lat <= 90 or not -180 <= lon <= 180:
                raise _fail(where, system, f"latitude {lat:g} / longitude {lon:g} out of range")
            out.append((lon, lat))
        else:
            epsg = utm_epsg(head or zone or "")
            x, y = Transformer.from_crs(f"EPSG:{epsg}", "EPSG:4326",
                                        always_xy=True).transform(*nums)
            if not (math.isfinite(x) and math.isfinite(y)):
                raise _fail(where, system, "not a place in that zone")
            out.append((x, y))
    if shape_ == "point":
        if len(out) != 1:
            raise _fail(f"{len(out)} vertices", system, "a point is one line")
        return Point(out[0])
    if shape_ == "line":
        if len(out) < 2:
            raise _fail(f"{len(out)} vertex", system, "a line needs at least 2 vertices")
        return LineString(out)
    if out[0] != out[-1]:
        out.append(out[0])
    if len(out) < 4:
        raise _fail(f"{len(out) - 1} vertices", system, "a polygon needs at least 3 vertices")
    return Polygon(out)
