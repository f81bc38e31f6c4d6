"""``generate(config) -> Scenario``: region, hidden truth and the record of what was observed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from safeground.record.vocabulary import ReportType, VictimOutcome
from safeground.scenario import contamination as C
from safeground.scenario import observation, region, terrain
from safeground.scenario.config import ScenarioConfig
from safeground.scenario.exposure import ACCIDENT, CELL_M, FOUND, IN_GROUND
from safeground.scenario.observation import HazardArea, Observed
from safeground.scenario.operations import EarlyOperations
from safeground.scenario.records import FILE_ORDER, RecordBook, file_name, in_file_order
from safeground.scenario.records import to_wgs_records as _to_wgs
from safeground.scenario.region import Region
from safeground.scenario.terrain import Terrain
from safeground.scenario.towns import SOURCE as TOWNS_SOURCE


@dataclass
class Scenario:
    """A generated region: what is on the maps, what is hidden, and what the record says.

    ``truth`` must only be read by scoring code and the operations twin; everything a policy or
    risk model may see is in ``region``, ``terrain``, ``areas`` and the report records.
    """

    config: ScenarioConfig
    region: Region
    terrain: Terrain
    truth: C.Truth
    observed: Observed
    book: RecordBook
    #: The early operations of the record window (``operations.py``), or None when off.
    operations: EarlyOperations | None = None

    @property
    def areas(self) -> list[HazardArea]:
        """The hazardous areas as the baseline survey first reported them (whole perimeters)."""
        return self.observed.areas

    @property
    def item_state(self) -> np.ndarray:
        """State of each true item at ``record_end``: 0 in the ground, 1 found, 2 accident
        (found by a passer-by, an EOD spot task or the early operations)."""
        return self.operations.state if self.operations is not None else self.observed.state

    def report_records(self) -> Iterator[dict[str, Any]]:
        """Every report in file order; geometry as shapely in EPSG:4326."""
        yield from _to_wgs(in_file_order(self.book.records))

    def calibration(self) -> dict[str, float]:
        """Generated figures set against the reference figures in docs/scenario.md (cached)."""
        cached = self.__dict__.get("_calibration")
        if cached is None:
            cached = self.__dict__["_calibration"] = calibration(self)
        return dict(cached)

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write ``reports/``, ``truth/``, ``context/`` and ``scenario.json`` under ``out_dir``."""
        from safeground.scenario.writer import write_scenario

        return write_scenario(self, Path(out_dir))

    def manifest(self) -> dict[str, Any]:
        """What ``scenario.json`` holds: the configuration, the seed and the headline figures."""
        return manifest(self)


def generate(config: ScenarioConfig | None = None) -> Scenario:
    """Build a scenario deterministically from ``config.seed``.

    Raises ``safeground.errors.ConfigError`` for an unreadable or empty region.
    """
    cfg = config or ScenarioConfig()
    rng = np.random.default_rng(cfg.seed)
    poly, front, rivers, factor, origin, admin_file = region.build_region(rng, cfg)
    grid = terrain.elevation_grid(rng, poly, rivers, cfg.resolution_m)
    tr, elev, _, _ = grid

    def elevation_at(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        c = (np.asarray(x, float) - tr.c) / tr.a
        r = (np.asarray(y, float) - tr.f) / tr.e
        h, w = elev.shape
        return elev[np.clip(r.astype(int), 0, h - 1), np.clip(c.astype(int), 0, w - 1)]

    reg = region.finish_region(rng, cfg, poly, front, rivers, factor, origin, admin_file,
                               elevation_at)
    xy = np.array([[s.x, s.y] for s in reg.settlements])
    radii = np.array([s.radius_m for s in reg.settlements])
    ter = terrain.build_terrain(rng, grid, xy, radii, cfg.resolution_m)
    truth = C.lay_truth(rng, reg, cfg.mining_intensity)
    book = RecordBook(prefix=f"SCN{cfg.seed}")
    obs = observation.observe(rng, cfg, reg, ter, truth, book)
    sc = Scenario(cfg, reg, ter, truth, obs, book)
    if cfg.operations:
        from safeground.scenario import operations

        sc.operations = operations.run(sc)
    return sc


def contaminated_cells(x: np.ndarray, y: np.ndarray) -> int:
    """Number of distinct 25 m cells holding at least one of the given items."""
    if len(x) == 0:
        return 0
    k = np.floor(x / CELL_M).astype(np.int64) * (1 << 24) + np.floor(y / CELL_M).astype(np.int64)
    return len(np.unique(k))


def calibration(sc: Scenario) -> dict[str, float]:
    cfg = sc.config
    it = sc.truth.items
    five = cfg.ceasefire + dt.timedelta(days=151)
    killed = injured = 0
    acc_dates = {r["object_id"]: r["date_of_information"] for r in sc.book.records
                 if r["report_type"] == ReportType.ACCIDENT}
    for r in sc.book.records:
        if r["report_type"] == ReportType.VICTIM and acc_dates[r["accident_id"]] < five.isoformat():
            if r["outcome"] == VictimOutcome.KILLED:
                killed += 1
            else:
                injured += 1
    polys = np.array([a.polygon for a in sc.areas], dtype=object)
    suspected = float(shapely.area(polys).sum()) if len(polys) else 0.0
    inside = np.zeros(len(it), bool)
    if len(polys) and len(it):
        _, item_k = shapely.STRtree(shapely.points(it.x, it.y)).query(
            polys, predicate="intersects")
        inside[item_k] = True
    cells = contaminated_cells(it.x[inside], it.y[inside])
    area_km2 = sc.region.area_km2
    st = sc.region.settlements
    mines = np.isin(it.cat, [C.AP, C.AT])
    return {
        "area_km2": round(area_km2, 1),
        "settlements": len(st),
        "displaced_population": int(sum(s.displaced_population for s in st)),
        "killed_first_5_months": killed,
        "injured_first_5_months": injured,
        "accidents": int((sc.item_state == ACCIDENT).sum()),
        "spot_finds": int((sc.observed.state == FOUND).sum()),
        "hazardous_areas": len(sc.areas),
        "suspected_km2": round(suspected / 1e6, 1),
        "sha_km2": round(sum(a.polygon.area for a in sc.areas
                             if a.classification == "SHA") / 1e6, 1),
        "share_suspected_truly_contaminated": round(cells * CELL_M ** 2 / suspected, 4)
        if suspected else 0.0,
        "items": len(it),
        "mines": int(mines.sum()),
        "items_per_km2": round(len(it) / area_km2, 2),
        "share_items_inside_suspected_areas": round(float(inside.mean()), 4) if len(it) else 0.0,
        "items_in_ground_at_record_end": int((sc.item_state == IN_GROUND).sum()),
        "minefields": sum(1 for s in sc.truth.sites if s.kind.startswith("belt")),
        **_operations_figures(sc),
    }


def _operations_figures(sc: Scenario) -> dict[str, float]:
    """Land released and items found by the early operations, from the record itself."""
    released = {"cancelled": 0.0, "reduced": 0.0, "cleared": 0.0}
    items = 0
    ops_acts = set()
    for r in sc.book.records:
        if r["report_type"] == ReportType.LAND_RELEASE:
            released[r["release"]] += r["geometry"].area
            ops_acts.add(r["activity_id"])
    for r in sc.book.records:
        if r["report_type"] == ReportType.ACTIVITY and r["activity_type"] in (
                "nts", "ts", "clearance"):
            ops_acts.add(r["object_id"])
    for r in sc.book.records:
        if r["report_type"] == ReportType.ORDNANCE and r["activity_id"] in ops_acts:
            items += int(r.get("quantity", 1))
    return {
        "released_km2": round(sum(released.values()) / 1e6, 2),
        **{f"{k}_km2": round(v / 1e6, 2) for k, v in released.items()},
        "items_found_by_operations": items,
        "teams_at_work_at_record_end": sum(
            1 for d in (sc.operations.mobilised.values() if sc.operations else ())
            if d < sc.config.record_end),
    }


def manifest(sc: Scenario) -> dict[str, Any]:
    cfg = sc.config
    return {
        "seed": cfg.seed, "region": cfg.region, "region_names": list(cfg.region_names),
        "ceasefire": cfg.ceasefire.isoformat(), "record_end": cfg.record_end.isoformat(),
        "crs_reports": "EPSG:4326", "crs_context": "EPSG:32638",
        "raster_resolution_m": cfg.resolution_m,
        "files": [file_name(t) for t in FILE_ORDER],
        "calibration": sc.calibration(),
        "attribution": [TOWNS_SOURCE] + (
            ["Region polygons: " + str(cfg.region) + " (see the file's own licence)"]
            if cfg.region not in ("default", "rectangle") else []),
    }

