"""Policies that turn what the record knows into team work: the practice and the planners.

Every policy takes a planning ``Instance`` (built from the observable state) and the work teams
are already committed to, and returns per team an ordered list of (area id, activity) with the
day each is planned to start. They differ only in how they order work:

* ``weighted_score`` — today's practice: areas ranked by the authority's weighted priority score
  (``priority.area_scores``), teams given the next task in rank order they can do;
* ``tuned_ranking`` — the same ranking with the best weights a centre could find: searched on
  the operations twin and frozen in ``tuned_weights.toml`` (``priority.tuned_config``);
* ``nearest_first`` — every team, when free, takes the nearest task it can do;
* ``greedy`` — benefit per team-day (``heuristic.greedy_order``), no search;
* ``optimised`` — greedy, then local search on the settlement-centred objective.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from safeground.planning.config import STAGES
from safeground.planning.heuristic import (
    Committed,
    Decoder,
    greedy_order,
    plan_heuristic,
    split_span,
)
from safeground.planning.instance import Instance
from safeground.planning.model import Prepared
from safeground.planning.plan import Plan, plan_from_rows
from safeground.planning.priority import area_scores, tuned_config

#: (team id, area id, activity, planned start day)
Work = tuple[str, str, str, float]
Policy = Callable[[Instance, Committed | None, float], list[Work]]


def _work_from_rows(prep: Prepared, rows: list[tuple[int, int, int, float]],
                    committed: Committed | None) -> list[Work]:
    """First week each (team, task) is worked, from decoder rows, in start order (ties keep
    the decoder's order). The day given is the first day of that week."""
    start: dict[tuple[int, int], float] = {}
    skip = set(committed.task_team) if committed else set()
    for t, k, w, _ in rows:
        if k not in skip:
            start.setdefault((int(t), int(k)), float(w) * prep.days)
    inst = prep.instance
    out = [(inst.teams[t].id, inst.areas[prep.task_area[k]].id, STAGES[prep.task_stage[k]], d)
           for (t, k), d in start.items()]
    out.sort(key=lambda r: r[3])
    return out


def _decode(instance: Instance, order_areas: np.ndarray, committed: Committed | None
            ) -> list[Work]:
    prep = Prepared(instance)
    dec = Decoder(prep, committed, cutoff_weeks=prep.horizon)
    order = np.array([k for a in order_areas for k in prep.area_tasks[int(a)]], dtype=np.int64)
    _, rows = dec.run(order, record=True, complete=False)
    return _work_from_rows(prep, rows, committed)


def weighted_score(instance: Instance, committed: Committed | None = None,
                   seconds: float = 0.0) -> list[Work]:
    """Rank areas by the authority's weighted score; teams take tasks in rank order."""
    idx = instance.area_index()
    order = np.array([idx[s.id] for s in area_scores(instance)], dtype=np.int64)
    return _decode(instance, order, committed)


def tuned_ranking(instance: Instance, committed: Committed | None = None,
                  seconds: float = 0.0) -> list[Work]:
    """Rank areas by the weighted score with the tuned weights; teams take tasks in rank
    order."""
    idx = instance.area_index()
    ranked = area_scores(instance, tuned_config(instance.config))
    return _decode(instance, np.array([idx[s.id] for s in ranked], dtype=np.int64), committed)


def nearest_first(instance: Instance, committed: Committed | None = None,
                  seconds: float = 0.0) -> list[Work]:
    """Each team, whenever it is free, takes the nearest task it can do now."""
    prep = Prepared(instance)
    d = prep.days
    free = committed.team_free.copy() if committed is not None else np.zeros(prep.n_teams)
    pos = np.array([[t.base_x, t.base_y] for t in instance.teams], dtype=float)
    xy = np.array([[a.x, a.y] for a in instance.areas], dtype=float).reshape(-1, 2)
    done = np.full(prep.n_tasks, np.inf)
    taken = np.zeros(prep.n_tasks, dtype=bool)
    if committed is not None:
        for k, w in committed.done.items():
            done[k] = w
        taken[list(committed.task_team)] = True
    out: list[Work] = []
    limit = prep.horizon * d
    elig = [set(prep.eligible(k).tolist()) for k in range(prep.n_tasks)]
    while True:
        t = int(np.argmin(free))
        now = free[t]
        if now >= limit or not len(xy):
            break
        pred = prep.task_pred
        ok = ~taken & np.array([t in e for e in elig], dtype=bool)
        predok = (pred < 0) | (np.isfinite(done[np.maximum(pred, 0)])
                               & ((done[np.maximum(pred, 0)] + 1) * d <= now + 1e-9))
        cand = np.flatnonzero(ok & predok)
        if not cand.size:
            later = np.flatnonzero(ok & (pred >= 0) & np.isfinite(done[np.maximum(pred, 0)]))
            if not later.size:
                free[t] = np.inf
                if np.isinf(free).all():
                    break
                continue
            free[t] = float(((done[pred[later]] + 1) * d).min())
            continue
        dist = np.hypot(*(xy[prep.task_area[cand]] - pos[t]).T)
        k = int(cand[int(np.argmin(dist))])
        a = prep.task_area[k]
        end = now + prep.setup[t, a] + prep.task_work[k] / prep.rate[t, a]
        taken[k] = True
        done[k] = max(0, int(np.ceil(end / d - 1e-9)) - 1)
        free[t] = end
        pos[t] = xy[a]
        out.append((instance.teams[t].id, instance.areas[a].id, STAGES[prep.task_stage[k]], now))
    out.sort(key=lambda r: (r[3], r[0]))
    return out


def greedy(instance: Instance, committed: Committed | None = None,
           seconds: float = 0.0) -> list[Work]:
    """Benefit per team-day, no search."""
    prep = Prepared(instance)
    dec = Decoder(prep, committed, cutoff_weeks=prep.horizon)
    _, rows = dec.run(greedy_order(prep), record=True, complete=False)
    return _work_from_rows(prep, rows, committed)


def optimised(instance: Instance, committed: Committed | None = None,
              seconds: float = 2.0) -> list[Work]:
    """Greedy, then local search for ``seconds``."""
    prep = Prepared(instance)
    plan = plan_heuristic(instance, seconds=seconds, prepared=prep, committed=committed,
                          method="optimised")
    rows = list(zip(plan.team.tolist(), plan.task.tolist(), plan.week.tolist(),
                    plan.days.tolist(), strict=True))
    return _work_from_rows(prep, rows, committed)


POLICIES: dict[str, Policy] = {"weighted_score": weighted_score, "tuned_ranking": tuned_ranking,
                               "nearest_first": nearest_first, "greedy": greedy,
                               "optimised": optimised}


def plan_of_work(instance: Instance, work: list[Work], method: str,
                 prepared: Prepared | None = None) -> Plan:
    """Replay a policy's work list (each team its tasks in start order, a stage only after the
    week its previous stage is done) into a dated ``Plan`` with expected outcomes. A task two
    teams share is split in proportion to their effective rates."""
    prep = prepared or Prepared(instance)
    d = prep.days
    team_idx = {t.id: i for i, t in enumerate(instance.teams)}
    task_idx = {(instance.areas[prep.task_area[k]].id, STAGES[prep.task_stage[k]]): k
                for k in range(prep.n_tasks)}
    items = [(team_idx[t], task_idx[(a, s)]) for t, a, s, _ in work
             if t in team_idx and (a, s) in task_idx]
    teams_of: dict[int, list[int]] = {}
    for t, k in items:
        teams_of.setdefault(k, []).append(t)
    free = np.zeros(prep.n_teams)
    finish = np.zeros(prep.n_tasks)
    done = np.full(prep.n_tasks, np.inf)
    rows: list[tuple[int, int, int, float]] = []
    for t, k in items:
        pred = prep.task_pred[k]
        if pred >= 0 and not np.isfinite(done[pred]):
            continue
        ready = (done[pred] + 1) * d if pred >= 0 else 0.0
        eff = prep.effective_rate(np.array(teams_of[k]), np.full(len(teams_of[k]), k))
        share = float(prep.effective_rate(t, k)) / float(eff.sum())
        start = max(free[t], ready)
        end = start + share * prep.task_work[k] / float(prep.effective_rate(t, k))
        free[t] = end
        finish[k] = max(finish[k], end)
        done[k] = max(0, int(np.ceil(finish[k] / d - 1e-9)) - 1)
        rows.extend((t, k, w, x) for w, x in split_span(start, end, d))
    arr = np.array(rows, dtype=float).reshape(-1, 4)
    return plan_from_rows(method, prep, arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3])


def plan_policy(instance: Instance, name: str, seconds: float = 2.0,
                prepared: Prepared | None = None) -> Plan:
    """The plan a policy makes for the whole horizon, with its expected outcomes."""
    prep = prepared or Prepared(instance)
    if name == "optimised":
        return plan_heuristic(instance, seconds=seconds, prepared=prep, method=name)
    if name == "greedy":
        return plan_heuristic(instance, local=False, prepared=prep, method=name)
    if name in ("weighted_score", "tuned_ranking"):
        idx = instance.area_index()
        cfg = tuned_config(instance.config) if name == "tuned_ranking" else None
        order = [idx[s.id] for s in area_scores(instance, cfg)]
        return plan_heuristic(instance, local=False, prepared=prep, method=name, order=order)
    if name == "nearest_first":
        return plan_of_work(instance, nearest_first(instance), name, prep)
    raise KeyError(name)
