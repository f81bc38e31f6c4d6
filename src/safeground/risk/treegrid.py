"""Exact LightGBM scores of a raster window, evaluated block by block (compiled with numba).

A tree only asks ``x <= t``. Over a block of neighbouring cells, if every value of the feature a
node asks about lies on one side of its threshold — the block's maximum ``<= t``, or its minimum
``> t`` — every cell of the block takes the same branch. The surface's features are smooth
(sampled bilinearly from coarse fields) or piecewise constant, so for most (block, tree) pairs
the whole path is decided at once and the block gets the leaf's value without looking at a
single cell.

``GridTrees.raw`` keeps the minimum and maximum of every feature over a pyramid of blocks (2, 4,
... 32 cells on a side, from the window's corner) and walks every tree over the 32-cell blocks:
a (block, tree) pair goes down the tree as far as the block's bounds decide; a pair stuck at a
node whose threshold the block straddles goes on in each of the four sub-blocks, from that node
(the path above it holds for them too), down to single cells, which are decided by their own
values. Leaf values are summed per block and broadcast down, so a cell's score is the sum of the
same leaves LightGBM's ``predict`` reaches — summed in another order, so equal up to float
rounding (~1e-15).

Comparisons are made as LightGBM makes them: the feature widened to float64 against the float64
threshold; values with |x| <= 1e-35 (float32) read as 0, as LightGBM's row reader does; NaN read
as 0 or sent the default way by the node's missing-value type ("None", "Zero", "NaN"). A block
holding a NaN (or a value in the zero band) is widened so that it never decides such a node:
its cells do.

Not handled (``from_booster`` returns None; callers then use LightGBM): categorical splits,
linear trees, several trees per iteration (multiclass), averaged output (random forests).
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numba
import numpy as np

#: LightGBM reads |x| <= this (float32 1e-35) as 0 when it takes rows for prediction
ZERO_BAND = float(np.float32(1e-35))
#: side of the coarsest blocks is 2 ** TOP_LEVEL cells
TOP_LEVEL = 5
MISSING = {"None": 0, "Zero": 1, "NaN": 2}


class GridTrees:
    """All trees of a LightGBM binary model as flat node arrays, nodes in pre-order (a node's
    left child follows it); a leaf has feature -1."""

    def __init__(self, feature: np.ndarray, threshold: np.ndarray, right: np.ndarray,
                 value: np.ndarray, missing: np.ndarray, default_left: np.ndarray,
                 roots: np.ndarray, n_features: int) -> None:
        used = np.unique(feature[feature >= 0])
        #: booster feature index of each feature the trees ask about ("compact" index: its
        #: position here)
        self.used = used
        remap = np.full(max(n_features, 1), -1, np.int64)
        remap[used] = np.arange(len(used))
        self.feature = feature
        self.compact = np.where(feature >= 0, remap[np.maximum(feature, 0)], -1)
        self.threshold = threshold
        self.right = right
        self.value = value
        self.missing = missing
        self.default_left = default_left
        self.roots = roots

    @classmethod
    def from_booster(cls, booster: Any) -> GridTrees | None:
        """The trees ``booster.predict`` uses by default, or None if some are unsupported."""
        d = booster.dump_model()
        if d.get("num_tree_per_iteration", 1) != 1 or d.get("average_output"):
            return None
        cols: dict[str, list[Any]] = {k: [] for k in ("f", "t", "r", "v", "m", "d")}
        roots: list[int] = []

        def add(node: dict[str, Any]) -> int | None:
            i = len(cols["f"])
            for k, v in zip(cols, (-1, 0.0, -1, 0.0, 0, False), strict=True):
                cols[k].append(v)
            if "leaf_value" in node:
                cols["v"][i] = float(node["leaf_value"])
                return i
            missing = MISSING.get(node.get("missing_type", "None"))
            if node.get("decision_type") != "<=" or missing is None:
                return None
            cols["f"][i] = int(node["split_feature"])
            cols["t"][i] = float(node["threshold"])
            cols["m"][i] = missing
            cols["d"][i] = bool(node.get("default_left", True))
            if add(node["left_child"]) != i + 1:
                return None
            right = add(node["right_child"])
            if right is None:
                return None
            cols["r"][i] = right
            return i

        for tree in d["tree_info"]:
            root = None if tree.get("is_linear") else add(tree["tree_structure"])
            if root is None:
                return None
            roots.append(root)
        return cls(np.asarray(cols["f"], np.int64), np.asarray(cols["t"], np.float64),
                   np.asarray(cols["r"], np.int64), np.asarray(cols["v"], np.float64),
                   np.asarray(cols["m"], np.int8), np.asarray(cols["d"], np.bool_),
                   np.asarray(roots, np.int64), int(d.get("max_feature_idx", -1)) + 1)

    def raw(self, X: np.ndarray, shape: tuple[int, int],
            columns: np.ndarray | None = None) -> np.ndarray:
        """Raw scores (log-odds) of the cells of a ``shape`` window, row-major.

        ``X``: one row per cell (row-major), float32 or float64; ``columns[j]``: the column of
        X holding the booster's feature j (default: column j).
        """
        h, w = shape
        if X.ndim != 2 or X.shape[0] != h * w:
            raise ValueError(f"{X.shape[0]} rows for a {h} x {w} window")
        if h * w == 0:
            return np.zeros(0)
        if not len(self.used):                  # no splits at all: every cell alike
            return np.full(h * w, float(np.sum(self.value[self.roots])))
        if X.dtype not in (np.float32, np.float64):
            X = X.astype(np.float64)
        cols = np.arange(X.shape[1]) if columns is None else np.asarray(columns, np.int64)
        ucols = cols[self.used]
        Xt = X.T
        if Xt.flags.c_contiguous:              # columns contiguous: use them in place
            V = Xt.reshape(X.shape[1], h, w)
            vidx = ucols
        else:
            V = np.ascontiguousarray(Xt[ucols]).reshape(len(ucols), h, w)
            vidx = np.arange(len(ucols))
        node_v = np.where(self.compact >= 0, vidx[np.maximum(self.compact, 0)], -1)
        levels = max(1, min(TOP_LEVEL, int(np.ceil(np.log2(max(h, w, 2))))))
        mn, mx, offs, hs, ws = _pyramid(V, vidx.astype(np.int64), levels, ZERO_BAND)
        return _score(V, node_v.astype(np.int64), self.compact, self.threshold, self.right,
                      self.value, self.missing, self.default_left, self.roots, mn, mx, offs,
                      hs, ws, levels, ZERO_BAND)


def _pyramid(V: np.ndarray, vidx: np.ndarray, levels: int, zband: float
             ) -> tuple[np.ndarray, ...]:
    """Minimum and maximum of each used feature over 2^l-cell blocks, l = 1..levels.

    All levels in one flat array each: level l starts at offs[l], holds (feature, row, col).
    A block with a NaN gets (-inf, inf); one touching the zero band includes 0.
    """
    u_n = len(vidx)
    hs, ws = [V.shape[1]], [V.shape[2]]
    for _ in range(levels):
        hs.append((hs[-1] + 1) // 2)
        ws.append((ws[-1] + 1) // 2)
    offs = [0, 0]
    for lv in range(1, levels + 1):
        offs.append(offs[-1] + u_n * hs[lv] * ws[lv])
    mn = np.empty(offs[-1], V.dtype)
    mx = np.empty(offs[-1], V.dtype)
    planes = [(mn[offs[lv]:offs[lv + 1]].reshape(u_n, hs[lv], ws[lv]),
               mx[offs[lv]:offs[lv + 1]].reshape(u_n, hs[lv], ws[lv]))
              for lv in range(1, levels + 1)]
    lo, hi = planes[0]
    for u, c in enumerate(vidx):
        plane = V[c]
        _halve(plane, plane, lo[u], hi[u])
        if _has_nan(plane):
            _nan_blocks(plane, lo[u], hi[u])
        _zero_band(lo[u], hi[u], zband)
    for (slo, shi), (dlo, dhi) in pairwise(planes):
        for u in range(u_n):
            _halve(slo[u], shi[u], dlo[u], dhi[u])
    as_int = np.asarray
    return (mn, mx, as_int(offs, np.int64), as_int(hs, np.int64), as_int(ws, np.int64))


@numba.njit(cache=True, nogil=True)
def _halve(lo_in, hi_in, lo_out, hi_out):
    """Minimum of ``lo_in`` and maximum of ``hi_in`` over 2 x 2 blocks (edges: 2 x 1, 1 x 1).
    NaN may be lost here: ``_nan_blocks`` restores it."""
    h, w = lo_in.shape
    w2 = w // 2
    for by in range((h + 1) // 2):
        y0 = 2 * by
        y1 = min(y0 + 1, h - 1)
        a, b, c, d = lo_in[y0], lo_in[y1], hi_in[y0], hi_in[y1]
        olo, ohi = lo_out[by], hi_out[by]
        for bx in range(w2):
            x0 = 2 * bx
            olo[bx] = min(min(a[x0], a[x0 + 1]), min(b[x0], b[x0 + 1]))
            ohi[bx] = max(max(c[x0], c[x0 + 1]), max(d[x0], d[x0 + 1]))
        if w % 2:
            olo[w2] = min(a[w - 1], b[w - 1])
            ohi[w2] = max(c[w - 1], d[w - 1])


@numba.njit(cache=True, nogil=True)
def _zero_band(lo, hi, zband):
    """Blocks touching LightGBM's zero band also hold 0 (the value it reads there)."""
    zero = lo.dtype.type(0.0)
    for y in range(lo.shape[0]):
        a, b = lo[y], hi[y]
        for x in range(lo.shape[1]):
            touch = (a[x] <= zband) & (b[x] >= -zband)
            a[x] = min(a[x], zero) if touch else a[x]
            b[x] = max(b[x], zero) if touch else b[x]


@numba.njit(cache=True, nogil=True)
def _has_nan(a):
    found = False
    for y in range(a.shape[0]):
        for x in range(a.shape[1]):
            found |= a[y, x] != a[y, x]
    return found


@numba.njit(cache=True, nogil=True)
def _nan_blocks(plane, lo, hi):
    """(-inf, inf) for the 2 x 2 blocks holding a NaN."""
    for y in range(plane.shape[0]):
        for x in range(plane.shape[1]):
            if np.isnan(plane[y, x]):
                lo[y >> 1, x >> 1] = -np.inf
                hi[y >> 1, x >> 1] = np.inf


@numba.njit(cache=True, nogil=True)
def _score(V, node_v, node_u, thr, right, value, missing, default_left, roots,
           mn, mx, offs, hs, ws, levels, zband):
    """Sum of the leaf values of every cell, walking (block, tree) pairs from the top level."""
    aoffs = np.zeros(levels + 2, np.int64)
    for lv in range(levels + 1):
        aoffs[lv + 1] = aoffs[lv] + hs[lv] * ws[lv]
    acc = np.zeros(aoffs[levels + 1])
    cap = 4 * (levels + 2)
    st_l = np.empty(cap, np.int64)
    st_y = np.empty(cap, np.int64)
    st_x = np.empty(cap, np.int64)
    st_n = np.empty(cap, np.int64)
    for by in range(hs[levels]):
        for bx in range(ws[levels]):
            for root in roots:
                st_l[0], st_y[0], st_x[0], st_n[0] = levels, by, bx, root
                sp = 1
                while sp > 0:
                    sp -= 1
                    lv, y, x, node = st_l[sp], st_y[sp], st_x[sp], st_n[sp]
                    while True:
                        u = node_u[node]
                        if u < 0:                                   # a leaf
                            acc[aoffs[lv] + y * ws[lv] + x] += value[node]
                            break
                        t = thr[node]
                        m = missing[node]
                        if lv == 0:                                 # a cell: its own value
                            v = np.float64(V[node_v[node], y, x])
                            if np.isnan(v):
                                if m == 2:
                                    node = node + 1 if default_left[node] else right[node]
                                    continue
                                v = 0.0
                            elif abs(v) <= zband:
                                v = 0.0
                            if m == 1 and v == 0.0:
                                node = node + 1 if default_left[node] else right[node]
                            elif v <= t:
                                node += 1
                            else:
                                node = right[node]
                            continue
                        i = offs[lv] + (u * hs[lv] + y) * ws[lv] + x
                        lo = np.float64(mn[i])
                        hi = np.float64(mx[i])
                        if not (m == 1 and lo <= zband and hi >= -zband):
                            if hi <= t:
                                node += 1
                                continue
                            if lo > t:
                                node = right[node]
                                continue
                        # straddled: the four sub-blocks go on from this node
                        cl = lv - 1
                        for dy in range(2):
                            cy = 2 * y + dy
                            if cy < hs[cl]:
                                for dx in range(2):
                                    cx = 2 * x + dx
                                    if cx < ws[cl]:
                                        st_l[sp], st_y[sp], st_x[sp], st_n[sp] = cl, cy, cx, node
                                        sp += 1
                        break
    h, w = hs[0], ws[0]
    out = np.empty(h * w)
    for y in range(h):
        for x in range(w):
            s = 0.0
            for lv in range(levels, -1, -1):
                s += acc[aoffs[lv] + (y >> lv) * ws[lv] + (x >> lv)]
            out[y * w + x] = s
    return out
