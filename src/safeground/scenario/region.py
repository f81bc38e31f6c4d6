"""The region: its outline, districts, former line of contact, positions, settlements, roads and
rivers. Everything here is observable (it is on maps); the hidden truth lives in
``contamination.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyogrio
import shapely
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.spatial import Delaunay

from safeground.errors import ConfigError
from safeground.scenario.config import (
    DEFAULT_AREA_KM2,
    DEFAULT_DISPLACED,
    DEFAULT_SETTLEMENTS,
    ScenarioConfig,
)
from safeground.scenario.geo import chaikin, densify_path, lonlat_to_utm, to_utm
from safeground.scenario.towns import TOWNS

#: A Karabakh-like outline (lon, lat) inside 39.0–40.4 N, 45.9–47.4 E, scaled to ``area_km2``.
DEFAULT_OUTLINE = (
    (45.95, 40.32), (46.40, 40.38), (46.80, 40.30), (47.12, 40.27), (47.22, 40.05),
    (47.32, 39.85), (47.42, 39.62), (47.42, 39.42), (47.20, 39.26), (46.90, 39.12),
    (46.60, 38.98), (46.40, 39.10), (46.38, 39.40), (46.25, 39.62), (46.05, 39.78),
    (45.92, 40.02),
)

#: The former line of contact (1994–2020), north to south, east of Aghdam and Fuzuli to the Araks.
DEFAULT_FRONT = (
    (47.00, 40.40), (47.02, 40.22), (46.99, 40.08), (47.04, 39.96), (47.12, 39.84),
    (47.20, 39.72), (47.23, 39.60), (47.29, 39.50), (47.34, 39.38), (47.38, 39.20),
)

_ROOTS = ("Gara", "Ag", "Gizil", "Yeni", "Kohna", "Boyuk", "Kichik", "Ashagi", "Yukhari",
          "Orta", "Dash", "Chay", "Sari", "Gul", "Dag", "Bag", "Tala", "Gush", "Emir", "Mirza")
_ENDS = ("bulag", "kend", "li", "dara", "tepe", "yurd", "chay", "oba", "gishlag", "abad",
         "ly", "bey", "var", "ahmadli", "arkh")


@dataclass(frozen=True, slots=True)
class Settlement:
    id: str
    name: str
    x: float
    y: float
    pre_conflict_population: int
    displaced_population: int
    radius_m: float
    admin_id: str
    is_town: bool
    occupied: bool          # on the side held 1994–2020 (its people were displaced)


@dataclass(frozen=True, slots=True)
class Position:
    id: str
    x: float
    y: float
    side: int               # +1 east of the line (government side), -1 west (the other side)
    line: int               # 1 = forward line, 2 = depth positions


@dataclass(frozen=True, slots=True)
class AdminArea:
    id: str
    name: str
    pcode: str
    polygon: shapely.Polygon


@dataclass(frozen=True, slots=True)
class Region:
    polygon: shapely.Polygon
    front: shapely.LineString          # the whole line, extending a little beyond the outline
    admin: tuple[AdminArea, ...]
    settlements: tuple[Settlement, ...]
    positions: tuple[Position, ...]
    roads: tuple[tuple[shapely.LineString, str], ...]  # (geometry, class main/local)
    rivers: tuple[shapely.LineString, ...]

    @property
    def area_km2(self) -> float:
        return self.polygon.area / 1e6

    @property
    def front_in_region(self):
        return shapely.intersection(self.front, self.polygon)


def _scale_about(geom, factor: float, origin):
    ox, oy = origin

    def fn(c: np.ndarray) -> np.ndarray:
        return np.column_stack([ox + (c[:, 0] - ox) * factor, oy + (c[:, 1] - oy) * factor])

    return shapely.transform(geom, fn)


def _outline(cfg: ScenarioConfig):
    """(region polygon, front control line or None, scale factor, origin, admin list)."""
    if cfg.region == "default":
        poly = to_utm(shapely.Polygon(DEFAULT_OUTLINE))
        front = to_utm(shapely.LineString(DEFAULT_FRONT))
        target = (cfg.area_km2 or DEFAULT_AREA_KM2) * 1e6
        factor = float(np.sqrt(target / poly.area))
        origin = poly.centroid.coords[0]
        return _scale_about(poly, factor, origin), _scale_about(front, factor, origin), factor, \
            origin, None
    if cfg.region == "rectangle":
        w, h = cfg.rect_km
        if cfg.area_km2:
            k = np.sqrt(cfg.area_km2 / (w * h))
            w, h = w * k, h * k
        x0, y0 = lonlat_to_utm(46.90, 39.70)
        poly = shapely.box(x0 - w * 500, y0 - h * 500, x0 + w * 500, y0 + h * 500)
        return poly, None, 1.0, (x0, y0), None
    return _outline_from_file(cfg)


def _outline_from_file(cfg: ScenarioConfig):
    try:
        df = pyogrio.read_dataframe(cfg.region)
    except Exception as exc:  # pyogrio raises several DataSource errors
        raise ConfigError(f"cannot read region file {cfg.region}: {exc}",
                          code="SCENARIO_REGION_INVALID") from exc
    name_col = next((c for c in ("shapeName", "name", "NAME") if c in df.columns), None)
    if cfg.region_names:
        if name_col is None:
            raise ConfigError("region file has no name column to filter by",
                              code="SCENARIO_REGION_INVALID")
        wanted = {n.casefold() for n in cfg.region_names}
        df = df[df[name_col].astype(str).str.casefold().isin(wanted)]
    df = df[df.geometry.notna()]
    if df.empty:
        raise ConfigError("no region polygon left after filtering", code="SCENARIO_REGION_INVALID")
    df = df.to_crs("EPSG:32638") if df.crs is not None else df.set_crs("EPSG:32638")
    geoms = shapely.make_valid(np.asarray(df.geometry.values))
    poly = shapely.union_all(geoms)
    names = df[name_col].astype(str).tolist() if name_col else [f"Area {i + 1}" for i in
                                                                 range(len(df))]
    codes = (df["shapeISO"].astype(str).tolist() if "shapeISO" in df.columns
             else [f"F{i + 1:03d}" for i in range(len(df))])
    admin = [(n, c, g) for n, c, g in zip(names, codes, geoms, strict=True)]
    return poly, None, 1.0, poly.centroid.coords[0], admin


def _synthetic_front(rng: np.random.Generator, poly) -> shapely.LineString:
    """A meandering north–south line at about 65 % of the width from the west."""
    minx, miny, maxx, maxy = poly.bounds
    w, h = maxx - minx, maxy - miny
    n = 10
    ys = np.linspace(maxy + 0.05 * h, miny - 0.05 * h, n)
    walk = np.cumsum(rng.normal(0, 0.05 * w, n))
    xs = minx + 0.65 * w + walk - walk.mean()
    pts = chaikin(np.column_stack([xs, ys]), 4)
    return shapely.LineString(densify_path(pts, 200.0))


def _front(rng: np.random.Generator, control, poly) -> shapely.LineString:
    if control is None:
        return _synthetic_front(rng, poly)
    pts = densify_path(np.asarray(control.coords), 2000.0)
    # small meander so the line is not a chain of straight segments
    normal = rng.normal(0, 350.0, len(pts))
    normal[[0, -1]] = 0
    pts = pts + np.column_stack([normal, np.zeros(len(pts))])
    return shapely.LineString(densify_path(chaikin(pts, 4), 200.0))


def _points_in(rng: np.random.Generator, poly, n: int) -> np.ndarray:
    minx, miny, maxx, maxy = poly.bounds
    out = []
    got = 0
    while got < n:
        k = max(64, 2 * (n - got))
        xy = np.column_stack([rng.uniform(minx, maxx, k), rng.uniform(miny, maxy, k)])
        xy = xy[shapely.contains_xy(poly, xy[:, 0], xy[:, 1])]
        out.append(xy)
        got += len(xy)
    return np.vstack(out)[:n]


def side_of(front: shapely.LineString, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """+1 east (left of the north→south line), -1 west, for each point."""
    pts = shapely.points(x, y)
    d = shapely.line_locate_point(front, pts)
    a = shapely.get_coordinates(shapely.line_interpolate_point(front, d))
    b = shapely.get_coordinates(shapely.line_interpolate_point(front, d + 20.0))
    t = b - a
    cross = t[:, 0] * (np.asarray(y) - a[:, 1]) - t[:, 1] * (np.asarray(x) - a[:, 0])
    return np.where(cross >= 0, 1, -1)


def _settlements(rng, cfg, poly, front, factor, origin, area_km2, elevation_at):
    n_total = cfg.n_settlements or max(6, round(DEFAULT_SETTLEMENTS * area_km2 / DEFAULT_AREA_KM2))
    displaced_target = cfg.displaced_population or round(DEFAULT_DISPLACED * area_km2
                                                         / DEFAULT_AREA_KM2)
    towns = []
    if cfg.region != "rectangle":
        tx, ty = lonlat_to_utm([t.lon for t in TOWNS], [t.lat for t in TOWNS])
        ox, oy = origin
        tx = ox + (np.asarray(tx) - ox) * factor
        ty = oy + (np.asarray(ty) - oy) * factor
        inside = shapely.contains_xy(poly, tx, ty)
        towns = [(t, x, y) for t, x, y, ok in zip(TOWNS, tx, ty, inside, strict=True) if ok]
    towns = towns[:n_total]
    n_vill = n_total - len(towns)
    cand = _points_in(rng, poly, max(200, 25 * n_vill))
    elev = elevation_at(cand[:, 0], cand[:, 1])
    w = np.exp(-np.nan_to_num(elev, nan=3000) / 700.0)
    order = rng.choice(len(cand), size=len(cand), replace=False, p=w / w.sum())
    chosen = [np.array([x, y]) for _, x, y in towns]
    min_gap = min(1500.0, 0.45 * np.sqrt(area_km2 * 1e6 / max(n_total, 1)))
    for i in order:
        if len(chosen) >= n_total:
            break
        p = cand[i]
        if chosen and np.min(np.hypot(*(np.asarray(chosen) - p).T)) < min_gap:
            continue
        chosen.append(p)
    xy = np.asarray(chosen)
    pops = np.concatenate([[t.pre_conflict_population for t, _, _ in towns],
                           np.round(rng.lognormal(6.6, 0.85, len(xy) - len(towns)))]).astype(int)
    sides = side_of(front, xy[:, 0], xy[:, 1])
    occupied = sides < 0
    # displaced today = pre-conflict people of the occupied side and their descendants
    vill = np.arange(len(xy)) >= len(towns)
    town_occ = float(pops[~vill & occupied].sum())
    vill_occ = float(pops[vill & occupied].sum())
    growth = 1.45
    if vill_occ > 0:
        scale = max(0.05, (displaced_target / growth - town_occ) / vill_occ)
        pops[vill] = np.maximum(30, np.round(pops[vill] * scale)).astype(int)
    occ_total = float(pops[occupied].sum())
    growth = displaced_target / occ_total if occ_total else 0.0
    displaced = np.where(occupied, np.round(pops * growth), 0).astype(int)
    names = [t.name for t, _, _ in towns]
    used = set(names)
    for _ in range(len(xy) - len(towns)):
        for attempt in range(50):
            nm = str(rng.choice(_ROOTS)) + str(rng.choice(_ENDS))
            if attempt > 10:
                nm += f" {attempt}"
            if nm not in used:
                break
        used.add(nm)
        names.append(nm)
    radii = 150.0 + 6.0 * np.sqrt(pops)
    return xy, pops, displaced, names, radii, occupied, len(towns)


def _admin(rng, poly, admin_file, towns_xy, towns_names):
    if admin_file is not None:
        return tuple(AdminArea(f"ADM-{i + 1:02d}", n, str(c), shapely.intersection(g, poly))
                     for i, (n, c, g) in enumerate(admin_file))
    if len(towns_xy) >= 2:
        seeds, names = towns_xy, towns_names
    else:
        k = max(2, min(6, int(poly.area / 150e6)))
        seeds = _points_in(rng, poly, k)
        names = [f"District {chr(65 + i)}" for i in range(k)]
    cells = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=poly)
    out = []
    for cell in shapely.get_parts(cells):
        part = shapely.intersection(cell, poly)
        if part.is_empty:
            continue
        inside = shapely.contains_xy(cell, seeds[:, 0], seeds[:, 1])
        j = int(np.argmax(inside))
        out.append((names[j], part))
    out.sort(key=lambda t: t[0])
    return tuple(AdminArea(f"ADM-{i + 1:02d}", n, f"SYN-{i + 1:02d}", g)
                 for i, (n, g) in enumerate(out))


def _roads(rng, xy, pops, poly):
    if len(xy) < 3:
        return ()
    tri = Delaunay(xy)
    edges = set()
    for s in tri.simplices:
        for a, b in ((s[0], s[1]), (s[1], s[2]), (s[0], s[2])):
            edges.add((min(a, b), max(a, b)))
    edges = np.array(sorted(edges))
    length = np.hypot(*(xy[edges[:, 0]] - xy[edges[:, 1]]).T)
    n = len(xy)
    from scipy.sparse import coo_matrix

    mst = minimum_spanning_tree(coo_matrix((length, (edges[:, 0], edges[:, 1])), shape=(n, n)))
    mst_set = set(zip(*mst.nonzero(), strict=True))
    keep = [(a, b) for (a, b), ln in zip(edges, length, strict=True)
            if (a, b) in mst_set or (b, a) in mst_set or (ln < 7000 and rng.random() < 0.35)]
    roads = []
    for a, b in keep:
        p, q = xy[a], xy[b]
        mid = 0.5 * (p + q) + rng.normal(0, 0.08 * np.hypot(*(q - p)), 2)
        line = shapely.intersection(shapely.LineString([p, mid, q]), poly)
        if line.is_empty:
            continue
        cls = "main" if min(pops[a], pops[b]) >= 3000 or max(pops[a], pops[b]) >= 15000 \
            else "local"
        for part in shapely.get_parts(line):
            if part.geom_type == "LineString":
                roads.append((part, cls))
    return tuple(roads)


def _rivers(rng, poly) -> tuple[shapely.LineString, ...]:
    minx, miny, maxx, maxy = poly.bounds
    w, h = maxx - minx, maxy - miny
    k = max(1, min(8, int(h / 25_000) + 1))
    out = []
    for y0 in np.sort(rng.uniform(miny + 0.1 * h, maxy - 0.1 * h, k)):
        xs = np.linspace(minx - 0.02 * w, maxx + 0.02 * w, 14)
        ys = y0 + np.cumsum(rng.normal(0, 0.025 * h, len(xs)))
        line = shapely.LineString(chaikin(np.column_stack([xs, ys]), 3))
        clipped = shapely.intersection(line, poly)
        out.extend(p for p in shapely.get_parts(clipped) if p.geom_type == "LineString"
                   and p.length > 1000)
    return tuple(out)


def frame_at(front: shapely.LineString, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points on the line at distances ``s`` and the unit normals pointing east (left)."""
    s = np.asarray(s, dtype=float)
    total = front.length
    a = shapely.get_coordinates(shapely.line_interpolate_point(front, np.clip(s - 15, 0, total)))
    b = shapely.get_coordinates(shapely.line_interpolate_point(front, np.clip(s + 15, 0, total)))
    p = shapely.get_coordinates(shapely.line_interpolate_point(front, s))
    t = b - a
    t /= np.maximum(np.hypot(t[:, 0], t[:, 1]), 1e-9)[:, None]
    return p, np.column_stack([-t[:, 1], t[:, 0]])


def _positions(rng, front, poly) -> tuple[Position, ...]:
    out = []
    total = front.length
    for side in (1, -1):
        for line, (gap_lo, gap_hi), (off_lo, off_hi) in (
                (1, (600, 1400), (250, 700)), (2, (1500, 3200), (2000, 4500))):
            s = np.cumsum(rng.uniform(gap_lo, gap_hi, int(total / gap_lo) + 2))
            s = s[s < total]
            p, nrm = frame_at(front, s)
            xy = p + nrm * (side * rng.uniform(off_lo, off_hi, len(s)))[:, None]
            ok = shapely.contains_xy(poly, xy[:, 0], xy[:, 1])
            out.extend((q, side, line) for q in xy[ok])
    return tuple(Position(f"POS-{i + 1:04d}", float(xy[0]), float(xy[1]), side, line)
                 for i, (xy, side, line) in enumerate(out))


def build_region(rng: np.random.Generator, cfg: ScenarioConfig, elevation_at=None):
    """Outline, front, districts, settlements, roads, rivers and positions.

    ``elevation_at(x, y)`` weights where villages sit (valleys and plains); the caller passes the
    terrain sampler. Raises ``ConfigError`` when a region file cannot be read or filtered.
    """
    poly, control, factor, origin, admin_file = _outline(cfg)
    if poly.is_empty or poly.area < 1e6:
        raise ConfigError("region is empty or smaller than 1 km²", code="SCENARIO_REGION_INVALID")
    front = _front(rng, control, poly)
    rivers = _rivers(rng, poly)
    return poly, front, rivers, factor, origin, admin_file


def finish_region(rng, cfg, poly, front, rivers, factor, origin, admin_file, elevation_at):
    area_km2 = poly.area / 1e6
    xy, pops, displaced, names, radii, occupied, n_towns = _settlements(
        rng, cfg, poly, front, factor, origin, area_km2, elevation_at)
    admin = _admin(rng, poly, admin_file, xy[:n_towns], names[:n_towns])
    tree = shapely.STRtree([a.polygon for a in admin])
    idx = tree.query(shapely.points(xy), predicate="intersects")
    admin_of = np.full(len(xy), -1)
    admin_of[idx[0][::-1]] = idx[1][::-1]
    admin_of[admin_of < 0] = 0
    settlements = tuple(
        Settlement(f"SET-{i + 1:04d}", names[i], float(xy[i, 0]), float(xy[i, 1]),
                   int(pops[i]), int(displaced[i]), float(radii[i]), admin[admin_of[i]].id,
                   i < n_towns, bool(occupied[i]))
        for i in range(len(xy)))
    roads = _roads(rng, xy, pops, poly)
    positions = _positions(rng, front, poly)
    return Region(poly, front, admin, settlements, positions, roads, rivers)


def region_file_names(path: str | Path) -> list[str]:
    """Names available to ``region_names`` in a region polygon file."""
    df = pyogrio.read_dataframe(path, read_geometry=False)
    col = next((c for c in ("shapeName", "name", "NAME") if c in df.columns), None)
    return sorted(df[col].astype(str).unique()) if col else []


__all__ = ["AdminArea", "Position", "Region", "Settlement", "build_region", "finish_region",
           "frame_at", "side_of"]
