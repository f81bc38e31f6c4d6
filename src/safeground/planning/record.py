"""A planning instance from the national record itself (``Ledger``), with risk where present.

Areas are the open hazardous areas with their remaining land (centroids in the programme's UTM
zone); settlements are the recorded settlements with the people still displaced; teams are the
recorded survey and clearance teams; casualties are the victims of accidents linked to each
area; the stages of land release already done (NTS, TS) come from the area's completed
activities, so work already reported is not planned again. (Funded reconstruction is not yet
part of the record, so that criterion sees nothing here.) A risk ranking (``safeground risk
rank``), when given, supplies each area's contamination probability; without it the planner
falls back on the classification and evidence count, so planning works from the record alone.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from safeground.errors import ConfigError
from safeground.geometry import Projector
from safeground.ledger import Ledger
from safeground.planning.instance import Instance, build_instance
from safeground.vocabulary import ActivityStatus, ActivityType, HazardStatus, ReportType

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


def instance_from_record(ledger: Ledger, *, start: dt.date, horizon_weeks: int,
                         risk: dict[str, float] | None = None, **kwargs: Any) -> Instance:
    """Build the planning instance from the record (and an optional area -> probability map).

    Raises ValidationError (from ``build_instance``) when the record cannot be planned."""
    proj = Projector(ledger.settings.utm_epsg)
    evidence = Counter(e.get("hazardous_area_id")
                       for e in ledger.objects(ReportType.EVIDENCE))
    # casualties in or linked to each area (ANAMA's first priority: life-threatening areas)
    accident_area = {a["id"]: a.get("hazardous_area_id")
                     for a in ledger.objects(ReportType.ACCIDENT)}
    casualties = Counter(accident_area.get(v["accident_id"])
                         for v in ledger.objects(ReportType.VICTIM))
    done = stages_done(ledger.objects(ReportType.ACTIVITY))
    areas = []
    for a in ledger.objects(ReportType.HAZARDOUS_AREA):
        if a["status"] == HazardStatus.CLOSED.value or a["remaining_geometry"] is None:
            continue
        c = proj.to_metric(a["remaining_geometry"]).centroid
        rec = {"id": a["id"], "classification": a["classification"],
               "remaining_m2": a["remaining_m2"], "x": c.x, "y": c.y,
               "settlement_ids": a.get("settlement_id") or "",
               "land_use": a.get("land_use") or "other",
               "road": a.get("land_use") == "road", "water": a.get("land_use") == "water",
               "evidence_count": evidence.get(a["id"], 0), "status": a["status"],
               "casualties_nearby": casualties.get(a["id"], 0),
               "stages_done": done.get(a["id"], 0)}
        if risk and a["id"] in risk:
            rec["contamination_probability"] = risk[a["id"]]
        areas.append(rec)
    settlements = []
    for s in ledger.objects(ReportType.SETTLEMENT):
        p = proj.to_metric(s["geometry"]).centroid
        still = max(0, (s.get("displaced_population") or 0) - (s.get("returned_population") or 0))
        settlements.append({"id": s["id"], "name": s["name"], "x": p.x, "y": p.y,
                            "pre_conflict_population": s["pre_conflict_population"],
                            "displaced_population": still})
    teams = [{"id": t["id"], "asset": t["asset"]} for t in ledger.objects(ReportType.TEAM)
             if t["asset"] in PLANNED_ASSETS]
    return build_instance(areas, settlements, teams, horizon_weeks=horizon_weeks, start=start,
                          **kwargs)
