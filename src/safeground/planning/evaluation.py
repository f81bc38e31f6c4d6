"""Policies scored against the operations twin, where the truth is revealed as work proceeds.

``run_policy`` starts a twin of the scenario, and every ``period_weeks`` builds a planning
instance from what the record knows (``instance_from_twin``), asks a policy for work, gives the
teams the tasks planned to start within the period as work orders, and advances the twin. Teams
are never pulled off a job or a queue they already have (work in progress stays stable): a team
gets new orders only when its queue is empty, and the planner sees it busy until its current job
is expected to end. After ``years`` it reads the twin's metrics: people returned by years 1, 3
and 5, casualties, completion date, and the share of cleared land that held ordnance, two
ways: in m² (the twin's 25 m cells where an item was found, the field's measure) and by area
(all the cleared land of an area where any item was found).

The twin has no travel time and lets teams work every day; ``TWIN_OVERRIDES`` sets the planning
config to match (7 working days a week, no commuting or relocation), sets stage shares near
what its survey model releases, and values casualty risk by ordnance density x exposure
(``casualty_model = "density"``) from the exposure sources on the twin's map.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from safeground.planning.config import PlanningConfig, load_config
from safeground.planning.heuristic import Committed
from safeground.planning.instance import Instance, build_instance
from safeground.planning.policies import POLICIES
from safeground.planning.record import stages_done

TWIN_OVERRIDES: dict[str, Any] = {
    "calendar": {"days_per_week": 7},
    "travel": {"mobilisation_days": 1.0, "commute_limit_km": 1e6, "speed_km_per_hour": 1e6},
    "stages": {"SHA": {"max_cancel": 0.9, "max_reduce": 0.9},
               "CHA": {"contamination_probability": 0.5, "max_reduce": 0.9}},
    # the twin's people and soldiers are on its map (``twin_exposure_sources``), so the
    # casualty term can weigh expected ordnance by where they walk (docs/planning.md §8)
    "benefit": {"casualty_model": "density"},
}


@dataclass(frozen=True)
class TwinRun:
    policy: str
    seed: int
    people_year_1: int
    people_year_3: int
    people_year_5: int
    casualties: int
    civilian_casualties: int
    killed: int
    completion_years: float | None
    share_cleared_with_eo: float
    items_found: int
    cleared_m2: float
    seconds: float
    #: cleared land in the twin's 25 m cells where an item was found (m²)
    cleared_m2_with_eo: float | None = None
    #: cleared land of the areas where any item was found, and its share of all cleared land
    cleared_m2_in_areas_with_eo: float | None = None
    share_cleared_areas_with_eo: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def twin_config() -> PlanningConfig:
    return load_config(overrides=TWIN_OVERRIDES)


def instance_from_twin(twin: Any, now: dt.date, stages_done: dict[str, int],
                       exclude: set[str], horizon_weeks: int = 104,
                       config: PlanningConfig | None = None) -> Instance:
    """A planning instance from the twin's observable state (never its truth).

    ``stages_done`` counts finished stages per area (1 NTS, 2 TS) from the activity reports;
    ``exclude`` holds areas some team is already working or queued on.
    """
    config = config or twin_config()
    open_settlements = [s for s in twin.settlements if not s.returned]
    by_area: dict[str, list[str]] = {}
    for s in open_settlements:
        for a in s.access_area_ids:
            by_area.setdefault(a, []).append(s.id)
    areas = []
    for a in twin.observable_areas():
        if a.status == "closed" or a.remaining_m2 < 1.0 or a.id in exclude:
            continue
        sids = by_area.get(a.id, [])
        p = 0.99 if a.known_items else None
        areas.append({
            "id": a.id, "classification": a.classification, "remaining_m2": a.remaining_m2,
            "x": a.centroid[0], "y": a.centroid[1], "land_use": a.land_use,
            "settlement_ids": sids, "evidence_count": a.evidence_count,
            "contamination_probability": p, "rate_factor": a.terrain_factor,
            "water": a.land_use == "water", "stages_done": stages_done.get(a.id, 0),
            "casualties_nearby": a.direct_evidence_count,
        })
    xs = [a["x"] for a in areas] or [0.0]
    ys = [a["y"] for a in areas] or [0.0]
    cx, cy = float(np.mean(xs)), float(np.mean(ys))
    teams = [{"id": t.id, "asset": t.asset, "productivity_m2_per_day": t.productivity_m2_per_day,
              "base_x": cx, "base_y": cy} for t in twin.teams]
    settlements = [{"id": s.id, "name": s.name, "x": s.xy[0], "y": s.xy[1],
                    "pre_conflict_population": s.pre_conflict_population,
                    "displaced_population": s.displaced_population,
                    "access_area_ids": list(s.access_area_ids)} for s in open_settlements]
    sources = twin_exposure_sources(twin, now, horizon_weeks, config) \
        if config.casualty_model == "density" else None
    return build_instance(areas, settlements, teams, horizon_weeks=horizon_weeks, start=now,
                          config=config, exposure_sources=sources)


#: Time constant (years) over which the soldiers' exposure fades in the twin (docs/scenario.md,
#: "Exposure x density").
MILITARY_FADE_YEARS = 1.5


def twin_exposure_sources(twin: Any, now: dt.date, horizon_weeks: int,
                          config: PlanningConfig) -> list[dict[str, Any]]:
    """Where people are exposed, from what is on the map and in the record (never the items
    or the probes): every settlement with the people living there now (``resident_trips_per_day``
    each) and the displaced still away (``visitor_trips_per_day``), spread over its built-up
    radius + 1.2 km; soldiers along the former front and at positions as docs/scenario.md
    describes them, their rate the mean of its fade over the plan's horizon."""
    from safeground.scenario.observation import exposure_sources

    reg = twin.scenario.region
    base = exposure_sources(reg)
    years = (now - twin.scenario.config.ceasefire).days / 365.25
    span = horizon_weeks * 7 / 365.25
    fade = MILITARY_FADE_YEARS / span * (math.exp(-years / MILITARY_FADE_YEARS)
                                         - math.exp(-(years + span) / MILITARY_FADE_YEARS))
    out = [{"x": float(x), "y": float(y), "trips_per_day": float(r) * fade,
            "scale_m": float(sp) / 2.0, "military": True}
           for x, y, r, sp, m in zip(base.x, base.y, base.rate, base.spread, base.military,
                                     strict=True) if m]
    for s, geo in zip(twin.settlements, reg.settlements, strict=True):
        away = 0 if s.returned else s.displaced_population
        living = max(0, s.pre_conflict_population - s.displaced_population) + (
            s.displaced_population if s.returned else 0)
        trips = config.resident_trips_per_day * living + config.visitor_trips_per_day * away
        out.append({"x": s.xy[0], "y": s.xy[1], "trips_per_day": float(trips),
                    "scale_m": (geo.radius_m + 1200.0) / 2.0, "military": False})
    return out


def _team_load(twin: Any) -> tuple[dict[str, float], set[str], set[str]]:
    """Days each team is still busy (current job and queue), the areas it holds, and the
    teams with orders still queued, from the twin's public ``team_work()``."""
    busy: dict[str, float] = {}
    held: set[str] = set()
    queued: set[str] = set()
    areas = {a.id: a for a in twin.observable_areas()}
    rates = {t.id: t.productivity_m2_per_day for t in twin.teams}
    for tid, (job, rate, queue) in twin.team_work().items():
        days = 0.0
        if job is not None:
            a = areas.get(job.area_id)
            if a is not None:
                days += a.remaining_m2 / max(rate, 1e-9)
                held.add(a.id)
        for o in queue:
            a = areas.get(o.area_id)
            if a is not None:
                days += a.remaining_m2 / max(rates[tid] * a.terrain_factor, 1e-9)
                held.add(a.id)
        if queue and days > 0:
            queued.add(tid)
        busy[tid] = days
    return busy, held, queued


def run_policy(scenario: Any, policy: str, seed: int, *, years: float = 5,
               period_weeks: int = 8, seconds: float = 1.0, horizon_weeks: int = 104,
               start: dt.date = dt.date(2021, 4, 1),
               config: PlanningConfig | None = None) -> TwinRun:
    """Run ``policy`` on a twin of ``scenario`` for ``years`` with rolling re-planning
    (``config``: the planning config, by default ``twin_config()``)."""
    from safeground.scenario.twin import OperationsTwin, WorkOrder

    t0 = time.perf_counter()
    twin = OperationsTwin(scenario, seed=seed, start=start)
    config = config or twin_config()
    fn = POLICIES[policy]
    stages = stages_before(scenario, start)
    cleared: list[tuple[str, Any]] = []      # (area id, cleared land in lon/lat)
    now = start
    end = start + dt.timedelta(days=round(365.25 * years))
    while now < end:
        until = min(end, now + dt.timedelta(weeks=period_weeks))
        busy, held, queued = _team_load(twin)
        inst = instance_from_twin(twin, now, stages, held, horizon_weeks, config)
        orders = []
        if inst.areas:
            free = np.array([busy.get(t.id, 0.0) for t in inst.teams])
            committed = Committed(team_free=free)
            limit = (until - now).days
            for team_id, area_id, activity, day in fn(inst, committed, seconds):
                if day < limit and team_id not in queued:
                    orders.append(WorkOrder(team_id, area_id, activity,
                                            now + dt.timedelta(days=int(day))))
        emitted = twin.advance(orders, until)
        cleared.extend((str(r.get("hazardous_area_id")), r["geometry"]) for r in emitted
                       if str(r.get("report_type")) == "land_release"
                       and str(r.get("release")) == "cleared" and r.get("geometry") is not None)
        reports = [r for r in emitted if str(r.get("report_type")) == "activity"]
        for aid, n in stages_done(reports).items():
            stages[aid] = max(stages.get(aid, 0), n)
        now = until
    m = twin.metrics()
    comp = m.completion_date
    in_areas = cleared_in_areas_with_eo(twin, cleared)
    return TwinRun(
        policy=policy, seed=seed,
        people_year_1=m.people_returned(start + dt.timedelta(days=365)),
        people_year_3=m.people_returned(start + dt.timedelta(days=round(365.25 * 3))),
        people_year_5=m.people_returned(start + dt.timedelta(days=round(365.25 * 5))),
        casualties=m.casualties.killed + m.casualties.injured,
        civilian_casualties=m.casualties.civilian, killed=m.casualties.killed,
        completion_years=((comp - start).days / 365.25) if comp else None,
        share_cleared_with_eo=round(m.share_cleared_with_eo, 4), items_found=m.items_found,
        cleared_m2=round(m.cleared_m2, 1), seconds=round(time.perf_counter() - t0, 1),
        cleared_m2_with_eo=round(m.cleared_m2_with_eo, 1),
        cleared_m2_in_areas_with_eo=round(in_areas, 1),
        share_cleared_areas_with_eo=round(in_areas / m.cleared_m2, 4) if m.cleared_m2 else 0.0)


def cleared_in_areas_with_eo(twin: Any, cleared: list[tuple[str, Any]]) -> float:
    """Cleared land (m²) of the areas where any item has been found (``known_items``), from
    the clearance reports' polygons (lon/lat, measured in the twin's UTM grid)."""
    import shapely

    from safeground.scenario.geo import to_utm

    with_eo = {a.id for a in twin.observable_areas() if a.known_items > 0}
    geoms = [g for aid, g in cleared if aid in with_eo]
    if not geoms:
        return 0.0
    return float(shapely.area(to_utm(np.array(geoms, dtype=object))).sum())


def stages_before(scenario: Any, start: dt.date) -> dict[str, int]:
    """Stages (1 NTS, 2 TS) the scenario's early operations finished before ``start``, as its
    record reports them: the twin starts where they ended, and so does the planner."""
    return stages_done(r for r in scenario.report_records()
                       if str(r.get("report_type")) == "activity"
                       and str(r.get("date_of_information"))[:10] < start.isoformat())


#: The figures ``summarise`` gives per policy (mean and sd over seeds).
SUMMARY_FIGURES = ("people_year_1", "people_year_3", "people_year_5", "casualties",
                   "civilian_casualties", "share_cleared_with_eo", "share_cleared_areas_with_eo",
                   "items_found", "cleared_m2")


def summarise(runs: list[TwinRun]) -> list[dict[str, Any]]:
    """Mean and standard deviation per policy; completion as the share of runs complete and
    the mean years among them."""
    out = []
    for policy in dict.fromkeys(r.policy for r in runs):
        rs = [r for r in runs if r.policy == policy]
        row: dict[str, Any] = {"policy": policy, "runs": len(rs)}
        for key in SUMMARY_FIGURES:
            vals = [getattr(r, key) for r in rs if getattr(r, key) is not None]
            if not vals:
                continue
            v = np.array(vals, dtype=float)
            row[f"{key}_mean"] = float(v.mean())
            row[f"{key}_sd"] = float(v.std(ddof=1)) if len(v) > 1 else 0.0
        comp = [r.completion_years for r in rs if r.completion_years is not None]
        row["completed_runs"] = len(comp)
        row["completion_years_mean"] = float(np.mean(comp)) if comp else None
        out.append(row)
    return out


def bootstrap_interval(d: np.ndarray, level: float = 0.95, draws: int = 10_000,
                       seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of paired differences ``d`` (seeds drawn
    with replacement; a fixed seed, so the same runs give the same interval)."""
    d = np.asarray(d, dtype=float)
    if len(d) < 2:
        return (float(d.mean()), float(d.mean())) if len(d) else (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, len(d), size=(draws, len(d)))].mean(axis=1)
    tail = (1.0 - level) / 2.0
    return float(np.quantile(means, tail)), float(np.quantile(means, 1.0 - tail))


def paired(runs: list[TwinRun], baseline: str, policy: str) -> list[dict[str, Any]]:
    """``policy`` against ``baseline`` on the seeds both ran: per figure the mean and standard
    deviation of the difference (policy − baseline), its 95 % bootstrap interval, its smallest
    and largest value, and on how many seeds the policy was ahead (more people; fewer
    casualties)."""
    base = {r.seed: r for r in runs if r.policy == baseline}
    other = {r.seed: r for r in runs if r.policy == policy}
    seeds = sorted(set(base) & set(other))
    out = []
    for key, more_is_better in (("people_year_1", True), ("people_year_3", True),
                                ("people_year_5", True), ("casualties", False),
                                ("civilian_casualties", False)):
        if not seeds:
            break
        d = np.array([getattr(other[s], key) - getattr(base[s], key) for s in seeds], float)
        ahead = int((d > 0).sum() if more_is_better else (d < 0).sum())
        low, high = bootstrap_interval(d)
        out.append({"figure": key, "seeds": len(seeds), "mean_difference": float(d.mean()),
                    "sd": float(d.std(ddof=1)) if len(d) > 1 else 0.0,
                    "ci95_low": low, "ci95_high": high,
                    "min": float(d.min()), "max": float(d.max()),
                    f"{policy}_ahead_on": ahead})
    return out


def runs_from_jsonl(paths: list[Any]) -> list[TwinRun]:
    """Twin runs written by ``plan compare --twin --out`` (one JSON object per line)."""
    import json

    runs = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            runs.extend(TwinRun(**json.loads(line)) for line in f if line.strip())
    return runs


def plan_scenario(scenario: Any, *, start: dt.date = dt.date(2021, 4, 1),
                  horizon_weeks: int = 104, seconds: float = 5.0) -> Any:
    """A plan for a generated scenario from what its record knows on ``start`` (for
    ``make demo``): the twin is only read, never advanced."""
    from safeground.planning.heuristic import plan_heuristic
    from safeground.scenario.twin import OperationsTwin

    twin = OperationsTwin(scenario, seed=0, start=start)
    inst = instance_from_twin(twin, start, {}, set(), horizon_weeks)
    return plan_heuristic(inst, seconds=seconds, method="optimised")
