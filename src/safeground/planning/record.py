"""A planning instance from the national record itself (``Ledger``), with risk where present.

Areas are the open hazardous areas with their remaining land (centroids in the programme's UTM
zone); settlements are the recorded settlements with the people still displaced, each waiting on
the areas the record links to it and those the access rule finds around it and along its roads
(``settlements.access_areas``: the planning config's ``[access]``, with the built-up radius and
roads of the context layers when given, the same rule the operations twin uses); teams are the
recorded survey and clearance teams, each setting out from where its latest activity was (the
middle of the open areas for a team without one) at the rate its asset has shown in the record's
completed activities (``productivity.measured_rates``; the config's rate where too few are
recorded); casualties are the victims of accidents linked to each
area; the stages of land release already done (NTS, TS) come from the area's completed
activities, so work already reported is not planned again. Funded reconstruction (priority
criterion 4, and its value per week once released) is not part of the field record: an area
counts as holding it when it meets a project of the context layers' ``reconstruction`` layer
ready to start by the plan's first day (``ready_date``). A risk ranking (``safeground risk
rank``), when given, supplies each area's contamination probability; without it the planner
falls back on the classification and evidence count, so planning works from the record alone.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely

from safeground.errors import ConfigError
from safeground.planning.config import DEFAULT_CONFIG, PlanningConfig
from safeground.planning.instance import Instance, build_instance
from safeground.planning.productivity import measured_rates
from safeground.record.domain.settlements import access_areas
from safeground.record.geometry import Projector
from safeground.record.ledger import Ledger
from safeground.record.vocabulary import ActivityStatus, ActivityType, HazardStatus, ReportType
from safeground.risk.context import ContextLayers

PLANNED_ASSETS = {"nts", "ts", "manual", "dog", "machine"}
#: finished stages an area's completed activity of each type stands for (the planner's
#: ``stages_done``: 1 NTS done, 2 TS done; clearance closes the area itself)
STAGES_DONE = {ActivityType.NTS.value: 1, ActivityType.TS.value: 2}


def risk_from_ranking(path: str | Path) -> dict[str, float]:
    """Area id -> contamination probability from the CSV ``safeground risk rank --out``
    writes (its id column, ``object_id`` by default, and ``mean_probability``)."""
    import pandas as pd

    if not Path(path).exists():
        raise ConfigError(f"risk ranking not found: {path}", code="PLAN_INSTANCE_INVALID")
    t = pd.read_csv(path)
    ids = next((c for c in ("object_id", "id", "hazardous_area_id") if c in t.columns), None)
    if ids is None or "mean_probability" not in t.columns:
        raise ConfigError(f"{path}: a risk ranking needs an id column (object_id) and "
                          "mean_probability", code="PLAN_INSTANCE_INVALID")
    return dict(zip(t[ids].astype(str), t["mean_probability"].astype(float), strict=True))


def stages_done(activities: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Per hazardous area, the land-release stages its completed activities have finished
    (activities as the record's objects or as activity reports)."""
    done: dict[str, int] = {}
    for act in activities:
        area = act.get("hazardous_area_id")
        n = STAGES_DONE.get(str(act.get("activity_type")), 0)
        if area and n and str(act.get("status")) == ActivityStatus.COMPLETED.value:
            done[str(area)] = max(done.get(str(area), 0), n)
    return done


#: where a work directory keeps its context layers: its own, else the demo scenario's
WORK_CONTEXT_DIRS = ("context", "scenario/context")


def context_in(work_dir: str | Path) -> Path | None:
    """The context layers of a work directory (``safeground demo`` writes the scenario's under
    ``scenario/context``), or None."""
    return next((Path(work_dir) / d for d in WORK_CONTEXT_DIRS
                 if (Path(work_dir) / d).is_dir()), None)


@dataclass(frozen=True)
class _Context:
    """What the planner takes from the context layers: built-up radius per settlement id, a
    tree of the roads, and the footprints of funded reconstruction ready to start."""

    radius: Mapping[str, float]
    roads: shapely.STRtree | None
    reconstruction: shapely.STRtree | None


def _context(context: ContextLayers | str | Path | None, crs: str, start: dt.date) -> _Context:
    if context is None:
        return _Context({}, None, None)
    if not isinstance(context, ContextLayers):
        if not Path(context).is_dir():
            raise ConfigError(f"context layers not found: {context}",
                              code="PLAN_INSTANCE_INVALID")
        folder = Path(context).resolve()
        context = _read_context(str(folder), crs, tuple(
            (f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in sorted(folder.iterdir())
            if f.is_file()))
    elif context.crs != crs:
        raise ConfigError(f"context layers are in {context.crs}, the record in {crs}",
                          code="PLAN_INSTANCE_INVALID")
    radius: dict[str, float] = {}
    s = context.vectors.get("settlements")
    if s is not None and {"settlement_id", "radius_m"} <= set(s.columns):
        radius = {str(k): float(v) for k, v in zip(s["settlement_id"], s["radius_m"], strict=True)
                  if v is not None and v == v}
    return _Context(radius, _tree(context.vectors.get("roads")),
                    _tree(_ready(context.vectors.get("reconstruction"), start)))


@functools.lru_cache(maxsize=4)
def _read_context(folder: str, crs: str,
                  files: tuple[tuple[str, int, int], ...]) -> ContextLayers:
    """The context layers of a folder, read once while its files stay as they are (``files``:
    names, modification times and sizes; the web app's settlement pages read them on every view)."""
    return ContextLayers.from_directory(folder, crs=crs)


def _ready(projects: Any, start: dt.date) -> Any:
    """The funded reconstruction projects ready to start by ``start`` (no ``ready_date``, or
    one on or before it); a ``ready_date`` that is not a date is refused."""
    if projects is None or "ready_date" not in projects.columns:
        return projects
    import pandas as pd

    dates = pd.to_datetime(projects["ready_date"], errors="coerce")
    bad = projects["ready_date"].notna() & dates.isna()
    if bad.any():
        raise ConfigError(f"context layer reconstruction, row {int(bad.to_numpy().argmax()) + 1},"
                          f" field ready_date: {projects['ready_date'][bad].iloc[0]!r} is not a "
                          "date (YYYY-MM-DD)", code="PLAN_INSTANCE_INVALID",
                          details={"layer": "reconstruction", "field": "ready_date"})
    return projects[dates.isna() | (dates.dt.date <= start)]


def _tree(layer: Any) -> shapely.STRtree | None:
    geoms = [g for g in layer.geometry if g is not None and not g.is_empty] \
        if layer is not None else []
    return shapely.STRtree(geoms) if geoms else None


def instance_from_record(ledger: Ledger, *, start: dt.date, horizon_weeks: int,
                         risk: dict[str, float] | None = None,
                         context: ContextLayers | str | Path | None = None,
                         config: PlanningConfig = DEFAULT_CONFIG, **kwargs: Any) -> Instance:
    """Build the planning instance from the record (and an optional area -> probability map).

    ``context``: the context layers (a directory as for ``safeground risk fit --context``, or
    loaded ``ContextLayers``); their roads and settlements' ``radius_m`` sharpen the access
    rule. Raises ConfigError for a missing context directory, ValidationError (from
    ``build_instance``) when the record cannot be planned."""
    crs = f"EPSG:{ledger.settings.utm_epsg}"
    proj = Projector(ledger.settings.utm_epsg)
    evidence = Counter(e.get("hazardous_area_id")
                       for e in ledger.objects(ReportType.EVIDENCE))
    # casualties in or linked to each area (ANAMA's first priority: life-threatening areas)
    accident_area = {a["id"]: a.get("hazardous_area_id")
                     for a in ledger.objects(ReportType.ACCIDENT)}
    casualties = Counter(accident_area.get(v["accident_id"])
                         for v in ledger.objects(ReportType.VICTIM))
    activities = ledger.objects(ReportType.ACTIVITY)
    done = stages_done(activities)
    rows, shapes = _open_areas(ledger, proj)
    areas = []
    for a, shape in zip(rows, shapes, strict=True):
        c = shape.centroid
        rec = {"id": a["id"], "classification": a["classification"],
               "remaining_m2": a["remaining_m2"], "x": c.x, "y": c.y,
               "land_use": a.get("land_use") or "other",
               "road": a.get("land_use") == "road", "water": a.get("land_use") == "water",
               "evidence_count": evidence.get(a["id"], 0), "status": a["status"],
               "casualties_nearby": casualties.get(a["id"], 0),
               "stages_done": done.get(a["id"], 0)}
        if risk and a["id"] in risk:
            rec["contamination_probability"] = risk[a["id"]]
        areas.append(rec)
    ctx = _context(context, crs, start)
    tree = shapely.STRtree(shapes)
    if ctx.reconstruction is not None and shapes:
        for k in set(ctx.reconstruction.query(shapes, predicate="intersects")[0].tolist()):
            areas[k]["funded_reconstruction"] = True
    linked = _linked(rows)
    waits: dict[str, list[str]] = {}           # area id -> the settlements waiting on it
    settlements = []
    for s in ledger.objects(ReportType.SETTLEMENT):
        p = proj.to_metric(s["geometry"]).centroid
        still = max(0, (s.get("displaced_population") or 0) - (s.get("returned_population") or 0))
        access = {areas[k]["id"] for k in _waits_on(config, tree, linked, s["id"], p, ctx)}
        if still:
            for aid in access:
                waits.setdefault(aid, []).append(s["id"])
        settlements.append({"id": s["id"], "name": s["name"], "x": p.x, "y": p.y,
                            "pre_conflict_population": s["pre_conflict_population"],
                            "displaced_population": still, "access_area_ids": sorted(access)})
    for rec in areas:
        rec["settlement_ids"] = sorted(waits.get(rec["id"], ()))
    rates = measured_rates(ledger, config=config, activities=activities)
    bases = _team_bases(activities, proj, shapes)
    teams = [{"id": t["id"], "asset": t["asset"],
              "productivity_m2_per_day": rates[t["asset"]].used_m2_per_day,
              "base_x": bases[t["id"]][0], "base_y": bases[t["id"]][1]}
             for t in ledger.objects(ReportType.TEAM) if t["asset"] in PLANNED_ASSETS]
    return build_instance(areas, settlements, teams,
                          horizon_weeks=horizon_weeks, start=start, config=config, **kwargs)


def settlement_access(ledger: Ledger, settlement_id: str, *,
                      context: ContextLayers | str | Path | None = None,
                      config: PlanningConfig = DEFAULT_CONFIG,
                      as_of: dt.date | None = None) -> list[dict[str, Any]]:
    """The open hazardous areas a settlement's return waits on (now, or as known on
    ``as_of``), by the rule ``instance_from_record`` plans with, each with why: ``linked``
    (the record links it to the settlement), ``near`` (within the built-up radius + margin) or
    ``road`` (along a road leaving the settlement), and its remaining land (``geometry``,
    lon/lat as stored). Raises NotFoundError for an unknown
    settlement, ConfigError for a missing context directory."""
    crs = f"EPSG:{ledger.settings.utm_epsg}"
    proj = Projector(ledger.settings.utm_epsg)
    s = ledger.get(ReportType.SETTLEMENT, settlement_id, as_of)
    ctx = _context(context, crs, as_of or dt.date.today())
    rows, shapes = _open_areas(ledger, proj, as_of)
    if s.get("geometry") is None or not rows:
        return []
    why = _waits_on(config, shapely.STRtree(shapes), _linked(rows), settlement_id,
                    proj.to_metric(s["geometry"]).centroid, ctx)
    out = [{"id": a["id"], "classification": a["classification"], "status": a["status"],
            "land_use": a.get("land_use"), "remaining_m2": a["remaining_m2"], "why": why[k],
            "geometry": a["remaining_geometry"]} for k, a in enumerate(rows) if k in why]
    return sorted(out, key=lambda r: r["id"])


def _team_bases(activities: list[dict[str, Any]], proj: Projector, shapes: list[Any]
                ) -> dict[str, tuple[float, float]]:
    """Team id -> where it sets out from, in metres: where its latest recorded activity was,
    else the middle of the open areas (the record holds no team bases)."""
    if shapes:
        box = shapely.GeometryCollection(shapes).bounds
        centre = ((box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0)
    else:
        centre = (0.0, 0.0)
    latest: dict[str, tuple[str, Any]] = {}
    for act in activities:
        tid, where = act.get("team_id"), act.get("geometry")
        day = str(act.get("end_date") or act.get("start_date"))
        if tid and where is not None and (tid not in latest or day >= latest[tid][0]):
            latest[tid] = (day, where)
    out: dict[str, tuple[float, float]] = defaultdict(lambda: centre)
    for tid, (_, where) in latest.items():
        c = proj.to_metric(where).centroid
        out[tid] = (float(c.x), float(c.y))
    return out


def _open_areas(ledger: Ledger, proj: Projector, as_of: dt.date | None = None
                ) -> tuple[list[dict[str, Any]], list[Any]]:
    """The open hazardous areas with remaining land (now, or as known on ``as_of``), and that
    land in metres."""
    rows = [a for a in ledger.objects(ReportType.HAZARDOUS_AREA, as_of)
            if a["status"] != HazardStatus.CLOSED.value and a["remaining_geometry"] is not None]
    return rows, [proj.to_metric(a["remaining_geometry"]) for a in rows]


def _linked(rows: list[dict[str, Any]]) -> dict[str, list[int]]:
    """Settlement id -> the indices of the areas the record links to it."""
    out: dict[str, list[int]] = {}
    for k, a in enumerate(rows):
        if a.get("settlement_id"):
            out.setdefault(a["settlement_id"], []).append(k)
    return out


def _waits_on(config: PlanningConfig, tree: shapely.STRtree, linked: dict[str, list[int]],
              settlement_id: str, centre: Any, ctx: _Context) -> dict[int, str]:
    """The areas (indices into ``tree``) a settlement waits on, each with why: the areas the
    record links to it, then those the access rule finds near it, then along its roads."""
    radius = ctx.radius.get(settlement_id)
    why = {k: "road" for k in access_areas(config.access, tree, centre.x, centre.y, radius,
                                           ctx.roads)} if ctx.roads is not None else {}
    why.update({k: "near" for k in access_areas(config.access, tree, centre.x, centre.y,
                                                radius)})
    why.update({k: "linked" for k in linked.get(settlement_id, ())})
    return why
