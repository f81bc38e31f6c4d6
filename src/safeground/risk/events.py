"""Dated events the risk model learns from: accidents, finds and other evidence.

Every source (field reports, the scenario's report files, Colombia's event records) is turned
into one plain table with metric coordinates ``x``, ``y``, a ``date``, an evidence ``group`` and
a reliability ``weight``. ``known_at`` keeps only what was known on a date, so features never use
the future (docs/domain.md §6: "using only what was known at the prediction date").
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import shape

from safeground.record.vocabulary import DIRECT_CATEGORIES, EvidenceCategory

#: evidence groups, each gets its own density and distance features
GROUPS = ("accident", "find", "evidence", "indirect")

#: reliability -> weight of one event in the densities (configurable per call)
RELIABILITY_WEIGHT: dict[str, float] = {"high": 1.0, "medium": 0.6, "low": 0.3}

EVENT_COLUMNS = ("x", "y", "date", "group", "category", "weight")


def group_of_category(category: str) -> str:
    """Evidence group of an IMAS evidence category (vocabulary.EvidenceCategory)."""
    if category == EvidenceCategory.ACCIDENT:
        return "accident"
    if category == EvidenceCategory.FIND:
        return "find"
    if category in DIRECT_CATEGORIES:
        return "evidence"
    return "indirect"


def empty_events() -> pd.DataFrame:
    return pd.DataFrame({"x": np.array([], float), "y": np.array([], float),
                         "date": pd.to_datetime(pd.Series([], dtype="datetime64[ns]")),
                         "group": pd.Series([], dtype=str), "category": pd.Series([], dtype=str),
                         "weight": np.array([], float)})


def from_geodataframe(gdf: gpd.GeoDataFrame, crs: str, *, date: str = "date",
                      group: str = "group", category: str | None = "category",
                      reliability: str | None = "reliability",
                      reliability_weight: dict[str, float] | None = None) -> pd.DataFrame:
    """Normalise a GeoDataFrame of dated events into the event table in ``crs``.

    Polygons and lines count at their representative point. A missing reliability counts as
    high (accidents and finds are reliable by nature).
    """
    if gdf.empty:
        return empty_events()
    g = gdf.to_crs(crs) if gdf.crs is not None and str(gdf.crs) != crs else gdf
    pts = g.geometry.representative_point()
    rw = reliability_weight or RELIABILITY_WEIGHT
    if reliability and reliability in g:
        weight = g[reliability].map(lambda r: rw.get(str(r).lower(), 1.0)).astype(float)
    else:
        weight = pd.Series(1.0, index=g.index)
    cat = g[category].astype(str) if category and category in g else g[group].astype(str)
    out = pd.DataFrame({"x": pts.x.to_numpy(), "y": pts.y.to_numpy(),
                        "date": pd.to_datetime(g[date]).to_numpy(),
                        "group": g[group].astype(str).to_numpy(),
                        "category": cat.to_numpy(), "weight": weight.to_numpy()})
    return out[np.isfinite(out.x) & np.isfinite(out.y)].reset_index(drop=True)


def known_at(events: pd.DataFrame, as_of: dt.date | str | pd.Timestamp) -> pd.DataFrame:
    """Events whose date is on or before ``as_of``."""
    return events[events["date"] <= pd.Timestamp(as_of)]


def between(events: pd.DataFrame, after: dt.date | str | pd.Timestamp,
            until: dt.date | str | pd.Timestamp) -> pd.DataFrame:
    """Events with ``after < date <= until``."""
    d = events["date"]
    return events[(d > pd.Timestamp(after)) & (d <= pd.Timestamp(until))]


# --- report files (the scenario writes these; intake exports the same shape) -------------------

def _report_group(report_type: str, props: dict) -> tuple[str, str] | None:
    if report_type == "accident":
        return "accident", str(props.get("device_category") or "accident")
    if report_type == "ordnance":
        return "find", str(props.get("category") or "find")
    if report_type == "evidence":
        cat = str(props.get("category") or "")
        return group_of_category(cat), cat
    return None


def from_report_files(paths: Iterable[Path], crs: str,
                      reliability_weight: dict[str, float] | None = None) -> pd.DataFrame:
    """Accident, ordnance and evidence reports from GeoJSON report files (REPORT_SPECS names).

    The report type comes from a ``report_type`` property, else from the file name
    (``accident*.geojson``...). The date is ``date_of_information`` (else ``date``).
    """
    rows, geoms = [], []
    for path in paths:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        default_type = next((t for t in ("accident", "ordnance", "evidence")
                             if t in Path(path).stem), "")
        for feat in data.get("features", []):
            props = dict(feat.get("properties") or {})
            payload = props.get("payload")
            if isinstance(payload, dict):
                props = {**props, **payload}
            rtype = str(props.get("report_type") or default_type)
            grp = _report_group(rtype, props)
            if grp is None or not feat.get("geometry"):
                continue
            date = props.get("date_of_information") or props.get("date")
            geoms.append(shape(feat["geometry"]))
            rows.append({"date": date, "group": grp[0], "category": grp[1],
                         "reliability": props.get("reliability", "high")})
    if not rows:
        return empty_events()
    gdf = gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")
    return from_geodataframe(gdf, crs, reliability_weight=reliability_weight)


# --- the record itself (approved accidents, finds and evidence in a Safeground database) ------

def from_ledger(ledger: Any, crs: str,
                reliability_weight: dict[str, float] | None = None) -> pd.DataFrame:
    """Accidents, items found and evidence from the approved record, dated by the date of
    information of their first report (``known_at`` then keeps what was known on a date)."""
    from safeground.record.vocabulary import ReportType

    rows, geoms = [], []
    for rtype in (ReportType.ACCIDENT, ReportType.ORDNANCE, ReportType.EVIDENCE):
        for obj in ledger.objects(rtype):
            grp = _report_group(rtype.value, obj)
            geom = obj.get("geometry")
            if grp is None or geom is None or geom.is_empty:
                continue
            geoms.append(geom)
            rows.append({"date": obj["first_date"].isoformat(), "group": grp[0],
                         "category": grp[1], "reliability": obj.get("reliability") or "high"})
    if not rows:
        return empty_events()
    gdf = gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")
    return from_geodataframe(gdf, crs, reliability_weight=reliability_weight)
