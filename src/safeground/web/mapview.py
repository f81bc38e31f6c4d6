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

Two more things keep a slow field link cheap:

* **only the layers asked for** — ``layers=a,b`` names the layers wanted (``LAYERS``); the map
  page asks only for the layers whose box is ticked. Without it, every layer the user's roles
  give, as before. A layer the roles do not give is refused (403), never quietly left out;
* **lean attributes** — ``detail=map`` keeps of each feature only the attributes the map draws
  with (``MAP_FIELDS``: styling, labels, the status line); the page asks for one feature's
  full attributes when it is clicked (``GET /api/v1/map/features/{layer}/{id}``). Role rules
  are applied first: the lean attributes are a subset of what the user may see, never more.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from safeground.errors import NotFoundError, PermissionDeniedError, SafegroundError
from safeground.record.geometry import reproject
from safeground.record.users import Permission, User
from safeground.record.vocabulary import ReportType
from safeground.web.views import GENERALISE_DEG, public_area

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
    """A map parameter the routes cannot use: ``BBOX_INVALID`` (the default), ``LAYER_UNKNOWN``
    (no such layer, or ``layers`` empty), ``DETAIL_UNKNOWN``."""

    code = "BBOX_INVALID"
    http_status = 400


#: the map's layers, in the order answers list them, and the object type each is made of
LAYERS: dict[str, ReportType] = {
    "hazardous_areas": ReportType.HAZARDOUS_AREA,
    "hazardous_area_points": ReportType.HAZARDOUS_AREA,   # generalised points (views.py)
    "admin_areas": ReportType.ADMIN_AREA,
    "released_land": ReportType.LAND_RELEASE,
    "settlements": ReportType.SETTLEMENT,
    "accidents": ReportType.ACCIDENT,
    "ordnance": ReportType.ORDNANCE,
    # the plan's areas (perimeters) with their planned dates: only when the work directory
    # holds a plan (``plan/plan_areas.csv``), and only for analysts (the plan's readers)
    "planned_release": ReportType.HAZARDOUS_AREA,
}
#: layers only staff (``read_detail``) may read: perimeters of uncleared land, accidents, items
STAFF_LAYERS = frozenset({"hazardous_areas", "accidents", "ordnance", "planned_release"})
#: layers made from the plan, not the record alone (absent when there is no plan)
PLAN_LAYERS = frozenset({"planned_release"})
#: what ``detail=map`` keeps of each feature's attributes: what map.js styles, labels and
#: counts with (the feature's ``id`` is beside its properties); the rest comes on a click
MAP_FIELDS: dict[str, tuple[str, ...]] = {
    "hazardous_areas": ("name", "classification", "status"),
    "hazardous_area_points": ("classification", "status", "generalised"),
    "admin_areas": ("name",),
    "released_land": ("method",),
    "settlements": ("name", "displaced_population", "return_status"),
    "accidents": (),
    "ordnance": (),
    "planned_release": ("name", "planned_release_date", "planned_activities"),
}
#: ``detail`` values: every attribute (the default), or the map's few
DETAILS = ("full", "map")


def default_layers(user: User, plan: bool = False) -> list[str]:
    """The layers a request without ``layers`` gets: every one the user's roles give (staff
    get perimeters, viewers the generalised points instead); the plan's layers only when there
    is a ``plan``."""
    if user.can(Permission.READ_DETAIL):
        names = [n for n in LAYERS if n != "hazardous_area_points"]
    else:
        names = [n for n in LAYERS if n not in STAFF_LAYERS]
    return [n for n in names if may_read_layer(n, user) and (plan or n not in PLAN_LAYERS)]


def layer_needs(name: str) -> list[Permission]:
    """The permissions a layer needs: ``read_detail`` for staff layers (``read_public``
    otherwise), and ``analyse`` too for the plan's."""
    need = [Permission.READ_DETAIL if name in STAFF_LAYERS else Permission.READ_PUBLIC]
    return need + ([Permission.ANALYSE] if name in PLAN_LAYERS else [])


def may_read_layer(name: str, user: User) -> bool:
    return all(user.can(p) for p in layer_needs(name))


def check_layer(name: str, user: User) -> str:
    """``name`` if it is a layer the user may read; LAYER_UNKNOWN (400) if there is no such
    layer, FORBIDDEN (403) if the user's roles do not give it."""
    if name not in LAYERS:
        raise MapViewError(f"'{name}' is not a map layer (one of {', '.join(LAYERS)})",
                           code="LAYER_UNKNOWN", details={"parameter": "layers", "layer": name})
    if not may_read_layer(name, user):
        needs = ", ".join(p.value for p in layer_needs(name))
        raise PermissionDeniedError(f"your roles do not give the map layer '{name}' ({needs})",
                                    code="FORBIDDEN", details={"needs": needs, "layer": name})
    return name


def check_plan(name: str, plan: bool) -> str:
    """``name``, unless it is one of the plan's layers and there is no plan:
    OUTPUT_NOT_AVAILABLE (404)."""
    if name in PLAN_LAYERS and not plan:
        raise NotFoundError(f"the map layer '{name}' needs a plan in the work directory "
                            "(safeground plan make; make demo makes one)",
                            code="OUTPUT_NOT_AVAILABLE", details={"layer": name})
    return name


def parse_layers(value: str | None, user: User, plan: bool = False) -> list[str]:
    """The layers asked for, in ``LAYERS`` order: ``None`` (not given) is every layer the user
    may read (``default_layers``); otherwise a comma list of names, each checked (roles first,
    then whether there is a ``plan`` for the plan's layers)."""
    if value is None:
        return default_layers(user, plan)
    names = {n.strip() for n in value.split(",") if n.strip()}
    if not names:
        raise MapViewError("layers is empty: name at least one map layer "
                           f"({', '.join(default_layers(user, plan))})",
                           code="LAYER_UNKNOWN", details={"parameter": "layers"})
    for n in sorted(names):
        check_plan(check_layer(n, user), plan)
    return [n for n in LAYERS if n in names]


def parse_detail(value: str | None) -> str:
    if value is None or value == "":
        return "full"
    if value not in DETAILS:
        raise MapViewError(f"detail '{value}' is not one of {', '.join(DETAILS)}",
                           code="DETAIL_UNKNOWN", details={"parameter": "detail"})
    return value


def lean(layer: str, feats: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The features with only the attributes the map draws with (``MAP_FIELDS``), and the
    names of fields withheld from the user (``redacted``) if any. Only ever removes."""
    keep = (*MAP_FIELDS[layer], "redacted")
    return [{**f, "properties": {k: f["properties"][k] for k in keep
                                 if k in f["properties"]}} for f in feats]


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


def public_hit(geoms: np.ndarray, box: shapely.Polygon) -> np.ndarray:
    """Whether each area's generalised point (``views.public_area``: what a viewer is shown)
    meets the box, for each of the areas' geometries: a box never probes a perimeter."""
    points = [public_area({"id": "", "geometry": g})["geometry"] for g in geoms]
    return shapely.intersects(_array([shapely.geometry.shape(p) if p else None
                                      for p in points]), box)


def box_query(box: shapely.Polygon | None, generalised: bool = False) -> dict[str, Any]:
    """``Ledger.page`` arguments for a box: none without one; for ``generalised`` areas (a
    viewer's points) the box is tested against the generalised point, which lies within
    ``GENERALISE_DEG`` of the area's bounding box, so the index is asked for that much more."""
    if box is None:
        return {}
    out: dict[str, Any] = {"bbox": tuple(box.bounds)}
    if generalised:
        out.update(pad=GENERALISE_DEG, hit=public_hit)
    return out


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
