"""The scheduler: feasibility, limits, and the heuristic against the MILP."""

from __future__ import annotations

import numpy as np
import pytest

from safeground.planning.heuristic import plan_heuristic
from safeground.planning.milp import _constant, _lag_share, _solve, build_model, plan_milp
from safeground.planning.model import Prepared, evaluate
from safeground.planning.plan import plan_from_rows
from safeground.planning.synthetic import synthetic_instance


def _week_load(plan):
    p = plan.prepared
    load = np.zeros((p.n_teams, int(plan.week.max()) + 1))
    np.add.at(load, (plan.team, plan.week), plan.days)
    return load


def test_heuristic_plan_is_feasible_and_dated(small_instance):
    plan = plan_heuristic(small_instance, seconds=0.5)
    p = plan.prepared
    assert _week_load(plan).max() <= p.days + 1e-6          # a team works <= a week per week
    # every task's first week comes after its previous stage's completion week
    first = {}
    for k, w in zip(plan.task.tolist(), plan.week.tolist(), strict=True):
        first[k] = min(first.get(k, w), w)
    done = plan.outcome.task_done_week
    for k, w in first.items():
        pred = p.task_pred[k]
        if pred >= 0:
            assert w > done[pred]
    df = plan.to_frame()
    assert set(df.activity) <= {"nts", "ts", "clearance"}
    assert str(df.week_start.iloc[0]) >= str(small_instance.start)
    # the decoder schedules all work; every task gets done
    assert np.isfinite(done).all()


def test_assets_only_do_their_stages(small_instance):
    plan = plan_heuristic(small_instance, seconds=0.2)
    assets = {t.id: t.asset for t in small_instance.teams}
    allowed = {"nts": {"nts"}, "ts": {"ts"}, "clearance": {"manual", "dog", "machine"}}
    for r in plan.to_frame().itertuples():
        assert assets[r.team_id] in allowed[r.activity]


def test_outcome_is_the_shared_evaluator(small_instance):
    plan = plan_heuristic(small_instance, seconds=0.2)
    again = evaluate(plan.prepared, plan.team, plan.task, plan.week, plan.days)
    assert again.objective == pytest.approx(plan.objective)


def test_evaluator_refuses_precedence_violations(small_instance):
    prep = Prepared(small_instance)
    k = int(np.flatnonzero(prep.task_pred >= 0)[0])
    with pytest.raises(ValueError, match="before its predecessor"):
        plan_from_rows("bad", prep, [1], [k], [0], [5.0])


def test_local_search_never_loses_to_greedy(small_instance):
    g = plan_heuristic(small_instance, local=False)
    h = plan_heuristic(small_instance, seconds=0.5)
    assert h.objective >= g.objective - 1e-6


def test_monthly_budget_and_capacity_are_kept():
    inst = synthetic_instance(n_areas=15, n_settlements=3, n_teams=4, horizon_weeks=20, seed=3,
                              monthly_capacity_team_days=30, monthly_budget=60000)
    plan = plan_heuristic(inst, seconds=0.3)
    from safeground.planning.heuristic import month_of_week

    months = month_of_week(inst, int(plan.week.max()) + 1)
    p = plan.prepared
    days_by_month = np.bincount(months[plan.week], weights=plan.days)
    cost_by_month = np.bincount(months[plan.week], weights=plan.days * p.day_cost[plan.team])
    assert days_by_month.max() <= 30 + 1e-6
    assert cost_by_month.max() <= 60000 + 1e-3


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_heuristic_within_3_percent_of_milp_optimum(seed):
    # small, so that HiGHS proves optimality quickly; docs/planning.md has the larger runs
    inst = synthetic_instance(n_areas=8, n_settlements=3, n_teams=4, horizon_weeks=8, seed=seed)
    # a budget of moves, not seconds, so the result does not depend on how busy the machine is
    h = plan_heuristic(inst, seconds=60, iterations=3000, seed=0)
    m = plan_milp(inst, time_limit=60, start=h)
    assert m.status == "Optimal"
    assert m.objective >= h.objective - 1e-6 * abs(h.objective)   # the warm start is kept
    assert m.objective <= m.bound * (1 + 1e-3)
    assert h.objective >= 0.97 * m.objective


def test_milp_respects_the_model(small_instance):
    inst = synthetic_instance(n_areas=5, n_settlements=2, n_teams=4, horizon_weeks=6, seed=4)
    m = plan_milp(inst, time_limit=30)
    assert _week_load(m).max() <= m.prepared.days + 1e-6
    # the evaluator, not the solver, scores the plan; it matches the solver's bound
    assert m.objective == pytest.approx(m.bound, rel=1e-3)


def test_lag_share_packs_progress_into_the_last_weeks():
    assert _lag_share(1.0) == 0.0 and _lag_share(3.0) == 0.0
    assert _lag_share(0.25) == pytest.approx(0.25 * (0 + 1 + 2 + 3))
    # 0.4 a week: 0.4 in the week done, 0.4 the week before, 0.2 two weeks before
    assert _lag_share(0.4) == pytest.approx(0.4 * 1 + 0.2 * 2)


@pytest.mark.parametrize("seed", [1, 5])
def test_lp_relaxation_bounds_the_optimum_and_keeps_the_heuristic_plan(seed):
    # the cuts are valid: the LP bound is above the proven optimum, and the heuristic's plan
    # is accepted as a starting solution (the MILP never returns less than it)
    inst = synthetic_instance(n_areas=8, n_settlements=3, n_teams=4, horizon_weeks=8, seed=seed)
    h = plan_heuristic(inst, seconds=60, iterations=1000, seed=0)
    lp = plan_milp(inst, relax=True, prepared=h.prepared)
    m = plan_milp(inst, time_limit=60, start=h, prepared=h.prepared)
    assert m.status == "Optimal"
    assert m.objective >= h.objective - 1e-6 * abs(h.objective)
    assert lp.bound >= m.objective * (1 - 1e-6)
    assert m.bound >= m.objective * (1 - 1e-6)


def test_relaxation_keeps_settlements_returned_and_stages_before_their_later_weeks():
    # 12 areas x 12 weeks, seed 0: without "returned stays returned" the relaxation lowered
    # y in the last week to escape the busy-time cuts (their lag is charged on y[j, H - 1])
    inst = synthetic_instance(n_areas=12, n_settlements=3, n_teams=4, horizon_weeks=12, seed=0)
    p = Prepared(inst)
    m = build_model(p)
    h = _solve(m.b, 60, 1e-4, 1, None, m.x, m.z, m.y, p, relax=True)
    sol = np.asarray(h.getSolution().col_value)
    assert m.y, "the instance has settlements with access areas"
    for cols in m.y.values():
        assert np.all(np.diff(sol[cols]) >= -1e-7)
    bound = -h.getInfo().objective_function_value + _constant(p)
    assert bound == pytest.approx(plan_milp(inst, relax=True, prepared=p).bound, rel=1e-9)
    # the fewest weeks after a task are those of the later stages in its area
    for tasks in p.area_tasks:
        for i, k in enumerate(tasks):
            assert m.weeks_after(k) == sum(int(m.n_weeks[q]) for q in tasks[i + 1:])
        if tasks:
            assert m.weeks_after(tasks[-1]) == 0
