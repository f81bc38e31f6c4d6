"""The fast planner: benefit per team-day greedy, then local search on the order of work.

A plan is decoded from a priority order of areas by serial schedule generation: each area's
stages, in order, go to the eligible team that would finish them earliest, no earlier than the
week after the previous stage is done, within the monthly capacity and budget. The first order
is Smith's rule — benefit per week of delay over the team-days needed, with each stage's days
weighted by how scarce its teams are — applied to settlements (with all their access areas)
and to areas nobody waits on. Local search (simulated annealing) then moves tasks, single
areas and whole settlements earlier or later, keeping a move when the plan's value rises and
now and then when it falls a little, to leave local optima.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from safeground.planning.instance import Instance
from safeground.planning.model import Prepared, outcome_from_done
from safeground.planning.plan import Plan, plan_from_rows, plan_on

BIG = 1e18
# local search: the start temperature as a share of the plan's value, and the share of the
# budget (moves and seconds) given to the last run, from the best start (tuned on small
# instances against the MILP, docs/planning.md)
TEMPERATURE = 0.002
FINAL_SHARE = 0.6


#: Fleets up to this size fill idle gaps when decoding; larger ones keep one pointer per team.
#: Measured on the demo's record (1,189 areas, 10-year horizon), one greedy decode: 24 teams
#: 0.019 s without gaps / 0.070 s with, 50 teams 0.022 / 0.083 s, 100 teams 0.016 / 0.257 s.
BACKFILL_MAX_TEAMS = 60


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
                 max_weeks: int | None = None, backfill: bool | None = None,
                 cutoff_weeks: float | None = None) -> None:
        self.prep = prep
        self.committed = committed
        d = prep.days
        self.elig: list[np.ndarray] = []
        self.need: list[np.ndarray] = []
        self.rates: list[list[float]] = []
        for k in range(prep.n_tasks):
            e = prep.eligible(k)
            a = prep.task_area[k]
            self.elig.append(e)
            self.need.append(prep.setup[e, a] + prep.task_work[k] / prep.rate[e, a])
            self.rates.append(prep.effective_rate(e, np.full(e.shape, k)).tolist())
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
        # filling idle gaps costs a scan of each team's free slots: worth it but for large fleets
        if backfill is None:
            backfill = prep.n_teams <= BACKFILL_MAX_TEAMS
        self.backfill = bool(backfill) and not self.limited
        self.split = True
        # work that cannot end before the cutoff adds nothing to the plan's value: skip it
        self.cutoff = BIG if cutoff_weeks is None else float(cutoff_weeks) * d

    def run(self, order: np.ndarray, record: bool = False, mode: np.ndarray | None = None,
            complete: bool = True):
        """Decode a priority order of tasks; returns task done weeks (and the weekly rows
        when ``record``). A task listed before its previous stage waits for it. ``mode`` (per
        task) picks teams: 0 the earliest finish, one team or two side by side; 1 the earliest
        finish by one team; 2 the second-earliest single team, leaving the fastest for others.
        Work that cannot end before the cutoff is left out, and with ``record`` and
        ``complete`` booked afterwards into the time left, so it changes nothing before it.
        """
        prep, d = self.prep, self.days
        done = np.full(prep.n_tasks, np.inf)
        placed = np.zeros(prep.n_tasks, dtype=bool)
        avail = np.zeros(prep.n_teams)
        rows: list[tuple[int, int, int, float]] = []
        cap = bud = None
        if self.limited:
            cap, bud = self.cap0.copy(), self.bud0.copy()
        c = self.committed
        if c is not None:
            avail = c.team_free.copy()
            for k, w in c.done.items():
                done[k] = w
            placed[list(c.task_team)] = True
            if record:
                rows.extend(c.segments)
            if cap is not None:
                for m, v in c.capacity_used.items():
                    cap[m] -= v
                for m, v in c.budget_used.items():
                    bud[m] -= v
        gaps = None
        if self.backfill:
            gaps = [[(float(avail[t]), BIG)] for t in range(prep.n_teams)]
        waiting: dict[int, int] = {}
        deferred: list[int] = []
        deferred_set: set[int] = set()
        pred_of = prep.task_pred
        for k0 in order:
            queue = [int(k0)]
            while queue:
                k = queue.pop()
                if placed[k]:
                    continue
                pred = pred_of[k]
                if pred >= 0 and not placed[pred]:
                    waiting[pred] = k
                    continue
                placed[k] = True
                e = self.elig[k]
                if e.size and (pred < 0 or np.isfinite(done[pred])):
                    ready = (done[pred] + 1.0) * d if pred >= 0 else 0.0
                    m = 0 if mode is None else int(mode[k])
                    end = BIG
                    if ready < self.cutoff:
                        end = self._place(k, e, ready, m, avail, gaps, cap, bud,
                                          rows if record else None)
                    if end < BIG:
                        done[k] = float(max(0, int(np.ceil(end / d - 1e-9)) - 1))
                    else:
                        deferred.append(k)
                elif e.size and pred >= 0 and pred in deferred_set:
                    deferred.append(k)
                if deferred and deferred[-1] == k:
                    deferred_set.add(k)
                nxt = waiting.pop(k, None)
                if nxt is not None:
                    queue.append(nxt)
        if record and complete and deferred:
            # work that ends beyond the cutoff: book it after, into what is left
            cutoff, self.cutoff = self.cutoff, BIG
            try:
                for k in deferred:
                    pred = pred_of[k]
                    if pred >= 0 and not np.isfinite(done[pred]):
                        continue
                    ready = (done[pred] + 1.0) * d if pred >= 0 else 0.0
                    m = 0 if mode is None else int(mode[k])
                    end = self._place(k, self.elig[k], ready, m, avail, gaps, cap, bud, rows)
                    if end < BIG:
                        done[k] = float(max(0, int(np.ceil(end / d - 1e-9)) - 1))
            finally:
                self.cutoff = cutoff
        return (done, rows) if record else done

    def _place(self, k: int, e: np.ndarray, ready: float, mode: int, avail: np.ndarray,
               gaps: list | None, cap: np.ndarray | None, bud: np.ndarray | None,
               rows: list | None) -> float:
        """Book task k; returns the day it ends."""
        d = self.days
        if gaps is not None:
            pieces = self._fit(gaps, k, ready, mode)
            if rows is not None:
                for t, start, stop in pieces:
                    rows.extend((t, k, w, x) for w, x in split_span(start, stop, d))
            return max((stop for _, _, stop in pieces), default=BIG)
        finish = np.maximum(avail[e], ready) + self.need[k]
        j = int(np.argmin(finish))
        if finish[j] > self.cutoff:
            return BIG
        t = int(e[j])
        start = max(avail[t], ready)
        segs = None
        if cap is not None and bud is not None:
            end, segs = self._place_limited(t, start, float(self.need[k][j]), cap, bud)
        else:
            end = float(finish[j])
        avail[t] = end
        if rows is not None:
            rows.extend((t, k, w, x) for w, x in (segs or split_span(start, end, d)))
        return end

    def _fit(self, gaps: list[list[tuple[float, float]]], k: int,
             ready: float, mode: int = 0) -> list[tuple[int, float, float]]:
        """Book the earliest finish for task k in the teams' free time: one team, or two teams
        side by side when that finishes sooner. Work may be interrupted by time already booked
        (pre-emption); each team pays its set-up once. Returns (team, start, end) pieces."""
        elig = self.elig[k].tolist()
        rates = self.rates[k]
        work = float(self.prep.task_work[k])
        cutoff = self.cutoff
        singles = []
        for j, t in enumerate(elig):
            g = gaps[t]
            if not g or max(g[0][0], ready) >= cutoff:
                continue
            singles.append((_finish([g], [rates[j]], ready, work, BIG), j))
        singles.sort()
        options = [((j,), end) for end, j in singles if end < cutoff]
        if mode == 0 and self.split and len(singles) > 1:
            # two teams side by side: try the three earliest single teams in pairs
            top = [j for _, j in singles[:3]]
            for x in range(len(top)):
                for y in range(x + 1, len(top)):
                    a, b = top[x], top[y]
                    end = _finish([gaps[elig[a]], gaps[elig[b]]], [rates[a], rates[b]], ready,
                                  work, min(singles[0][0], cutoff))
                    if end < BIG:
                        options.append(((a, b), end))
        if mode == 2 and len(options) > 1:
            options = [((singles[1][1],), singles[1][0])]
        options.sort(key=lambda o: o[1])
        if not options:
            return []
        best, best_end = options[0]
        out: list[tuple[int, float, float]] = []
        for j in best:
            t = elig[j]
            keep, used = [], []
            for s, e in gaps[t]:
                lo, hi = max(s, ready), min(e, best_end)
                if hi - lo > 1e-12:
                    used.append((lo, hi))
                    if lo - s > 1e-9:
                        keep.append((s, lo))
                    if e - hi > 1e-9:
                        keep.append((hi, e))
                else:
                    keep.append((s, e))
            gaps[t][:] = keep
            out.extend((t, lo, hi) for lo, hi in used)
        return out

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


def _finish(gaps: list[list[tuple[float, float]]], rates: list[float], ready: float,
            work: float, cutoff: float) -> float:
    """Earliest time the teams, working every free moment from ``ready`` at their effective
    rates, complete ``work`` m²; ``BIG`` if not before ``cutoff``."""
    events: list[tuple[float, float]] = []     # (time, change of combined rate)
    for g, r in zip(gaps, rates, strict=True):
        for s, e in g:
            if e > ready:
                events.append((max(s, ready), r))
                events.append((e, -r))
    events.sort()
    done = rate = 0.0
    now = ready
    for when, change in events:
        if when >= cutoff:
            break
        if rate > 1e-12 and done + rate * (when - now) >= work - 1e-9:
            return now + (work - done) / rate
        done += rate * (when - now)
        now = when
        rate += change
    if rate > 1e-12:
        end = now + (work - done) / rate
        return end if end < cutoff else BIG
    return BIG


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
def _mean_eligible(prep: Prepared) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per task: mean rate and set-up over its eligible teams, and whether any team can."""
    ok = prep.team_stage[:, prep.task_stage] & (prep.rate[:, prep.task_area] > 0)
    n = ok.sum(axis=0)
    rate = np.where(ok, prep.rate[:, prep.task_area], 0.0).sum(axis=0) / np.maximum(n, 1)
    setup = np.where(ok, prep.setup[:, prep.task_area], 0.0).sum(axis=0) / np.maximum(n, 1)
    return rate, setup, n > 0


def scarcity(prep: Prepared) -> np.ndarray:
    """Per stage, expected team-days of demand per team-day of supply (at least a small floor)."""
    rate, _, can = _mean_eligible(prep)
    demand = np.zeros(3)
    np.add.at(demand, prep.task_stage[can], prep.task_work[can] / rate[can])
    supply = prep.team_stage.sum(axis=0) * prep.horizon * prep.days
    ratio = np.where(supply > 0, demand / np.maximum(supply, 1e-9), 1.0)
    return np.maximum(ratio, 0.05)


def area_days(prep: Prepared, weight: np.ndarray | None = None) -> np.ndarray:
    """Expected team-days each area needs (mean eligible rate), stage days weighted."""
    w = np.ones(3) if weight is None else weight
    rate, setup, can = _mean_eligible(prep)
    days = np.where(can, setup + prep.task_work / np.where(can, rate, 1.0), 1e6)
    out = np.zeros(prep.n_areas)
    np.add.at(out, prep.task_area, days * w[prep.task_stage])
    return out


def area_value(prep: Prepared) -> np.ndarray:
    """Weekly value of releasing each area, not counting the settlements that wait on it."""
    v = np.zeros(prep.n_areas)
    np.add.at(v, prep.task_area, prep.task_value)
    return v


def greedy_units(prep: Prepared) -> list[list[int]]:
    """Settlements (all their access areas, longest jobs first) and areas nobody waits on,
    by Smith's rule: weekly benefit per scarcity-weighted day, best first."""
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
    return [ar for _, ar in units]


def greedy_order(prep: Prepared) -> np.ndarray:
    """Smith's rule on settlements and lone areas: weekly benefit per scarcity-weighted day."""
    return tasks_of(prep, [a for ar in greedy_units(prep) for a in ar])


def insertion_order(decoder: Decoder, max_units: int = 80) -> np.ndarray | None:
    """Best-insertion (NEH, as for flow shops): take the units of ``greedy_units`` in turn and
    put each where the decoded plan is worth most, ahead of later units on ties. None when there
    are more than ``max_units`` units (it needs about n²/2 decodes)."""
    prep = decoder.prep
    units = [tasks_of(prep, ar) for ar in greedy_units(prep)]
    if len(units) > max_units or not units:
        return None
    seq: list[np.ndarray] = []
    for u in units:
        best_val, best_pos = -np.inf, 0
        for pos in range(len(seq) + 1):
            order = np.concatenate([*seq[:pos], u, *seq[pos:]])
            val = outcome_from_done(prep, decoder.run(order)).objective
            if val > best_val + 1e-9:
                best_val, best_pos = val, pos
        seq.insert(best_pos, u)
    return np.concatenate(seq)


def tasks_of(prep: Prepared, areas: list[int] | np.ndarray) -> np.ndarray:
    """The task order that takes the areas in the given order, each area's stages in turn."""
    return np.array([k for a in areas for k in prep.area_tasks[int(a)]], dtype=np.int64)


# -- local search ---------------------------------------------------------------------------------
def area_ratio_order(prep: Prepared) -> np.ndarray:
    """Each area alone by weekly value per scarcity-weighted day, settlement people shared out
    over their access areas by days needed."""
    cost = area_days(prep, scarcity(prep))
    value = area_value(prep)
    for j, ar in enumerate(prep.settlement_areas):
        if ar.size:
            value[ar] += prep.settlement_people[j] * cost[ar] / max(cost[ar].sum(), 1e-9)
    return tasks_of(prep, np.argsort(-value / np.maximum(cost, 1e-9), kind="stable"))


State = tuple[np.ndarray, np.ndarray]     # (order of tasks, team-choice mode of each task)


def _value(decoder: Decoder, state: State) -> float:
    return outcome_from_done(decoder.prep, decoder.run(state[0], mode=state[1])).objective


def local_search(decoder: Decoder, state: State, *, seconds: float = 5.0,
                 max_iter: int = 20000, seed: int = 0,
                 temperature: float = TEMPERATURE) -> tuple[State, float]:
    """Simulated annealing on (task order, team-choice modes): move one task anywhere, move an
    area's or a settlement's tasks as a block, swap two settlements (or areas), swap two tasks,
    or change how a task's teams are chosen (see ``Decoder.run``). A move that loses value is
    kept with probability exp(-loss / T), T falling linearly from ``temperature`` x the start
    value to 0 over the budget (``temperature`` 0: hill-climbing with sideways moves). When
    stuck, kick the best state and go on, until ``seconds`` or ``max_iter`` moves."""
    prep = decoder.prep
    rng = np.random.default_rng(seed)
    cur = (state[0].copy(), state[1].copy())
    cur_val = _value(decoder, cur)
    best, best_val = cur, cur_val
    n = len(cur[0])
    if n < 2:
        return best, best_val
    sett_of = [tasks_of(prep, ar) for ar in prep.settlement_areas if ar.size]
    sett_of += [np.array(t) for t in prep.area_tasks if len(t) > 1]
    t_start = time.perf_counter()
    t_end = t_start + seconds
    heat = temperature * (abs(best_val) + 1.0)
    it = stale = 0
    while it < max_iter and (now := time.perf_counter()) < t_end:
        it += 1
        stale += 1
        temp = heat * (1.0 - max(it / max_iter, (now - t_start) / max(seconds, 1e-9)))
        if stale > 5 * n + 50:
            # iterated local search: kick the best order with a few random moves, go on
            order = best[0].copy()
            for _ in range(int(rng.integers(2, 7))):
                i, j = rng.integers(n, size=2)
                order = np.insert(np.delete(order, i), j, order[i])
            cur = (order, best[1].copy())
            cur_val = _value(decoder, cur)
            stale = 0
        order, split = cur
        move = rng.random()
        if move < 0.25 and sett_of:
            mask = np.isin(order, sett_of[int(rng.integers(len(sett_of)))])
            block, rest = order[mask], order[~mask]
            # often straight to the front: what a settlement needs, first
            pos = 0 if rng.random() < 0.3 else int(rng.integers(len(rest) + 1))
            cand = (np.concatenate([rest[:pos], block, rest[pos:]]), split)
        elif move < 0.35 and len(sett_of) > 1:
            # swap two settlements (or areas): each takes the other's place in the order
            a_, b_ = rng.choice(len(sett_of), size=2, replace=False)
            ma, mb = np.isin(order, sett_of[int(a_)]), np.isin(order, sett_of[int(b_)])
            if (ma & mb).any() or not ma.any() or not mb.any():
                continue
            ia, ib = int(np.argmax(ma)), int(np.argmax(mb))
            if ia > ib:
                ma, mb, ia, ib = mb, ma, ib, ia
            keep = ~(ma | mb)
            rest = order[keep]
            ra, rb = int(keep[:ia].sum()), int(keep[:ib].sum())
            cand = (np.concatenate([rest[:ra], order[mb], rest[ra:rb], order[ma], rest[rb:]]),
                    split)
        elif move < 0.65:
            i = int(rng.integers(n))
            rest = np.delete(order, i)
            if rng.random() < 0.5:
                pos = int(rng.integers(n))
            else:
                span = max(3, n // 20)
                pos = int(np.clip(i + rng.integers(-span, span + 1), 0, n - 1))
            cand = (np.insert(rest, pos, order[i]), split)
        elif move < 0.8:
            i, j = rng.integers(n, size=2)
            o = order.copy()
            o[i], o[j] = o[j], o[i]
            cand = (o, split)
        else:
            f = split.copy()
            i = int(order[int(rng.integers(min(n, max(5, n // 3))))])
            f[i] = (f[i] + int(rng.integers(1, 3))) % 3
            cand = (order, f)
        val = _value(decoder, cand)
        if val >= cur_val - 1e-9 or (temp > 0 and rng.random() < np.exp((val - cur_val) / temp)):
            cur, cur_val = cand, val
            if val > best_val + 1e-9:
                best, best_val = cand, val
                stale = 0
    return best, best_val


def improve(decoder: Decoder, starts: list[np.ndarray], *, seconds: float, seed: int = 0,
            max_iter: int = 20000) -> State:
    """Local search from each start order (with and without sharing work between teams), then
    again from the best; the last run gets ``FINAL_SHARE`` of the time and moves, the starts
    share the rest."""
    n = decoder.prep.n_tasks
    states = [(o, np.full(n, mode, dtype=np.int8)) for o in starts for mode in (0, 1)]
    each = (1.0 - FINAL_SHARE) / len(states)
    results = [local_search(decoder, st, seconds=seconds * each, seed=seed + i,
                            max_iter=max(1, int(max_iter * each)))
               for i, st in enumerate(states)]
    state, _ = max(results, key=lambda r: r[1])
    state, _ = local_search(decoder, state, seconds=seconds * FINAL_SHARE, seed=seed + 97,
                            max_iter=max(1, int(max_iter * FINAL_SHARE)))
    return state


def plan_heuristic(instance: Instance, *, seconds: float = 5.0, seed: int = 0,
                   iterations: int | None = None, local: bool = True,
                   order: np.ndarray | None = None,
                   committed: Committed | None = None,
                   prepared: Prepared | None = None, method: str | None = None,
                   backfill: bool | None = None, start: Plan | None = None) -> Plan:
    """Plan with the greedy order and (unless ``local`` is False) local search for ``seconds``
    or ``iterations`` moves in all, whichever ends first (moves make results repeatable on a
    busy machine; seconds bound the time).

    ``order`` (of areas) replaces the greedy first order (policy comparisons); ``committed``
    fixes work already under way (re-planning); ``backfill`` whether the decoder fills idle
    gaps (default: fleets of at most ``BACKFILL_MAX_TEAMS``; plans compared with one another
    should share it); ``start`` a plan of an instance with the same areas and some of these
    teams (``plan_on``): its order of work is one more start of the search, and the plan
    returned is never worth less than it (a larger fleet keeps at least what it planned).
    """
    t0 = time.perf_counter()
    prep = prepared or Prepared(instance)
    decoder = Decoder(prep, committed, cutoff_weeks=prep.horizon, backfill=backfill)
    first = greedy_order(prep) if order is None else tasks_of(prep, order)
    warm = plan_on(start, prep) if start is not None and committed is None else None
    if local:
        starts = [first] if order is not None else [first, area_ratio_order(prep)]
        if warm is not None:
            starts.append(order_of(warm, first))
        if order is None and committed is None:
            inserted = insertion_order(decoder)
            if inserted is not None:
                starts.insert(0, inserted)
        budget = 20000 * (2 * len(starts) + 1) if iterations is None else iterations
        best, modes = improve(decoder, starts, seconds=seconds, seed=seed, max_iter=budget)
    else:
        best, modes = first, None
    _, rows = decoder.run(best, record=True, mode=modes)
    arr = np.array(rows, dtype=float).reshape(-1, 4)
    name = method or ("heuristic" if local else "greedy")
    plan = plan_from_rows(name, prep, arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3],
                          seconds=time.perf_counter() - t0, check=committed is None)
    if warm is not None and warm.objective > plan.objective:
        return plan_from_rows(name, prep, warm.team, warm.task, warm.week, warm.days,
                              seconds=time.perf_counter() - t0)
    return plan


def order_of(plan: Plan, rest: np.ndarray) -> np.ndarray:
    """An order of tasks for the decoder: the plan's tasks in the order they are first worked,
    then those of ``rest`` it does not work."""
    seen = list(dict.fromkeys(int(k) for _, k in plan.sequence()))
    have = set(seen)
    return np.array(seen + [int(k) for k in rest if int(k) not in have], dtype=np.int64)
