"""The planning instance: hazardous areas, settlements, teams and the limits of a plan.

Plain frozen values, built from plain records with ``build_instance`` so that the national
record, the scenario twin and a user's CSV files all feed the planner the same way. Distances
are in metres in a projected CRS (UTM), never degrees.

Raises ``ValidationError`` (code ``PLAN_INSTANCE_INVALID``) when records are inconsistent.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from safeground.errors import ValidationError
from safeground.planning.config import ASSETS, DEFAULT_CONFIG, PlanningConfig
from safeground.record.problems import Problem


@dataclass(frozen=True, slots=True)
class Area:
    """A hazardous area as the planner sees it.

    ``stages_done`` counts finished stages of land release: 0 none, 1 NTS done, 2 TS done.
    ``contamination_probability`` is the chance the area holds any EO (risk model, else a
    default from classification raised by each piece of evidence).
    """

    id: str
    classification: str
    remaining_m2: float
    x: float
    y: float
    contamination_probability: float
    terrain: str = "open"
    land_use: str = "other"
    settlement_ids: tuple[str, ...] = ()
    road: bool = False
    water: bool = False
    funded_reconstruction: bool = False
    casualties_nearby: int = 0
    stages_done: int = 0
    rate_factor: float = 1.0
    geometry: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Settlement:
    """A settlement waiting for its people; they can return when every access area is released."""

    id: str
    x: float
    y: float
    pre_conflict_population: int
    displaced_population: int
    access_area_ids: tuple[str, ...] = ()
    name: str = ""


@dataclass(frozen=True, slots=True)
class ExposureSource:
    """Where people walk, farm, graze or patrol: ``trips_per_day`` person-trips a day landing
    around (x, y), thinning out with distance over ``scale_m`` (the density falls by e every
    ``scale_m`` metres). ``military`` marks soldiers (positions, the former front)."""

    x: float
    y: float
    trips_per_day: float
    scale_m: float
    military: bool = False


@dataclass(frozen=True, slots=True)
class Team:
    id: str
    asset: str
    productivity_m2_per_day: float
    base_x: float
    base_y: float
    monthly_cost: float


@dataclass(frozen=True, slots=True)
class Instance:
    """Everything one plan is made for. ``monthly_*`` limits are None when unlimited."""

    areas: tuple[Area, ...]
    settlements: tuple[Settlement, ...]
    teams: tuple[Team, ...]
    horizon_weeks: int
    start: date = date(2021, 4, 1)
    monthly_capacity_team_days: float | None = None
    monthly_budget: float | None = None
    config: PlanningConfig = field(default=DEFAULT_CONFIG, compare=False, repr=False)
    #: where people are exposed (``casualty_model = "density"``); empty: from the settlements
    exposure_sources: tuple[ExposureSource, ...] = ()

    def area_index(self) -> dict[str, int]:
        return {a.id: i for i, a in enumerate(self.areas)}

    def with_teams(self, teams: Iterable[Team]) -> Instance:
        return replace(self, teams=tuple(teams))


def _get(rec: Any, key: str, default: Any = None) -> Any:
    value = rec.get(key, default) if isinstance(rec, Mapping) else getattr(rec, key, default)
    if value is None:
        return default
    if isinstance(value, float) and math.isnan(value):
        return default
    return value


def _records(data: Any) -> list[Any]:
    """Lists of dicts, objects with attributes, or (Geo)DataFrames -> list of records."""
    if data is None:
        return []
    if hasattr(data, "to_dict") and hasattr(data, "columns"):
        return data.to_dict("records")
    return list(data)


def _ids(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.replace(";", ",").split(",") if v.strip())
    return tuple(str(v) for v in value)


def contamination_probability(classification: str, evidence_count: int = 0,
                              config: PlanningConfig = DEFAULT_CONFIG) -> float:
    """The default chance an area holds EO when no risk model has scored it."""
    p0 = config.stages[classification].contamination_probability
    return 1.0 - (1.0 - p0) * (1.0 - config.evidence_per_item) ** max(0, evidence_count)


def _xy(rec: Any) -> tuple[float, float] | None:
    x, y = _get(rec, "x"), _get(rec, "y")
    if x is not None and y is not None:
        return float(x), float(y)
    geom = _get(rec, "geometry") or _get(rec, "polygon")
    if geom is not None and hasattr(geom, "centroid"):
        c = geom.centroid
        return float(c.x), float(c.y)
    xy = _get(rec, "xy") or _get(rec, "centroid")
    if xy is not None:
        return float(xy[0]), float(xy[1])
    return None


def _area(rec: Any, row: int, config: PlanningConfig, problems: list[Problem]) -> Area | None:
    where = f"areas row {row}"
    aid = _get(rec, "id") or _get(rec, "area_id")
    cls = str(_get(rec, "classification", "SHA")).upper()
    xy = _xy(rec)
    remaining = _get(rec, "remaining_m2")
    if remaining is None:
        geom = _get(rec, "geometry") or _get(rec, "polygon")
        remaining = getattr(geom, "area", None)
    bad = []
    if not aid:
        bad.append(("id", "an area needs an id"))
    if cls not in config.stages:
        bad.append(("classification", f"'{cls}' is not one of SHA, CHA"))
    if xy is None:
        bad.append(("x", "an area needs x/y, a centroid or a geometry"))
    if remaining is None or float(remaining) < 0:
        bad.append(("remaining_m2", "an area needs a remaining area >= 0 m²"))
    for fld, reason in bad:
        problems.append(Problem("PLAN_INSTANCE_INVALID", where=where, field=fld,
                                params={"what": "area", "reason": reason}))
    if bad:
        return None
    p = _get(rec, "contamination_probability")
    if p is None:
        p = _get(rec, "risk")
    if p is None:
        p = contamination_probability(cls, int(_get(rec, "evidence_count", 0)), config)
    terrain = str(_get(rec, "terrain", "open"))
    if terrain not in config.terrain:
        terrain = "open"
    settlements = _ids(_get(rec, "settlement_ids")) or _ids(_get(rec, "settlement_id"))
    status = str(_get(rec, "status", "open"))
    stages_done = int(_get(rec, "stages_done", 0))
    if status == "worked_on" and stages_done == 0 and cls == "CHA":
        stages_done = 1
    return Area(
        id=str(aid), classification=cls, remaining_m2=float(remaining),
        x=xy[0], y=xy[1], contamination_probability=min(1.0, max(0.0, float(p))),
        terrain=terrain, land_use=str(_get(rec, "land_use", "other")),
        settlement_ids=settlements, road=bool(_get(rec, "road", False)),
        water=bool(_get(rec, "water", False)),
        funded_reconstruction=bool(_get(rec, "funded_reconstruction", False)),
        casualties_nearby=int(_get(rec, "casualties_nearby", 0)),
        stages_done=stages_done,
        rate_factor=float(_get(rec, "rate_factor", _get(rec, "terrain_factor", 1.0))),
        geometry=_get(rec, "geometry") or _get(rec, "polygon"))


def _team(rec: Any, row: int, config: PlanningConfig, problems: list[Problem]) -> Team | None:
    tid = _get(rec, "id") or _get(rec, "team_id")
    asset = str(_get(rec, "asset", "")).lower()
    if not tid or asset not in ASSETS:
        problems.append(Problem("PLAN_INSTANCE_INVALID", where=f"teams row {row}",
                                field="asset" if tid else "id",
                                params={"what": "team",
                                        "reason": f"asset '{asset}' is not one of "
                                                  f"{', '.join(ASSETS)}" if tid
                                        else "a team needs an id"}))
        return None
    rate = _get(rec, "productivity_m2_per_day") or config.team_rate[asset]
    bx = _get(rec, "base_x", _get(rec, "x", 0.0))
    by = _get(rec, "base_y", _get(rec, "y", 0.0))
    return Team(id=str(tid), asset=asset, productivity_m2_per_day=float(rate),
                base_x=float(bx), base_y=float(by),
                monthly_cost=float(_get(rec, "monthly_cost", config.monthly_cost[asset])))


def build_instance(areas: Any, settlements: Any, teams: Any, *, horizon_weeks: int,
                   start: date = date(2021, 4, 1),
                   monthly_capacity_team_days: float | None = None,
                   monthly_budget: float | None = None,
                   config: PlanningConfig = DEFAULT_CONFIG,
                   exposure_sources: Any = None) -> Instance:
    """An ``Instance`` from plain records: lists of dicts, objects or (Geo)DataFrames.

    Area keys: id, classification, remaining_m2 (or a metric geometry), x/y (or geometry),
    contamination_probability (or risk; else from classification and evidence_count), terrain,
    land_use, settlement_ids (list or comma-separated), road, water, funded_reconstruction,
    casualties_nearby, stages_done / status, rate_factor (or terrain_factor). Settlement keys:
    id, x/y, pre_conflict_population, displaced_population, access_area_ids (else the areas
    that name the settlement). Team keys: id, asset, productivity_m2_per_day (else the config
    default), base_x/base_y, monthly_cost. Exposure source keys (optional; the planner's
    ``casualty_model = "density"`` reads them): x, y, trips_per_day, scale_m, military.

    Areas with no remaining land are left out. Raises ``ValidationError`` listing every problem.
    """
    problems: list[Problem] = []
    area_list = [a for i, r in enumerate(_records(areas), 1)
                 if (a := _area(r, i, config, problems)) is not None]
    area_list = [a for a in area_list if a.remaining_m2 > 0]
    ids = {a.id for a in area_list}
    by_settlement: dict[str, list[str]] = {}
    for a in area_list:
        for s in a.settlement_ids:
            by_settlement.setdefault(s, []).append(a.id)
    sett_list = []
    for i, rec in enumerate(_records(settlements), 1):
        sid = _get(rec, "id") or _get(rec, "settlement_id")
        xy = _xy(rec)
        if not sid or xy is None:
            problems.append(Problem("PLAN_INSTANCE_INVALID", where=f"settlements row {i}",
                                    field="id" if not sid else "x",
                                    params={"what": "settlement",
                                            "reason": "a settlement needs an id and x/y"}))
            continue
        access = _ids(_get(rec, "access_area_ids")) or tuple(by_settlement.get(str(sid), ()))
        sett_list.append(Settlement(
            id=str(sid), x=xy[0], y=xy[1],
            pre_conflict_population=int(_get(rec, "pre_conflict_population", 0)),
            displaced_population=int(_get(rec, "displaced_population", 0)),
            # released areas drop out of the instance; their settlements only wait for the rest
            access_area_ids=tuple(a for a in access if a in ids),
            name=str(_get(rec, "name", ""))))
    team_list = [t for i, r in enumerate(_records(teams), 1)
                 if (t := _team(r, i, config, problems)) is not None]
    for label, seq in (("area", area_list), ("settlement", sett_list), ("team", team_list)):
        seen: set[str] = set()
        for obj in seq:
            if obj.id in seen:
                problems.append(Problem("PLAN_INSTANCE_INVALID", where=f"{label} {obj.id}",
                                        params={"what": label, "reason": "duplicate id"}))
            seen.add(obj.id)
    source_list = []
    for i, rec in enumerate(_records(exposure_sources), 1):
        xy, trips, scale = _xy(rec), _get(rec, "trips_per_day"), _get(rec, "scale_m")
        if xy is None or trips is None or scale is None or float(trips) < 0 \
                or float(scale) <= 0:
            problems.append(Problem("PLAN_INSTANCE_INVALID", where=f"exposure sources row {i}",
                                    params={"what": "exposure source",
                                            "reason": "needs x/y, trips_per_day >= 0 and "
                                                      "scale_m > 0"}))
            continue
        source_list.append(ExposureSource(xy[0], xy[1], float(trips), float(scale),
                                          bool(_get(rec, "military", False))))
    if horizon_weeks < 1:
        problems.append(Problem("PLAN_INSTANCE_INVALID", field="horizon_weeks",
                                params={"what": "instance", "reason": "horizon must be >= 1 week"}))
    if problems:
        raise ValidationError(problems)
    return Instance(areas=tuple(area_list), settlements=tuple(sett_list), teams=tuple(team_list),
                    horizon_weeks=int(horizon_weeks), start=start,
                    monthly_capacity_team_days=monthly_capacity_team_days,
                    monthly_budget=monthly_budget, config=config,
                    exposure_sources=tuple(source_list))
