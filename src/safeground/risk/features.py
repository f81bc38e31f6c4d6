"""Features of every cell of a grid, from the evidence known at a date and the context layers.

``FeatureBuilder`` computes the smooth fields (distances, kernel densities) once on a coarse
grid, then produces the feature matrix of any window of the target grid: smooth fields sampled
bilinearly, rasters (elevation, slope, land cover) read at the target resolution. It holds only
arrays and file paths, so it pickles to Dask workers.

Feature names (present only when the input exists):

- ``dist_<layer>_km``: distance to the former front line, military positions, roads, rivers,
  settlements;
- ``density_<group>_<b>km``: reliability-weighted Gaussian kernel density (per km²) of
  accidents, finds, direct and indirect evidence, bandwidth ``b``;
- ``dist_<group>_km``: distance to the nearest event of the group;
- ``population_density``: settlement population spread with a 5 km kernel (people per km²);
- ``elevation_m``, ``slope_deg``, ``landcover``;
- ``released_<how>_share`` (``FeatureConfig.released_features``; when the builder is given the
  land released on record): the share of the cell's area released by ``as_of``, by how — cleared,
  reduced by technical survey, cancelled by non-technical survey (disjoint: ground released
  twice counts once, under the strongest: cleared, then reduced, then cancelled). Exact polygon
  overlap at the target resolution; land released after ``as_of`` is not seen.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import rasterio
import shapely
from rasterio.enums import Resampling
from rasterio.warp import reproject
from rasterio.windows import Window

from safeground.risk import events as ev
from safeground.risk import fields
from safeground.risk.context import RASTER_LAYERS, VECTOR_LAYERS, ContextLayers
from safeground.risk.grid import Grid

RASTER_FEATURE = {"elevation": "elevation_m", "slope": "slope_deg", "landcover": "landcover"}


@dataclass(frozen=True, slots=True)
class FeatureConfig:
    """How features are built. ``field_step_m`` None: the target step, at least 100 m."""

    bandwidths_km: tuple[float, ...] = (1.0, 5.0)
    distance_cap_km: float = 50.0
    field_step_m: float | None = None
    population_bandwidth_km: float = 5.0
    #: also a density of the events of the last N years before the prediction date (0: none)
    recent_years: float = 0.0
    recent_bandwidth_km: float = 3.0
    groups: tuple[str, ...] = ev.GROUPS
    #: vector layers whose distance is a feature (settlements also give population)
    vector_layers: tuple[str, ...] = VECTOR_LAYERS
    raster_layers: tuple[str, ...] = tuple(RASTER_LAYERS)
    #: the released shares as features (``RELEASED_FEATURES``), when released land is given
    released_features: bool = False


#: how land is released, strongest first, and the feature of each
RELEASE_KINDS = ("cleared", "reduced", "cancelled")
RELEASED_FEATURES = tuple(f"released_{k}_share" for k in RELEASE_KINDS)


def released_by_kind(released: pd.DataFrame | None, as_of: dt.date | str
                     ) -> dict[str, object]:
    """The land released on or before ``as_of`` (``release``, ``date``, geometry in the grid's
    CRS), one disjoint geometry per kind of ``RELEASE_KINDS``; empty kinds are left out."""
    out: dict[str, object] = {}
    if released is None or len(released) == 0:
        return out
    rel = released[pd.to_datetime(released["date"]) <= pd.Timestamp(as_of)]
    taken = None
    for kind in RELEASE_KINDS:
        geoms = [g for g in rel.geometry[rel["release"] == kind] if g is not None
                 and not g.is_empty]
        if not geoms:
            continue
        u = shapely.union_all(geoms)
        if taken is not None:
            u = shapely.difference(u, taken)
        taken = u if taken is None else shapely.union(taken, u)
        if not u.is_empty and u.area > 0:
            out[kind] = u
    return out


def window_share(grid: Grid, window: Window | None, geom: object) -> np.ndarray:
    """Share of each cell of ``window`` (rows x cols; None: the whole grid) covered by
    ``geom`` (exact overlap)."""
    window = window or Window(0, 0, grid.width, grid.height)
    h, w = int(window.height), int(window.width)
    out = np.zeros((h, w))
    wx0 = grid.x0 + window.col_off * grid.step
    wy1 = grid.y1 - window.row_off * grid.step
    part = shapely.intersection(geom, shapely.box(wx0, wy1 - h * grid.step,
                                                  wx0 + w * grid.step, wy1))
    if part.is_empty or part.area <= 0:
        return out
    for poly in shapely.get_parts(part):
        if poly.area <= 0:
            continue
        minx, miny, maxx, maxy = poly.bounds
        c0 = max(0, int(np.floor((minx - wx0) / grid.step)))
        c1 = min(w, int(np.ceil((maxx - wx0) / grid.step)))
        r0 = max(0, int(np.floor((wy1 - maxy) / grid.step)))
        r1 = min(h, int(np.ceil((wy1 - miny) / grid.step)))
        if c0 >= c1 or r0 >= r1:
            continue
        rr, cc = np.meshgrid(np.arange(r0, r1), np.arange(c0, c1), indexing="ij")
        rr, cc = rr.ravel(), cc.ravel()
        boxes = shapely.box(wx0 + cc * grid.step, wy1 - (rr + 1) * grid.step,
                            wx0 + (cc + 1) * grid.step, wy1 - rr * grid.step)
        inside = shapely.contains_properly(poly, boxes)     # whole cells without clipping
        area = np.where(inside, grid.step ** 2, 0.0)
        rest = ~inside
        if rest.any():
            area[rest] = shapely.area(shapely.intersection(boxes[rest], poly))
        out[rr, cc] += area
    return np.minimum(out / grid.step ** 2, 1.0)


class FeatureBuilder:
    """Feature matrices for windows of ``grid``, from ``events`` known at ``as_of``."""

    def __init__(self, grid: Grid, events: pd.DataFrame, as_of: dt.date | str,
                 context: ContextLayers | None = None,
                 config: FeatureConfig | None = None,
                 released: pd.DataFrame | None = None) -> None:
        self.grid = grid
        self.config = cfg = config or FeatureConfig()
        self.as_of = pd.Timestamp(as_of)
        self.context = context
        step = cfg.field_step_m or max(grid.step, 100.0)
        margin = 3 * max((*cfg.bandwidths_km, cfg.population_bandwidth_km)) * 1000.0
        self.field_grid = grid.coarsen(step, margin=margin)
        known = ev.known_at(events, self.as_of)
        self.n_events = len(known)
        self._fields: dict[str, np.ndarray] = {}
        self._build_context_fields()
        self._build_event_fields(known)
        self._rasters = ({n: str(context.rasters[n]) for n in cfg.raster_layers
                          if n in context.rasters} if context else {})
        self._raster_arrays: dict[str, tuple[np.ndarray, Grid]] = {}
        for layer, path in self._rasters.items():
            loaded = _load_raster(path, grid)
            if loaded is not None:
                self._raster_arrays[layer] = loaded
        #: land released by ``as_of``, one disjoint geometry per kind (``released_by_kind``)
        self.released = released_by_kind(released, self.as_of)
        self.has_released = released is not None
        self.names: list[str] = [*self._fields, *(RASTER_FEATURE[n] for n in self._rasters)]
        if cfg.released_features and self.has_released:
            self.names += list(RELEASED_FEATURES)

    # -- smooth fields ----------------------------------------------------------------------
    def _build_context_fields(self) -> None:
        cfg, g = self.config, self.field_grid
        if self.context is None:
            return
        for name in cfg.vector_layers:
            layer = self.context.vectors.get(name)
            if layer is not None and not layer.empty:
                self._fields[f"dist_{name}_km"] = fields.distance_km(
                    g, layer.geometry, cfg.distance_cap_km)
        pop = self.context.population()
        if pop is not None and "settlements" in cfg.vector_layers:
            pts, people = pop
            self._fields["population_density"] = fields.density_per_km2(
                g, pts.x.to_numpy(), pts.y.to_numpy(), np.asarray(people),
                cfg.population_bandwidth_km)

    def _build_event_fields(self, known: pd.DataFrame) -> None:
        cfg, g = self.config, self.field_grid
        for group in cfg.groups:
            sub = known[known["group"] == group]
            x, y, w = sub["x"].to_numpy(), sub["y"].to_numpy(), sub["weight"].to_numpy()
            for b in cfg.bandwidths_km:
                self._fields[f"density_{group}_{b:g}km"] = fields.density_per_km2(g, x, y, w, b)
            self._fields[f"dist_{group}_km"] = fields.points_distance_km(
                g, x, y, cfg.distance_cap_km)
        if cfg.recent_years > 0:
            start = self.as_of - pd.Timedelta(days=365.25 * cfg.recent_years)
            rec = known[known["date"] > start]
            self._fields[f"density_recent_{cfg.recent_years:g}y"] = fields.density_per_km2(
                g, rec["x"].to_numpy(), rec["y"].to_numpy(), rec["weight"].to_numpy(),
                cfg.recent_bandwidth_km)

    # -- matrices ---------------------------------------------------------------------------
    def field(self, name: str) -> np.ndarray:
        """The coarse field behind a smooth feature (for maps and baselines)."""
        return self._fields[name]

    def released_shares(self, window: Window | None = None) -> np.ndarray:
        """Share of each cell of ``window`` (row-major; None: the whole grid) released by
        ``as_of``, one column per kind of ``RELEASE_KINDS`` (float64; rows sum to at most 1)."""
        window = window or Window(0, 0, self.grid.width, self.grid.height)
        n = int(window.height) * int(window.width)
        out = np.zeros((n, len(RELEASE_KINDS)))
        for j, kind in enumerate(RELEASE_KINDS):
            if kind in self.released:
                out[:, j] = window_share(self.grid, window, self.released[kind]).ravel()
        return out

    def window(self, window: Window, names: list[str] | None = None) -> np.ndarray:
        """Feature matrix (cells of ``window`` in row-major order x features) as float32."""
        names = names or self.names
        xs, ys = self.grid.centres(window)
        h, w = len(ys), len(xs)
        out = np.empty((h * w, len(names)), np.float32, order="F")   # columns contiguous
        rasters = {RASTER_FEATURE[n]: n for n in self._rasters}
        for j, name in enumerate(names):
            col = out[:, j].reshape(h, w)                                 # a view
            if name in self._fields:
                fields.sample_bilinear(self._fields[name], self.field_grid, xs, ys, out=col)
            elif name in rasters:
                self._read_raster(rasters[name], window, out=col)
            elif name in RELEASED_FEATURES:
                kind = RELEASE_KINDS[RELEASED_FEATURES.index(name)]
                if kind in self.released:
                    col[...] = window_share(self.grid, window, self.released[kind])
                else:
                    col[...] = 0.0
            else:
                raise KeyError(name)
        return out

    def frame(self, names: list[str] | None = None, size: int = 2048) -> pd.DataFrame:
        """Features of every cell of the grid (row-major), as a DataFrame."""
        names = names or self.names
        full = np.empty((self.grid.n_cells, len(names)), np.float32)
        for win in self.grid.windows(size):
            block = self.window(win, names).reshape(win.height, win.width, len(names))
            for r in range(win.height):
                start = (win.row_off + r) * self.grid.width + win.col_off
                full[start:start + win.width] = block[r]
        return pd.DataFrame(full, columns=names)

    def _read_raster(self, layer: str, window: Window,
                     out: np.ndarray | None = None) -> np.ndarray:
        arr = self._raster_values(layer, window, out)
        if out is not None and arr is not out:
            out[...] = arr
        return arr if out is None else out

    def _raster_values(self, layer: str, window: Window, out: np.ndarray | None) -> np.ndarray:
        if layer in self._raster_arrays:
            arr, agrid = self._raster_arrays[layer]
            xs, ys = self.grid.centres(window)
            if RASTER_LAYERS[layer] == "nearest":
                _, col, _ = agrid.index_of(xs, np.full_like(xs, agrid.y1 - agrid.step / 2))
                row, _, _ = agrid.index_of(np.full_like(ys, agrid.x0 + agrid.step / 2), ys)
                col = np.clip(col, 0, agrid.width - 1)
                row = np.clip(row, 0, agrid.height - 1)
                return arr[row[:, None], col[None, :]]
            return fields.sample_bilinear(arr, agrid, xs, ys, out=out)
        dst = np.full((window.height, window.width), np.nan, np.float32)
        from rasterio.windows import transform as wtransform

        with rasterio.open(self._rasters[layer]) as src:
            reproject(rasterio.band(src, 1), dst,
                      dst_transform=wtransform(window, self.grid.transform),
                      dst_crs=self.grid.crs, dst_nodata=np.nan,
                      resampling=Resampling[RASTER_LAYERS[layer]])
        return dst


#: rasters up to this many cells in the target's CRS are held in memory and sampled directly;
#: larger ones are warped window by window
MAX_RASTER_CELLS = 50_000_000


def _load_raster(path: str, grid: Grid) -> tuple[np.ndarray, Grid] | None:
    """A north-up raster in the grid's CRS, whole in memory, with its own ``Grid``.

    None when it must be warped per window instead (other CRS, rotated, or too large).
    """
    with rasterio.open(path) as src:
        t = src.transform
        same_crs = src.crs is not None and src.crs.to_string() == grid.crs
        square = t.b == 0 and t.d == 0 and abs(t.a + t.e) < 1e-9 * abs(t.a) and t.a > 0
        if not (same_crs and square) or src.width * src.height > MAX_RASTER_CELLS:
            return None
        arr = src.read(1, masked=True).astype(np.float32)
        # bilinear weights are applied by matrix products, where one NaN would spread: nodata
        # (outside the region) takes the raster's mean
        arr = arr.filled(float(arr.mean()) if arr.count() else 0.0)
    return arr, Grid(t.c, t.f, t.a, arr.shape[1], arr.shape[0], grid.crs)

