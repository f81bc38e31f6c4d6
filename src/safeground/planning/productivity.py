"""Team productivity measured from the record: what each asset has actually achieved.

The planning config's rates (``[productivity]``) are defaults. A programme that has worked for a
while holds better figures in its own record: every completed NTS, TS and clearance activity
says which team worked which area from which day to which day, and its land-release reports say
what came of it. ``measured_rates`` turns them into one rate per asset in the planner's units —
m² of the task worked per working day on the ground, the set-up of each task taken off — so
that a plan and its completion forecast run at the pace the teams have shown.

What an activity worked (the planner's task sizes, ``model``): NTS and TS work the land still
open on the area when they start (its original land less what earlier reports released);
clearance works the land it cleared. Days are calendar days from start to end inclusive,
counted as ``days_per_week`` working days a week, and a team's overlapping activities count
their shared days once. An asset's rate is used where at least ``record_min_activities`` of its
activities were measured; the config's figure stands for the others. The record's areas carry
no terrain, so the rates are the planner's "open ground" rates, as its record instances use.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from safeground.planning.config import ASSETS, DEFAULT_CONFIG, PlanningConfig
from safeground.record.ledger import Ledger
from safeground.record.vocabulary import ActivityStatus, ActivityType, ReportType

#: activity types that are a stage of land release the planner schedules
STAGE_ACTIVITIES = {ActivityType.NTS.value, ActivityType.TS.value,
                    ActivityType.CLEARANCE.value}


@dataclass(frozen=True, slots=True)
class Rate:
    """One asset's rate: measured from the record, and the one plans use."""

    asset: str
    activities: int            # activities measured
    teams: int                 # teams they were done by
    worked_m2: float           # land worked (the planner's task sizes)
    team_days: float           # working days, overlaps counted once
    measured_m2_per_day: float | None
    config_m2_per_day: float
    used_m2_per_day: float
    source: str                # "record" or "config"

    def row(self) -> dict[str, Any]:
        return asdict(self)


def measured_rates(ledger: Ledger, *, config: PlanningConfig = DEFAULT_CONFIG,
                   as_of: dt.date | None = None,
                   activities: list[dict[str, Any]] | None = None) -> dict[str, Rate]:
    """Per planned asset, the rate the record shows and the rate plans use (see the module).
    ``activities``: the record's activity objects when the caller has read them already."""
    proj = ledger.projector
    areas = {a["id"]: a for a in ledger.objects(ReportType.HAZARDOUS_AREA, as_of=as_of)}
    released: dict[str, list[tuple[dt.date, float, str]]] = defaultdict(list)
    by_activity: dict[str, float] = defaultdict(float)
    for r in ledger.objects(ReportType.LAND_RELEASE, as_of=as_of):
        if r.get("geometry") is None:
            continue
        m2 = float(proj.to_metric(r["geometry"]).area)
        released[str(r.get("hazardous_area_id"))].append(
            (_date(r["first_date"]), m2, str(r.get("activity_id"))))
        by_activity[str(r.get("activity_id"))] += m2
    assets = {t["id"]: t.get("asset") for t in ledger.objects(ReportType.TEAM, as_of=as_of)}
    worked: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    spans: dict[tuple[str, str], list[tuple[dt.date, dt.date]]] = defaultdict(list)
    if activities is None:
        activities = ledger.objects(ReportType.ACTIVITY, as_of=as_of)
    for act in activities:
        kind = str(act.get("activity_type"))
        if kind not in STAGE_ACTIVITIES or str(act.get("status")) != \
                ActivityStatus.COMPLETED.value or not act.get("end_date"):
            continue
        asset = str(act.get("asset") or assets.get(act.get("team_id")) or "")
        start, end = _date(act["start_date"]), _date(act["end_date"])
        if asset not in ASSETS or not act.get("team_id") or end < start:
            continue
        m2 = _worked(act, kind, start, areas, released, by_activity)
        if m2 <= 0:
            continue
        worked[asset] += m2
        count[asset] += 1
        spans[asset, str(act["team_id"])].append((start, end))
    days: dict[str, float] = defaultdict(float)
    teams: dict[str, int] = defaultdict(int)
    for (asset, _), team_spans in spans.items():
        days[asset] += _union_days(team_spans) * config.days_per_week / 7.0
        teams[asset] += 1
    out = {}
    for asset in ASSETS:
        default = float(config.team_rate[asset])
        measured = None
        if count[asset]:
            # each task's set-up (mobilisation) is part of its days, as in the planner
            on_task = max(days[asset] - config.mobilisation_days * count[asset],
                          0.5 * days[asset])
            measured = worked[asset] / on_task
        use = (config.rates_from_record and measured is not None
               and count[asset] >= config.record_min_activities)
        out[asset] = Rate(asset=asset, activities=count[asset], teams=teams[asset],
                          worked_m2=round(worked[asset], 1), team_days=round(days[asset], 1),
                          measured_m2_per_day=None if measured is None else round(measured, 1),
                          config_m2_per_day=default,
                          used_m2_per_day=round(measured, 1) if use else default,
                          source="record" if use else "config")
    return out


def _worked(act: dict[str, Any], kind: str, start: dt.date, areas: dict[str, dict[str, Any]],
            released: dict[str, list[tuple[dt.date, float, str]]],
            by_activity: dict[str, float]) -> float:
    """Land one activity worked: clearance its cleared land; NTS and TS the area's land still
    open when they started."""
    own = by_activity.get(str(act["id"]), 0.0)
    if kind == ActivityType.CLEARANCE.value:
        return own
    area = areas.get(str(act.get("hazardous_area_id")))
    if area is None:
        return own
    before = float(area.get("original_m2") or 0.0) - sum(
        m2 for day, m2, aid in released.get(area["id"], ()) if day < start and aid != act["id"])
    return max(before, own)


def _union_days(spans: list[tuple[dt.date, dt.date]]) -> int:
    """Calendar days covered by date ranges (inclusive), overlaps once."""
    total, reach = 0, None
    for start, end in sorted(spans):
        if reach is not None and start <= reach:
            if end > reach:
                total += (end - reach).days
                reach = end
            continue
        total += (end - start).days + 1
        reach = end
    return total


def _date(v: Any) -> dt.date:
    return v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v)[:10])
