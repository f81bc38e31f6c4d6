"""Colombia's landmine event records (AICMA, one GeoJSON per year) as dated events.

Event types (``TIPO_EVENTO``) map to evidence groups and reliabilities:

| code | meaning | group | reliability |
|---|---|---|---|
| 1, 2 | accident by landmine / by UXO | accident | high |
| 4, 6 | military clearance find in operations / UXO found | find | high |
| 8 | suspected minefield | evidence | medium |
| 3, 5, 7 | arsenal, seizure, mine factory | indirect | low |

Only the year is known; an event is dated 1 July of its year. Points outside Colombia's bounding
box (a few have a sign error) are dropped.

The study area is the union of the convex hulls (buffered 5 km) of the events known at the
prediction date in each *affected department* — a department with at least ``min_events``
events by then. Colombia had no front line; the front-line baseline uses the distance to the
nearest military clearance find (code 4): mines lifted by troops in combat operations mark
where armed forces and armed groups met, the nearest thing to a line of contact.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from rasterio import features as rfeatures

from safeground.risk import events as ev
from safeground.risk.features import FeatureConfig
from safeground.risk.forecast import Study
from safeground.risk.grid import Grid

CRS = "EPSG:9377"   # MAGNA-SIRGAS 2018 / Origen-Nacional, metres
GROUP_OF_TYPE = {1: "accident", 2: "accident", 4: "find", 6: "find", 8: "evidence",
                 3: "indirect", 5: "indirect", 7: "indirect"}
RELIABILITY_OF_TYPE = {1: "high", 2: "high", 4: "high", 6: "high", 8: "medium",
                       3: "low", 5: "low", 7: "low"}
BBOX = (-82.0, -5.0, -66.0, 13.5)
FEATURES = FeatureConfig(bandwidths_km=(1.0, 3.0, 10.0), distance_cap_km=100.0,
                         recent_years=3.0, recent_bandwidth_km=3.0,
                         vector_layers=(), raster_layers=())


def event_files(directory: str | Path, until_year: int | None = None) -> list[Path]:
    files = sorted(Path(directory).glob("[12][0-9][0-9][0-9].json"))
    return [f for f in files if until_year is None or int(f.stem) <= until_year]


def load_events(paths: Iterable[str | Path]) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """The event table (EPSG:9377) and the raw records (with department and municipality)."""
    frames = [gpd.read_file(p) for p in paths]
    raw = pd.concat(frames, ignore_index=True)
    raw = gpd.GeoDataFrame(raw, geometry="geometry", crs="EPSG:4326")
    x, y = raw.geometry.x, raw.geometry.y
    raw = raw[(x > BBOX[0]) & (x < BBOX[2]) & (y > BBOX[1]) & (y < BBOX[3])].copy()
    code = pd.to_numeric(raw["TIPO_EVENTO"], errors="coerce").fillna(0).astype(int)
    raw["group"] = code.map(GROUP_OF_TYPE).fillna("indirect")
    raw["reliability"] = code.map(RELIABILITY_OF_TYPE).fillna("low")
    raw["category"] = code.astype(str)
    raw["date"] = pd.to_datetime(raw["AÑO"].astype(int).astype(str) + "-07-01")
    events = ev.from_geodataframe(raw, CRS)
    return events, raw.to_crs(CRS)


def study_area(raw: gpd.GeoDataFrame, as_of: dt.date | str, min_events: int = 100,
               buffer_m: float = 5000.0) -> shapely.Geometry:
    """Union of buffered convex hulls of each affected department's known events."""
    known = raw[raw["date"] <= pd.Timestamp(as_of)]
    counts = known["DEPARTAMENTO"].value_counts()
    hulls = [shapely.convex_hull(shapely.multipoints(
        np.column_stack([g.geometry.x, g.geometry.y]))).buffer(buffer_m)
        for dept, g in known.groupby("DEPARTAMENTO") if counts[dept] >= min_events]
    return shapely.union_all(hulls)


def build_study(directory: str | Path, as_of: dt.date | str, step_m: float = 1000.0,
                until_year: int | None = None, min_events: int = 100) -> Study:
    """The 1 km grid over the affected departments with every event up to ``until_year``."""
    events, raw = load_events(event_files(directory, until_year))
    area = study_area(raw, as_of, min_events)
    grid = Grid.from_bounds(area.bounds, step_m, CRS)
    mask = rfeatures.rasterize([(area, 1)], out_shape=(grid.height, grid.width),
                               transform=grid.transform, dtype="uint8").astype(bool)
    return Study(grid=grid, events=events, mask=mask.ravel(), features=FEATURES,
                 frontline_proxy="dist_find_km")
