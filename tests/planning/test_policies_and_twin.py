"""Policies, and their evaluation against the operations twin."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from safeground.planning import policies
from safeground.planning.cli import app
from safeground.planning.evaluation import (
    TwinRun,
    bootstrap_interval,
    instance_from_twin,
    paired,
    run_policy,
    runs_from_jsonl,
    stages_before,
    summarise,
)
from safeground.planning.instance import build_instance
from safeground.planning.priority import area_scores


def _line_instance():
    # three areas on a line; the team's base is at x = 0
    areas = [{"id": f"A{i}", "classification": "CHA", "remaining_m2": 400, "x": x, "y": 0,
              "casualties_nearby": c, "stages_done": 2}
             for i, (x, c) in enumerate([(9000, 3), (1000, 0), (5000, 1)])]
    return build_instance(areas, [], [{"id": "T", "asset": "manual", "base_x": 0,
                                       "base_y": 0}], horizon_weeks=20)


def test_weighted_score_follows_the_ranking():
    inst = _line_instance()
    order = [a for _, a, _, _ in policies.weighted_score(inst)]
    assert order == [s.id for s in area_scores(inst)] == ["A0", "A2", "A1"]


def test_nearest_first_walks_from_the_base():
    order = [a for _, a, _, _ in policies.nearest_first(_line_instance())]
    assert order == ["A1", "A2", "A0"]


@pytest.mark.parametrize("name", list(policies.POLICIES))
def test_every_policy_plans_only_what_teams_can_do(name, small_instance):
    plan = policies.plan_policy(small_instance, name, seconds=0.2)
    assets = {t.id: t.asset for t in small_instance.teams}
    for r in plan.to_frame().itertuples():
        assert assets[r.team_id] in small_instance.config.capabilities[r.activity]
    assert plan.objective >= 0


@pytest.fixture(scope="module")
def small_scenario():
    from safeground.scenario import ScenarioConfig, generate

    return generate(ScenarioConfig.small(seed=0))


def test_instance_from_twin_reads_only_the_observable_state(small_scenario):
    from safeground.scenario.twin import OperationsTwin

    twin = OperationsTwin(small_scenario, seed=0)
    inst = instance_from_twin(twin, dt.date(2021, 4, 1), {}, set(), horizon_weeks=26)
    observed = {a.id for a in twin.observable_areas() if a.status != "closed"}
    assert {a.id for a in inst.areas} <= observed
    assert {t.id for t in inst.teams} == {t.id for t in twin.teams}
    waiting = {s.id for s in twin.settlements if not s.returned}
    assert {s.id for s in inst.settlements} == waiting


def test_the_planner_starts_where_the_early_operations_ended(small_scenario):
    from safeground.planning.model import Prepared
    from safeground.scenario.twin import OperationsTwin

    start = dt.date(2021, 4, 1)
    stages = stages_before(small_scenario, start)
    completed = {}
    for r in small_scenario.report_records():
        if (str(r.get("report_type")) == "activity" and r.get("status") == "completed"
                and r.get("activity_type") in ("nts", "ts")
                and str(r["date_of_information"])[:10] < start.isoformat()):
            a = r["hazardous_area_id"]
            completed[a] = max(completed.get(a, 0), 1 if r["activity_type"] == "nts" else 2)
    assert completed, "the small scenario's record holds completed NTS or TS"
    assert stages == completed
    twin = OperationsTwin(small_scenario, seed=0, start=start)
    inst = instance_from_twin(twin, start, stages, set(), horizon_weeks=26)
    prep = Prepared(inst)
    for i, a in enumerate(inst.areas):
        planned = {int(prep.task_stage[k]) for k in prep.area_tasks[i]}
        assert min(planned, default=3) >= stages.get(a.id, 0), a.id   # no stage done again


def test_run_policy_on_the_twin(small_scenario):
    runs = [run_policy(small_scenario, name, seed=0, years=0.25, period_weeks=6, seconds=0.2)
            for name in ("weighted_score", "optimised")]
    for r in runs:
        assert r.people_year_1 >= 0 and r.cleared_m2 >= 0
        assert 0 <= r.share_cleared_with_eo <= 1
        # the land of the 25 m cells where items were found lies in the areas that held
        # them, which lie in the land cleared
        assert r.cleared_m2_with_eo <= r.cleared_m2_in_areas_with_eo + 1.0
        assert r.cleared_m2_in_areas_with_eo <= r.cleared_m2 + 1.0
        assert r.share_cleared_areas_with_eo == pytest.approx(
            r.cleared_m2_in_areas_with_eo / r.cleared_m2 if r.cleared_m2 else 0.0, abs=1e-4)
    rows = summarise(runs)
    assert [r["policy"] for r in rows] == ["weighted_score", "optimised"]


def test_team_load_reads_the_public_team_work(small_scenario):
    from safeground.planning.evaluation import _team_load
    from safeground.scenario.twin import OperationsTwin, WorkOrder

    twin = OperationsTwin(small_scenario, seed=0)
    busy, held, queued = _team_load(twin)
    assert set(busy) == {t.id for t in twin.teams} and not held and not queued
    assert all(d == 0 for d in busy.values())
    team = next(t for t in twin.teams if t.asset == "nts")
    areas = [a for a in twin.observable_areas() if a.status != "closed" and a.remaining_m2 > 1e4]
    start = dt.date(2021, 4, 1)
    twin.advance([WorkOrder(team.id, areas[0].id, "nts", start),
                  WorkOrder(team.id, areas[1].id, "nts", start + dt.timedelta(days=300))],
                 start + dt.timedelta(days=1))
    job, rate, queue = twin.team_work()[team.id]
    assert job is not None and job.area_id == areas[0].id and rate > 0
    assert [o.area_id for o in queue] == [areas[1].id]
    busy, held, queued = _team_load(twin)
    assert busy[team.id] > 0 and {areas[0].id, areas[1].id} <= held and queued == {team.id}


def _run(policy: str, seed: int, people3: int, casualties: int) -> TwinRun:
    return TwinRun(policy=policy, seed=seed, people_year_1=people3 // 3, people_year_3=people3,
                   people_year_5=people3 * 2, casualties=casualties,
                   civilian_casualties=casualties // 2, killed=casualties // 4,
                   completion_years=None, share_cleared_with_eo=0.3, items_found=10,
                   cleared_m2=1e6, seconds=1.0)


def test_paired_comparison_by_seed_and_runs_from_jsonl(tmp_path):
    runs = [_run("weighted_score", 0, 100, 50), _run("optimised", 0, 160, 40),
            _run("weighted_score", 1, 200, 60), _run("optimised", 1, 180, 70),
            _run("optimised", 2, 999, 1)]          # seed 2 has no baseline: not paired
    rows = {r["figure"]: r for r in paired(runs, "weighted_score", "optimised")}
    p3 = rows["people_year_3"]
    assert p3["seeds"] == 2
    assert p3["mean_difference"] == pytest.approx(20.0)        # (+60 - 20) / 2
    assert (p3["min"], p3["max"]) == (-20.0, 60.0)
    assert p3["optimised_ahead_on"] == 1
    assert rows["casualties"]["optimised_ahead_on"] == 1       # fewer on seed 0 only
    path = tmp_path / "runs.jsonl"
    path.write_text("".join(json.dumps(r.as_dict()) + "\n" for r in runs))
    assert runs_from_jsonl([path]) == runs
    out = CliRunner().invoke(app, ["compare", "--runs", str(path), "--json"])
    assert out.exit_code == 0, out.output
    assert '"optimised_ahead_on": 1' in out.output
    out = CliRunner().invoke(app, ["compare", "--runs", str(path)])
    assert out.exit_code == 0, out.output
    # one row per figure, mean ± sd for each of the two policies (the title has one more)
    # (the share of cleared land in areas with EO is not in these runs: shown as "-")
    assert out.output.count("±") == 8 * 2 + 1 and "paired by seed" in out.output


def test_the_optimised_plan_is_paired_with_the_tuned_ranking(tmp_path):
    runs = [_run("tuned_ranking", s, 100 + 10 * s, 50) for s in range(4)] + \
           [_run("optimised", s, 150 + 10 * s, 45) for s in range(4)]
    rows = {r["figure"]: r for r in paired(runs, "tuned_ranking", "optimised")}
    p3 = rows["people_year_3"]
    assert p3["mean_difference"] == 50 and p3["optimised_ahead_on"] == 4
    assert p3["ci95_low"] == p3["ci95_high"] == 50          # the same gain on every seed
    path = tmp_path / "runs.jsonl"
    path.write_text("".join(json.dumps(r.as_dict()) + "\n" for r in runs))
    out = CliRunner().invoke(app, ["compare", "--runs", str(path)])
    assert out.exit_code == 0, out.output
    assert "optimised against tuned_ranking" in out.output


def test_bootstrap_interval_of_paired_differences():
    d = np.array([10.0, -5.0, 30.0, 12.0, 8.0, 20.0, -2.0, 15.0])
    low, high = bootstrap_interval(d)
    assert low < d.mean() < high
    assert d.min() < low and high < d.max()
    assert bootstrap_interval(d) == (low, high)             # seeded: the same each time
    low99, high99 = bootstrap_interval(d, level=0.99)
    assert low99 <= low and high <= high99
