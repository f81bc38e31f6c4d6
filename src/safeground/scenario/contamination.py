"""The hidden ground truth: every explosive item, laid the way armies lay it.

* **Minefield belts** parallel to the former line of contact on both sides, rows offset from the
  line itself so they follow its bends. Row and mine spacing follow Soviet-pattern doctrine
  (``DOCTRINE``): anti-personnel (AP) rows 5–20 m apart with mines every 1.5–5 m, anti-tank (AT)
  rows 20–40 m apart with mines every 4–7 m, and mixed fields of AT rows with AP mines beside.
* **Protective fields**: arcs of AP mines 40–90 m in front of fortified positions.
* **Nuisance mining** (2020 withdrawal): small AP clusters at villages, cemeteries and fields,
  AT mines on roads.
* **Unexploded ordnance** from shelling, dense near the front and around shelled settlements,
  plus a thin scatter over the whole region; **cluster strikes** with their duds; **abandoned
  ordnance** at positions; a few **improvised devices**.

The truth never enters the record except through ``observation.py`` and the twin.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely import affinity
from shapely.ops import nearest_points, substring

from safeground.record.vocabulary import OrdnanceCategory
from safeground.scenario.region import Region, frame_at

#: Integer codes used in the item arrays.
CATEGORIES: tuple[OrdnanceCategory, ...] = (
    OrdnanceCategory.AP_MINE, OrdnanceCategory.AT_MINE, OrdnanceCategory.UXO,
    OrdnanceCategory.AXO, OrdnanceCategory.SUBMUNITION, OrdnanceCategory.IED,
)
AP, AT, UXO, AXO, SUB, IED = range(6)
MODELS: dict[int, tuple[str, ...]] = {
    AP: ("PMN-2", "PMN", "PMN-4", "POMZ-2M", "OZM-72"),
    AT: ("TM-62M", "TM-57", "TM-62P3"),
    UXO: ("122mm rocket", "152mm projectile", "120mm mortar", "82mm mortar", "125mm tank round",
          "RPG-7 rocket"),
    AXO: ("F-1 grenade", "RGD-5 grenade", "VOG-17 grenade", "mortar bombs (crated)"),
    SUB: ("9N235", "M095 DPICM"),
    IED: ("pressure-plate IED", "booby-trapped grenade"),
}
SOURCES = ("belt", "protective", "nuisance", "shelling", "cluster", "abandoned", "ied")
BELT, PROTECTIVE, NUISANCE, SHELLING, CLUSTER, ABANDONED, IEDSRC = range(7)

#: Doctrinal ranges the generator draws from (metres), after Soviet-pattern mine-laying norms.
DOCTRINE: dict[str, dict[str, tuple[float, float]]] = {
    "AP": {"rows": (2, 4), "row_spacing": (5.0, 20.0), "mine_spacing": (1.5, 5.0)},
    "AT": {"rows": (2, 4), "row_spacing": (20.0, 40.0), "mine_spacing": (4.0, 7.0)},
}


@dataclass
class Items:
    """Column arrays, one row per true item (UTM 38N metres)."""

    x: np.ndarray
    y: np.ndarray
    cat: np.ndarray       # int8 index into CATEGORIES
    model: np.ndarray     # int8 index into MODELS[cat]
    depth_cm: np.ndarray  # int16
    site: np.ndarray      # int32 index into Truth.sites, -1 none
    source: np.ndarray    # int8 index into SOURCES
    year: np.ndarray      # int16 year of emplacement or firing

    def __len__(self) -> int:
        return len(self.x)

    @property
    def category_names(self) -> np.ndarray:
        return np.array([c.value for c in CATEGORIES])[self.cat]

    def model_name(self, i: int) -> str:
        return MODELS[int(self.cat[i])][int(self.model[i]) % len(MODELS[int(self.cat[i])])]


@dataclass(frozen=True, slots=True)
class Site:
    """A minefield, protective field, nuisance cluster or cluster strike."""

    id: str
    kind: str             # belt_AP, belt_AT, belt_mixed, protective, nuisance, cluster_strike
    side: int             # +1 east (government), -1 west, 0 none
    polygon: shapely.Geometry
    rows: shapely.Geometry | None = None
    n_rows: int = 0
    row_spacing_m: float = 0.0
    mine_spacing_m: float = 0.0
    offset_m: float = 0.0  # distance of the first row from the line of contact
    year: int = 0
    front_from_m: float = 0.0  # stretch of the line of contact the belt follows (along-line m)
    front_to_m: float = 0.0


@dataclass
class Truth:
    items: Items
    sites: list[Site] = field(default_factory=list)


class _Builder:
    def __init__(self) -> None:
        self.cols: dict[str, list[np.ndarray]] = {k: [] for k in
                                                   ("x", "y", "cat", "model", "depth", "site",
                                                    "source", "year")}
        self.sites: list[Site] = []

    def add(self, xy: np.ndarray, cat, model, depth, site: int, source: int, year) -> None:
        n = len(xy)
        if n == 0:
            return
        self.cols["x"].append(xy[:, 0])
        self.cols["y"].append(xy[:, 1])
        for k, v, dt in (("cat", cat, np.int8), ("model", model, np.int8),
                         ("depth", depth, np.int16), ("site", site, np.int32),
                         ("source", source, np.int8), ("year", year, np.int16)):
            self.cols[k].append(np.broadcast_to(np.asarray(v, dtype=dt), (n,)).copy())

    def site(self, **kw) -> int:
        self.sites.append(Site(id=f"MF-{len(self.sites) + 1:05d}", **kw))
        return len(self.sites) - 1

    def build(self, region_poly) -> Truth:
        if not self.cols["x"]:
            empty = np.zeros(0)
            items = Items(empty, empty, *(np.zeros(0, dt) for dt in (
                np.int8, np.int8, np.int16, np.int32, np.int8, np.int16)))
            return Truth(items, self.sites)
        c = {k: np.concatenate(v) for k, v in self.cols.items()}
        keep = shapely.contains_xy(region_poly, c["x"], c["y"])
        c = {k: v[keep] for k, v in c.items()}
        items = Items(c["x"], c["y"], c["cat"], c["model"], c["depth"], c["site"], c["source"],
                      c["year"])
        return Truth(items, self.sites)


def _row_points(rng: np.random.Generator, row, spacing: float) -> np.ndarray:
    n = int(row.length / spacing)
    if n < 1:
        return np.zeros((0, 2))
    d = (np.arange(n) + rng.uniform(0.2, 0.8)) * spacing + rng.normal(0, 0.05 * spacing, n)
    pts = shapely.get_coordinates(shapely.line_interpolate_point(row, np.clip(d, 0, row.length)))
    keep = rng.random(n) > 0.04          # a few mines never laid or since detonated
    return pts[keep] + rng.normal(0, 0.25, (keep.sum(), 2))


def _belts(rng: np.random.Generator, b: _Builder, front, intensity: float) -> None:
    total = front.length
    for side in (1, -1):
        for (off_lo, off_hi), coverage in (((120.0, 400.0), 0.72), ((700.0, 1500.0), 0.45)):
            s = rng.uniform(0, 400)
            while s < total:
                length = rng.uniform(200, 900)
                if rng.random() < min(1.0, coverage * intensity):
                    _one_belt(rng, b, front, side, s, min(s + length, total),
                              rng.uniform(off_lo, off_hi))
                s += length + rng.uniform(50, 700)


def _single(g: shapely.Geometry) -> shapely.LineString | None:
    """The longest line of an offset curve (tight bends can split it)."""
    if g.is_empty:
        return None
    if g.geom_type == "LineString":
        return g
    parts = [p for p in shapely.get_parts(shapely.line_merge(g)) if p.geom_type == "LineString"]
    return max(parts, key=lambda p: p.length) if parts else None


def _one_belt(rng, b: _Builder, front, side: int, s0: float, s1: float, offset: float) -> None:
    kind = str(rng.choice(["AP", "AT", "mixed"], p=[0.55, 0.2, 0.25]))
    doc = DOCTRINE["AT" if kind == "AT" else "AP"]
    n_rows = int(rng.integers(doc["rows"][0], doc["rows"][1] + 1))
    if kind == "mixed":
        row_sp = rng.uniform(*DOCTRINE["AT"]["row_spacing"])
    else:
        row_sp = rng.uniform(*doc["row_spacing"])
    base = substring(front, s0, s1)
    if base.length < 50:
        return
    rows = [_single(shapely.offset_curve(base, side * (offset + k * row_sp), quad_segs=32))
            for k in range(n_rows)]
    if any(r is None for r in rows):
        return
    year = int(rng.integers(1994, 2021))
    mine_sp_ap = rng.uniform(*DOCTRINE["AP"]["mine_spacing"])
    mine_sp_at = rng.uniform(*DOCTRINE["AT"]["mine_spacing"])
    poly = shapely.buffer(shapely.multilinestrings(rows), max(3.0, row_sp / 2), cap_style="flat")
    sid = b.site(kind=f"belt_{kind}", side=side, polygon=poly, rows=shapely.multilinestrings(rows),
                 n_rows=len(rows), row_spacing_m=float(row_sp),
                 mine_spacing_m=float(mine_sp_at if kind == "AT" else mine_sp_ap),
                 offset_m=float(offset), year=year, front_from_m=float(s0),
                 front_to_m=float(s1))
    for k, row in enumerate(rows):
        at_row = kind == "AT" or (kind == "mixed" and k % 2 == 0)
        sp = mine_sp_at if at_row else mine_sp_ap
        if kind == "mixed" and not at_row:
            sp = mine_sp_ap * 2
        pts = _row_points(rng, row, sp)
        cat = AT if at_row else AP
        depth = rng.integers(5, 21, len(pts)) if at_row else rng.integers(1, 11, len(pts))
        model = rng.integers(0, len(MODELS[cat]), len(pts))
        b.add(pts, cat, model, depth, sid, BELT, year)


def _protective(rng, b: _Builder, region: Region, front, intensity: float) -> None:
    pos_xy = np.array([[p.x, p.y] for p in region.positions]).reshape(-1, 2)
    _, normals = frame_at(front, shapely.line_locate_point(front, shapely.points(pos_xy)))
    for pos, nrm in zip(region.positions, normals, strict=True):
        if rng.random() > (0.85 if pos.line == 1 else 0.5) * min(1.0, intensity):
            continue
        facing = -pos.side * nrm              # towards the other side
        ang0 = np.arctan2(facing[1], facing[0])
        radius = rng.uniform(40, 90)
        n_rows = int(rng.integers(1, 3))
        spacing = rng.uniform(2.0, 4.0)
        rows = []
        for k in range(n_rows):
            r = radius + k * rng.uniform(5, 10)
            a = np.linspace(ang0 - np.pi / 2, ang0 + np.pi / 2, 40)
            rows.append(shapely.LineString(np.column_stack([pos.x + r * np.cos(a),
                                                            pos.y + r * np.sin(a)])))
        ml = shapely.multilinestrings(rows)
        year = int(rng.integers(1994, 2021))
        sid = b.site(kind="protective", side=pos.side, polygon=shapely.buffer(ml, 5.0),
                     rows=ml, n_rows=n_rows, mine_spacing_m=float(spacing), year=year)
        for row in rows:
            pts = _row_points(rng, row, spacing)
            model = rng.integers(0, len(MODELS[AP]), len(pts))
            b.add(pts, AP, model, rng.integers(0, 8, len(pts)), sid, PROTECTIVE, year)
        if rng.random() < 0.2:   # abandoned ammunition at the position
            n = int(rng.integers(3, 30))
            xy = np.array([pos.x, pos.y]) + rng.normal(0, 12, (n, 2))
            b.add(xy, AXO, rng.integers(0, len(MODELS[AXO]), n), 0, -1, ABANDONED, 2020)


def _nuisance(rng, b: _Builder, region: Region, front, intensity: float) -> None:
    roads = [r for r, _ in region.roads]
    road_union = shapely.union_all(roads) if roads else None
    for st in region.settlements:
        dist = front.distance(shapely.Point(st.x, st.y))
        if not st.occupied or dist > 30_000 or rng.random() > 0.3 * min(1.0, intensity):
            continue
        for _ in range(int(rng.integers(1, 4))):
            ang = rng.uniform(0, 2 * np.pi)
            r = st.radius_m * rng.uniform(0.3, 1.8)
            c = np.array([st.x + r * np.cos(ang), st.y + r * np.sin(ang)])
            on_road = road_union is not None and rng.random() < 0.3
            if on_road:
                p = nearest_points(road_union, shapely.Point(c))[0]
                n = int(rng.integers(2, 7))
                xy = np.array(p.coords[0]) + rng.normal(0, 15, (n, 2))
                cat, depth = AT, rng.integers(3, 15, n)
            else:
                n = int(rng.integers(3, 26))
                xy = c + rng.normal(0, 20, (n, 2))
                cat, depth = AP, rng.integers(0, 8, n)
            hull = shapely.buffer(shapely.convex_hull(shapely.multipoints(xy)), 10.0)
            sid = b.site(kind="nuisance", side=-1, polygon=hull, year=2020)
            b.add(xy, cat, rng.integers(0, len(MODELS[cat]), n), depth, sid, NUISANCE, 2020)


def _uxo(rng, b: _Builder, region: Region, front, intensity: float) -> None:
    poly = region.polygon
    km = front.length / 1000
    # shelling along the front, both wars
    n = rng.poisson(120 * km * intensity)
    s = rng.uniform(0, front.length, n)
    p, nrm = frame_at(front, s)
    off = rng.laplace(0, 1500, n)
    xy = p + nrm * off[:, None]
    year = np.where(rng.random(n) < 0.5, 1993, 2020)
    b.add(xy, UXO, rng.integers(0, len(MODELS[UXO]), n), _uxo_depth(rng, n), -1, SHELLING, year)
    # shelled settlements: more the nearer the front
    for st in region.settlements:
        dist = front.distance(shapely.Point(st.x, st.y))
        lam = intensity * (25 + 0.01 * st.pre_conflict_population) * np.exp(-dist / 25_000)
        k = rng.poisson(lam)
        if k:
            xy = np.array([st.x, st.y]) + rng.normal(0, st.radius_m * 0.8, (k, 2))
            b.add(xy, UXO, rng.integers(0, len(MODELS[UXO]), k), _uxo_depth(rng, k), -1,
                  SHELLING, 2020)
    # thin scatter over the region (2020 war, stray rounds)
    k = rng.poisson(1.0 * poly.area / 1e6 * intensity)
    minx, miny, maxx, maxy = poly.bounds
    xy = np.column_stack([rng.uniform(minx, maxx, k), rng.uniform(miny, maxy, k)])
    b.add(xy, UXO, rng.integers(0, len(MODELS[UXO]), k), _uxo_depth(rng, k), -1, SHELLING, 2020)


def _uxo_depth(rng: np.random.Generator, n: int) -> np.ndarray:
    surface = rng.random(n) < 0.35
    return np.where(surface, 0, rng.integers(5, 120, n))


def _cluster_strikes(rng, b: _Builder, region: Region, front, intensity: float) -> None:
    poly = region.polygon
    n = rng.poisson(0.004 * poly.area / 1e6 * intensity)
    targets = np.array([[p.x, p.y] for p in region.positions] +
                       [[s.x, s.y] for s in region.settlements])
    if len(targets) == 0:
        return
    for _ in range(n):
        c = targets[rng.integers(len(targets))] + rng.normal(0, 600, 2)
        a, bb = rng.uniform(150, 300), rng.uniform(75, 150)
        th = rng.uniform(0, np.pi)
        k = int(rng.poisson(45)) + 5
        r = np.sqrt(rng.random(k))
        phi = rng.uniform(0, 2 * np.pi, k)
        u, v = a * r * np.cos(phi), bb * r * np.sin(phi)
        xy = c + np.column_stack([u * np.cos(th) - v * np.sin(th), u * np.sin(th) + v * np.cos(th)])
        ell = affinity.rotate(affinity.scale(shapely.Point(c).buffer(1.0), a, bb),
                                      th, use_radians=True)
        sid = b.site(kind="cluster_strike", side=0, polygon=ell, year=2020)
        b.add(xy, SUB, rng.integers(0, len(MODELS[SUB]), k), rng.integers(0, 10, k), sid, CLUSTER,
              2020)


def _ieds(rng, b: _Builder, region: Region, intensity: float) -> None:
    occupied = [s for s in region.settlements if s.occupied]
    if not occupied:
        return
    n = max(1, rng.poisson(0.0015 * region.polygon.area / 1e6 * intensity))
    for _ in range(n):
        st = occupied[rng.integers(len(occupied))]
        xy = np.array([[st.x, st.y]]) + rng.normal(0, st.radius_m * 0.5, (1, 2))
        b.add(xy, IED, rng.integers(0, 2, 1), rng.integers(0, 20, 1), -1, IEDSRC, 2020)


def lay_truth(rng: np.random.Generator, region: Region, intensity: float = 1.0) -> Truth:
    """Every true item of the region, clipped to its outline."""
    b = _Builder()
    front = region.front
    _belts(rng, b, front, intensity)
    _protective(rng, b, region, front, intensity)
    _nuisance(rng, b, region, front, intensity)
    _uxo(rng, b, region, front, intensity)
    _cluster_strikes(rng, b, region, front, intensity)
    _ieds(rng, b, region, intensity)
    return b.build(region.polygon)
