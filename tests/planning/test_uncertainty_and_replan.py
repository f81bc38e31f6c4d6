"""Monte Carlo forecast, what-if and rolling re-planning."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from safeground.planning.heuristic import plan_heuristic
from safeground.planning.replan import frozen_work, replan
from safeground.planning.uncertainty import forecast, simulate, what_if


def test_forecast_quantiles_are_ordered(small_instance):
    plan = plan_heuristic(small_instance, seconds=0.2)
    f = forecast(plan, runs=60, seed=1)
    w = f.completion_week
    assert w["P10"] <= w["P50"] <= w["P90"]
    assert f.completion_date["P10"] <= f.completion_date["P90"]
    for q in f.people_returned.values():
        assert q["P10"] >= q["P50"] >= q["P90"]     # P10 is the optimistic side
    assert 0 <= f.share_cleared_with_eo <= 1


def test_simulation_is_seeded_and_varies(small_instance):
    plan = plan_heuristic(small_instance, seconds=0.2)
    a = simulate(plan, runs=30, seed=5)
    b = simulate(plan, runs=30, seed=5)
    assert np.array_equal(a.completion_week, b.completion_week)
    assert a.completion_week.std() > 0          # productivity and shares do vary


def test_what_if_lists_every_variant(small_instance):
    done = []
    rows = what_if(small_instance, runs=20, seconds=0.0, on_variant=done.append)
    names = [r["scenario"] for r in rows]
    assert names[0] == "baseline" and len(names) == 5
    assert done == names                      # progress is told variant by variant
    more = next(r for r in rows if "teams (same mix)" in r["scenario"])
    assert more["teams"] > rows[0]["teams"]


def test_more_teams_of_the_same_mix_keep_the_fleet_s_shares(small_instance):
    """'+N teams (same mix)' adds each asset in proportion to the fleet (largest remainder),
    not the first N teams of the list."""
    from collections import Counter

    from safeground.planning.instance import Team
    from safeground.planning.uncertainty import what_if_instances

    assets = ["manual"] * 10 + ["dog"] * 5 + ["ts"] * 3 + ["nts"] * 2
    fleet = [Team(f"T{i:02d}", a, 240.0, 0.0, 0.0, 25000.0) for i, a in enumerate(assets)]
    inst = small_instance.with_teams(fleet)
    (name, (bigger, _)), = [(k, v) for k, v in what_if_instances(inst).items()
                            if "same mix" in k]
    added = Counter(t.asset for t in bigger.teams) - Counter(assets)
    assert name == "+4 teams (same mix)"
    assert added == Counter({"manual": 2, "dog": 1, "ts": 1})
    assert len({t.id for t in bigger.teams}) == len(bigger.teams) == 24


def test_replan_keeps_work_in_progress(small_instance):
    old = plan_heuristic(small_instance, seconds=0.2)
    week_now = 3
    held_before = frozen_work(old, week_now, 1)
    # today's record: stages the old plan finished before today are done
    p, done = old.prepared, old.outcome.task_done_week
    stages = {}
    for k in range(p.n_tasks):
        if done[k] < week_now and p.task_stage[k] < 2:
            a = small_instance.areas[p.task_area[k]].id
            stages[a] = max(stages.get(a, 0), int(p.task_stage[k]) + 1)
    areas = tuple(replace(a, stages_done=stages.get(a.id, a.stages_done))
                  for a in small_instance.areas)
    today = replace(small_instance, areas=areas,
                    start=small_instance.start + timedelta(weeks=week_now))
    r = replan(today, old, week_now, freeze_weeks=1, seconds=0.2)
    assert r.kept == held_before                # every task under way stays with its team
    # ... also a task two teams work side by side: both stay on it
    shared = [(area, act) for _, area, act in r.kept]
    assert any(shared.count(x) == 2 for x in shared)
    new_first = {}
    for team, area, act in frozen_work(r.plan, 0, 1):
        new_first.setdefault(team, (area, act))
    for team, area, act in held_before:
        assert new_first[team] == (area, act) or (team, area, act) in r.kept
    assert r.changed_teams == []


def test_teams_sharing_a_held_task_finish_it_together():
    from safeground.planning.replan import _shared_end

    assert _shared_end([5.0], [10.0], 30.0) == 8.0              # one team: start + work / rate
    assert _shared_end([0.0, 2.0], [10.0, 10.0], 60.0) == 4.0   # 20 alone, then 40 at 20 a day
    assert _shared_end([0.0, 9.0], [10.0, 10.0], 60.0) == 6.0   # done before the second starts


def test_extra_teams_work_at_the_fleet_s_rate(small_instance):
    """What-if teams of an asset the fleet has work at its teams' mean rate (a plan from the
    record: the measured rate), an asset it lacks at the config's."""
    from safeground.planning.instance import Team
    from safeground.planning.uncertainty import what_if_instances

    fleet = [Team("M1", "machine", 4000.0, 0.0, 0.0, 45000.0),
             Team("M2", "machine", 5000.0, 0.0, 0.0, 45000.0),
             Team("TS1", "ts", 28000.0, 0.0, 0.0, 30000.0)]
    inst = small_instance.with_teams(fleet)
    variants = what_if_instances(inst)
    machines, _ = variants["+2 machine teams"]
    assert [t.productivity_m2_per_day for t in machines.teams[3:]] == [4500.0, 4500.0]
    dogs, _ = variants["+2 dog teams"]
    assert {t.productivity_m2_per_day for t in dogs.teams[3:]} == \
        {inst.config.team_rate["dog"]}


def test_forecast_on_a_dask_cluster_equals_the_local_one(small_instance, tmp_path):
    from harness.dask_cluster import cluster

    plan = plan_heuristic(small_instance, seconds=0.2)
    local = simulate(plan, runs=60, seed=3)
    with cluster(tmp_path / "dask") as address:
        remote = simulate(plan, runs=60, seed=3, scheduler=address)
        f_remote = forecast(plan, runs=60, seed=3, scheduler=address)
    for name in local.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(remote, name), getattr(local, name))
    assert f_remote == forecast(plan, runs=60, seed=3)
    # each run is its own: the first runs of a longer simulation are the shorter one's
    longer = simulate(plan, runs=90, seed=3)
    np.testing.assert_array_equal(longer.completion_week[:60], local.completion_week)
    assert local.completion_week.std() > 0


def test_monte_carlo_with_re_planning_is_seeded_and_ordered(small_instance):
    from safeground.planning.uncertainty import forecast_replanning, simulate_replanning

    inst = replace(small_instance, horizon_weeks=26)
    a = simulate_replanning(inst, runs=3, seed=4, period_weeks=13, years=1, iterations=20)
    b = simulate_replanning(inst, runs=3, seed=4, period_weeks=13, years=1, iterations=20)
    assert np.array_equal(a.settlement_return_week, b.settlement_return_week)
    f = forecast_replanning(inst, runs=3, seed=4, period_weeks=13, years=1, iterations=20)
    people = f.people_returned[1]
    assert people["P10"] >= people["P50"] >= people["P90"] > 0
    total = sum(s.displaced_population for s in inst.settlements)
    assert people["P10"] <= total
    assert 0 < a.cleared_m2.max() <= sum(x.remaining_m2 for x in inst.areas)


def test_re_planning_in_a_world_without_surprises_keeps_the_plan_s_dates():
    """With outcomes exactly as expected (no spread in shares or rates), one SHA worked
    through NTS, TS and clearance by one team each is released the same week whether the plan
    is followed as made or made again every four weeks: work in progress carries over from
    one period to the next, and a stage starts the week after the one before it."""
    from dataclasses import replace as dc_replace

    from safeground.planning.instance import build_instance
    from safeground.planning.uncertainty import simulate_replanning

    cfg = dc_replace(build_instance([], [], [], horizon_weeks=1).config,
                     productivity_cv=1e-9, share_concentration=1e9)
    inst = build_instance(
        [{"id": "A", "classification": "SHA", "remaining_m2": 2_000_000, "x": 0.0, "y": 0.0,
          "contamination_probability": 0.2}], [],
        [{"id": "N", "asset": "nts", "productivity_m2_per_day": 100_000, "base_x": 0.0,
          "base_y": 0.0},
         {"id": "T", "asset": "ts", "productivity_m2_per_day": 50_000, "base_x": 0.0,
          "base_y": 0.0},
         {"id": "M", "asset": "machine", "productivity_m2_per_day": 30_000, "base_x": 0.0,
          "base_y": 0.0}], horizon_weeks=52, config=cfg)
    plan = plan_heuristic(inst, iterations=10)
    fixed = simulate(plan, runs=1, seed=0)
    again = simulate_replanning(inst, runs=1, seed=0, period_weeks=4, years=1, iterations=10)
    assert 8 < fixed.completion_week[0] < 52           # it spans several periods
    assert again.completion_week[0] == fixed.completion_week[0]
    assert again.cleared_m2[0] == pytest.approx(fixed.cleared_m2[0], rel=1e-6)
