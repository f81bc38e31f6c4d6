"""The exact planner: a time-indexed mixed-integer programme solved by HiGHS.

For small instances (tens of areas, a handful of teams, half a year in weeks). Variables:

* ``x[t,k,w]`` team-days team t spends on task k in week w (0..days per week);
* ``z[k,w]`` 1 if task k is done by the end of week w (monotone in w);
* ``y[j,w]`` 1 if settlement j's people can return from week w (all access areas released).

Constraints: a team works at most a week's days per week; progress (effective rate x days, the
set-up spread over the task, see ``model``) of all teams on a task reaches its work before
``z`` turns on; a stage can start only the week after
the previous stage is done; ``y`` needs every access area's last task done; team-days and cost
per calendar month stay within the monthly capacity and budget. The objective is the same
person-weeks the shared evaluator computes: sum of task values x weeks done plus people x weeks
returned, within the horizon. The heuristic's plan is given to HiGHS as a starting solution.
"""

from __future__ import annotations

import time

import highspy
import numpy as np
from scipy import sparse

from safeground.errors import SafegroundError
from safeground.planning.heuristic import month_of_week
from safeground.planning.instance import Instance
from safeground.planning.model import Prepared
from safeground.planning.plan import Plan, plan_from_rows


class SolverError(SafegroundError, RuntimeError):
    """The MILP solver failed or found no plan."""

    code = "PLAN_SOLVER_FAILED"
    http_status = 500


class _Builder:
    def __init__(self) -> None:
        self.lb: list[float] = []
        self.ub: list[float] = []
        self.cost: list[float] = []
        self.integer: list[int] = []
        self.rows: list[int] = []
        self.cols: list[int] = []
        self.vals: list[float] = []
        self.rlo: list[float] = []
        self.rhi: list[float] = []

    def var(self, lb: float, ub: float, cost: float, integer: bool = False) -> int:
        self.lb.append(lb)
        self.ub.append(ub)
        self.cost.append(cost)
        self.integer.append(1 if integer else 0)
        return len(self.lb) - 1

    def row(self, cols: list[int], vals: list[float], lo: float, hi: float) -> None:
        r = len(self.rlo)
        self.rows.extend([r] * len(cols))
        self.cols.extend(cols)
        self.vals.extend(vals)
        self.rlo.append(lo)
        self.rhi.append(hi)


def plan_milp(instance: Instance, *, time_limit: float = 60.0, mip_gap: float = 1e-4,
              start: Plan | None = None, prepared: Prepared | None = None,
              threads: int = 1) -> Plan:
    """The optimal plan over the horizon (or the best found within ``time_limit`` seconds).

    ``start`` (a plan of the same instance, e.g. the heuristic's) seeds the search. The returned
    plan's ``bound`` is HiGHS's proven upper bound on the objective, and ``status`` says
    whether optimality was proven. Raises ``SolverError`` when no feasible plan was found.
    """
    t0 = time.perf_counter()
    p = prepared or Prepared(instance)
    H, D = p.horizon, p.days
    inf = highspy.kHighsInf
    b = _Builder()
    elig = [p.eligible(k) for k in range(p.n_tasks)]
    z = np.array([[b.var(0, 1, -float(p.task_value[k]), True) for _ in range(H)]
                  for k in range(p.n_tasks)], dtype=np.int64).reshape(p.n_tasks, H)
    x: dict[tuple[int, int], np.ndarray] = {}
    for k in range(p.n_tasks):
        has_pred = p.task_pred[k] >= 0
        for t in elig[k]:
            x[int(t), k] = np.array([b.var(0, 0.0 if (has_pred and w == 0) else D, 0.0)
                                     for w in range(H)], dtype=np.int64)
    # settlements
    y = {}
    for j, tasks in enumerate(p.settlement_tasks):
        if len(p.settlement_areas[j]) and len(tasks) == len(p.settlement_areas[j]):
            y[j] = [b.var(0, 1, -float(p.settlement_people[j]), False) for _ in range(H)]
            for w in range(H):
                for k in tasks:
                    b.row([y[j][w], int(z[k, w])], [1.0, -1.0], -inf, 0.0)
    # team capacity per week
    for t in range(p.n_teams):
        mine = [xv for (tt, _), xv in x.items() if tt == t]
        for w in range(H):
            if mine:
                b.row([int(xv[w]) for xv in mine], [1.0] * len(mine), -inf, D)
    # valid cuts: a stage is done no earlier than the week after its previous stage
    for k in range(p.n_tasks):
        pred = p.task_pred[k]
        if pred >= 0:
            b.ub[int(z[k, 0])] = 0.0
            for w in range(1, H):
                b.row([int(z[k, w]), int(z[pred, w - 1])], [1.0, -1.0], -inf, 0.0)
    for (_t, k), xv in x.items():
        pred = p.task_pred[k]
        if pred >= 0:
            for w in range(1, H):
                b.row([int(xv[w]), int(z[pred, w - 1])], [1.0, -D], -inf, 0.0)
    # progress: sum_t effective rate * cumulative days >= work * z
    for k in range(p.n_tasks):
        eff = {int(t): float(p.effective_rate(int(t), k)) for t in elig[k]}
        for w in range(H):
            cols, vals = [int(z[k, w])], [-float(p.task_work[k])]
            for t, r in eff.items():
                cols.extend(int(c) for c in x[t, k][: w + 1])
                vals.extend([r] * (w + 1))
            b.row(cols, vals, 0.0, inf)
            if w + 1 < H:
                b.row([int(z[k, w]), int(z[k, w + 1])], [1.0, -1.0], -inf, 0.0)
    # monthly capacity and budget
    if instance.monthly_capacity_team_days is not None or instance.monthly_budget is not None:
        months = month_of_week(instance, H)
        for m in np.unique(months):
            weeks = np.flatnonzero(months == m)
            cols, costs = [], []
            for (t, _), xv in x.items():
                cols.extend(int(xv[w]) for w in weeks)
                costs.extend([float(p.day_cost[t])] * len(weeks))
            if instance.monthly_capacity_team_days is not None:
                b.row(cols, [1.0] * len(cols), -inf, float(instance.monthly_capacity_team_days))
            if instance.monthly_budget is not None:
                b.row(cols, costs, -inf, float(instance.monthly_budget))
    h = _solve(b, time_limit, mip_gap, threads, start, x, z, y, p)
    info = h.getInfo()
    status = h.modelStatusToString(h.getModelStatus())
    sol = h.getSolution()
    if not sol.value_valid:
        raise SolverError(f"HiGHS found no plan: {status}")
    values = np.asarray(sol.col_value)
    rows_t, rows_k, rows_w, rows_d = [], [], [], []
    for (t, k), xv in x.items():
        v = values[xv]
        for w in np.flatnonzero(v > 1e-7):
            rows_t.append(t)
            rows_k.append(k)
            rows_w.append(int(w))
            rows_d.append(float(v[w]))
    bound = -float(info.mip_dual_bound) + _constant(p)
    return plan_from_rows("milp", p, rows_t, rows_k, rows_w, rows_d,
                          seconds=time.perf_counter() - t0, status=status, bound=bound)


def _constant(p: Prepared) -> float:
    """Value the MILP does not see: settlements already free of hazardous areas."""
    total = 0.0
    for j, tasks in enumerate(p.settlement_tasks):
        if len(tasks) != len(p.settlement_areas[j]):
            continue
        if not len(p.settlement_areas[j]):
            total += p.settlement_people[j] * p.horizon
    return total


def _solve(b: _Builder, time_limit: float, mip_gap: float, threads: int, start: Plan | None,
           x: dict, z: np.ndarray, y: dict, p: Prepared) -> highspy.Highs:
    n = len(b.lb)
    a = sparse.csc_matrix((b.vals, (b.rows, b.cols)), shape=(len(b.rlo), n))
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = len(b.rlo)
    lp.col_cost_ = np.asarray(b.cost, dtype=float)
    lp.col_lower_ = np.asarray(b.lb, dtype=float)
    lp.col_upper_ = np.asarray(b.ub, dtype=float)
    lp.row_lower_ = np.asarray(b.rlo, dtype=float)
    lp.row_upper_ = np.asarray(b.rhi, dtype=float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_ = n
    lp.a_matrix_.num_row_ = len(b.rlo)
    lp.a_matrix_.start_ = a.indptr
    lp.a_matrix_.index_ = a.indices
    lp.a_matrix_.value_ = a.data
    lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                       for i in b.integer]
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("mip_rel_gap", float(mip_gap))
    h.setOptionValue("threads", int(threads))
    h.setOptionValue("random_seed", 0)
    h.passModel(lp)
    if start is not None:
        _warm_start(h, n, start, x, z, y, p)
    h.run()
    return h


def _warm_start(h: highspy.Highs, n: int, start: Plan, x: dict, z: np.ndarray,
                y: dict, p: Prepared) -> None:
    H = p.horizon
    val = np.zeros(n)
    for t, k, w, d in zip(start.team, start.task, start.week, start.days, strict=True):
        if w < H and (int(t), int(k)) in x:
            val[x[int(t), int(k)][w]] += d
    done = start.outcome.task_done_week
    for k in range(p.n_tasks):
        if np.isfinite(done[k]) and done[k] < H:
            val[z[k, int(done[k]):]] = 1.0
    sw = start.outcome.settlement_return_week
    for j, cols in y.items():
        if np.isfinite(sw[j]) and sw[j] < H:
            for w in range(int(sw[j]), H):
                val[cols[w]] = 1.0
    sol = highspy.HighsSolution()
    sol.col_value = list(val)
    sol.value_valid = True
    h.setSolution(sol)
