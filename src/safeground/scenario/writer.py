"""Writing a scenario to disk: reports (GeoJSON, EPSG:4326), truth and context (UTM 38N).

Layout::

    OUT/reports/NN_<report_type>.geojson   one file per report type, in dependency order
    OUT/truth/items.gpkg                   every true item (category, model, depth, site id, state)
    OUT/truth/minefields.gpkg              minefields, protective fields, nuisance clusters, strikes
    OUT/context/frontline.gpkg             former line of contact 1994-2020
    OUT/context/positions.gpkg             fortified positions, both sides
    OUT/context/roads.gpkg, rivers.gpkg, settlements.gpkg
    OUT/context/elevation.tif, slope.tif, landcover.tif   UTM 38N grids (``resolution_m``)
    OUT/scenario.json                      seed, dates, calibration figures, attribution
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import rasterio
import shapely

from safeground.scenario import contamination as C
from safeground.scenario.geo import UTM
from safeground.scenario.records import FILE_ORDER, file_name, write_geojson

if TYPE_CHECKING:
    from safeground.scenario.scenario import Scenario

ITEM_STATES = ("in_ground", "found", "accident")


def _gpkg(path: Path, df: pd.DataFrame, geom, layer: str | None = None) -> None:
    gdf = gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geom, crs=UTM), crs=UTM)
    pyogrio.write_dataframe(gdf, path, layer=layer or path.stem, driver="GPKG")


def write_reports(sc: Scenario, out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    by_type: dict[str, list[dict]] = {t.value: [] for t in FILE_ORDER}
    for r in sc.report_records():
        by_type[r["report_type"]].append(r)
    paths = {}
    for t in FILE_ORDER:
        p = out / file_name(t)
        write_geojson(p, by_type[t.value])
        paths[t.value] = p
    return paths


def write_truth(sc: Scenario, out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    it = sc.truth.items
    sites = sc.truth.sites
    site_ids = np.array([s.id for s in sites] + [""], dtype=object)
    models = np.array([it.model_name(i) for i in range(len(it))], dtype=object)
    df = pd.DataFrame({
        "item_id": [f"IT-{i + 1:07d}" for i in range(len(it))],
        "category": it.category_names, "model": models, "depth_cm": it.depth_cm,
        "source": np.array(C.SOURCES)[it.source], "year": it.year,
        "site_id": site_ids[np.where(it.site >= 0, it.site, len(sites))],
        "state_at_record_end": np.array(ITEM_STATES)[sc.item_state],
    })
    p_items = out / "items.gpkg"
    _gpkg(p_items, df, shapely.points(it.x, it.y), "items")
    sdf = pd.DataFrame({
        "site_id": [s.id for s in sites], "kind": [s.kind for s in sites],
        "side": [s.side for s in sites], "rows": [s.n_rows for s in sites],
        "row_spacing_m": [s.row_spacing_m for s in sites],
        "mine_spacing_m": [s.mine_spacing_m for s in sites],
        "offset_m": [s.offset_m for s in sites], "year": [s.year for s in sites],
        "front_from_m": [s.front_from_m for s in sites],
        "front_to_m": [s.front_to_m for s in sites],
    })
    p_sites = out / "minefields.gpkg"
    _gpkg(p_sites, sdf, [s.polygon for s in sites], "minefields")
    return {"items": p_items, "minefields": p_sites}


#: funded reconstruction projects of the scenario: the largest displaced towns and villages
RECONSTRUCTION_PROJECTS = 12


def reconstruction_projects(sc: Scenario) -> list[dict]:
    """The government's funded reconstruction programme, as the planner's context layer knows
    it: one project over the built-up area of each of the largest displaced settlements (by
    displaced people), funded and ready to start 45 days after the ceasefire for the largest,
    20 days later for each next one. Derived, not drawn: the scenario's random streams are
    untouched."""
    reg = sc.region
    towns = sorted((s for s in reg.settlements if s.occupied and s.displaced_population > 0),
                   key=lambda s: (-s.displaced_population, s.id))[:RECONSTRUCTION_PROJECTS]
    return [{"project_id": f"REC-{i + 1:02d}", "settlement_id": s.id,
             "name": f"Reconstruction of {s.name}",
             "ready_date": (sc.config.ceasefire + dt.timedelta(days=45 + 20 * i)).isoformat(),
             "geometry": shapely.Point(s.x, s.y).buffer(s.radius_m, quad_segs=8)}
            for i, s in enumerate(towns)]


def write_context(sc: Scenario, out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    reg = sc.region
    paths = {}
    front = reg.front_in_region
    p = out / "frontline.gpkg"
    _gpkg(p, pd.DataFrame({"name": ["line of contact"], "from_year": [1994], "to_year": [2020]}),
          [front])
    paths["frontline"] = p
    pos = reg.positions
    p = out / "positions.gpkg"
    _gpkg(p, pd.DataFrame({"position_id": [q.id for q in pos], "side": [q.side for q in pos],
                           "line": [q.line for q in pos]}),
          shapely.points([q.x for q in pos], [q.y for q in pos]) if pos else [])
    paths["positions"] = p
    p = out / "roads.gpkg"
    _gpkg(p, pd.DataFrame({"road_class": [c for _, c in reg.roads]}), [g for g, _ in reg.roads])
    paths["roads"] = p
    p = out / "rivers.gpkg"
    _gpkg(p, pd.DataFrame({"river_id": [f"RIV-{i + 1:02d}" for i in range(len(reg.rivers))]}),
          list(reg.rivers))
    paths["rivers"] = p
    st = reg.settlements
    p = out / "settlements.gpkg"
    _gpkg(p, pd.DataFrame({
        "settlement_id": [s.id for s in st], "name": [s.name for s in st],
        "pre_conflict_population": [s.pre_conflict_population for s in st],
        "displaced_population": [s.displaced_population for s in st],
        "radius_m": [s.radius_m for s in st], "admin_area_id": [s.admin_id for s in st],
    }), shapely.points([s.x for s in st], [s.y for s in st]))
    paths["settlements"] = p
    p = out / "reconstruction.gpkg"
    projects = reconstruction_projects(sc)
    _gpkg(p, pd.DataFrame({k: [q[k] for q in projects]
                           for k in ("project_id", "settlement_id", "name", "ready_date")},
                          columns=["project_id", "settlement_id", "name", "ready_date"]),
          [q["geometry"] for q in projects])
    paths["reconstruction"] = p
    ter = sc.terrain
    for name, arr, dtype, nodata in (("elevation", ter.elevation, "float32", np.nan),
                                     ("slope", ter.slope, "float32", np.nan),
                                     ("landcover", ter.landcover, "uint8", 0)):
        p = out / f"{name}.tif"
        with rasterio.open(p, "w", driver="GTiff", height=arr.shape[0], width=arr.shape[1],
                           count=1, dtype=dtype, crs=UTM, transform=ter.transform, nodata=nodata,
                           compress="deflate") as dst:
            dst.write(arr.astype(dtype), 1)
        paths[name] = p
    return paths


def write_scenario(sc: Scenario, out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    paths.update(write_reports(sc, out / "reports"))
    paths.update({f"truth/{k}": v for k, v in write_truth(sc, out / "truth").items()})
    paths.update({f"context/{k}": v for k, v in write_context(sc, out / "context").items()})
    (out / "scenario.json").write_text(json.dumps(sc.manifest(), indent=2) + "\n",
                                       encoding="utf-8")
    paths["manifest"] = out / "scenario.json"
    return paths
