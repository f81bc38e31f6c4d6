"""Projections and small geometry helpers. Everything inside the scenario is in UTM 38N metres;
records leave in EPSG:4326 (lon/lat)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import shapely
from pyproj import Transformer

UTM = "EPSG:32638"
WGS84 = "EPSG:4326"


@lru_cache(maxsize=2)
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def _apply(geom, src: str, dst: str):
    tr = _transformer(src, dst)

    def fn(coords: np.ndarray) -> np.ndarray:
        x, y = tr.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, fn)


def to_utm(geom):
    """Lon/lat geometry (or array of geometries) to UTM 38N."""
    return _apply(geom, WGS84, UTM)


def to_wgs(geom):
    """UTM 38N geometry (or array of geometries) to lon/lat."""
    return _apply(geom, UTM, WGS84)


def lonlat_to_utm(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _transformer(WGS84, UTM).transform(np.asarray(lon), np.asarray(lat))


def utm_to_lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _transformer(UTM, WGS84).transform(np.asarray(x), np.asarray(y))


def chaikin(coords: np.ndarray, iterations: int = 3) -> np.ndarray:
    """Corner-cutting smoothing of an open polyline (keeps both ends)."""
    pts = np.asarray(coords, dtype=float)
    for _ in range(iterations):
        q = 0.75 * pts[:-1] + 0.25 * pts[1:]
        r = 0.25 * pts[:-1] + 0.75 * pts[1:]
        mid = np.empty((2 * len(q), 2))
        mid[0::2], mid[1::2] = q, r
        pts = np.vstack([pts[:1], mid, pts[-1:]])
    return pts


def densify_path(points: np.ndarray, step: float) -> np.ndarray:
    """Resample a polyline at about ``step`` metres."""
    line = shapely.LineString(points)
    n = max(2, int(line.length / step) + 1)
    d = np.linspace(0, line.length, n)
    return shapely.get_coordinates(shapely.line_interpolate_point(line, d))


def sweep_cut(poly, target_area: float, iterations: int = 18):
    """The part of ``poly`` west of a vertical cut holding about ``target_area`` m².

    Used by the twin to release land in strips as a team advances. Returns ``poly`` itself when
    the target covers it.
    """
    total = poly.area
    if target_area >= total * 0.995:
        return poly
    minx, miny, maxx, maxy = poly.bounds
    lo, hi = minx, maxx
    best = None
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        part = shapely.intersection(poly, shapely.box(minx - 1, miny - 1, mid, maxy + 1))
        a = part.area
        best = part
        if abs(a - target_area) <= 0.01 * target_area:
            break
        if a < target_area:
            lo = mid
        else:
            hi = mid
    return best
