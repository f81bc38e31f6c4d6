"""A dated plan: which team works which area, doing what, in which week, with its outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from safeground.planning.config import STAGES
from safeground.planning.model import Outcome, Prepared, evaluate


@dataclass(frozen=True, slots=True)
class Assignment:
    """One row of a plan: ``days`` team-days of ``activity`` by a team on an area in a week."""

    team_id: str
    area_id: str
    activity: str          # nts | ts | clearance
    week: int              # 0-based from the plan start
    week_start: date
    days: float


@dataclass(frozen=True)
class Plan:
    """A plan and what it is expected to achieve.

    ``rows`` holds the weekly allocation as integer arrays (team index, task index, week) and
    team-days; ``assignments()`` and ``to_frame()`` give the readable form. ``sequence`` lists
    (team index, task index) in the order each team takes its tasks, for Monte Carlo replay.
    """

    method: str
    prepared: Prepared = field(repr=False)
    team: np.ndarray = field(repr=False)
    task: np.ndarray = field(repr=False)
    week: np.ndarray = field(repr=False)
    days: np.ndarray = field(repr=False)
    outcome: Outcome = field(repr=False)
    seconds: float = 0.0
    status: str = "ok"
    bound: float | None = None     # best known upper bound on the objective (MILP)

    @property
    def objective(self) -> float:
        return self.outcome.objective

    @property
    def instance(self):
        return self.prepared.instance

    def sequence(self) -> list[tuple[int, int]]:
        """(team, task) pairs, each team's tasks in the order it starts them."""
        if not len(self.team):
            return []
        df = pd.DataFrame({"team": self.team, "task": self.task, "week": self.week,
                           "i": np.arange(len(self.team))})
        first = df.groupby(["team", "task"], sort=False).agg(week=("week", "min"),
                                                             i=("i", "min")).reset_index()
        first = first.sort_values(["week", "i"])
        return list(zip(first["team"].tolist(), first["task"].tolist(), strict=True))

    def to_frame(self) -> pd.DataFrame:
        """team_id, area_id, activity, week, week_start, days, area_released_week."""
        p = self.prepared
        inst = p.instance
        team_ids = np.array([t.id for t in inst.teams], dtype=object)
        area_ids = np.array([a.id for a in inst.areas], dtype=object)
        stages = np.array(STAGES, dtype=object)
        areas = p.task_area[self.task]
        start = pd.Timestamp(inst.start)
        return pd.DataFrame({
            "team_id": team_ids[self.team] if len(self.team) else [],
            "area_id": area_ids[areas] if len(self.team) else [],
            "activity": stages[p.task_stage[self.task]] if len(self.team) else [],
            "week": self.week,
            "week_start": (start + pd.to_timedelta(7 * self.week, unit="D")).date
            if len(self.team) else [],
            "days": np.round(self.days, 3),
        })

    def assignments(self) -> list[Assignment]:
        return [Assignment(r.team_id, r.area_id, r.activity, int(r.week), r.week_start,
                           float(r.days)) for r in self.to_frame().itertuples()]

    def date_of_week(self, week: float) -> date | None:
        """The date a 0-based plan week ends (None for never)."""
        if not np.isfinite(week):
            return None
        return self.prepared.instance.start + timedelta(days=7 * (int(week) + 1) - 1)

    def summary(self) -> dict[str, float]:
        """Headline expected outcomes for reports and the CLI."""
        p, o = self.prepared, self.outcome
        h = p.horizon
        out = {"objective_person_weeks": round(o.objective, 1),
               "people_returned_in_horizon": o.people_returned_by(p, h),
               # of them, in settlements no hazardous access area blocks: free from the start
               "people_free_at_start": float(p.settlement_people[p.settlement_free].sum()),
               "settlements_returned_in_horizon": int((o.settlement_return_week < h).sum()),
               "areas_released_in_horizon": int((o.area_release_week < h).sum()),
               "m2_released_in_horizon": float(p.task_released[o.task_done_week < h].sum()),
               "expected_casualties_avoided": round(o.expected_casualties_avoided, 2),
               "seconds": round(self.seconds, 2)}
        for years in (1, 3, 5):
            if 52 * years <= max(h, int(np.nan_to_num(o.completion_week, posinf=0)) + 1):
                out[f"people_returned_year_{years}"] = o.people_returned_by(p, 52 * years)
        return out


def plan_from_rows(method: str, prepared: Prepared, team: np.ndarray, task: np.ndarray,
                   week: np.ndarray, days: np.ndarray, seconds: float = 0.0,
                   status: str = "ok", bound: float | None = None,
                   check: bool = True) -> Plan:
    """A ``Plan`` from weekly rows, its outcome computed by the one shared evaluator."""
    team = np.asarray(team, dtype=np.int64)
    task = np.asarray(task, dtype=np.int64)
    week = np.asarray(week, dtype=np.int64)
    days = np.asarray(days, dtype=float)
    keep = days > 1e-9
    team, task, week, days = team[keep], task[keep], week[keep], days[keep]
    outcome = evaluate(prepared, team, task, week, days, check=check)
    return Plan(method, prepared, team, task, week, days, outcome, seconds, status, bound)


def plan_on(previous: Plan, prepared: Prepared, method: str | None = None) -> Plan | None:
    """``previous``'s weekly rows as a plan of another instance (``prepared``) holding the same
    areas with the same work and at least its teams (a fleet with more teams): teams matched by
    id, tasks by area and stage, the outcome computed by the shared evaluator. None when a
    team, a task or its work differs: the rows would not mean the same there."""
    src = previous.prepared
    if not len(previous.team):
        return plan_from_rows(method or previous.method, prepared, [], [], [], [])
    team_idx = {t.id: i for i, t in enumerate(prepared.instance.teams)}
    task_idx = {(prepared.instance.areas[prepared.task_area[k]].id,
                 int(prepared.task_stage[k])): k for k in range(prepared.n_tasks)}
    teams = [team_idx.get(t.id) for t in src.instance.teams]
    tasks = [task_idx.get((src.instance.areas[src.task_area[k]].id, int(src.task_stage[k])))
             for k in range(src.n_tasks)]
    used_t = np.unique(previous.team)
    used_k = np.unique(previous.task)
    if any(teams[t] is None for t in used_t) or any(tasks[k] is None for k in used_k):
        return None
    t_new = np.array([teams[t] for t in previous.team.tolist()], dtype=np.int64)
    k_new = np.array([tasks[k] for k in previous.task.tolist()], dtype=np.int64)
    same = np.allclose(prepared.task_work[k_new], src.task_work[previous.task]) and np.allclose(
        prepared.effective_rate(t_new, k_new), src.effective_rate(previous.team, previous.task))
    if not same:
        return None
    return plan_from_rows(method or previous.method, prepared, t_new, k_new, previous.week,
                          previous.days)
