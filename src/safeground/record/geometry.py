"""Geometry at the gate and in the metric CRS.

Geometries are stored in EPSG:4326 (lon/lat) for exchange; every area and distance is computed
in the programme's UTM zone (``Settings.utm_epsg``), never in degrees.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from shapely.geometry.base import BaseGeometry

from safeground.record.problems import Problem
from safeground.settings import Settings


class GeometryParseError(ValueError):
    """Raised by ``parse`` with a problem code and parameters."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@lru_cache(maxsize=32)
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


_LONLAT_ALIASES = {"OGC:CRS84", "URN:OGC:DEF:CRS:OGC:1.3:CRS84", "URN:OGC:DEF:CRS:OGC::CRS84",
                   "CRS84", "EPSG:4326", "4326", "URN:OGC:DEF:CRS:EPSG::4326"}


def crs_name(value: Any) -> str:
    """Normalise a CRS given as int, 'EPSG:n', URN or WKT to 'EPSG:n' when it has a code.

    Raises GeometryParseError(CRS_UNKNOWN).
    """
    if str(value).strip().upper() in _LONLAT_ALIASES:
        return "EPSG:4326"  # GeoJSON's CRS84 is lon/lat WGS 84, our storage order
    return _crs_name(str(value) if not isinstance(value, int) else value)


@lru_cache(maxsize=64)
def _crs_name(value: Any) -> str:
    """Normalise a CRS given as int, 'EPSG:n', URN or WKT to 'EPSG:n' when it has a code.

    Raises GeometryParseError(CRS_UNKNOWN).
    """
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        value = f"EPSG:{value}"
    try:
        crs = CRS.from_user_input(value)
    except (CRSError, TypeError) as exc:
        raise GeometryParseError("CRS_UNKNOWN", value=str(value)[:80]) from exc
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_wkt()


def reproject(geom: BaseGeometry, src: str, dst: str) -> BaseGeometry:
    if src == dst:
        return geom
    tr = _transformer(src, dst)

    def _apply(coords: np.ndarray) -> np.ndarray:
        x, y = tr.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, _apply)


#: how deep ``coordinates`` nest in each GeoJSON geometry type (a position is depth 1)
_GEOJSON_DEPTH = {"Point": 1, "MultiPoint": 2, "LineString": 2, "MultiLineString": 3,
                  "Polygon": 3, "MultiPolygon": 4}
#: GeometryCollections inside GeometryCollections: deeper than this is refused
MAX_COLLECTION_DEPTH = 8


def geojson_problem(obj: Any, max_vertices: int | None = None) -> str | None:
    """Why a GeoJSON geometry object cannot be read, or None when its structure is sound:
    a known type, ``coordinates`` nested exactly as deep as the type needs with no empty part,
    positions of 2 to 4 numbers, at most ``max_vertices`` positions. Checked without recursion
    (hostile input nests thousands of levels deep) and before shapely sees the object."""
    stack: list[tuple[Any, int]] = [(obj, 0)]
    vertices = 0
    while stack:
        g, level = stack.pop()
        if not isinstance(g, dict):
            return "a geometry is not a JSON object"
        kind = g.get("type")
        if kind == "GeometryCollection":
            parts = g.get("geometries")
            if not isinstance(parts, list):
                return "a GeometryCollection without a 'geometries' list"
            if level >= MAX_COLLECTION_DEPTH:
                return f"GeometryCollections nest more than {MAX_COLLECTION_DEPTH} deep"
            stack += [(p, level + 1) for p in parts]
            continue
        if not isinstance(kind, str) or kind not in _GEOJSON_DEPTH:
            return f"unknown geometry type {str(kind)[:40]!r}"
        want = _GEOJSON_DEPTH[kind]
        nodes: list[tuple[Any, int]] = [(g.get("coordinates"), want)]
        while nodes:
            node, depth = nodes.pop()
            if not isinstance(node, list):
                return f"{kind} coordinates are not nested {want} deep"
            if depth == 2 and node:  # a list of positions, checked at once
                try:
                    arr = np.asarray(node, dtype=np.float64)
                except (ValueError, TypeError, OverflowError):
                    arr = None
                if arr is None or arr.ndim != 2 or not 2 <= arr.shape[1] <= 4:
                    return f"a {kind} position is not 2 to 4 numbers"
                vertices += len(node)
                if max_vertices is not None and vertices > max_vertices:
                    return f"more than {max_vertices:,} vertices"
                continue
            if depth == 1:
                if not 2 <= len(node) <= 4 or not all(
                        isinstance(v, int | float) and not isinstance(v, bool) for v in node):
                    return f"a {kind} position is not 2 to 4 numbers"
                vertices += 1
                if max_vertices is not None and vertices > max_vertices:
                    return f"more than {max_vertices:,} vertices"
                continue
            if not node and not (depth == want and kind != "Point"):
                return f"a {kind} has an empty part"
            nodes += [(n, depth - 1) for n in node]
    return None


def parse(value: Any, crs: Any = None) -> BaseGeometry | None:
    """Read a geometry given as shapely, GeoJSON (dict or text), WKT or WKB; return EPSG:4326.

    Raises GeometryParseError (GEOM_UNPARSABLE, CRS_UNKNOWN).
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        if isinstance(value, BaseGeometry):
            geom = value
        elif isinstance(value, dict):
            geom = _shape(value)
        elif isinstance(value, bytes | bytearray):
            geom = shapely.from_wkb(bytes(value))
        elif isinstance(value, str):
            text = value.strip()
            geom = _shape(json.loads(text)) if text.startswith("{") else shapely.from_wkt(text)
        else:
            raise TypeError(f"unsupported geometry value of type {type(value).__name__}")
    except RecursionError as exc:
        raise GeometryParseError("GEOM_UNPARSABLE", reason="nested too deep") from exc
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError,
            shapely.errors.ShapelyError) as exc:
        raise GeometryParseError("GEOM_UNPARSABLE", reason=str(exc)[:120]) from exc
    if geom is None:
        return None
    if crs is not None:
        name = crs_name(crs)
        if name != "EPSG:4326":
            geom = reproject(geom, name, "EPSG:4326")
    return geom


def _shape(obj: Any) -> BaseGeometry:
    why = geojson_problem(obj)
    if why is not None:
        raise ValueError(why)
    return shapely.geometry.shape(obj)


class Projector:
    """Moves geometries between lon/lat and the programme's metric CRS."""

    def __init__(self, utm_epsg: int) -> None:
        self.metric = f"EPSG:{utm_epsg}"

    def to_metric(self, geom: BaseGeometry) -> BaseGeometry:
        return reproject(geom, "EPSG:4326", self.metric)

    def to_lonlat(self, geom: BaseGeometry) -> BaseGeometry:
        return reproject(geom, self.metric, "EPSG:4326")

    def area_m2(self, geom: BaseGeometry) -> float:
        return float(self.to_metric(geom).area)


def _inside(extent: tuple[float, float, float, float], x: np.ndarray, y: np.ndarray) -> bool:
    minx, miny, maxx, maxy = extent
    return bool(np.all((x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)))


def check(geom: BaseGeometry, allowed: tuple[str, ...], settings: Settings, projector: Projector,
          where: str, field: str = "geometry", surveyed: bool = True) -> list[Problem]:
    """Every gate problem of one geometry (EPSG:4326). Returns [] when it is fit to store.

    ``surveyed`` polygons (walked with a GPS: hazardous areas, release products) also have
    their vertex spacing checked; administrative boundaries do not."""
    def p(code: str, **params: Any) -> Problem:
        return Problem(code, where, field, params)

    if allowed and geom.geom_type not in allowed:
        return [p("GEOM_TYPE", value=geom.geom_type, expected=", ".join(allowed))]
    if shapely.get_num_coordinates(geom) > settings.max_vertices:
        return [p("GEOM_TOO_MANY_VERTICES", value=int(shapely.get_num_coordinates(geom)),
                  limit=settings.max_vertices)]
    coords = shapely.get_coordinates(geom)
    if geom.is_empty or len(coords) == 0 or not np.all(np.isfinite(coords)):
        return [p("GEOM_NOT_FINITE")]
    x, y = coords[:, 0], coords[:, 1]
    if not _inside(settings.extent, x, y):
        if _inside(settings.extent, y, x):
            return [p("GEOM_AXIS_SWAPPED", x=float(x[0]), y=float(y[0]))]
        bad = ~((x >= settings.extent[0]) & (x <= settings.extent[2])
                & (y >= settings.extent[1]) & (y <= settings.extent[3]))
        i = int(np.argmax(bad))
        return [p("GEOM_OUTSIDE_EXTENT", x=float(x[i]), y=float(y[i]),
                  extent=list(settings.extent))]
    problems: list[Problem] = []
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        polys = list(geom.geoms) if geom.geom_type == "MultiPolygon" else [geom]
        for poly in polys:
            ring = {(round(x, 9), round(y, 9)) for x, y in
                    shapely.get_coordinates(poly.exterior).tolist()}
            if len(ring) < 3:
                return [p("GEOM_TOO_FEW_VERTICES", value=len(ring))]
        metric = projector.to_metric(geom)
        if geom.convex_hull.area <= 1e-12:  # all vertices on one line (or one point)
            return [p("GEOM_ZERO_AREA")]
        if not geom.is_valid:
            problems.append(p("GEOM_SELF_INTERSECTION", reason=shapely.is_valid_reason(geom)))
        if metric.is_valid and metric.area <= 0.01:
            problems.append(p("GEOM_ZERO_AREA"))
        elif metric.area / 1e6 > settings.max_area_km2:
            problems.append(p("GEOM_TOO_LARGE", value=metric.area / 1e6,
                              limit=settings.max_area_km2))
        for poly in (list(metric.geoms) if metric.geom_type == "MultiPolygon" else [metric]) \
                if surveyed else []:
            ring = shapely.get_coordinates(poly.exterior)
            gaps = np.hypot(*np.diff(ring, axis=0).T)
            if len(gaps) and gaps.max() > settings.max_vertex_gap_m:
                problems.append(p("GEOM_VERTEX_GAP", value=float(gaps.max()),
                                  limit=settings.max_vertex_gap_m))
                break
    return problems
