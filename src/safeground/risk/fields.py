"""Smooth fields on a coarse grid: distances to features and kernel densities of events.

Distances and densities vary over hundreds of metres, not metres, so they are computed once on
a coarse grid (an exact Euclidean distance transform; a binned Gaussian kernel density) and
sampled bilinearly at any finer grid's cell centres. This keeps a 100-million-cell surface
cheap: the expensive part is done on ~1 % of the cells.
"""

from __future__ import annotations

import numba
import numpy as np
from rasterio import features as rfeatures
from scipy import ndimage

from safeground.risk.grid import Grid


def distance_km(grid: Grid, geometries: object, cap_km: float) -> np.ndarray:
    """Distance (km, capped) from every cell centre of ``grid`` to the nearest geometry.

    Geometries are burnt with ``all_touched`` so the error is at most about one coarse step.
    """
    geoms = [g for g in list(geometries) if g is not None and not g.is_empty]
    if not geoms:
        return np.full((grid.height, grid.width), cap_km, np.float32)
    mask = rfeatures.rasterize(((g, 1) for g in geoms), out_shape=(grid.height, grid.width),
                               transform=grid.transform, all_touched=True, dtype="uint8")
    return _edt_km(mask.astype(bool), grid.step, cap_km)


def points_distance_km(grid: Grid, x: np.ndarray, y: np.ndarray, cap_km: float) -> np.ndarray:
    """Distance (km, capped) to the nearest of the points (x, y)."""
    row, col, inside = grid.index_of(x, y)
    if not inside.any():
        return np.full((grid.height, grid.width), cap_km, np.float32)
    mask = np.zeros((grid.height, grid.width), bool)
    mask[row[inside], col[inside]] = True
    return _edt_km(mask, grid.step, cap_km)


def _edt_km(mask: np.ndarray, step: float, cap_km: float) -> np.ndarray:
    d = ndimage.distance_transform_edt(~mask, sampling=(step, step)) / 1000.0
    return np.minimum(d, cap_km).astype(np.float32)


def density_per_km2(grid: Grid, x: np.ndarray, y: np.ndarray, weight: np.ndarray,
                    bandwidth_km: float) -> np.ndarray:
    """Gaussian kernel density of weighted points, in weight per km² (binned on ``grid``)."""
    row, col, inside = grid.index_of(x, y)
    counts = np.zeros((grid.height, grid.width), np.float64)
    np.add.at(counts, (row[inside], col[inside]), np.asarray(weight, float)[inside])
    sigma = bandwidth_km * 1000.0 / grid.step
    if sigma > 0.3:
        counts = ndimage.gaussian_filter(counts, sigma=sigma, mode="constant", truncate=4.0)
    cell_km2 = (grid.step / 1000.0) ** 2
    return (counts / cell_km2).astype(np.float32)


def _axis(src_origin: float, src_step: float, src_n: int, targets: np.ndarray,
          descending: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Lower source index and weight of the upper one, for each target coordinate."""
    pos = ((src_origin - targets) if descending else (targets - src_origin)) / src_step - 0.5
    i0 = np.clip(np.floor(pos).astype(np.int64), 0, max(src_n - 2, 0))
    t = np.clip(pos - i0, 0.0, 1.0) if src_n > 1 else np.zeros_like(pos)
    return i0, t.astype(np.float32)


def sample_bilinear(field: np.ndarray, field_grid: Grid, xs: np.ndarray, ys: np.ndarray,
                    out: np.ndarray | None = None) -> np.ndarray:
    """Bilinear sample of a coarse field at the cross product of ``ys`` (rows) and ``xs``.

    ``out``: a (len(ys), len(xs)) array to write into (returned); else a new one (or a view of
    ``field`` when the points are its own cell centres).
    """
    step = field_grid.step
    c = (xs[0] - field_grid.x0) / step - 0.5
    r = (field_grid.y1 - ys[0]) / step - 0.5
    if (len(xs) < 2 or abs(xs[1] - xs[0] - step) < 1e-6 * step) and \
            abs(c - round(c)) < 1e-6 and abs(r - round(r)) < 1e-6 and c >= 0 and r >= 0:
        c0, r0 = round(c), round(r)   # same cells: a slice, not an interpolation
        if r0 + len(ys) <= field.shape[0] and c0 + len(xs) <= field.shape[1]:
            view = field[r0:r0 + len(ys), c0:c0 + len(xs)]
            if out is None:
                return view
            out[...] = view
            return out
    # separable, one cell at a time: a cell's value never depends on the window around it
    c0, tx = _axis(field_grid.x0, step, field_grid.width, xs)
    r0, ty = _axis(field_grid.y1, step, field_grid.height, ys, descending=True)
    c1 = np.minimum(c0 + 1, field_grid.width - 1)
    r1 = np.minimum(r0 + 1, field_grid.height - 1)
    field = np.ascontiguousarray(field)
    if out is None:
        out = np.empty((len(ys), len(xs)), field.dtype)
    _bilinear(field, r0, r1, ty, c0, c1, tx, out)
    return out


@numba.njit(cache=True, nogil=True)
def _bilinear(field, r0, r1, ty, c0, c1, tx, out):
    """out[y, x] = across[r0] * (1 - ty) + across[r1] * ty, with across[r] = field[r, c0] *
    (1 - tx) + field[r, c1] * tx — in the field's type (weights are float32), operation by
    operation, as numpy would: the same values to the bit."""
    one = np.float32(1.0)
    lo = r0.min()
    hi = max(r0.max(), r1.max()) + 1
    across = np.empty((hi - lo, tx.size), field.dtype)
    for i in range(hi - lo):
        row = field[lo + i]
        for x in range(tx.size):
            across[i, x] = row[c0[x]] * (one - tx[x]) + row[c1[x]] * tx[x]
    for y in range(ty.size):
        a, b = across[r0[y] - lo], across[r1[y] - lo]
        wa, wb = one - ty[y], ty[y]
        o = out[y]
        for x in range(tx.size):
            o[x] = a[x] * wa + b[x] * wb
