"""Where events come from, and how a fitted model finds them again.

Two layouts are understood:

- ``colombia``: a directory of yearly AICMA event files (``1990.json`` ... ``2012.json``);
- ``reports``: GeoJSON report files (``*accident*.geojson``, ``*ordnance*.geojson``,
  ``*evidence*.geojson``), as intake exports and the scenario writes them. A scenario directory
  (with ``reports/`` and ``context/``) is accepted whole.

An ``EventSource`` is saved in the model's metadata, so ``risk map`` can rebuild the features of
any extent and resolution from the same evidence and context as the fit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from rasterio import features as rfeatures

from safeground.risk import colombia
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
    format: str                  # "colombia" or "reports"
    events: str
    context: str | None = None
    crs: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EventSource:
        return cls(**d)

    def files(self) -> list[Path]:
        root = Path(self.events)
        if self.format == "colombia":
            return colombia.event_files(root)
        if root.is_file():
            return [root]
        return sorted(p for p in root.glob("*.geojson") if any(k in p.stem for k in REPORT_KINDS))

    def load_events(self) -> pd.DataFrame:
        if self.format == "colombia":
            return colombia.load_events(self.files())[0]
        return ev.from_report_files(self.files(), self.crs)

    def load_context(self) -> ContextLayers | None:
        return ContextLayers.from_directory(self.context, self.crs) if self.context else None


def detect(path: str | Path, context: str | Path | None = None) -> EventSource:
    """Recognise the layout of ``path``. Raises ValidationError (FILE_FORMAT_UNKNOWN)."""
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
                 reference=suspected_cells(source, grid))


def hazardous_area_files(source: EventSource) -> list[Path]:
    root = Path(source.events)
    folder = root if root.is_dir() else root.parent
    return sorted(folder.glob("*hazardous_area*.geojson"))


def suspected_cells(source: EventSource, grid: Grid) -> np.ndarray | None:
    """Cells inside the hazardous areas on record (row-major), or None when there are none."""
    polys = []
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
