"""The arithmetic every planner shares: expected work per stage, team rates, and plan value.

An area's land release runs in up to three stages (IMAS 07.11 practice): NTS over the whole
remaining area cancels a share; TS over what is left reduces a share; clearance covers the rest.
Each stage with work is a *task*. A team's rate on an area is its productivity times a terrain
factor times a commuting factor; a task also needs a set-up time (mobilisation, plus relocation
when it lies beyond commuting range of the team's base), spread over the work: a team's
*effective rate* on a task is work / (set-up + work / rate), so a team doing all of a task takes
set-up + work / rate days, and teams sharing a task share its set-up. Spreading keeps the model
linear, so the MILP stays tight and the heuristic and MILP optimise the very same thing.

A plan is a table of team-days per (team, task, week). ``evaluate`` turns it into completion
weeks and benefits measured in person-weeks, the one currency every planner here optimises:

* a settlement's displaced people count once per week after every one of its access areas is
  released (people able to return x how much earlier);
* a released area counts its weekly casualty risk removed and the roads, water and funded
  reconstruction it reopens. The risk is, by ``[benefit] casualty_model``, either
  ``"exposure"``: contamination chance x (1 + casualties nearby + the people waiting on it), or
  ``"density"``: the ordnance it is expected to hold, contamination chance x (1 + casualties /
  direct evidence recorded in it), x how many person-trips a day land there
  (``exposure_density``: settlements' residents and visitors, soldiers, by distance);
* every released m² counts a little, so land keeps being released when nobody waits on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from safeground.planning.config import STAGES
from safeground.planning.instance import ExposureSource, Instance

EPS = 1e-6
EXPOSURE_BY_LAND_USE = {"built_up": 2.0, "farmland": 1.5, "pasture": 1.5, "water": 1.5,
                        "road": 1.5, "infrastructure": 1.2}


def exposure_sources(instance: Instance) -> tuple[ExposureSource, ...]:
    """The instance's exposure sources; without them, its settlements: the people living there
    (pre-conflict population less the displaced) at ``resident_trips_per_day`` and the displaced
    visiting at ``visitor_trips_per_day``, over ``exposure_scale_m``."""
    if instance.exposure_sources:
        return instance.exposure_sources
    cfg = instance.config
    return tuple(ExposureSource(
        s.x, s.y, cfg.resident_trips_per_day * max(0, s.pre_conflict_population
                                                    - s.displaced_population)
        + cfg.visitor_trips_per_day * s.displaced_population, cfg.exposure_scale_m)
        for s in instance.settlements)


def exposure_density(instance: Instance) -> np.ndarray:
    """Person-trips a day per km² landing at each area's centre.

    Each source spreads its trips with a radial density ``exp(-d / scale) / (2 pi scale²)``
    (distance d; a trip's distance follows a Gamma(2, scale) law, as the operations twin draws
    its probes)."""
    src = exposure_sources(instance)
    n = len(instance.areas)
    if not src or not n:
        return np.zeros(n)
    ax = np.array([a.x for a in instance.areas], dtype=float)
    ay = np.array([a.y for a in instance.areas], dtype=float)
    sx = np.array([s.x for s in src], dtype=float)
    sy = np.array([s.y for s in src], dtype=float)
    trips = np.array([s.trips_per_day for s in src], dtype=float)
    scale = np.array([s.scale_m for s in src], dtype=float)
    out = np.zeros(n)
    for lo in range(0, len(src), 256):   # blocks of sources keep memory small
        sl = slice(lo, lo + 256)
        d = np.hypot(ax[:, None] - sx[None, sl], ay[:, None] - sy[None, sl])
        out += (trips[sl] * np.exp(-d / scale[sl]) / (2.0 * np.pi * scale[sl] ** 2)).sum(axis=1)
    return out * 1e6


def casualty_risk(instance: Instance) -> np.ndarray:
    """Expected casualties per week each area causes while it is not released (the planner's
    model, ``[benefit] casualty_model``); released, the area counts this much avoided a week."""
    cfg = instance.config
    p = np.array([a.contamination_probability for a in instance.areas], dtype=float)
    direct = np.array([a.casualties_nearby for a in instance.areas], dtype=float)
    if cfg.casualty_model == "density":
        return cfg.density_casualty_rate * p * (1.0 + direct) * exposure_density(instance)
    sett_index = {s.id: j for j, s in enumerate(instance.settlements)}
    displaced = np.array([s.displaced_population for s in instance.settlements], dtype=float)
    linked = np.array([sum(displaced[sett_index[s]] for s in a.settlement_ids
                           if s in sett_index) for a in instance.areas], dtype=float)
    land = np.array([EXPOSURE_BY_LAND_USE.get(a.land_use, 1.0) for a in instance.areas])
    return cfg.casualty_rate_per_week * p * (1.0 + direct + linked / 1000.0 * land)


@dataclass(frozen=True)
class Shares:
    cancel: np.ndarray     # per area, share of remaining area NTS is expected to cancel
    reduce: np.ndarray     # per area, share of what NTS left that TS is expected to reduce


def expected_shares(instance: Instance, cancel_boost: float = 0.0) -> Shares:
    """Expected cancel and reduce shares per area from classification and contamination chance.

    ``cancel_boost`` adds to the cancelled share of land NTS would otherwise leave (what-if:
    better non-technical survey).
    """
    cfg = instance.config
    c = np.zeros(len(instance.areas))
    r = np.zeros(len(instance.areas))
    for i, a in enumerate(instance.areas):
        st = cfg.stages[a.classification]
        p = a.contamination_probability
        nts = a.stages_done == 0 and (st.nts_required or a.classification == "SHA")
        if nts:
            base = st.max_cancel * (1.0 - p)
            c[i] = min(0.95, base + cancel_boost * (1.0 - base))
        if a.stages_done < 2:
            r[i] = min(0.95, st.max_reduce * (1.0 - p))
    return Shares(c, r)


class Prepared:
    """Arrays derived once from an instance; every planner and the evaluator read these.

    Tasks are numbered area by area in stage order; ``task_area``, ``task_stage``, ``task_work``
    (m²), ``task_pred`` (the task that must finish first, or -1) describe them. ``rate[t, a]``
    is team t's m²/day on area a (0 where it cannot work); ``setup[t, a]`` its set-up days.
    """

    def __init__(self, instance: Instance, shares: Shares | None = None) -> None:
        self.instance = instance
        cfg = instance.config
        areas, teams = instance.areas, instance.teams
        self.n_areas, self.n_teams = len(areas), len(teams)
        self.days = float(cfg.days_per_week)
        self.horizon = int(instance.horizon_weeks)
        self.shares = shares or expected_shares(instance)
        remaining = np.array([a.remaining_m2 for a in areas], dtype=float)
        c, r = self.shares.cancel, self.shares.reduce
        nts_needed = np.array([a.stages_done == 0 and (
            cfg.stages[a.classification].nts_required or a.classification == "SHA")
            for a in areas], dtype=bool)
        ts_needed = np.array([a.stages_done < 2 for a in areas], dtype=bool)
        work = np.stack([np.where(nts_needed, remaining, 0.0),
                         np.where(ts_needed, remaining * (1 - c), 0.0),
                         remaining * (1 - c) * (1 - r)], axis=1)
        released = np.stack([remaining * c, remaining * (1 - c) * r,
                             remaining * (1 - c) * (1 - r)], axis=1)
        self.remaining = remaining
        task_area, task_stage, task_pred, task_work, task_released = [], [], [], [], []
        self.area_tasks: list[list[int]] = []
        for i in range(self.n_areas):
            prev = -1
            mine = []
            for s in range(3):
                if work[i, s] <= 0:
                    continue
                k = len(task_area)
                task_area.append(i)
                task_stage.append(s)
                task_pred.append(prev)
                task_work.append(work[i, s])
                task_released.append(released[i, s])
                prev = k
                mine.append(k)
            if mine:   # land released by a skipped stage belongs to the area's last task
                task_released[mine[-1]] += remaining[i] - sum(task_released[k] for k in mine)
            self.area_tasks.append(mine)
        self.task_area = np.array(task_area, dtype=np.int64)
        self.task_stage = np.array(task_stage, dtype=np.int64)
        self.task_pred = np.array(task_pred, dtype=np.int64)
        self.task_work = np.array(task_work, dtype=float)
        self.task_released = np.array(task_released, dtype=float)
        self.n_tasks = len(task_area)
        self.area_last = np.array([m[-1] if m else -1 for m in self.area_tasks], dtype=np.int64)
        self._eligible: list[np.ndarray] | None = None
        self._rates(instance)
        self._values(instance)

    # -- team rates and set-up -------------------------------------------------------------
    def _rates(self, instance: Instance) -> None:
        cfg = instance.config
        ax = np.array([a.x for a in instance.areas], dtype=float)
        ay = np.array([a.y for a in instance.areas], dtype=float)
        bx = np.array([t.base_x for t in instance.teams], dtype=float)
        by = np.array([t.base_y for t in instance.teams], dtype=float)
        dist_km = np.hypot(ax[None, :] - bx[:, None], ay[None, :] - by[:, None]) / 1000.0
        far = dist_km > cfg.commute_limit_km
        commute_km = np.where(far, min(5.0, cfg.commute_limit_km), dist_km)
        commute = np.clip(1.0 - 2.0 * commute_km / cfg.speed_km_per_hour
                          / cfg.working_hours_per_day, 0.2, 1.0)
        terrain = np.array([[cfg.terrain_factor(a.terrain, t.asset) for a in instance.areas]
                            for t in instance.teams], dtype=float).reshape(self.n_teams,
                                                                           self.n_areas)
        prod = np.array([t.productivity_m2_per_day for t in instance.teams], dtype=float)
        # an area's own rate factor (slope, cover) slows survey on the ground and clearance,
        # not the desk-and-interview work of NTS
        own = np.array([a.rate_factor for a in instance.areas], dtype=float)
        not_nts = np.array([t.asset != "nts" for t in instance.teams], dtype=bool)
        factor = np.where(not_nts[:, None], own[None, :], 1.0)
        self.rate = prod[:, None] * terrain * commute * factor
        self.setup = cfg.mobilisation_days + np.where(
            far, cfg.relocation_days + dist_km / cfg.relocation_km_per_day, 0.0)
        self.dist_km = dist_km
        assets = [t.asset for t in instance.teams]
        caps = instance.config.capabilities
        self.team_stage = np.array([[a in caps[s] for s in STAGES] for a in assets],
                                   dtype=bool).reshape(self.n_teams, 3)
        self.day_cost = np.array([t.monthly_cost / (self.days * 52.0 / 12.0)
                                  for t in instance.teams], dtype=float)

    def effective_rate(self, team: np.ndarray | int, task: np.ndarray | int) -> np.ndarray:
        """m² of task per day of team, its set-up spread over the task:
        work / (set-up + work / rate). A team doing a share of a task pays that share of the
        set-up; one team doing it all pays it all."""
        a = self.task_area[task]
        w = self.task_work[task]
        r = self.rate[team, a]
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(r > 0, w / (self.setup[team, a] + w / np.where(r > 0, r, 1.0)), 0.0)
        return out

    def eligible(self, k: int) -> np.ndarray:
        """Indices of teams able to work task k."""
        if self._eligible is None:
            ok = (self.team_stage[:, self.task_stage] & (self.rate[:, self.task_area] > 0))
            self._eligible = [np.flatnonzero(ok[:, j]) for j in range(self.n_tasks)]
        return self._eligible[k]

    # -- benefits ----------------------------------------------------------------------------
    def _values(self, instance: Instance) -> None:
        cfg = instance.config
        displaced = np.array([s.displaced_population for s in instance.settlements], dtype=float)
        aidx = instance.area_index()
        risk = casualty_risk(instance) * cfg.casualty_value
        infra = np.zeros(self.n_areas)
        for i, a in enumerate(instance.areas):
            infra[i] = (cfg.road_value_per_week * a.road + cfg.water_value_per_week * a.water
                        + cfg.reconstruction_value_per_week * a.funded_reconstruction)
        self.area_risk_value = risk
        self.area_infra_value = infra
        self.settlement_people = displaced * cfg.return_share
        self.settlement_areas = [np.array([aidx[x] for x in s.access_area_ids if x in aidx],
                                          dtype=np.int64) for s in instance.settlements]
        # weekly value of finishing each task: its released m², plus the area's own value if it
        # is the area's last task
        tv = self.task_released * cfg.released_m2_value_per_week
        for i, k in enumerate(self.area_last):
            if k >= 0:
                tv[k] += risk[i] + infra[i]
        self.task_value = tv
        # settlements whose access areas are all already released count from week 0
        self.settlement_tasks = [self.area_last[ar][self.area_last[ar] >= 0]
                                 for ar in self.settlement_areas]
        # settlements no hazardous access area blocks: their people can return from week 0
        self.settlement_free = np.array([not len(ar) for ar in self.settlement_areas],
                                        dtype=bool)


@dataclass(frozen=True)
class Outcome:
    """What a plan is expected to achieve. Weeks are 0-based from the plan start; ``inf`` means
    not within the plan."""

    objective: float                 # person-weeks within the horizon
    returns: float                   # person-weeks of return
    risk: float                      # person-weeks equivalent of casualty risk removed
    infrastructure: float
    released: float
    task_done_week: np.ndarray
    area_release_week: np.ndarray
    settlement_return_week: np.ndarray
    expected_casualties_avoided: float

    def people_returned_by(self, prepared: Prepared, week: float) -> float:
        done = self.settlement_return_week < week
        return float(prepared.settlement_people[done].sum())

    @property
    def completion_week(self) -> float:
        w = self.area_release_week
        return float(w.max()) if w.size else 0.0


def weeks_value(done_week: np.ndarray, horizon: int) -> np.ndarray:
    """Weeks of benefit within the horizon for things done at ``done_week`` (inf: none)."""
    return np.where(np.isfinite(done_week), np.maximum(0.0, horizon - done_week), 0.0)


def outcome_from_done(prep: Prepared, done: np.ndarray) -> Outcome:
    """Benefits from each task's completion week (``inf`` where not completed)."""
    h = prep.horizon
    area_week = np.full(prep.n_areas, np.inf)
    has = prep.area_last >= 0
    area_week[has] = done[prep.area_last[has]]
    area_week[~has] = 0.0
    sett_week = np.array([float(area_week[ar].max()) if ar.size else 0.0
                          for ar in prep.settlement_areas])
    sv = weeks_value(sett_week, h)
    returns = float((prep.settlement_people * sv).sum())
    av = weeks_value(area_week, h)
    risk = float((prep.area_risk_value * av).sum())
    infra = float((prep.area_infra_value * av).sum())
    released = float((prep.task_released * prep.instance.config.released_m2_value_per_week
                      * weeks_value(done, h)).sum())
    cfg = prep.instance.config
    avoided = risk / cfg.casualty_value if cfg.casualty_value else 0.0
    return Outcome(objective=returns + risk + infra + released, returns=returns, risk=risk,
                   infrastructure=infra, released=released, task_done_week=done,
                   area_release_week=area_week, settlement_return_week=sett_week,
                   expected_casualties_avoided=avoided)


def evaluate(prep: Prepared, team: np.ndarray, task: np.ndarray, week: np.ndarray,
             days: np.ndarray, check: bool = True) -> Outcome:
    """Outcome of a weekly allocation (team-days per team, task and week).

    A task is done in the first week its progress, summed over the teams that worked it
    (effective rate x days worked, the set-up spread over the task), reaches its work. With
    ``check`` it verifies that no team works more than a week's days and no task starts before
    the week after its predecessor.
    Raises ``ValueError`` when a check fails.
    """
    done = np.full(prep.n_tasks, np.inf)
    if len(team):
        team, task, week, days = (np.asarray(v) for v in (team, task, week, days))
        if check:
            load = np.zeros((prep.n_teams, int(week.max()) + 1))
            np.add.at(load, (team, week), days)
            if load.max() > prep.days + 1e-6:
                raise ValueError("a team works more days than a week holds")
        order = np.lexsort((week, task))
        team, task, week, days = team[order], task[order], week[order], days[order]
        gain = prep.effective_rate(team, task) * days
        starts = np.flatnonzero(np.r_[True, task[1:] != task[:-1]])
        ends = np.r_[starts[1:], len(task)]
        for s, e in zip(starts, ends, strict=True):
            k = task[s]
            g = gain[s:e]
            # a later team's set-up is charged at its first row; progress only counts once
            # all rows of a week are in, so accumulate by week
            wk = week[s:e]
            uniq, inv = np.unique(wk, return_inverse=True)
            per_week = np.zeros(len(uniq))
            np.add.at(per_week, inv, g)
            cum = np.cumsum(per_week)
            hit = np.flatnonzero(cum >= prep.task_work[k] * (1 - EPS) - 1e-6)
            if hit.size:
                done[k] = float(uniq[hit[0]])
        if check:
            first_week = np.full(prep.n_tasks, np.inf)
            np.minimum.at(first_week, task, week.astype(float))
            pred = prep.task_pred
            bad = (pred >= 0) & np.isfinite(first_week)
            bad &= ~(first_week > done[np.maximum(pred, 0)])
            if bad.any():
                raise ValueError(f"task {int(np.flatnonzero(bad)[0])} starts before its "
                                 "predecessor is done")
    return outcome_from_done(prep, done)


def week_of_day(day: float, days_per_week: float) -> int:
    """The 0-based week holding the end of working day ``day`` (a time in days)."""
    return max(0, math.ceil(day / days_per_week - 1e-9) - 1)
