"""Why the plan leaves a high-priority area for later, and what it would take to do it sooner.

A chief of operations reads the authority's priority ranking beside the plan (the Analysis
page, ``plan.json``). For each area the ranking puts first that the plan does not release
within its horizon, ``explain_unscheduled`` gives one reason, the first of these that holds:

* ``no_team`` — no team of the fleet can do the stage it needs (its asset is missing, or the
  terrain stops every team that has it);
* ``capacity`` — its remaining work, with every able team on it from the first week, takes
  longer than the horizon;
* ``precedence`` — it waits on its own previous stage (NTS before TS, TS before clearance),
  which the plan finishes too late for the rest to fit in the horizon;
* ``travel`` — the teams able to do it are busy with work of higher benefit per team-day,
  and it costs them more than a third of its time in set-up and relocation (every able team
  is based beyond commuting range);
* ``busy`` — the teams able to do it are busy with work of higher benefit per team-day;
* ``order`` — those teams have time or do work of lower benefit per team-day: the plan puts
  it later because its value counts in combination (a settlement's people return only once
  every access area is released), not for want of teams.

Each explanation carries the benefit the area would bring if its work started as soon as it
could (person-weeks within the horizon, as the planners count them), the team-days it needs,
its benefit per team-day, and — for ``busy`` and ``travel`` — the work of lowest benefit per
team-day its teams do in the horizon that it would displace. Benefit per team-day is the
heuristic's own measure (``heuristic.area_ratio_order``): an area's weekly value with the
people of the settlements waiting on it shared over their access areas by the days each
needs, over its scarcity-weighted team-days.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

from safeground.planning.config import STAGE_ASSETS, STAGES, PlanningConfig
from safeground.planning.heuristic import area_days, area_value, scarcity
from safeground.planning.model import Prepared
from safeground.planning.plan import Plan

#: set-up (mobilisation and relocation) above this share of a team's time on an area makes
#: travel the reason
TRAVEL_SHARE = 1 / 3
#: areas the Analysis page and ``plan.json`` explain: the ranking's first
TOP = 20
REASONS = ("no_team", "capacity", "precedence", "travel", "busy", "order")


def benefit_per_team_day(prep: Prepared) -> np.ndarray:
    """Per area, weekly value per scarcity-weighted team-day, the people of each settlement
    shared over its access areas by the days each needs (the heuristic's area order)."""
    cost = area_days(prep, scarcity(prep))
    value = area_value(prep)
    for j, ar in enumerate(prep.settlement_areas):
        if ar.size:
            value[ar] += prep.settlement_people[j] * cost[ar] / max(cost[ar].sum(), 1e-9)
    return value / np.maximum(cost, 1e-9)


def _chain_weeks(prep: Prepared, tasks: list[int]) -> float:
    """Weeks the given tasks of one area take in order with every able team on each (a stage
    starts the week after the previous one is done); inf when a task has no team."""
    d = prep.days
    weeks = 0.0
    for i, k in enumerate(tasks):
        e = prep.eligible(k)
        if not e.size:
            return float("inf")
        rate = float(prep.effective_rate(e, np.full(e.shape, k)).sum())
        weeks += np.ceil(prep.task_work[k] / rate / d - 1e-9) + (1 if i else 0)
    return weeks


def _need_days(prep: Prepared, k: int) -> tuple[float, int, float]:
    """The fastest able team's days on task k, that team, and the share of them set-up."""
    e = prep.eligible(k)
    a = prep.task_area[k]
    need = prep.setup[e, a] + prep.task_work[k] / prep.rate[e, a]
    j = int(np.argmin(need))
    return float(need[j]), int(e[j]), float(prep.setup[e[j], a] / need[j])


def explain_area(plan: Plan, i: int, ratio: np.ndarray | None = None,
                 worked: dict[int, dict[int, float]] | None = None) -> dict[str, Any] | None:
    """Why area ``i`` (its index in the instance) is not released within the plan's horizon,
    or None when it is (or has no work left)."""
    p, o = plan.prepared, plan.outcome
    h, d = p.horizon, p.days
    inst = p.instance
    area = inst.areas[i]
    tasks = p.area_tasks[i]
    done = o.task_done_week
    if not tasks or o.area_release_week[i] < h:
        return None
    ratio = benefit_per_team_day(p) if ratio is None else ratio
    worked = _worked_in_horizon(plan) if worked is None else worked
    pending = [k for k in tasks if not done[k] < h]
    k = pending[0]
    stage = STAGES[p.task_stage[k]]
    pred = int(p.task_pred[k])
    pred_week = float(done[pred]) if pred >= 0 else None
    # the earliest it could be released if its teams started on it now (or once its previous
    # stage is done), and the value that would bring within the horizon
    start_week = pred_week + 1 if pred_week is not None else 0.0
    chain = _chain_weeks(p, pending)
    release = start_week + chain - (1 if pred_week is None else 0)
    weekly = float(p.task_value[tasks].sum())
    # settlements it alone holds back within the plan: every other access area released
    freed = [j for j, ar in enumerate(p.settlement_areas)
             if i in ar and all(o.area_release_week[x] < h for x in ar if x != i)]
    people = float(p.settlement_people[freed].sum()) if freed else 0.0
    weeks_gained = max(0.0, h - release) if np.isfinite(release) else 0.0
    cfg = inst.config
    out: dict[str, Any] = {
        "area_id": area.id, "stage": stage,
        "assets": sorted({inst.teams[t].asset for t in range(p.n_teams)
                          if p.team_stage[t, p.task_stage[k]]}
                         or set(STAGE_ASSETS[stage])),
        "planned_release": (plan.date_of_week(o.area_release_week[i]).isoformat()
                            if np.isfinite(o.area_release_week[i]) else None),
        "weekly_value_person_weeks": round(weekly + people, 1),
        "people_it_would_free": round(people),
        "settlements_it_would_free": [inst.settlements[j].id for j in freed],
        "casualties_avoided_per_week": round(float(p.area_risk_value[i]) / cfg.casualty_value,
                                             5) if cfg.casualty_value else 0.0,
        "benefit_person_weeks": round((weekly + people) * weeks_gained, 1),
        "benefit_per_team_day": round(float(ratio[i]), 2),
        "displaces": [],
    }
    weeks_worked = worked.get(-1, {}).get(i, [])
    if weeks_worked:
        out["work_starts_week"] = int(min(weeks_worked))
    e = p.eligible(k)
    if not e.size:
        return {**out, "reason": "no_team", "team_days_needed": None,
                "text": f"No team of the fleet can do its {stage}: it needs "
                        f"{' or '.join(STAGE_ASSETS[stage])} teams able to work its terrain."}
    days_needed = sum(_need_days(p, x)[0] for x in pending if p.eligible(x).size)
    out["team_days_needed"] = round(days_needed, 1)
    if chain > h:
        return {**out, "reason": "capacity",
                "text": f"Its remaining work takes {chain:.0f} weeks even with every able "
                        f"team on it from the first week, more than the plan's {h} weeks."}
    if pred_week is not None and start_week + chain > h:
        prev = STAGES[p.task_stage[pred]]
        return {**out, "reason": "precedence", "waits_on": prev,
                "waits_until": plan.date_of_week(pred_week).isoformat(),
                "text": f"Its {stage} can start only after its {prev}, which the plan "
                        f"finishes in week {pred_week:.0f}; the rest then needs {chain:.0f} "
                        "weeks, beyond the plan's horizon."}
    _, best, setup_share = _need_days(p, k)
    # the work of the able teams in the horizon, lowest benefit per team-day first
    able = set(e.tolist())
    booked: dict[int, float] = {}
    for t in able:
        for a, days in worked.get(t, {}).items():
            if a != i:
                booked[a] = booked.get(a, 0.0) + days
    capacity = len(able) * h * d
    used = sum(booked.values())
    out["teams_busy_share"] = round(used / capacity, 3) if capacity else 1.0
    # what doing it would displace: its teams' work of lowest benefit per team-day, enough
    # team-days of it to make room
    displaced, room = [], 0.0
    for a in sorted(booked, key=lambda a: ratio[a]):
        displaced.append({"area_id": inst.areas[a].id, "team_days": round(booked[a], 1),
                          "benefit_per_team_day": round(float(ratio[a]), 2)})
        room += booked[a]
        if room >= days_needed or len(displaced) >= 3:
            break
    out["displaces"] = displaced
    names = ", ".join(f"{x['area_id']} ({x['benefit_per_team_day']:,.1f} a team-day)"
                      for x in displaced) or "nothing"
    lower = [x for x in displaced if x["benefit_per_team_day"] < ratio[i]]
    if used < 0.9 * capacity or lower:
        spare = capacity - used
        room_text = (f"{spare:,.0f} of their {capacity:,.0f} team-days in the horizon are free"
                     if used < 0.9 * capacity else "they are fully booked")
        if lower:
            room_text += (", on work of lower benefit per team-day than this area's "
                          f"{ratio[i]:,.1f} ({', '.join(x['area_id'] for x in lower)})")
        return {**out, "reason": "order",
                "text": f"Its {stage} teams have room for it ({room_text}): the plan's search "
                        "put other work first, worth more in combination (a settlement's "
                        "people return only once all its access areas are released). Started "
                        f"as soon as it can, it would bring {out['benefit_person_weeks']:,.0f} "
                        f"person-weeks within the horizon ({days_needed:,.0f} team-days) and "
                        f"displace {names}."}
    d_km = float(p.dist_km[best, p.task_area[k]])
    if setup_share > TRAVEL_SHARE and d_km > cfg.commute_limit_km:
        return {**out, "reason": "travel", "setup_share": round(setup_share, 3),
                "distance_km": round(d_km, 1),
                "text": f"Every team able to do its {stage} is based beyond commuting range "
                        f"(the nearest {d_km:,.0f} km away): set-up and relocation take "
                        f"{setup_share:.0%} of its time, and its teams are busy with work of "
                        f"higher benefit per team-day. Doing it would displace {names}."}
    return {**out, "reason": "busy",
            "text": f"The {'/'.join(out['assets'])} teams it needs are busy with work of "
                    f"higher benefit per team-day ({used / capacity:.0%} of their time in the "
                    f"horizon). Doing it ({days_needed:,.0f} team-days) would displace {names}."}


def _worked_in_horizon(plan: Plan) -> dict[int, dict[int, float]]:
    """team -> area -> team-days within the horizon; key -1: area -> weeks worked."""
    p = plan.prepared
    keep = plan.week < p.horizon
    out: dict[int, dict[int, Any]] = {-1: {}}
    areas = p.task_area[plan.task[keep]]
    for t, a, w, x in zip(plan.team[keep].tolist(), areas.tolist(), plan.week[keep].tolist(),
                          plan.days[keep].tolist(), strict=True):
        row = out.setdefault(t, {})
        row[a] = row.get(a, 0.0) + x
        out[-1].setdefault(a, []).append(w)
    return out


def explain_unscheduled(plan: Plan, top: int = TOP) -> list[dict[str, Any]]:
    """For each of the ``top`` areas of the authority's priority ranking that the plan does
    not release within its horizon, in rank order: its rank and score and why (see the
    module's docstring)."""
    from safeground.planning.priority import area_frame

    inst = plan.instance
    index = inst.area_index()
    ranks = area_frame(inst).head(top)
    ratio = benefit_per_team_day(plan.prepared)
    worked = _worked_in_horizon(plan)
    out = []
    for r in ranks.itertuples():
        why = explain_area(plan, index[r.area_id], ratio, worked)
        if why is not None:
            out.append({"priority_rank": int(r.rank), "priority_score": float(r.score), **why})
    return out


# -- what a plan was made with -------------------------------------------------------------
def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return _plain(asdict(value))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def config_hash(config: PlanningConfig) -> str:
    """SHA-256 of every planning setting (the config as loaded, defaults included)."""
    text = json.dumps(_plain(config), sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def weights_used(config: PlanningConfig) -> dict[str, Any]:
    """The weights a plan was made with: the priority score's (criteria, and their scales
    where the config has them) and the benefit's (what the planners optimise)."""
    plain = _plain(config)
    benefit = ("return_share", "casualty_value", "casualty_model", "casualty_rate_per_week",
               "density_casualty_rate", "road_value_per_week", "water_value_per_week",
               "reconstruction_value_per_week", "released_m2_value_per_week")
    priorities = {"weights": plain.get("priority_weights", {})}
    for key in ("casualties_full", "displaced_full", "priority_scales"):
        if key in plain:
            priorities[key] = plain[key]
    return {"priorities": priorities, "benefit": {k: plain[k] for k in benefit if k in plain}}


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def risk_provenance(ranking: str | Path | None) -> dict[str, Any]:
    """Which risk model a plan's contamination probabilities came from: a risk ranking file
    (``safeground risk rank --out``: its name and SHA-256, and the model's ``model.json``
    hash where the model folder lies beside it), or the classification and evidence."""
    if ranking is None or not Path(ranking).is_file():
        return {"kind": "classification",
                "detail": "no risk ranking: each area's classification raised by its evidence"}
    path = Path(ranking)
    out: dict[str, Any] = {"kind": "risk_ranking", "file": path.name,
                           "sha256": file_sha256(path)}
    model = path.parent / "risk-model" / "model.json"
    if model.is_file():
        out["model_file"] = "risk-model/model.json"
        out["model_sha256"] = file_sha256(model)
    return out


def record_version_of(ledger: Any) -> list[int] | None:
    """The record's version (last report id, audit rows, last audit row id) a plan was made
    from; every write to the record changes it."""
    from safeground.record.ledger.rows import record_version

    with ledger.db.read() as conn:
        return [int(v) for v in record_version(conn)]


def record_provenance(ledger: Any, ranking: str | Path | None) -> dict[str, Any]:
    """What a plan from the record was made from, for ``plan.json``: the record's version and
    the risk model (``risk_provenance``)."""
    return {"record_version": record_version_of(ledger), "risk_model": risk_provenance(ranking)}
