"""Per-hazardous-area risk: expected contamination, ranking and the factors behind it.

For each area polygon the cells of the model grid inside it are scored. The *expected
contaminated area* is the mean probability of those cells times the polygon's area (m², in the
metric CRS). Areas rank by it, largest first: where clearance is most likely to meet explosive
ordnance. The explanation of an area is the mean per-cell contribution of each feature to the
log-odds (TreeSHAP for LightGBM, coefficient x standardised value for the logistic model).
With a release adjustment (``release.py``) the probabilities are those after it, and the
explanation holds a ``released land`` term (its log-odds effect), so the factors, the bias and
the calibration term still add up to the log-odds of the probability shown.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from rasterio import features as rfeatures
from rasterio.windows import Window
from rasterio.windows import transform as wtransform

from safeground.risk.features import FeatureBuilder
from safeground.risk.models import RiskModel
from safeground.risk.release import CALIBRATION_TERM, ReleaseAdjustment, explain


def _area_cells(builder: FeatureBuilder, geom: object) -> tuple[Window, np.ndarray] | None:
    g = builder.grid
    minx, miny, maxx, maxy = geom.bounds
    col0 = max(0, int(np.floor((minx - g.x0) / g.step)))
    row0 = max(0, int(np.floor((g.y1 - maxy) / g.step)))
    col1 = min(g.width, int(np.ceil((maxx - g.x0) / g.step)))
    row1 = min(g.height, int(np.ceil((g.y1 - miny) / g.step)))
    if col1 <= col0 or row1 <= row0:
        return None
    win = Window(col0, row0, col1 - col0, row1 - row0)
    mask = rfeatures.rasterize([(geom, 1)], out_shape=(win.height, win.width),
                               transform=wtransform(win, g.transform), all_touched=False,
                               dtype="uint8").astype(bool).ravel()
    if not mask.any():   # smaller than a cell: take the cell holding its centre
        mask = rfeatures.rasterize([(geom.representative_point(), 1)],
                                   out_shape=(win.height, win.width),
                                   transform=wtransform(win, g.transform),
                                   dtype="uint8").astype(bool).ravel()
    return win, mask


def area_risk(areas: gpd.GeoDataFrame, builder: FeatureBuilder, model: RiskModel, *,
              id_column: str = "object_id", top: int = 3,
              adjustment: ReleaseAdjustment | None = None) -> pd.DataFrame:
    """One row per area: cells, mean and max probability, expected contaminated m², rank, the
    share of it released by the builder's date, and the ``top`` factors raising and lowering
    its risk (``released land`` among them when ``adjustment`` lowers it). Areas off the grid
    are left out."""
    areas = areas.to_crs(builder.grid.crs) if areas.crs is not None else areas
    rows = []
    for area_id, geom in zip(areas[id_column].astype(str), areas.geometry, strict=True):
        cells = _area_cells(builder, geom) if geom is not None and not geom.is_empty else None
        if cells is None:
            continue
        win, mask = cells
        X = builder.window(win, model.features)[mask]
        shares = builder.released_shares(win)[mask] if builder.released else None
        terms, p = explain(model, X, shares, adjustment)
        contrib = terms.drop(columns=["bias", CALIBRATION_TERM]).mean()
        released = 0.0 if shares is None else float(shares.sum(axis=1).mean())
        values = pd.Series([*X.mean(axis=0), released], index=[*model.features, "released land"])
        up = contrib.sort_values(ascending=False).head(top)
        down = contrib.sort_values().head(top)
        rows.append({
            id_column: area_id, "cells": int(mask.sum()),
            "area_m2": float(geom.area), "mean_probability": float(p.mean()),
            "max_probability": float(p.max()),
            # mean probability x the polygon's own area: free of the raster's edge effects
            "expected_contaminated_m2": float(p.mean() * geom.area),
            "released_share": released,
            "raising": [{"feature": f, "value": float(values[f]), "log_odds": float(c)}
                        for f, c in up.items() if c > 0],
            "lowering": [{"feature": f, "value": float(values[f]), "log_odds": float(c)}
                         for f, c in down.items() if c < 0],
        })
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out = out.sort_values("expected_contaminated_m2", ascending=False, kind="stable")
    out["rank"] = np.arange(1, len(out) + 1)
    return out.reset_index(drop=True)


def explain_cells(model: RiskModel, X: pd.DataFrame | np.ndarray, top: int = 3) -> pd.DataFrame:
    """For each cell, the ``top`` features pushing its risk up, with their log-odds."""
    c = model.contributions(X).drop(columns="bias")
    names = np.array(c.columns)
    order = np.argsort(-c.to_numpy(), axis=1)[:, :top]
    vals = np.take_along_axis(c.to_numpy(), order, axis=1)
    out = {}
    for k in range(order.shape[1]):
        out[f"factor_{k + 1}"] = names[order[:, k]]
        out[f"log_odds_{k + 1}"] = vals[:, k]
    return pd.DataFrame(out)
