"""A regular raster grid in a metric CRS: the cells risk is computed for.

A ``Grid`` is an immutable value (extent, step, CRS). Windows of it are what the surface code
computes one at a time, so memory stays bounded whatever the extent.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from affine import Affine
from rasterio.windows import Window

from safeground.risk.errors import invalid

#: refuse grids larger than this many cells (a typo in the resolution, not a real request)
MAX_CELLS = 2_000_000_000


@dataclass(frozen=True, slots=True)
class Grid:
    """``width`` x ``height`` square cells of side ``step`` whose top-left corner is (x0, y1)."""

    x0: float
    y1: float
    step: float
    width: int
    height: int
    crs: str

    @classmethod
    def from_bounds(cls, bounds: tuple[float, float, float, float], step: float,
                    crs: str) -> Grid:
        """Cover ``bounds`` (minx, miny, maxx, maxy) with cells of ``step`` metres.

        Raises ValidationError (RISK_EXTENT, RISK_RESOLUTION).
        """
        minx, miny, maxx, maxy = bounds
        if not (minx < maxx and miny < maxy):
            raise invalid("RISK_EXTENT", value=",".join(str(b) for b in bounds))
        if not step > 0:
            raise invalid("RISK_RESOLUTION", value=step, limit=MAX_CELLS)
        width = max(1, math.ceil((maxx - minx) / step - 1e-9))
        height = max(1, math.ceil((maxy - miny) / step - 1e-9))
        if width * height > MAX_CELLS:
            raise invalid("RISK_RESOLUTION", value=step, limit=MAX_CELLS)
        return cls(float(minx), float(maxy), float(step), width, height, crs)

    @property
    def transform(self) -> Affine:
        return Affine(self.step, 0.0, self.x0, 0.0, -self.step, self.y1)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return (self.x0, self.y1 - self.height * self.step, self.x0 + self.width * self.step,
                self.y1)

    @property
    def n_cells(self) -> int:
        return self.width * self.height

    @property
    def cell_area_m2(self) -> float:
        return self.step * self.step

    def coarsen(self, step: float, margin: float = 0.0) -> Grid:
        """A coarser grid over the same extent grown by ``margin`` metres on each side."""
        minx, miny, maxx, maxy = self.bounds
        if abs(step - self.step) < 1e-9 * step:   # keep cells aligned: a whole number of cells
            margin = math.ceil(margin / step) * step
        return Grid.from_bounds((minx - margin, miny - margin, maxx + margin, maxy + margin),
                                step, self.crs)

    def centres(self, window: Window | None = None) -> tuple[np.ndarray, np.ndarray]:
        """1-D arrays of cell-centre x (columns) and y (rows) of ``window`` (default: all)."""
        w = window or Window(0, 0, self.width, self.height)
        xs = self.x0 + (np.arange(w.col_off, w.col_off + w.width) + 0.5) * self.step
        ys = self.y1 - (np.arange(w.row_off, w.row_off + w.height) + 0.5) * self.step
        return xs, ys

    def cell_xy(self) -> np.ndarray:
        """(n, 2) cell centres in row-major order."""
        xs, ys = self.centres()
        gx, gy = np.meshgrid(xs, ys)
        return np.column_stack([gx.ravel(), gy.ravel()])

    def index_of(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Row, column and an inside-the-grid mask for points."""
        col = np.floor((np.asarray(x) - self.x0) / self.step).astype(np.int64)
        row = np.floor((self.y1 - np.asarray(y)) / self.step).astype(np.int64)
        inside = (col >= 0) & (col < self.width) & (row >= 0) & (row < self.height)
        return row, col, inside

    def windows(self, size: int = 1024) -> Iterator[Window]:
        """Row-major blocks of at most ``size`` x ``size`` cells covering the grid."""
        for r in range(0, self.height, size):
            for c in range(0, self.width, size):
                yield Window(c, r, min(size, self.width - c), min(size, self.height - r))
