"""What the map asks for: the features in view, drawn no finer than the screen shows them.

The map page sends the box it shows (``bbox``, lon/lat, padded a little) and its zoom level;
the layer routes then answer only the features that meet the box, with lines and polygons
simplified for that zoom:

* **in view** — a feature is kept when its geometry intersects the box (``shapely.intersects``);
  what is tested is the geometry the caller may see, so a viewer's hazardous areas are tested
  by their generalised point, never by the perimeter (a box cannot be used to probe it);
* **simplified** — in the display CRS (EPSG:3857, web Mercator metres, what Leaflet draws in),
  with ``shapely.simplify(preserve_topology=True)`` and a tolerance of ``TOLERANCE_PX`` screen
  pixels at the zoom (``tolerance_3857``); coordinates are then snapped to a grid of at most a
  tenth of a pixel in degrees (``shapely.set_precision``, which keeps geometries valid) and
  written with that many decimals. A shape is then drawn at most about one pixel from the
  exact one (twice the tolerance: GEOS also drops a ring's start point when it lies within the
  tolerance of its neighbours' chord). A result that is empty or invalid falls back to the
  exact geometry. Points are never moved.

Without ``bbox`` and ``zoom`` (API users) answers are exact: every feature, stored geometry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from safeground.errors import SafegroundError
from safeground.geometry import reproject

#: radius of the sphere of EPSG:3857 (metres)
R = 6378137.0
#: EPSG:3857 metres per screen pixel at zoom 0 (a 256-pixel world)
M_PER_PX_Z0 = 2 * math.pi * R / 256
#: simplification tolerance in screen pixels (Leaflet itself smooths paths by 1 pixel)
TOLERANCE_PX = 0.5
#: coordinates are snapped to at most this fraction of a pixel
GRID_PX = 0.1
#: most decimals kept (the record stores 7: about 1 cm)
MAX_DECIMALS = 7
_POINT_TYPES = (0, 4)   # shapely type ids of Point and MultiPoint


class MapViewError(SafegroundError, ValueError):
    """A bbox the map routes cannot use."""

    code = "BBOX_INVALID"
    http_status = 400


def parse_bbox(value: str | None) -> shapely.Polygon | None:
    """``minlon,minlat,maxlon,maxlat`` (or the 6-number 3-D form) as a box; None if empty."""
    if not value:
        return None
    try:
        nums = [float(v) for v in value.split(",")]
    except ValueError:
        nums = []
    if len(nums) == 6:
        nums = [nums[0], nums[1], nums[3], nums[4]]
    if len(nums) != 4 or not all(math.isfinite(v) for v in nums) \
            or nums[0] > nums[2] or nums[1] > nums[3]:
        raise MapViewError(f"bbox '{value}' is not minlon,minlat,maxlon,maxlat",
                           details={"parameter": "bbox"})
    return shapely.box(*nums)


def tolerance_3857(zoom: float) -> float:
    """The simplification tolerance at ``zoom``, in EPSG:3857 units (web Mercator metres)."""
    return M_PER_PX_Z0 / 2 ** zoom * TOLERANCE_PX


def decimals(zoom: float) -> int:
    """Decimals of a degree that keep coordinates within ``GRID_PX`` of a pixel at ``zoom``."""
    deg_per_px = 360.0 / (256 * 2 ** zoom)
    return max(0, min(MAX_DECIMALS, math.ceil(math.log10(1 / (deg_per_px * GRID_PX)))))


def _array(geoms: list[Any]) -> np.ndarray:
    out = np.empty(len(geoms), dtype=object)
    out[:] = geoms
    return out


def simplify(geoms: np.ndarray, zoom: float) -> np.ndarray:
    """Lines and polygons simplified for ``zoom`` (see the module doc); points, None and
    anything that would not stay valid are returned unchanged."""
    out = geoms.copy()
    types = shapely.get_type_id(geoms)
    todo = (types >= 0) & ~np.isin(types, _POINT_TYPES)
    if not todo.any():
        return out
    exact = geoms[todo]
    merc = shapely.simplify(reproject(exact, "EPSG:4326", "EPSG:3857"), tolerance_3857(zoom),
                            preserve_topology=True)
    d = decimals(zoom)
    snapped = shapely.set_precision(reproject(merc, "EPSG:3857", "EPSG:4326"), 10.0 ** -d)
    snapped = shapely.transform(snapped, lambda xy: np.round(xy, d))
    ok = shapely.is_valid(snapped) & ~shapely.is_empty(snapped)
    out[todo] = np.where(ok, snapped, exact)
    return out


@dataclass(frozen=True, slots=True)
class MapView:
    """The part of the map a request asks for: a box (lon/lat) and a zoom level, each
    optional. ``MapView()`` is the exact, whole answer."""

    bbox: shapely.Polygon | None = None
    zoom: float | None = None

    @property
    def exact(self) -> bool:
        return self.bbox is None and self.zoom is None

    def rows(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The rows whose geometry meets the box, with the geometry simplified for the zoom
        (copies: the ledger's rows are left as they are)."""
        if self.exact or not rows:
            return rows
        geoms = _array([r.get("geometry") for r in rows])
        if self.bbox is not None:
            keep = shapely.intersects(geoms, self.bbox)
            rows = [r for r, k in zip(rows, keep, strict=True) if k]
            geoms = geoms[keep]
        if self.zoom is None:
            return rows
        return [{**r, "geometry": g} for r, g in zip(rows, simplify(geoms, self.zoom),
                                                     strict=True)]

    def features(self, feats: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """GeoJSON features (already made for the caller) that meet the box."""
        if self.bbox is None:
            return feats
        geoms = _array([shapely.geometry.shape(f["geometry"]) if f.get("geometry") else None
                        for f in feats])
        keep = shapely.intersects(geoms, self.bbox)
        return [f for f, k in zip(feats, keep, strict=True) if k]

    def describe(self) -> dict[str, Any]:
        """What the answer was cut to, for the response."""
        out: dict[str, Any] = {}
        if self.bbox is not None:
            out["bbox"] = [round(v, 7) for v in self.bbox.bounds]
        if self.zoom is not None:
            out["zoom"] = self.zoom
            out["tolerance_3857"] = round(tolerance_3857(self.zoom), 4)
            out["decimals"] = decimals(self.zoom)
        return out


def extent(geoms: list[Any]) -> list[float] | None:
    """``[minlon, minlat, maxlon, maxlat]`` of the geometries (None when there are none)."""
    arr = _array([g for g in geoms if g is not None and not g.is_empty])
    if not len(arr):
        return None
    return [round(float(v), 7) for v in shapely.total_bounds(arr)]
