"""The fast planner: benefit per team-day greedy, then local search on the order of work.

A plan is decoded from a priority order of areas by serial schedule generation: each area's
stages, in order, go to the eligible team that would finish them earliest, no earlier than the
week after the previous stage is done, within the monthly capacity and budget. The first order
is Smith's rule — benefit per week of delay over the team-days needed, with each stage's days
weighted by how scarce its teams are — applied to settlements (with all their access areas)
and to areas nobody waits on. Local search then moves single areas and whole settlements
earlier or later, keeping a move only when the plan's value rises.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from safeground.planning.instance import Instance
from safeground.planning.model import Prepared, outcome_from_done
from safeground.planning.plan import Plan, plan_from_rows

BIG = 1e18


@dataclass
class Committed:
    """Work already fixed before the decoder runs (re-planning): per task, its team, the weekly
    segments and the week it is done (``inf`` while unfinished), and each team's next free day."""

    team_free: np.ndarray
    task_team: dict[int, int] = field(default_factory=dict)
    segments: list[tuple[int, int, int, float]] = field(default_factory=list)  # team,task,week,days
    done: dict[int, float] = field(default_factory=dict)
    capacity_used: dict[int, float] = field(default_factory=dict)
    budget_used: dict[int, float] = field(default_factory=dict)


class Decoder:
    """Turns an order of areas into a schedule; reusable across many orders."""

    def __init__(self, prep: Prepared, committed: Committed | None = None,
                 max_weeks: int | None = None) -> None:
        self.prep = prep
        self.committed = committed
        d = prep.days
        self.elig: list[np.ndarray] = []
        self.need: list[np.ndarray] = []
        for k in range(prep.n_tasks):
            e = prep.eligible(k)
            a = prep.task_area[k]
            self.elig.append(e)
            self.need.append(prep.setup[e, a] + prep.task_work[k] / prep.rate[e, a])
        inst = prep.instance
        self.limited = (inst.monthly_capacity_team_days is not None
                        or inst.monthly_budget is not None)
        self.max_weeks = max_weeks or max(prep.horizon * 3, prep.horizon + 520)
        if self.limited:
            self.month = month_of_week(inst, self.max_weeks)
            n_months = int(self.month.max()) + 1
            cap = inst.monthly_capacity_team_days
            bud = inst.monthly_budget
            self.cap0 = np.full(n_months, np.inf if cap is None else float(cap))
            self.bud0 = np.full(n_months, np.inf if bud is None else float(bud))
        self.days = d

    def run(self, order: np.ndarray, record: bool = False):
        """Decode; returns task done weeks (and the weekly rows when ``record``)."""
        prep, d = self.prep, self.days
        done = np.full(prep.n_tasks, np.inf)
        avail = np.zeros(prep.n_teams)
        rows: list[tuple[int, int, int, float]] = []
        skip: set[int] = set()
        cap = bud = None
        if self.limited:
            cap, bud = self.cap0.copy(), self.bud0.copy()
        c = self.committed
        if c is not None:
            avail = c.team_free.copy()
            for k, w in c.done.items():
                done[k] = w
            skip = set(c.task_team)
            if record:
                rows.extend(c.segments)
            if cap is not None:
                for m, v in c.capacity_used.items():
                    cap[m] -= v
                for m, v in c.budget_used.items():
                    bud[m] -= v
        for a in order:
            for k in prep.area_tasks[a]:
                if k in skip:
                    continue
                e = self.elig[k]
                if not e.size:
                    break            # no team can do this stage here: the area stays open
                pred = prep.task_pred[k]
                ready = 0.0
                if pred >= 0:
                    if not np.isfinite(done[pred]):
                        break
                    ready = (done[pred] + 1.0) * d
                finish = np.maximum(avail[e], ready) + self.need[k]
                j = int(np.argmin(finish))
                t = int(e[j])
                start = max(avail[t], ready)
                if self.limited:
                    end, segs = self._place_limited(t, start, float(self.need[k][j]), cap, bud)
                else:
                    end, segs = float(finish[j]), None
                avail[t] = end
                done[k] = float(max(0, int(np.ceil(end / d - 1e-9)) - 1))
                if record:
                    if segs is None:
                        segs = split_span(start, end, d)
                    rows.extend((t, k, w, x) for w, x in segs)
        return (done, rows) if record else done

    def _place_limited(self, t: int, start: float, need: float, cap: np.ndarray,
                       bud: np.ndarray) -> tuple[float, list[tuple[int, float]]]:
        d = self.days
        cost = float(self.prep.day_cost[t])
        day, left = start, need
        segs: list[tuple[int, float]] = []
        while left > 1e-9:
            w = int(day // d)
            if w >= self.max_weeks:      # beyond the limits' calendar: unlimited
                segs.extend(split_span(day, day + left, d))
                day += left
                break
            m = int(self.month[w])
            room = (w + 1) * d - day
            can = min(room, left, cap[m], bud[m] / cost if cost > 0 else np.inf)
            if can <= 1e-9:
                nxt = np.flatnonzero(self.month[w:] != m)
                day = float((w + int(nxt[0])) * d) if nxt.size else float(self.max_weeks * d)
                continue
            segs.append((w, can))
            cap[m] -= can
            bud[m] -= can * cost
            left -= can
            day += can
            if left > 1e-9 and can < room - 1e-9:
                day = float((w + 1) * d)
        return day, segs


def month_of_week(instance: Instance, n_weeks: int) -> np.ndarray:
    """Calendar month index (0 = the start month) of each plan week's first day."""
    s = instance.start
    idx = np.arange(n_weeks)
    days = np.datetime64(s) + (7 * idx).astype("timedelta64[D]")
    months = days.astype("datetime64[M]").astype(np.int64)
    return months - months[0]


def split_span(start: float, end: float, d: float) -> list[tuple[int, float]]:
    """Weekly pieces (week, days) of the working-day interval [start, end)."""
    out = []
    w = int(start // d)
    day = start
    while end - day > 1e-9:
        stop = min(end, (w + 1) * d)
        if stop - day > 1e-12:
            out.append((w, stop - day))
        day = stop
        w += 1
    return out


# -- the first order ----------------------------------------------------------------------------
def scarcity(prep: Prepared) -> np.ndarray:
    """Per stage, expected team-days of demand per team-day of supply (at least a small floor)."""
    demand = np.zeros(3)
    supply = np.zeros(3)
    for k in range(prep.n_tasks):
        e = prep.eligible(k)
        if e.size:
            a = prep.task_area[k]
            demand[prep.task_stage[k]] += prep.task_work[k] / prep.rate[e, a].mean()
    for s in range(3):
        supply[s] = prep.team_stage[:, s].sum() * prep.horizon * prep.days
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(supply > 0, demand / np.maximum(supply, 1e-9), 1.0)
    return np.maximum(ratio, 0.05)


def area_days(prep: Prepared, weight: np.ndarray | None = None) -> np.ndarray:
    """Expected team-days each area needs (mean eligible rate), stage days weighted."""
    w = np.ones(3) if weight is None else weight
    out = np.zeros(prep.n_areas)
    for k in range(prep.n_tasks):
        e = prep.eligible(k)
        a = prep.task_area[k]
        if e.size:
            days = prep.setup[e, a].mean() + prep.task_work[k] / prep.rate[e, a].mean()
        else:
            days = 1e6
        out[a] += days * w[prep.task_stage[k]]
    return out


def area_value(prep: Prepared) -> np.ndarray:
    """Weekly value of releasing each area, not counting the settlements that wait on it."""
    v = np.zeros(prep.n_areas)
    np.add.at(v, prep.task_area, prep.task_value)
    return v


def greedy_order(prep: Prepared) -> np.ndarray:
    """Smith's rule on settlements and lone areas: weekly benefit per scarcity-weighted day."""
    cost = area_days(prep, scarcity(prep))
    value = area_value(prep)
    units: list[tuple[float, list[int]]] = []
    claimed = np.zeros(prep.n_areas, dtype=bool)
    sett_units = []
    for j, ar in enumerate(prep.settlement_areas):
        if ar.size:
            v = prep.settlement_people[j] + value[ar].sum()
            sett_units.append((v / max(cost[ar].sum(), 1e-9), j))
    for ratio, j in sorted(sett_units, reverse=True):
        ar = [int(a) for a in prep.settlement_areas[j] if not claimed[a]]
        claimed[ar] = True
        if ar:
            # within a settlement, the longest jobs first so they do not finish last
            ar.sort(key=lambda a: -cost[a])
            units.append((ratio, ar))
    for a in np.flatnonzero(~claimed):
        units.append((value[a] / max(cost[a], 1e-9), [int(a)]))
    units.sort(key=lambda u: -u[0])
    return np.array([a for _, ar in units for a in ar], dtype=np.int64)


# -- local search ---------------------------------------------------------------------------------
def local_search(decoder: Decoder, order: np.ndarray, *, seconds: float = 5.0,
                 max_iter: int = 20000, seed: int = 0) -> tuple[np.ndarray, float]:
    """Hill-climbing on the order: move one area, or a settlement's areas as a block."""
    prep = decoder.prep
    rng = np.random.default_rng(seed)
    best = order.copy()
    best_val = outcome_from_done(prep, decoder.run(best)).objective
    n = len(best)
    if n < 2:
        return best, best_val
    sett_of = [set(ar.tolist()) for ar in prep.settlement_areas if ar.size]
    t_end = time.perf_counter() + seconds
    it = 0
    stale = 0
    while it < max_iter and time.perf_counter() < t_end and stale < 4 * n + 200:
        it += 1
        cand = best.copy()
        move = rng.random()
        if move < 0.35 and sett_of:
            members = sett_of[int(rng.integers(len(sett_of)))]
            mask = np.isin(cand, list(members))
            block, rest = cand[mask], cand[~mask]
            pos = int(rng.integers(len(rest) + 1))
            cand = np.concatenate([rest[:pos], block, rest[pos:]])
        elif move < 0.7:
            i = int(rng.integers(n))
            a = cand[i]
            rest = np.delete(cand, i)
            span = max(3, n // 10)
            pos = int(np.clip(i + rng.integers(-span, span + 1), 0, n - 1))
            cand = np.insert(rest, pos, a)
        else:
            i = int(rng.integers(n - 1))
            j = int(np.clip(i + rng.integers(1, max(2, n // 20) + 1), 0, n - 1))
            cand[i], cand[j] = cand[j], cand[i]
        val = outcome_from_done(prep, decoder.run(cand)).objective
        if val > best_val + 1e-9:
            best, best_val = cand, val
            stale = 0
        else:
            stale += 1
    return best, best_val


def plan_heuristic(instance: Instance, *, seconds: float = 5.0, seed: int = 0,
                   local: bool = True, order: np.ndarray | None = None,
                   committed: Committed | None = None,
                   prepared: Prepared | None = None, method: str | None = None) -> Plan:
    """Plan with the greedy order and (unless ``local`` is False) local search for ``seconds``.

    ``order`` replaces the greedy first order (used by the policy comparisons); ``committed``
    fixes work already under way (re-planning).
    """
    t0 = time.perf_counter()
    prep = prepared or Prepared(instance)
    decoder = Decoder(prep, committed)
    first = greedy_order(prep) if order is None else np.asarray(order, dtype=np.int64)
    if local:
        best, _ = local_search(decoder, first, seconds=seconds, seed=seed)
    else:
        best = first
    _, rows = decoder.run(best, record=True)
    arr = np.array(rows, dtype=float).reshape(-1, 4)
    return plan_from_rows(method or ("heuristic" if local else "greedy"), prep,
                          arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3],
                          seconds=time.perf_counter() - t0, check=committed is None)
