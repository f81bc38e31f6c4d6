"""Small synthetic programmes for the risk tests: context layers and dated report files.

Mines lie along a former front line running south-north through the middle of a 12 x 8 km
region (EPSG:32638); accidents and finds are reported near it, more of them close to the road
(search bias), indirect evidence scattered around. Everything is seeded.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from pyproj import Transformer
from shapely.geometry import LineString, Point, box

from harness.shared import require

CRS = "EPSG:32638"
X0, Y0 = 600_000.0, 4_400_000.0
W, H = 12_000.0, 8_000.0
FRONT_X = X0 + 6_000.0
ROAD_Y = Y0 + 2_000.0

RELAND = "colombia-reland/processed_dataset/train/train_all.csv"


def _write_raster(path: Path, array: np.ndarray, step: float) -> None:
    with rasterio.open(path, "w", driver="GTiff", width=array.shape[1], height=array.shape[0],
                       count=1, dtype=array.dtype, crs=CRS,
                       transform=Affine(step, 0, X0, 0, -step, Y0 + H)) as dst:
        dst.write(array, 1)


def make_programme(root: Path, seed: int = 0, n_direct: int = 160) -> Path:
    """Write ``root/context`` and ``root/reports`` (and ``root/truth``); returns ``root``."""
    rng = np.random.default_rng(seed)
    ctx, rep, truth = root / "context", root / "reports", root / "truth"
    for d in (ctx, rep, truth):
        d.mkdir(parents=True, exist_ok=True)
    front = LineString([(FRONT_X, Y0), (FRONT_X + 500, Y0 + H / 2), (FRONT_X, Y0 + H)])
    gpd.GeoDataFrame({"name": ["front"]}, geometry=[front], crs=CRS).to_file(
        ctx / "frontline.gpkg")
    gpd.GeoDataFrame({"name": ["r1"]}, geometry=[LineString([(X0, ROAD_Y), (X0 + W, ROAD_Y)])],
                     crs=CRS).to_file(ctx / "roads.gpkg")
    gpd.GeoDataFrame({"name": ["p1", "p2"]}, geometry=[Point(FRONT_X - 800, Y0 + 3000),
                                                       Point(FRONT_X + 700, Y0 + 6000)],
                     crs=CRS).to_file(ctx / "positions.gpkg")
    gpd.GeoDataFrame({"name": ["A", "B"], "pre_conflict_population": [5000, 1200]},
                     geometry=[Point(X0 + 2000, Y0 + 2500), Point(X0 + 10_000, Y0 + 5000)],
                     crs=CRS).to_file(ctx / "settlements.gpkg")
    step = 100.0
    ny, nx = int(H / step), int(W / step)
    yy, xx = np.mgrid[0:ny, 0:nx]
    elev = (300 + 2.0 * xx + rng.normal(0, 3, (ny, nx))).astype("float32")
    _write_raster(ctx / "elevation.tif", elev, step)
    _write_raster(ctx / "slope.tif", np.full((ny, nx), 3.0, "float32") + (xx % 7), step)
    _write_raster(ctx / "landcover.tif", ((xx // 20 + yy // 20) % 4).astype("uint8"), step)

    # truth: mines within ~600 m of the front line
    n_true = 3000
    ty = rng.uniform(Y0, Y0 + H, n_true)
    tx = FRONT_X + 500 * (1 - np.abs(ty - (Y0 + H / 2)) / (H / 2)) + rng.normal(0, 300, n_true)
    gpd.GeoDataFrame({"state_at_record_end": ["in_ground"] * n_true},
                     geometry=gpd.points_from_xy(tx, ty), crs=CRS).to_file(truth / "items.gpkg")
    # observed direct evidence: a sample of true items, more of them near the road
    w = np.exp(-np.abs(ty - ROAD_Y) / 2500.0)
    pick = rng.choice(n_true, size=n_direct, replace=False, p=w / w.sum())
    dates = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 365, n_direct), "D")
    to_ll = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)

    def feature(x: float, y: float, props: dict) -> dict:
        lon, lat = to_ll.transform(x, y)
        return {"type": "Feature", "properties": props,
                "geometry": {"type": "Point", "coordinates": [lon, lat]}}

    acc, ordn, evid = [], [], []
    for i, k in enumerate(pick):
        d = dates[i].date().isoformat()
        if i % 3 == 0:
            acc.append(feature(tx[k], ty[k], {"report_type": "accident", "object_id": f"AC-{i}",
                                              "date_of_information": d,
                                              "device_category": "AP_mine"}))
        else:
            ordn.append(feature(tx[k], ty[k], {"report_type": "ordnance", "object_id": f"OR-{i}",
                                               "date_of_information": d, "category": "AP_mine"}))
    for i in range(60):   # indirect evidence anywhere, verbal and unreliable
        x, y = rng.uniform(X0, X0 + W), rng.uniform(Y0, Y0 + H)
        evid.append(feature(x, y, {"report_type": "evidence", "object_id": f"EV-{i}",
                                   "date_of_information": "2021-03-01", "category": "verbal",
                                   "reliability": "low"}))
    for name, feats in (("09_ordnance", ordn), ("10_accident", acc), ("06_evidence", evid)):
        (rep / f"{name}.geojson").write_text(json.dumps(
            {"type": "FeatureCollection", "features": feats}), encoding="utf-8")
    # two hazardous areas: one on the front line, one far from it
    areas = gpd.GeoDataFrame(
        {"object_id": ["HA-FRONT", "HA-FAR"], "classification": ["SHA", "SHA"]},
        geometry=[box(FRONT_X - 300, Y0 + 1500, FRONT_X + 600, Y0 + 2500),
                  box(X0 + 500, Y0 + 6500, X0 + 1500, Y0 + 7500)], crs=CRS).to_crs("EPSG:4326")
    areas.to_file(rep / "05_hazardous_area.geojson", driver="GeoJSON")
    (root / "scenario.json").write_text(json.dumps({"record_end": "2021-12-31"}),
                                        encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def programme(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_programme(tmp_path_factory.mktemp("programme"))


@pytest.fixture(scope="session")
def reland_small() -> pd.DataFrame:
    """Six municipalities of the RELand grid (read in place from the shared data)."""
    path = require(RELAND)
    from safeground.risk import reland

    df = reland.load_grid(path)
    keep = ["SAN CARLOS", "SONSON", "GRANADA", "SAN LUIS", "COCORNA", "ARGELIA"]
    return df[df[reland.GROUP].isin(keep)].reset_index(drop=True)


@pytest.fixture(scope="session")
def small_scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small scenario (seed 0) written to a directory: report files, context, its record's
    land release (read-only for the tests that use it)."""
    scenario = pytest.importorskip("safeground.scenario.scenario")
    from safeground.scenario.config import ScenarioConfig

    out = tmp_path_factory.mktemp("small-scenario")
    scenario.generate(ScenarioConfig.small(seed=0)).write(out)
    return out


def make_reland_like(seed: int = 0, groups: int = 6, per_group: int = 120) -> pd.DataFrame:
    """A small grid of the RELand schema: municipalities side by side (about 1 km cells), mines
    near buildings and at middle elevation, surveyed-empty and unknown cells; one-hot classes
    and a Relative Wealth Index missing in some cells, as in the real files. Seeded."""
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(groups):
        n = per_group
        lat = 5.3 + rng.uniform(0, 0.1, n)
        lon = -75.5 + 0.12 * g + rng.uniform(0, 0.1, n)
        buildings = rng.gamma(2.0, 1.0, n)
        elevation = rng.uniform(200, 2500, n)
        roads = rng.gamma(1.5, 1.0, n)
        risk = -1.2 * buildings - ((elevation - 1300) / 600) ** 2 + 0.3 * g - 0.5
        mine = rng.random(n) < 1 / (1 + np.exp(-risk))
        surveyed = rng.random(n) < np.exp(-roads / 3)
        label = np.where(mine & (surveyed | (rng.random(n) < 0.5)), 1,
                         np.where(surveyed, 0, -1))
        relief = rng.integers(0, 3, n)
        rwi = rng.normal(0, 0.5, n)
        rwi[rng.random(n) < 0.4] = np.nan
        rows.append(pd.DataFrame({
            "LATITUD_Y": lat, "LONGITUD_X": lon, "mines_outcome": label,
            "Municipio": f"M{g}", "elevation": elevation,
            "Vocacion_Agroforestal": (relief == 0).astype(int),
            "Vocacion_Forestal": (relief != 0).astype(int),
            "CLIMA_Frío muy húmedo": (elevation > 1800).astype(int),
            "CLIMA_Templado húmedo a muy húmedo": (elevation <= 1800).astype(int),
            "TIPO_RELIE_Filas y vigas": (relief == 1).astype(int),
            "TIPO_RELIE_Lomas y colinas": (relief == 2).astype(int),
            "TIPO_RELIE_Vallecitos": (relief == 0).astype(int),
            "population_2020": rng.gamma(2.0, 20.0, n), "rwi": rwi,
            "rwi_missing": np.isnan(rwi).astype(int),
            "Amenaza": np.full(n, 100.0 * (g + 1)),
            "buildings_dist": buildings, "roads_dist": roads,
            "settlement_dist": rng.gamma(3.0, 1.5, n), "waterways_dist": rng.gamma(1.0, 1.0, n),
            "railways_dist": rng.uniform(20, 90, n), "coca_dist": rng.gamma(2.0, 3.0, n)}))
    return pd.concat(rows, ignore_index=True)


@pytest.fixture(scope="session")
def reland_like() -> pd.DataFrame:
    return make_reland_like()
