"""Where events come from, and how a fitted model finds them again.

Two layouts are understood:

- ``colombia``: a directory of yearly AICMA event files (``1990.json`` ... ``2012.json``);
- ``reports``: GeoJSON report files (``*accident*.geojson``, ``*ordnance*.geojson``,
  ``*evidence*.geojson``), as intake exports and the scenario writes them. A scenario directory
  (with ``reports/`` and ``context/``) is accepted whole.
- ``record``: a Safeground record database, given by its URL (``sqlite:///programme.sqlite``,
  ``postgresql://...``): its approved accidents, items found and evidence, dated by their date of
  information, and its hazardous areas as the suspected land. Context layers (front line, roads,
  rivers, terrain) come from a directory beside it.

Report files and records also give the *land released* (cancelled by non-technical survey,
reduced by technical survey, cleared), dated, from which ``forecast`` draws negatives.

An ``EventSource`` is saved in the model's metadata, so ``risk map`` can rebuild the features of
any extent and resolution from the same evidence and context as the fit.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from rasterio import features as rfeatures
from shapely.geometry import shape

from safeground.risk import colombia, store
from safeground.risk import events as ev
from safeground.risk.context import ContextLayers
from safeground.risk.errors import invalid
from safeground.risk.features import FeatureConfig
from safeground.risk.forecast import Study
from safeground.risk.grid import Grid
from safeground.settings import Settings

REPORT_KINDS = ("accident", "ordnance", "evidence")


@dataclass(frozen=True, slots=True)
class EventSource:
    format: str                  # "colombia", "reports" or "record"
    events: str
    context: str | None = None
    crs: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EventSource:
        return cls(**d)

    def files(self) -> list[Path]:
        if self.format == "record":
            return []
        root = Path(self.events)
        if self.format == "colombia":
            return colombia.event_files(root)
        if root.is_file():
            return [root]
        return sorted(p for p in root.glob("*.geojson") if any(k in p.stem for k in REPORT_KINDS))

    def load_events(self) -> pd.DataFrame:
        if self.format == "colombia":
            return colombia.load_events(self.files())[0]
        if self.format == "record":
            return ev.from_ledger(self.ledger(), self.crs)
        return ev.from_report_files(self.files(), self.crs)

    def ledger(self) -> Any:
        """The record behind a ``record`` source (opened once per process)."""
        return _open_record(self.events)

    def fingerprint(self) -> str:
        """SHA-256 of the data the fit saw: the input files, or the record's objects."""
        if self.format != "record":
            return store.data_sha256(self.files())
        from safeground.record.vocabulary import ReportType

        h = hashlib.sha256()
        led = self.ledger()
        for rtype in (ReportType.ACCIDENT, ReportType.ORDNANCE, ReportType.EVIDENCE,
                      ReportType.HAZARDOUS_AREA, ReportType.LAND_RELEASE):
            for obj in sorted(led.objects(rtype), key=lambda o: o["id"]):
                h.update(f"{rtype.value}|{obj['id']}|{obj['last_report_id']}\n".encode())
        return h.hexdigest()

    def load_context(self) -> ContextLayers | None:
        return ContextLayers.from_directory(self.context, self.crs) if self.context else None


@functools.cache
def _open_record(url: str) -> Any:
    from safeground.record.ledger import Ledger
    from safeground.record.storage import Database

    return Ledger(Database.open(url), Settings.from_env(database_url=url))


def detect(path: str | Path, context: str | Path | None = None) -> EventSource:
    """Recognise the layout of ``path``. Raises ValidationError (FILE_FORMAT_UNKNOWN)."""
    if is_database_url(path):
        ctx = str(context) if context else None
        crs = ContextLayers.from_directory(ctx).crs if ctx else \
            f"EPSG:{Settings.from_env(database_url=str(path)).utm_epsg}"
        return EventSource("record", str(path), ctx, crs)
    root = Path(path)
    if root.is_dir() and (root / "reports").is_dir():       # a scenario output directory
        ctx = context or ((root / "context") if (root / "context").is_dir() else None)
        return detect(root / "reports", ctx)
    ctx = str(context) if context else None
    if root.is_dir() and colombia.event_files(root):
        return EventSource("colombia", str(root), ctx, colombia.CRS)
    if (root.is_dir() and any(root.glob("*.geojson"))) or root.suffix == ".geojson":
        crs = ContextLayers.from_directory(ctx).crs if ctx else \
            f"EPSG:{Settings.from_env().utm_epsg}"
        return EventSource("reports", str(root), ctx, crs)
    raise invalid("FILE_FORMAT_UNKNOWN", where=str(root), suffix=root.suffix or "(directory)",
                  expected="a directory of yearly event files, report GeoJSON or a scenario")


def is_database_url(path: str | Path) -> bool:
    return isinstance(path, str) and path.split(":", 1)[0].split("+")[0] in (
        "sqlite", "postgresql", "postgres")


def default_extent(source: EventSource, events: pd.DataFrame) -> tuple[float, ...]:
    """The context rasters' extent, else the events' bounds grown by 5 km."""
    if source.context:
        for name in ("elevation", "slope", "landcover"):
            p = Path(source.context) / f"{name}.tif"
            if p.exists():
                with rasterio.open(p) as src:
                    return tuple(src.bounds)
    pad = 5000.0
    return (events.x.min() - pad, events.y.min() - pad, events.x.max() + pad,
            events.y.max() + pad)


def build_study(source: EventSource, as_of: dt.date | str, step_m: float | None = None,
                extent: tuple[float, ...] | None = None) -> Study:
    """The study grid for a source: Colombia's affected departments, or the context extent."""
    if source.format == "colombia":
        return colombia.build_study(source.events, as_of, step_m or 1000.0)
    events = source.load_events()
    if events.empty:
        raise invalid("RISK_NO_EVENTS", value=str(as_of))
    grid = Grid.from_bounds(extent or default_extent(source, events), step_m or 100.0,
                            source.crs)
    return Study(grid=grid, events=events, context=source.load_context(),
                 features=FeatureConfig(field_step_m=max(grid.step, 100.0)),
                 reference=suspected_cells(source, grid), released=released_land(source))


def hazardous_area_files(source: EventSource) -> list[Path]:
    if source.format == "record":
        return []
    root = Path(source.events)
    folder = root if root.is_dir() else root.parent
    return sorted(folder.glob("*hazardous_area*.geojson"))


def land_release_files(source: EventSource) -> list[Path]:
    if source.format == "record":
        return []
    root = Path(source.events)
    folder = root if root.is_dir() else root.parent
    return sorted(folder.glob("*land_release*.geojson"))


def released_land(source: EventSource) -> gpd.GeoDataFrame | None:
    """The land released on record (``release``: cancelled, reduced or cleared; ``date``: the
    date of information of the release), in the source's CRS; None when there is none.

    From a record: its approved land release objects, dated by their first report. From report
    files: the ``*land_release*.geojson`` files beside the event files, and land release
    features (``report_type``) of the event files themselves.
    """
    if source.format == "colombia":
        return None
    rows: list[dict[str, Any]] = []
    geoms: list[Any] = []
    if source.format == "record":
        from safeground.record.vocabulary import ReportType

        for o in source.ledger().objects(ReportType.LAND_RELEASE):
            if o.get("geometry") is None or o["geometry"].is_empty:
                continue
            rows.append({"release": str(o.get("release") or ""),
                         "date": pd.Timestamp(o["first_date"])})
            geoms.append(o["geometry"])
    files = [] if source.format == "record" else sorted({*land_release_files(source),
                                                            *source.files()})
    for f in files:
        default = "land_release" if "land_release" in f.stem else ""
        for feat in json.loads(f.read_text(encoding="utf-8")).get("features", []):
            props = dict(feat.get("properties") or {})
            if isinstance(props.get("payload"), dict):
                props = {**props, **props["payload"]}
            date = props.get("date_of_information") or props.get("date")
            if (props.get("report_type") or default) != "land_release" or not date \
                    or not feat.get("geometry") or not props.get("release"):
                continue
            geom = shape(feat["geometry"])
            if not geom.is_empty:
                rows.append({"release": str(props["release"]), "date": pd.Timestamp(date)})
                geoms.append(geom)
    if not rows:
        return None
    out = gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326").to_crs(source.crs)
    out["date"] = (pd.to_datetime(out["date"]).dt.tz_localize(None).dt.normalize()
                   .astype("datetime64[ns]"))
    return out


def _record_areas(source: EventSource, crs: str) -> list[Any]:
    from safeground.record.vocabulary import ReportType

    geoms = [a["geometry"] for a in source.ledger().objects(ReportType.HAZARDOUS_AREA)
             if a.get("geometry") is not None]
    if not geoms:
        return []
    g = gpd.GeoSeries(geoms, crs="EPSG:4326").to_crs(crs)
    return [p for p in g if p is not None and not p.is_empty]


def suspected_cells(source: EventSource, grid: Grid) -> np.ndarray | None:
    """Cells inside the hazardous areas on record (row-major), or None when there are none."""
    polys = _record_areas(source, grid.crs) if source.format == "record" else []
    for f in hazardous_area_files(source):
        g = gpd.read_file(f)
        if g.empty:
            continue
        g = g.to_crs(grid.crs) if g.crs is not None else g
        polys += [p for p in g.geometry if p is not None and not p.is_empty]
    if not polys:
        return None
    mask = rfeatures.rasterize(((p, 1) for p in polys), out_shape=(grid.height, grid.width),
                               transform=grid.transform, dtype="uint8")
    return mask.ravel().astype(bool) if mask.any() else None


def study_on(study: Study, grid: Grid) -> Study:
    """The same evidence and feature settings on another grid (a map's extent/resolution)."""
    cfg = study.features
    if cfg.field_step_m is None:
        cfg = replace(cfg, field_step_m=max(study.grid.step, 100.0))
    return replace(study, grid=grid, mask=None, features=cfg, reference=None)


def record_areas_and_evidence(source: EventSource) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The open hazardous areas of a record (their remaining land, ``object_id``) and its
    approved evidence, accidents and items (``category``, ``reliability``), in EPSG:4326."""
    from safeground.record.vocabulary import HazardStatus, ReportType

    led = source.ledger()
    open_areas = [a for a in led.objects(ReportType.HAZARDOUS_AREA)
                  if a["status"] != HazardStatus.CLOSED.value]
    areas = gpd.GeoDataFrame(
        {"object_id": [a["id"] for a in open_areas],
         "classification": [a["classification"] for a in open_areas]},
        geometry=[a.get("remaining_geometry") or a["geometry"] for a in open_areas],
        crs="EPSG:4326")
    rows, geoms = [], []
    for rtype in (ReportType.EVIDENCE, ReportType.ACCIDENT, ReportType.ORDNANCE):
        for o in led.objects(rtype):
            if o.get("geometry") is None:
                continue
            category = {ReportType.ACCIDENT: "accident",
                        ReportType.ORDNANCE: "find"}.get(rtype, o.get("category"))
            rows.append({"object_id": o["id"], "category": category,
                         "reliability": o.get("reliability") or "high"})
            geoms.append(o["geometry"])
    evidence = gpd.GeoDataFrame(rows or {"object_id": [], "category": [], "reliability": []},
                                geometry=geoms, crs="EPSG:4326")
    return areas, evidence
