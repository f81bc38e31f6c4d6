"""Map tiles made on the server: the risk surface, and an offline basemap.

* **The risk surface** — the work directory's ``risk.tif`` (the Cloud-Optimised GeoTIFF of
  calibrated probabilities ``safeground risk map`` writes) as 256-pixel XYZ tiles in web
  Mercator (``GET /api/v1/map/risk/{z}/{x}/{y}.png``). Each tile is warped from the COG level
  closest to the tile's resolution (its overviews when zoomed out) with rasterio and drawn
  with the classes of ``RISK_CLASSES`` (transparent below the first, and where there is no
  data) by Pillow. ``GET /api/v1/map/risk`` says whether there is a surface, its classes for
  the legend, its date (the evidence date of the model in ``risk-model/``, else the day the
  file was written) and its extent. Staff only (``read_detail``): a surface of where
  contamination is likely is as operational as a perimeter.
* **Roads** of the work directory's context layers (``context/roads.gpkg``), in view and
  simplified for the zoom, labelled with their name (or reference, or class) for the map.
* **An offline basemap** — a raster MBTiles or PMTiles (v3) file the authority supplies
  (``safeground serve --basemap FILE``), served as it is at ``/api/v1/map/basemap/{z}/{x}/{y}``
  to every signed-in role. Nothing is fetched from the internet.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from safeground.errors import ConfigError, NotFoundError, SafegroundError
from safeground.record.users import Permission, User
from safeground.web.auth import require
from safeground.web.envelope import content, errors

#: the risk surface's file in the work directory, and the model directory beside it
SURFACE_FILE = "risk.tif"
MODEL_DIR = "risk-model"
TILE = 256
#: half the width of the web Mercator world (metres)
ORIGIN = 20037508.342789244
#: probability classes of the risk layer: (lower bound, colour); below the first: not drawn
RISK_CLASSES: tuple[tuple[float, str], ...] = (
    (0.005, "#ffffb2"), (0.01, "#fed976"), (0.02, "#feb24c"), (0.05, "#fd8d3c"),
    (0.1, "#fc4e2a"), (0.2, "#e31a1c"), (0.5, "#b10026"))
#: opacity of the drawn classes (0-255): the record's layers stay readable under it
RISK_ALPHA = 190
MAX_ZOOM = 19


class TileError(SafegroundError, ValueError):
    """A tile address outside the pyramid (``TILE_INVALID``, 400)."""

    code = "TILE_INVALID"
    http_status = 400


def check_tile(z: int, x: int, y: int) -> None:
    if not (0 <= z <= MAX_ZOOM and 0 <= x < 2 ** z and 0 <= y < 2 ** z):
        raise TileError(f"tile {z}/{x}/{y} is not in the web Mercator pyramid (zoom 0 to "
                        f"{MAX_ZOOM}, x and y from 0 to 2^zoom - 1)",
                        details={"z": z, "x": x, "y": y})


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """The tile's (west, south, east, north) in EPSG:3857 metres (XYZ: y counted from the
    north)."""
    size = 2 * ORIGIN / 2 ** z
    west = -ORIGIN + x * size
    north = ORIGIN - y * size
    return west, north - size, west + size, north


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def colourise(p: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """RGBA pixels (uint8, rows x cols x 4) of probabilities ``p`` by ``RISK_CLASSES``:
    transparent where not ``valid`` and below the first class."""
    bounds = np.array([b for b, _ in RISK_CLASSES])
    palette = np.zeros((len(RISK_CLASSES) + 1, 4), dtype=np.uint8)
    for i, (_, c) in enumerate(RISK_CLASSES, 1):
        palette[i] = (*_rgb(c), RISK_ALPHA)
    cls = np.digitize(np.where(valid, p, -1.0), bounds)
    return palette[cls]


def png(rgba: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, "PNG")
    return buf.getvalue()


_EMPTY: bytes | None = None


def empty_png() -> bytes:
    global _EMPTY
    if _EMPTY is None:
        _EMPTY = png(np.zeros((TILE, TILE, 4), dtype=np.uint8))
    return _EMPTY


@dataclass(frozen=True, slots=True)
class Surface:
    """The risk surface of a work directory: its file, extent in web Mercator and lon/lat,
    cell size (metres), overview factors and date."""

    path: Path
    mtime_ns: int
    bounds_3857: tuple[float, float, float, float]
    bounds_lonlat: tuple[float, float, float, float]
    cell_m: float
    overviews: tuple[int, ...]
    as_of: str | None
    made: str

    def describe(self) -> dict[str, Any]:
        return {"available": True, "as_of": self.as_of, "made": self.made,
                "bounds": [round(v, 6) for v in self.bounds_lonlat],
                "cell_m": self.cell_m, "tiles": "/api/v1/map/risk/{z}/{x}/{y}.png",
                "classes": legend()}


def legend() -> list[dict[str, Any]]:
    """The legend of the risk layer: each class's bounds and colour."""
    out = []
    for i, (low, colour) in enumerate(RISK_CLASSES):
        high = RISK_CLASSES[i + 1][0] if i + 1 < len(RISK_CLASSES) else 1.0
        out.append({"from": low, "to": high, "colour": colour,
                    "label": f"{low:.1%} – {high:.0%}" if high == 1.0 else
                    f"{low:.1%} – {high:.1%}"})
    return out


_surfaces: dict[Path, Surface] = {}
_lock = threading.Lock()


def surface(work_dir: Path | None) -> Surface | None:
    """The work directory's risk surface (read once per version of the file), or None (also
    when the file cannot be read: the map then goes without the layer, and the log says why)."""
    if work_dir is None:
        return None
    path = Path(work_dir) / SURFACE_FILE
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return None
    with _lock:
        known = _surfaces.get(path)
        if known is not None and known.mtime_ns == mtime:
            return known
    try:
        made = _open_surface(path, mtime)
    except ConfigError:                 # a file half-written or damaged: no layer, logged
        import logging

        logging.getLogger("safeground.web").exception("the risk surface cannot be read")
        return None
    with _lock:
        _surfaces[path] = made
    return made


def _open_surface(path: Path, mtime: int) -> Surface:
    import rasterio
    from rasterio.warp import transform_bounds

    try:
        with rasterio.open(path) as src:
            b3857 = transform_bounds(src.crs, "EPSG:3857", *src.bounds, densify_pts=21)
            lonlat = transform_bounds(src.crs, "EPSG:4326", *src.bounds, densify_pts=21)
            cell = abs(src.transform.a)
            ovr = tuple(src.overviews(1))
    except rasterio.errors.RasterioError as exc:
        raise ConfigError(f"the risk surface {path.name} in the work directory cannot be "
                          f"read: {exc}", code="OUTPUT_UNREADABLE") from None
    return Surface(path, mtime, b3857, lonlat, cell, ovr, _model_date(path.parent),
                   dt.datetime.fromtimestamp(mtime / 1e9, dt.UTC).date().isoformat())


def _model_date(work_dir: Path) -> str | None:
    """The evidence date of the model the surface was mapped with (``risk-model/model.json``)."""
    try:
        meta = json.loads((work_dir / MODEL_DIR / "model.json").read_text())
    except (OSError, ValueError):
        return None
    value = meta.get("as_of") if isinstance(meta, dict) else None
    return str(value) if value else None


def _level(s: Surface, z: int, lat: float) -> int | None:
    """The overview level (None: full resolution) whose cells are closest to, and no coarser
    than, the tile's pixels at ``z`` (ground metres at latitude ``lat``)."""
    pixel = 2 * ORIGIN / (TILE * 2 ** z) * math.cos(math.radians(lat))
    best = None
    for i, f in enumerate(s.overviews):
        if s.cell_m * f <= pixel:
            best = i
    return best


_tiles: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
TILE_CACHE = 512


def risk_tile(s: Surface, z: int, x: int, y: int) -> bytes:
    """The PNG of tile z/x/y of the surface (a transparent tile outside it)."""
    check_tile(z, x, y)
    key = (s.path, s.mtime_ns, z, x, y)
    with _lock:
        if key in _tiles:
            _tiles.move_to_end(key)
            return _tiles[key]
    w, so, e, n = tile_bounds(z, x, y)
    bw, bs, be, bn = s.bounds_3857
    if e <= bw or w >= be or n <= bs or so >= bn:
        return empty_png()
    data = png(_render(s, z, (w, so, e, n)))
    with _lock:
        _tiles[key] = data
        while len(_tiles) > TILE_CACHE:
            _tiles.popitem(last=False)
    return data


def _render(s: Surface, z: int, bounds: tuple[float, float, float, float]) -> np.ndarray:
    import rasterio
    from rasterio.transform import from_bounds
    from rasterio.warp import Resampling, reproject

    lat = math.degrees(math.atan(math.sinh((bounds[1] + bounds[3]) / 2 / 6378137.0)))
    level = _level(s, z, lat)
    opts = {} if level is None else {"overview_level": level}
    out = np.full((TILE, TILE), -1.0, dtype=np.float32)
    with rasterio.open(s.path, **opts) as src:
        nodata = src.nodata if src.nodata is not None else -1.0
        reproject(rasterio.band(src, 1), out, src_nodata=nodata, dst_nodata=-1.0,
                  dst_transform=from_bounds(*bounds, TILE, TILE), dst_crs="EPSG:3857",
                  resampling=Resampling.nearest)
    return colourise(out, out >= 0)


# --- the offline basemap ------------------------------------------------------------------

#: raster tile formats a browser draws as they are
BASEMAP_FORMATS = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg",
                   "webp": "image/webp"}


@dataclass(frozen=True, slots=True)
class Basemap:
    """A raster MBTiles file: its tiles are answered as they are stored."""

    path: Path
    media_type: str
    name: str
    attribution: str
    min_zoom: int
    max_zoom: int

    pmtiles: PMTiles | None = None

    @classmethod
    def open(cls, path: str | Path) -> Basemap:
        """Check the file at start: an MBTiles (SQLite) with a ``tiles`` table of raster
        tiles, or a raster PMTiles (v3) archive (``.pmtiles``). Raises ConfigError
        ``BASEMAP_INVALID`` otherwise."""
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"the basemap {p} is not a file", code="BASEMAP_INVALID",
                              details={"file": str(p)})
        if p.suffix.lower() == ".pmtiles":
            pm = PMTiles(p)
            return cls(p, pm.media_type, p.stem, "", pm.min_zoom, pm.max_zoom, pm)
        try:
            with _connect(p) as conn:
                meta = dict(conn.execute("SELECT name, value FROM metadata").fetchall())
                zooms = conn.execute("SELECT MIN(zoom_level), MAX(zoom_level) FROM tiles"
                                     ).fetchone()
        except sqlite3.Error as exc:
            raise ConfigError(f"the basemap {p.name} is not an MBTiles file ({exc})",
                              code="BASEMAP_INVALID", details={"file": str(p)}) from None
        fmt = str(meta.get("format", "png")).lower()
        if fmt not in BASEMAP_FORMATS:
            raise ConfigError(f"the basemap {p.name} holds '{fmt}' tiles; only raster tiles "
                              f"({', '.join(sorted(BASEMAP_FORMATS))}) are served",
                              code="BASEMAP_INVALID", details={"file": str(p), "format": fmt})
        if zooms is None or zooms[0] is None:
            raise ConfigError(f"the basemap {p.name} holds no tiles", code="BASEMAP_INVALID",
                              details={"file": str(p)})
        return cls(p, BASEMAP_FORMATS[fmt], str(meta.get("name", p.stem)),
                   str(meta.get("attribution", "")), int(zooms[0]), int(zooms[1]))

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The stored tile z/x/y (XYZ; MBTiles count rows from the south), or None."""
        check_tile(z, x, y)
        if self.pmtiles is not None:
            return self.pmtiles.tile(z, x, y)
        with _connect(self.path) as conn:
            row = conn.execute("SELECT tile_data FROM tiles WHERE zoom_level = ? AND "
                               "tile_column = ? AND tile_row = ?",
                               (z, x, 2 ** z - 1 - y)).fetchone()
        return bytes(row[0]) if row else None

    def describe(self) -> dict[str, Any]:
        return {"available": True, "name": self.name, "attribution": self.attribution,
                "min_zoom": self.min_zoom, "max_zoom": self.max_zoom,
                "tiles": "/api/v1/map/basemap/{z}/{x}/{y}"}


# PMTiles (version 3): one file, a header, directories of Hilbert-ordered tile ids, the tiles

PMTILES_TYPES = {2: "image/png", 3: "image/jpeg", 4: "image/webp"}
_PMTILES_HEADER = 127


def zxy_to_tileid(z: int, x: int, y: int) -> int:
    """The PMTiles tile id of z/x/y: the tiles of lower zooms, then the Hilbert index."""
    acc = ((1 << (z * 2)) - 1) // 3
    for a in range(z - 1, -1, -1):
        s = 1 << a
        rx, ry = s & x, s & y
        acc += ((3 * rx) ^ ry) << a
        if ry == 0:
            if rx != 0:
                x, y = s - 1 - x, s - 1 - y
            x, y = y, x
    return acc


def _varints(data: bytes) -> Any:
    value = shift = 0
    for b in data:
        value |= (b & 0x7F) << shift
        if b & 0x80:
            shift += 7
            continue
        yield value
        value = shift = 0


def _directory(data: bytes) -> list[tuple[int, int, int, int]]:
    """A PMTiles directory: (tile id, run length, offset, length) entries."""
    it = _varints(data)
    n = next(it)
    ids, runs, lengths, offsets = [], [], [], []
    last = 0
    for _ in range(n):
        last += next(it)
        ids.append(last)
    runs = [next(it) for _ in range(n)]
    lengths = [next(it) for _ in range(n)]
    for i in range(n):
        v = next(it)
        offsets.append(offsets[i - 1] + lengths[i - 1] if v == 0 and i > 0 else v - 1)
    return list(zip(ids, runs, offsets, lengths, strict=True))


class PMTiles:
    """A raster PMTiles (v3) archive read in place: header, then directories as tiles are
    asked for (the root is kept)."""

    def __init__(self, path: Path) -> None:
        import struct

        self.path = path
        with path.open("rb") as fh:
            head = fh.read(_PMTILES_HEADER)
        if len(head) < _PMTILES_HEADER or head[:7] != b"PMTiles" or head[7] != 3:
            raise ConfigError(f"the basemap {path.name} is not a PMTiles (version 3) file",
                              code="BASEMAP_INVALID", details={"file": str(path)})
        (self.root_off, self.root_len, _mo, _ml, self.leaf_off, _ll, self.data_off,
         _dl) = struct.unpack_from("<8Q", head, 8)
        self.compression, self.tile_compression, self.tile_type = head[97], head[98], head[99]
        self.min_zoom, self.max_zoom = head[100], head[101]
        if self.compression not in (1, 2):
            raise ConfigError(f"the basemap {path.name}'s directories are compressed in a way "
                              "not read here (only none or gzip)", code="BASEMAP_INVALID",
                              details={"file": str(path)})
        if self.tile_type not in PMTILES_TYPES or self.tile_compression not in (0, 1):
            raise ConfigError(f"the basemap {path.name} does not hold raster tiles (PNG, "
                              "JPEG or WebP)", code="BASEMAP_INVALID",
                              details={"file": str(path)})
        self.media_type = PMTILES_TYPES[self.tile_type]
        self.root = self._dir(self.root_off, self.root_len)

    def _read(self, offset: int, length: int) -> bytes:
        with self.path.open("rb") as fh:
            fh.seek(offset)
            return fh.read(length)

    def _dir(self, offset: int, length: int) -> list[tuple[int, int, int, int]]:
        import gzip

        raw = self._read(offset, length)
        return _directory(gzip.decompress(raw) if self.compression == 2 else raw)

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        import bisect

        tid = zxy_to_tileid(z, x, y)
        entries = self.root
        for _ in range(4):                       # the root, then at most three leaf levels
            i = bisect.bisect_right([e[0] for e in entries], tid) - 1
            if i < 0:
                return None
            start, run, offset, length = entries[i]
            if run == 0:                         # a leaf directory
                entries = self._dir(self.leaf_off + offset, length)
                continue
            if tid >= start + run:
                return None
            return self._read(self.data_off + offset, length)
        return None


class _connect:
    """A read-only SQLite connection, closed at the end of the block."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                                    check_same_thread=False)

    def __enter__(self) -> sqlite3.Connection:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.conn.close()


# --- the roads of the context layers ------------------------------------------------------

#: the columns a road is labelled with: the first filled one of each road
ROAD_LABELS = ("name", "name_en", "ref", "road_class", "highway", "class")
#: roads are answered from this zoom on (before it they would only clutter the map)
ROADS_MIN_ZOOM = 9


def roads_file(work_dir: Path | None) -> Path | None:
    """The roads of the work directory's context layers (``context/roads.*``, else the demo
    scenario's ``scenario/context/roads.*``), or None."""
    if work_dir is None:
        return None
    for folder in ("context", "scenario/context"):
        for ext in ("gpkg", "geojson", "shp"):
            p = Path(work_dir) / folder / f"roads.{ext}"
            if p.is_file():
                return p
    return None


_roads: dict[Path, tuple[int, Any]] = {}


def roads(path: Path) -> Any:
    """The roads as lon/lat shapely lines with their labels (read once per file version)."""
    mtime = path.stat().st_mtime_ns
    with _lock:
        hit = _roads.get(path)
        if hit and hit[0] == mtime:
            return hit[1]
    import geopandas as gpd

    from safeground.record.labels import value as label

    g = gpd.read_file(path)
    if g.crs is not None:
        g = g.to_crs("EPSG:4326")
    cols = [c for c in ROAD_LABELS if c in g.columns]

    def first(row: Any) -> str:
        for c in cols:
            v = row[c]
            if v is not None and str(v) not in ("", "nan", "None"):
                return label(v)
        return ""

    names = [first(row) for _, row in g[cols].iterrows()] if cols else [""] * len(g)
    geoms = np.empty(len(g), dtype=object)
    geoms[:] = list(g.geometry)
    value = (geoms, names)
    with _lock:
        _roads[path] = (mtime, value)
    return value


def roads_geojson(path: Path, bbox: Any, zoom: float | None) -> dict[str, Any]:
    """The roads meeting ``bbox`` (shapely box, lon/lat), simplified for ``zoom``."""
    import shapely
    from shapely.geometry import mapping

    from safeground.web.mapview import simplify

    geoms, names = roads(path)
    keep = np.ones(len(geoms), dtype=bool) if bbox is None else shapely.intersects(geoms, bbox)
    picked = geoms[keep]
    if zoom is not None and len(picked):
        picked = simplify(picked, zoom)
    labels = [n for n, k in zip(names, keep, strict=True) if k]
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"label": n}, "geometry": mapping(g)}
        for g, n in zip(picked, labels, strict=True) if g is not None]}


def no_surface() -> NotFoundError:
    return NotFoundError("there is no risk surface in the work directory (safeground risk map "
                         f"--out WORK/{SURFACE_FILE}; make demo makes one)",
                         code="OUTPUT_NOT_AVAILABLE", details={"output": SURFACE_FILE})


# --- routes -------------------------------------------------------------------------------

def _routes() -> APIRouter:
    router = APIRouter(prefix="/api/v1/map", tags=["map"])
    detail = Depends(require(Permission.READ_DETAIL))
    public = Depends(require(Permission.READ_PUBLIC))
    #: tiles change only with their file: the browser may keep them for a while
    cache = {"Cache-Control": "private, max-age=600"}

    @router.get("/risk", summary="The risk surface layer: legend, date and extent (staff)")
    def risk_layer(request: Request, user: User = detail) -> Response:
        s = surface(request.app.state.work_dir)
        return JSONResponse(s.describe() if s else {"available": False, "classes": legend()})

    @router.get("/risk/{z}/{x}/{y}.png", summary="A tile of the risk surface (staff)",
                response_class=Response,
                responses={**content("image/png"), **errors(400, 404)})
    def risk_tile_route(request: Request, z: int, x: int, y: int,
                        user: User = detail) -> Response:
        s = surface(request.app.state.work_dir)
        if s is None:
            raise no_surface()
        return Response(risk_tile(s, z, x, y), media_type="image/png", headers=cache)

    @router.get("/basemap", summary="The offline basemap: name, attribution, zoom levels")
    def basemap_layer(request: Request, user: User = public) -> Response:
        b = request.app.state.basemap
        return JSONResponse(b.describe() if b else {"available": False})

    @router.get("/basemap/{z}/{x}/{y}", summary="A tile of the offline basemap",
                response_class=Response,
                responses={**content("image/png", "image/jpeg", "image/webp"),
                           204: {"description": "The basemap has no tile there"},
                           **errors(400, 404)})
    def basemap_tile(request: Request, z: int, x: int, y: int, user: User = public) -> Response:
        b = request.app.state.basemap
        if b is None:
            raise NotFoundError("the app was started without a basemap (safeground serve "
                                "--basemap FILE.mbtiles)", code="OUTPUT_NOT_AVAILABLE",
                                details={"output": "basemap"})
        data = b.tile(z, x, y)
        if data is None:         # beyond what the file covers: nothing drawn there
            return Response(status_code=204, headers=cache)
        return Response(data, media_type=b.media_type, headers=cache)

    @router.get("/context/roads", summary="The roads of the context layers in view, with "
                "their names or classes (from zoom 9 on; GeoJSON)", responses=errors(400, 404))
    def context_roads(request: Request, bbox: str | None = None,
                      zoom: Annotated[float | None, Query(ge=0, le=30)] = None,
                      user: User = public) -> Response:
        from safeground.web.mapview import parse_bbox

        box = parse_bbox(bbox)
        path = roads_file(request.app.state.work_dir)
        if path is None:
            raise NotFoundError("there are no context layers with roads in the work directory "
                                "(context/roads.gpkg)", code="OUTPUT_NOT_AVAILABLE",
                                details={"output": "roads"})
        if zoom is not None and zoom < ROADS_MIN_ZOOM:
            return JSONResponse({"type": "FeatureCollection", "features": [],
                                 "min_zoom": ROADS_MIN_ZOOM})
        return JSONResponse(roads_geojson(path, box, zoom))

    return router


router = _routes()
