"""The exact planner: a time-indexed mixed-integer programme solved by HiGHS.

For small instances (tens of areas, a handful of teams, half a year in weeks). Variables:

* ``x[t,k,w]`` team-days team t spends on task k in week w (0..days per week);
* ``z[k,w]`` 1 if task k is done by the end of week w (monotone in w);
* ``y[j,w]`` 1 if settlement j's people can return from week w (all access areas released).

Constraints: a team works at most a week's days per week; progress (effective rate x days, the
set-up spread over the task, see ``model``) of all teams on a task reaches its work before
``z`` turns on, and never exceeds it; a stage is worked only after the week its previous stage
is done and is done no sooner than the fewest weeks it can take after that; ``y`` needs every
access area's last task done; team-days and cost per calendar month stay within the monthly
capacity and budget. The objective is the same person-weeks the shared evaluator computes: sum
of task values x weeks done plus people x weeks returned, within the horizon.

The time-indexed model alone has a weak LP relaxation (it credits a task's value in proportion
to its progress). Mean-busy-time cuts (Goemans' bound for preemptive scheduling: a task done in
week C at a rate of at most rho of its work per week has its mean week of progress at least
``_lag_share(rho)`` before C) tighten it, per task and per settlement and stage (a stage
before the last also lies the fewest weeks of the later stages before the return); ``y`` is
monotone, so the relaxation cannot lower it in the last week to escape those cuts. The
heuristic's plan is given to HiGHS as a starting solution.
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


def _lag_share(rho: float) -> float:
    """How far (in weeks) the mean week of a task's progress lies before the week it is done,
    at least: progress of at most ``rho`` of the task per week, packed into the last weeks."""
    if rho <= 0:
        return 0.0
    lag, left, i = 0.0, 1.0, 0
    while left > 1e-12:
        m = min(rho, left)
        lag += i * m
        left -= m
        i += 1
    return lag


def plan_milp(instance: Instance, *, time_limit: float = 60.0, mip_gap: float = 1e-4,
              start: Plan | None = None, prepared: Prepared | None = None,
              threads: int = 1, relax: bool = False) -> Plan:
    """The optimal plan over the horizon (or the best found within ``time_limit`` seconds).

    ``start`` (a plan of the same instance, e.g. the heuristic's) seeds the search. The returned
    plan's ``bound`` is HiGHS's proven upper bound on the objective, and ``status`` says
    whether optimality was proven. ``relax`` solves only the LP relaxation (its value is the
    ``bound``; the plan is the start plan, or empty). Raises ``SolverError`` when no feasible
    plan was found.
    """
    t0 = time.perf_counter()
    p = prepared or Prepared(instance)
    m = build_model(p)
    h = _solve(m.b, time_limit, mip_gap, threads, start, m.x, m.z, m.y, p, relax)
    info = h.getInfo()
    status = h.modelStatusToString(h.getModelStatus())
    if relax:
        bound = -float(info.objective_function_value) + _constant(p)
        src = start or plan_from_rows("lp", p, [], [], [], [])
        return plan_from_rows(src.method, p, src.team, src.task, src.week, src.days,
                              seconds=time.perf_counter() - t0, status=status, bound=bound)
    sol = h.getSolution()
    if not sol.value_valid:
        raise SolverError(f"HiGHS found no plan: {status}")
    values = np.asarray(sol.col_value)
    rows_t, rows_k, rows_w, rows_d = [], [], [], []
    for (t, k), xv in m.x.items():
        v = values[xv]
        for w in np.flatnonzero(v > 1e-7):
            rows_t.append(t)
            rows_k.append(k)
            rows_w.append(int(w))
            rows_d.append(float(v[w]))
    bound = -float(info.mip_dual_bound) + _constant(p)
    return plan_from_rows("milp", p, rows_t, rows_k, rows_w, rows_d,
                          seconds=time.perf_counter() - t0, status=status, bound=bound)


def build_model(p: Prepared) -> _Model:
    """The MILP of ``p``: variables, constraints, valid cuts and the monthly limits."""
    m = _Model(p)
    m.capacity()
    m.precedence()
    m.progress()
    m.busy_time_cuts()
    m.knapsacks()
    m.limits(p.instance)
    return m


class _Model:
    """The MILP's variables and rows, built part by part."""

    def __init__(self, p: Prepared) -> None:
        self.p = p
        self.b = b = _Builder()
        H, D = p.horizon, p.days
        nk = p.n_tasks
        self.elig = [p.eligible(k) for k in range(nk)]
        self.eff = [{int(t): float(p.effective_rate(int(t), k)) for t in self.elig[k]}
                    for k in range(nk)]
        work = p.task_work
        # the fewest weeks a task takes with every eligible team on it, and the earliest week
        # it can be done (a stage starts the week after its previous stage is done)
        self.per_week = np.array([D * sum(self.eff[k].values()) for k in range(nk)])
        n_weeks = np.where(self.per_week > 0,
                           np.ceil(work * (1 - 1e-6) / np.maximum(self.per_week, 1e-12) - 1e-9),
                           H + 1)
        self.n_weeks = np.maximum(n_weeks, 1).astype(np.int64)
        earliest = np.zeros(nk, dtype=np.int64)
        for k in range(nk):          # tasks are numbered so that a predecessor comes first
            pred = p.task_pred[k]
            earliest[k] = (earliest[pred] + 1 if pred >= 0 else 0) + self.n_weeks[k] - 1
        self.earliest = earliest
        self.z = np.array([[b.var(0, 1 if w >= earliest[k] else 0, -float(p.task_value[k]),
                                  True) for w in range(H)] for k in range(nk)],
                          dtype=np.int64).reshape(nk, H)
        self.x: dict[tuple[int, int], np.ndarray] = {}
        for k in range(nk):
            pred = p.task_pred[k]
            first = earliest[pred] + 1 if pred >= 0 else 0
            for t in self.elig[k]:
                self.x[int(t), k] = np.array([b.var(0, D if w >= first else 0.0, 0.0)
                                              for w in range(H)], dtype=np.int64)
        # settlements: y[j, w] = 1 once every access area's last task is done
        self.y: dict[int, list[int]] = {}
        for j, tasks in enumerate(p.settlement_tasks):
            if len(p.settlement_areas[j]) and len(tasks) == len(p.settlement_areas[j]):
                ready = int(max(earliest[k] for k in tasks))
                self.y[j] = [b.var(0, 1 if w >= ready else 0, -float(p.settlement_people[j]),
                                   True) for w in range(H)]
                for w in range(ready, H):
                    for k in tasks:
                        b.row([self.y[j][w], int(self.z[k, w])], [1.0, -1.0], -np.inf, 0.0)
                # returned stays returned: without it the relaxation lowers y in the last week
                # to escape the busy-time cuts, which charge their lag on y[j, H - 1]
                for w in range(H - 1):
                    b.row([self.y[j][w], self.y[j][w + 1]], [1.0, -1.0], -np.inf, 0.0)

    def weeks_after(self, k: int) -> int:
        """The fewest weeks the stages after task k in its area take (each starts the week
        after the one before is done)."""
        tasks = self.p.area_tasks[int(self.p.task_area[k])]
        return int(sum(self.n_weeks[q] for q in tasks[tasks.index(k) + 1:]))

    def capacity(self) -> None:
        """A team works at most a week's days per week."""
        p, b = self.p, self.b
        for t in range(p.n_teams):
            mine = [xv for (tt, _), xv in self.x.items() if tt == t]
            for w in range(p.horizon):
                if mine:
                    b.row([int(xv[w]) for xv in mine], [1.0] * len(mine), -np.inf, p.days)

    def precedence(self) -> None:
        """Done stays done; a stage is worked only after the week its previous stage is done,
        and is done no sooner than its fewest weeks after that."""
        p, b, z, H = self.p, self.b, self.z, self.p.horizon
        for k in range(p.n_tasks):
            pred = p.task_pred[k]
            for w in range(H - 1):
                b.row([int(z[k, w]), int(z[k, w + 1])], [1.0, -1.0], -np.inf, 0.0)
            if pred < 0:
                continue
            for w in range(1, H):
                lag = w - int(self.n_weeks[k])
                if lag < 0:
                    b.ub[int(z[k, w])] = 0.0
                else:
                    b.row([int(z[k, w]), int(z[pred, lag])], [1.0, -1.0], -np.inf, 0.0)
            for t in self.elig[k]:
                xv = self.x[int(t), k]
                for w in range(1, H):
                    b.row([int(xv[w]), int(z[pred, w - 1])], [1.0, -p.days], -np.inf, 0.0)
            # no more of the task done by week w than the share of weeks its previous stage
            # is done by week w - 1 allows (tight where the predecessor is fractional)
            work = float(p.task_work[k])
            first = int(self.earliest[pred]) + 1
            for w in range(first, H):
                cols, vals = [int(z[pred, w - 1])], [-work]
                for t, r in self.eff[k].items():
                    cols.extend(int(c) for c in self.x[t, k][first: w + 1])
                    vals.extend([r] * (w + 1 - first))
                b.row(cols, vals, -np.inf, 0.0)

    def progress(self) -> None:
        """Effective rate x cumulative days >= work x done; never more than the work."""
        p, b, H = self.p, self.b, self.p.horizon
        for k in range(p.n_tasks):
            work = float(p.task_work[k])
            for w in range(int(self.earliest[k]), H):
                cols, vals = [int(self.z[k, w])], [-work]
                for t, r in self.eff[k].items():
                    cols.extend(int(c) for c in self.x[t, k][: w + 1])
                    vals.extend([r] * (w + 1))
                b.row(cols, vals, 0.0, np.inf)
            cols, vals = [], []
            for t, r in self.eff[k].items():
                cols.extend(int(c) for c in self.x[t, k])
                vals.extend([r] * H)
            b.row(cols, vals, -np.inf, work * (1 + 1e-7))

    def busy_time_cuts(self) -> None:
        """Valid inequalities that tighten the LP: the weeks a task (or a settlement) counts
        within the horizon are at most H minus the mean week of its progress minus how far that
        mean must lie before the week it is done (``_lag_share``)."""
        p, b, H, D = self.p, self.b, self.p.horizon, self.p.days
        left = H - np.arange(H, dtype=float)
        for k in range(p.n_tasks):
            work = float(p.task_work[k])
            cols = [*(int(c) for c in self.z[k]), int(self.z[k, H - 1])]
            vals = [1.0] * H + [_lag_share(self.per_week[k] / work)]
            for t, r in self.eff[k].items():
                cols.extend(int(c) for c in self.x[t, k])
                vals.extend((-left * r / work).tolist())
            b.row(cols, vals, -np.inf, 0.0)
        # per settlement and stage: its access areas' work of that stage, each task sized by
        # the days all its eligible teams together need; a stage before the last is done at
        # least the fewest weeks of the later stages before the settlement returns
        for j, cols_y in self.y.items():
            for s in range(3):
                ks = [int(k) for a in p.settlement_areas[j] for k in p.area_tasks[int(a)]
                      if p.task_stage[k] == s]
                if not ks:
                    continue
                after = min(self.weeks_after(k) for k in ks)
                size = {k: p.task_work[k] / sum(self.eff[k].values()) for k in ks}
                total = sum(size.values())
                cap: dict[int, float] = {}
                for k in ks:
                    for t, r in self.eff[k].items():
                        cap[t] = max(cap.get(t, 0.0), size[k] * r / p.task_work[k])
                cols = [*cols_y, cols_y[H - 1]]
                vals = [1.0] * H + [_lag_share(D * sum(cap.values()) / total) + after]
                for k in ks:
                    for t, r in self.eff[k].items():
                        cols.extend(int(c) for c in self.x[t, k])
                        vals.extend((-left * size[k] * r / (p.task_work[k] * total)).tolist())
                b.row(cols, vals, -np.inf, 0.0)

    def knapsacks(self) -> None:
        """Valid knapsack rows on the binaries, from which HiGHS derives cover cuts: the tasks
        of a stage done by week w need, in days of all the stage's teams together, no more than
        the weeks so far hold. Implied by the LP, but on binaries only."""
        p, b, H, D = self.p, self.b, self.p.horizon, self.p.days
        for s in range(3):
            ks = [k for k in range(p.n_tasks) if p.task_stage[k] == s and self.eff[k]]
            if not ks:
                continue
            size = {k: p.task_work[k] / sum(self.eff[k].values()) for k in ks}
            cap: dict[int, float] = {}
            for k in ks:
                for t, r in self.eff[k].items():
                    cap[t] = max(cap.get(t, 0.0), size[k] * r / p.task_work[k])
            per_week = D * sum(cap.values())
            for w in range(H):
                cols = [int(self.z[k, w]) for k in ks if w >= self.earliest[k]]
                vals = [float(size[k]) for k in ks if w >= self.earliest[k]]
                if cols and sum(vals) > per_week * (w + 1):
                    b.row(cols, vals, -np.inf, per_week * (w + 1))

    def limits(self, instance: Instance) -> None:
        """Team-days and cost per calendar month within the monthly capacity and budget."""
        if instance.monthly_capacity_team_days is None and instance.monthly_budget is None:
            return
        months = month_of_week(instance, self.p.horizon)
        for m in np.unique(months):
            weeks = np.flatnonzero(months == m)
            cols, costs = [], []
            for (t, _), xv in self.x.items():
                cols.extend(int(xv[w]) for w in weeks)
                costs.extend([float(self.p.day_cost[t])] * len(weeks))
            if instance.monthly_capacity_team_days is not None:
                self.b.row(cols, [1.0] * len(cols), -np.inf,
                           float(instance.monthly_capacity_team_days))
            if instance.monthly_budget is not None:
                self.b.row(cols, costs, -np.inf, float(instance.monthly_budget))


def _constant(p: Prepared) -> float:
    """Value the MILP does not see: settlements already free of hazardous areas."""
    return float(p.settlement_people[p.settlement_free].sum()) * p.horizon


def _solve(b: _Builder, time_limit: float, mip_gap: float, threads: int, start: Plan | None,
           x: dict, z: np.ndarray, y: dict, p: Prepared, relax: bool = False) -> highspy.Highs:
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
    if not relax:
        lp.integrality_ = [highspy.HighsVarType.kInteger if i else
                           highspy.HighsVarType.kContinuous for i in b.integer]
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("mip_rel_gap", float(mip_gap))
    h.setOptionValue("threads", int(threads))
    h.setOptionValue("random_seed", 0)
    h.passModel(lp)
    if start is not None and not relax:
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
