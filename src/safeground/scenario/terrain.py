"""Synthetic terrain and land cover on a coarse UTM grid (default 100 m cells).

Elevation rises from the lowland plain in the east (~250 m) to the mountains in the west
(~2,500 m, like Kalbajar and Lachin), with fractal noise and valleys carved along the rivers.
Slope is in degrees. Land cover codes are ``LANDCOVER_CODES``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from affine import Affine
from rasterio import features
from scipy import ndimage

from safeground.record.vocabulary import LandUse

#: Raster code -> land use. 0 is outside the region (nodata).
LANDCOVER_CODES: dict[int, LandUse] = {
    1: LandUse.FARMLAND, 2: LandUse.PASTURE, 3: LandUse.FOREST, 4: LandUse.BUILT_UP,
    5: LandUse.WATER,
}


@dataclass(frozen=True, slots=True)
class Terrain:
    """Grids sharing one affine transform (UTM 38N), row 0 at the north edge."""

    transform: Affine
    elevation: np.ndarray   # float32 metres, nan outside
    slope: np.ndarray       # float32 degrees, nan outside
    landcover: np.ndarray   # uint8 codes, 0 outside
    resolution: float

    def index(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tr = self.transform
        col = (np.asarray(x, dtype=float) - tr.c) / tr.a
        row = (np.asarray(y, dtype=float) - tr.f) / tr.e
        h, w = self.elevation.shape
        return (np.clip(np.floor(row).astype(int), 0, h - 1),
                np.clip(np.floor(col).astype(int), 0, w - 1))

    def sample(self, grid: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        r, c = self.index(x, y)
        return grid[r, c]


def _fractal(rng: np.random.Generator, shape: tuple[int, int], octaves: int = 5) -> np.ndarray:
    out = np.zeros(shape, dtype=np.float32)
    amp, total = 1.0, 0.0
    for k in range(octaves):
        cells = 2 ** (k + 2)
        coarse = rng.standard_normal((cells, cells)).astype(np.float32)
        # bilinear: cubic splines cost ten times more on large grids for no visible gain
        fine = ndimage.zoom(coarse, (shape[0] / cells, shape[1] / cells), order=1)
        out += amp * fine[: shape[0], : shape[1]]
        total += amp
        amp *= 0.5
    return out / total


def elevation_grid(rng: np.random.Generator, region, rivers, res: float):
    """Grid frame, elevation and inside mask for ``region`` (UTM polygon)."""
    minx, miny, maxx, maxy = region.bounds
    w = int(np.ceil((maxx - minx) / res))
    h = int(np.ceil((maxy - miny) / res))
    transform = Affine(res, 0, minx, 0, -res, maxy)
    cols = minx + (np.arange(w) + 0.5) * res
    frac_west = np.clip((maxx - cols) / max(maxx - minx, 1.0), 0, 1).astype(np.float32)
    relief = min(1.0, (maxx - minx) / 100_000) * 0.7 + 0.3
    base = 250 + 2250 * relief * frac_west[None, :] ** 1.6
    noise = _fractal(rng, (h, w))
    elev = base + 450 * relief * noise * (0.3 + frac_west[None, :])
    inside = features.geometry_mask([region], (h, w), transform, invert=True)
    if rivers:
        wet = features.rasterize([(r, 1) for r in rivers], (h, w), transform=transform,
                                 all_touched=True, dtype=np.uint8)
        dist = ndimage.distance_transform_edt(wet == 0) * res
        elev -= 220 * relief * np.exp(-dist / 2500.0)
    else:
        wet = np.zeros((h, w), np.uint8)
    elev = np.maximum(elev, 120).astype(np.float32)
    return transform, elev, inside, wet


def build_terrain(rng: np.random.Generator, grid, settlements_xy: np.ndarray,
                  radii: np.ndarray, res: float) -> Terrain:
    """Slope and land cover from an ``elevation_grid`` result and the settlements."""
    transform, elev, inside, wet = grid
    gy, gx = np.gradient(elev, res)
    slope = np.degrees(np.arctan(np.hypot(gx, gy))).astype(np.float32)
    noise = _fractal(rng, elev.shape, octaves=4)
    lc = np.full(elev.shape, 2, np.uint8)                                  # pasture
    lc[(elev < 900) & (slope < 9) & (noise > -0.35)] = 1                   # farmland
    lc[(elev >= 700) & (elev < 2200) & (noise > 0.15) & (slope > 4)] = 3  # forest
    if len(settlements_xy):
        discs = shapely.buffer(shapely.points(settlements_xy), radii, quad_segs=4)
        built = features.rasterize([(g, 1) for g in discs], elev.shape, transform=transform,
                                   dtype=np.uint8)
        lc[built == 1] = 4
    lc[wet == 1] = 5
    lc[~inside] = 0
    elev = np.where(inside, elev, np.nan).astype(np.float32)
    slope = np.where(inside, slope, np.nan).astype(np.float32)
    return Terrain(transform, elev, slope, lc, res)
