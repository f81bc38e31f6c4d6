"""Re-planning on a rolling horizon, keeping work in progress stable.

When new reports are approved (land released, areas found or reclassified, teams added), the
plan is made again from today's state. Teams are not pulled off the ground mid-task: every task
a team is working on today, and every task it was due to start within ``freeze_weeks``, stays
with that team, first in its queue, in the old order; only the remaining work is re-optimised.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from safeground.errors import ValidationError
from safeground.planning.config import STAGES
from safeground.planning.heuristic import Committed, plan_heuristic, split_span
from safeground.planning.instance import Instance
from safeground.planning.model import Prepared
from safeground.planning.plan import Plan
from safeground.record.problems import Problem


@dataclass(frozen=True)
class Replan:
    plan: Plan
    kept: list[tuple[str, str, str]]     # (team id, area id, activity) held from the old plan
    changed_teams: list[str]            # teams whose first task today differs from the old plan


PLAN_COLUMNS = ("team_id", "area_id", "activity", "week", "week_start")


def read_plan_table(path: str | Path) -> pd.DataFrame:
    """A plan written by ``safeground plan make`` (``plan.csv``: team x area x week)."""
    path = Path(path)
    if not path.exists():
        raise ValidationError([Problem("PLAN_INSTANCE_INVALID", where=str(path),
                                       params={"what": "previous plan",
                                               "reason": "file not found"})])
    df = pd.read_csv(path, dtype={"team_id": str, "area_id": str, "activity": str})
    missing = [c for c in PLAN_COLUMNS if c not in df.columns]
    if missing:
        raise ValidationError([Problem("PLAN_INSTANCE_INVALID", where=str(path), field=c,
                                       params={"what": "previous plan",
                                               "reason": "a plan table needs this column"})
                               for c in missing])
    return df


def week_of(table: pd.DataFrame, day: dt.date) -> int:
    """``day``'s week in the calendar of a plan table (its week 0 starts on the plan's start)."""
    if table.empty:
        return 0
    starts = pd.to_datetime(table["week_start"]) - pd.to_timedelta(7 * table["week"], unit="D")
    return int((pd.Timestamp(day) - starts.min()).days // 7)


def frozen_work(previous: Plan | pd.DataFrame, week_now: int, freeze_weeks: int
                ) -> list[tuple[str, str, str]]:
    """(team id, area id, activity) of the old plan (a ``Plan`` or its table) in progress at
    ``week_now`` or due to start before ``week_now + freeze_weeks``, each team's in its old
    order."""
    df = previous.to_frame() if isinstance(previous, Plan) else previous
    if df.empty:
        return []
    g = df.groupby(["team_id", "area_id", "activity"], sort=False)["week"].agg(["min", "max"])
    g = g.reset_index()
    live = g[(g["max"] >= week_now) & (g["min"] < week_now + max(1, freeze_weeks))]
    live = live.sort_values(["team_id", "min"])
    return list(zip(live.team_id, live.area_id, live.activity, strict=True))


def _first_weeks(previous: Plan | pd.DataFrame) -> dict[tuple[str, str, str], int]:
    """(team id, area id, activity) -> the first week the old plan has it at work."""
    df = previous.to_frame() if isinstance(previous, Plan) else previous
    g = df.groupby(["team_id", "area_id", "activity"], sort=False)["week"].min()
    return {key: int(w) for key, w in g.items()}


def _shared_end(starts: list[float], rates: list[float], work: float) -> float:
    """When teams starting at ``starts`` (days) at effective ``rates`` (m² a day) finish
    ``work`` together."""
    left, now, rate = work, min(starts), 0.0
    for start, r in sorted(zip(starts, rates, strict=True)):
        if rate > 0 and start > now:
            if rate * (start - now) >= left:
                return now + left / rate
            left -= rate * (start - now)
        now, rate = max(now, start), rate + r
    return now + left / rate


def replan(instance: Instance, previous: Plan | pd.DataFrame | None, week_now: int, *,
           freeze_weeks: int = 2, seconds: float = 2.0, seed: int = 0,
           local: bool = True) -> Replan:
    """A new plan for ``instance`` (whose ``start`` is today), holding the old plan's work in
    progress. ``previous`` is the old plan or its table (``read_plan_table``); ``week_now`` is
    today's week in the old plan's calendar (``week_of``)."""
    prep = Prepared(instance)
    if previous is None:
        plan = plan_heuristic(instance, seconds=seconds, seed=seed, prepared=prep, local=local)
        return Replan(plan, [], [])
    keep = frozen_work(previous, week_now, freeze_weeks)
    team_idx = {t.id: i for i, t in enumerate(instance.teams)}
    task_idx = {(instance.areas[prep.task_area[k]].id, STAGES[prep.task_stage[k]]): k
                for k in range(prep.n_tasks)}
    committed = Committed(team_free=np.zeros(prep.n_teams))
    d = prep.days
    # the held tasks in the order the old plan started them, each with the teams on it (two
    # teams may work one task side by side)
    first = _first_weeks(previous)
    on_task: dict[int, list[tuple[int, tuple[str, str, str]]]] = {}
    for item in sorted(keep, key=lambda h: (first[h], h[0])):
        t, k = team_idx.get(item[0]), task_idx.get((item[1], item[2]))
        if t is None or k is None:
            continue            # team gone, or the work was finished or changed by new reports
        if prep.rate[t, prep.task_area[k]] > 0:
            on_task.setdefault(k, []).append((t, item))
    done: dict[int, float] = {}
    held = set()
    for k, teams in on_task.items():
        pred = prep.task_pred[k]
        if pred >= 0 and pred not in done:
            continue            # its previous stage is not held: let the planner decide
        ready = (done[pred] + 1) * d if pred >= 0 else 0.0
        starts = [max(committed.team_free[t], ready) for t, _ in teams]
        end = _shared_end(starts, [float(prep.effective_rate(t, k)) for t, _ in teams],
                          float(prep.task_work[k]))
        for (t, item), start in zip(teams, starts, strict=True):
            if start >= end:
                continue        # the others finish it before this team is free
            committed.team_free[t] = end
            committed.task_team.setdefault(k, t)
            committed.segments.extend((t, k, w, x) for w, x in split_span(start, end, d))
            held.add(item)
        done[k] = float(max(0, int(np.ceil(end / d - 1e-9)) - 1))
    held = [item for item in keep if item in held]
    committed.done.update(done)
    plan = plan_heuristic(instance, seconds=seconds, seed=seed, prepared=prep, local=local,
                          committed=committed, method="replan")
    old_first = {}
    for team_id, area_id, activity in frozen_work(previous, week_now, 1):
        old_first.setdefault(team_id, (area_id, activity))
    new_first = {}
    for team_id, area_id, activity in frozen_work(plan, 0, 1):
        new_first.setdefault(team_id, (area_id, activity))
    changed = sorted(t for t in old_first if t in team_idx and new_first.get(t) != old_first[t])
    return Replan(plan, held, changed)


def replan_from_record(ledger, *, start: dt.date, horizon_weeks: int,
                       previous: str | Path | None = None,
                       risk: dict[str, float] | None = None, freeze_weeks: int = 2,
                       seconds: float = 2.0, **instance_options) -> Replan:
    """Plan from the record as known today (``start``), or re-plan holding the work in
    progress of the ``previous`` plan table (``plan.csv``): the one path the command line and
    the web app's re-planning share. ``instance_options`` go to ``instance_from_record``
    (``config``, ``monthly_budget``, ``monthly_capacity_team_days``)."""
    from safeground.planning.record import instance_from_record

    old = read_plan_table(previous) if previous is not None else None
    inst = instance_from_record(ledger, start=start, horizon_weeks=horizon_weeks, risk=risk,
                                **instance_options)
    week_now = week_of(old, start) if old is not None else 0
    return replan(inst, old, week_now, freeze_weeks=freeze_weeks, seconds=seconds)
