"""Plans as CSV, GeoPackage and charts; the ``safeground plan`` commands."""

from __future__ import annotations

import json

import pandas as pd
import pyogrio
import pytest
from typer.testing import CliRunner

from safeground.planning.cli import app
from safeground.planning.heuristic import plan_heuristic
from safeground.planning.outputs import write_all

runner = CliRunner()


def test_write_all(tmp_path, small_instance):
    plan = plan_heuristic(small_instance, seconds=0.2)
    files = write_all(plan, tmp_path)
    df = pd.read_csv(files["csv"])
    assert list(df.columns) == ["team_id", "area_id", "activity", "week", "week_start", "days"]
    assert len(df) == len(plan.team)
    layers = {name for name, _ in pyogrio.list_layers(files["gpkg"])}
    assert layers == {"plan_areas", "settlement_returns"}
    areas = pyogrio.read_dataframe(files["gpkg"], layer="plan_areas")
    assert len(areas) == len(small_instance.areas)
    for key in ("gantt", "returns"):
        assert files[key].read_bytes()[:4] == b"\x89PNG"
    assert len(pd.read_csv(files["areas_csv"])) == len(small_instance.areas)


def test_settlement_table_follows_the_plan(tmp_path, small_instance):
    """The settlement table agrees with the plan's outcome: the people it lists as returning
    within the horizon are the plan's, in order of return, each gated by an access area that
    the plan releases in the very week the settlement returns."""
    plan = plan_heuristic(small_instance, seconds=0.3, seed=1)
    files = write_all(plan, tmp_path)
    table = pd.read_csv(files["settlements_csv"], keep_default_na=False)
    assert len(table) == len(small_instance.settlements)
    within = table[table.return_week != ""]
    assert within.people_able_to_return.sum() == pytest.approx(
        plan.summary()["people_returned_in_horizon"])
    assert 0 < len(within) < len(table)        # some return within the plan, some do not
    weeks = within.return_week.astype(int).tolist()
    assert weeks == sorted(weeks)
    assert set(table.return_week[len(within):]) == {""}   # those not returning come last
    release = {r.area_id: r.release_date for r in
               pd.read_csv(files["areas_csv"], keep_default_na=False).itertuples()}
    for r in within.itertuples():
        if r.access_areas:
            assert r.access_areas_released == r.access_areas
            assert release[r.last_access_area_id] == r.return_date
    gpkg = pyogrio.read_dataframe(files["gpkg"], layer="settlement_returns")
    assert gpkg.settlement_id.tolist() == table.settlement_id.tolist()


def test_cli_make_writes_a_plan(tmp_path):
    res = runner.invoke(app, ["make", "--synthetic", "10", "--horizon-weeks", "10",
                              "--seconds", "0.2", "--out", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)[0]
    assert summary["method"] == "heuristic"
    assert (tmp_path / "plan.gpkg").exists() and (tmp_path / "plan_gantt.png").exists()
    assert not (tmp_path / "forecast.csv").exists()
    res = runner.invoke(app, ["make", "--synthetic", "10", "--horizon-weeks", "10",
                              "--seconds", "0.2", "--out", str(tmp_path), "--forecast-runs",
                              "20", "--json"])
    assert res.exit_code == 0, res.output
    forecast = pd.read_csv(tmp_path / "forecast.csv")
    assert forecast["quantile"].tolist() == ["P10", "P50", "P90"]
    assert (forecast.runs == 20).all() and json.loads(res.output)[0]["file_forecast"]


def test_cli_make_from_files(tmp_path):
    pd.DataFrame([{"id": "A1", "classification": "CHA", "remaining_m2": 2000, "x": 0, "y": 0,
                   "settlement_ids": "S1", "land_use": "built_up"}]).to_csv(
        tmp_path / "areas.csv", index=False)
    pd.DataFrame([{"id": "S1", "x": 100, "y": 0, "displaced_population": 400}]).to_csv(
        tmp_path / "settlements.csv", index=False)
    pd.DataFrame([{"id": "T1", "asset": "ts"}, {"id": "T2", "asset": "dog"}]).to_csv(
        tmp_path / "teams.csv", index=False)
    res = runner.invoke(app, ["make", "--areas", str(tmp_path / "areas.csv"),
                              "--settlements", str(tmp_path / "settlements.csv"),
                              "--teams", str(tmp_path / "teams.csv"), "--horizon-weeks", "8",
                              "--seconds", "0", "--method", "greedy",
                              "--out", str(tmp_path / "out"), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)[0]["people_returned_in_horizon"] == 400


def test_cli_compare_and_forecast():
    res = runner.invoke(app, ["compare", "--synthetic", "10", "--horizon-weeks", "10",
                              "--seconds", "0.2", "--json"])
    assert res.exit_code == 0, res.output
    rows = {r["planner"]: r for r in json.loads(res.output)}
    assert set(rows) == {"weighted_score", "tuned_ranking", "nearest_first", "greedy",
                         "optimised"}
    res = runner.invoke(app, ["forecast", "--synthetic", "10", "--horizon-weeks", "10",
                              "--seconds", "0.1", "--runs", "20", "--json"])
    assert res.exit_code == 0, res.output
    assert [r["quantile"] for r in json.loads(res.output)] == ["P10", "P50", "P90"]


def test_cli_errors_are_coded():
    res = runner.invoke(app, ["make", "--horizon-weeks", "10"])
    assert res.exit_code == 2
    assert "PLAN_INSTANCE_INVALID" in res.output
    res = runner.invoke(app, ["make", "--synthetic", "5", "--method", "magic"])
    assert res.exit_code == 2 and "PLAN_CONFIG_INVALID" in res.output


def test_cli_plans_and_replans_from_the_record(tmp_path):
    """``plan make --db``: a plan from the record; a week later ``--previous`` holds the work
    in progress with its teams and re-plans the rest."""
    from safeground import example
    from safeground.record.ledger import Ledger
    from safeground.record.storage import Database
    from safeground.settings import Settings

    url = f"sqlite:///{tmp_path}/r.sqlite"
    ledger = Ledger(Database.open(url), Settings(database_url=url))
    ledger.approve(ledger.submit(example.records(), user="officer").accepted, user="chief")
    pd.DataFrame({"object_id": ["HA-001", "HA-003"], "mean_probability": [0.9, 0.01]}).to_csv(
        tmp_path / "ranking.csv", index=False)
    first = tmp_path / "first"
    res = runner.invoke(app, ["make", "--db", url, "--risk", str(tmp_path / "ranking.csv"),
                              "--start", "2021-07-01", "--horizon-weeks", "26", "--seconds",
                              "0", "--out", str(first), "--json"])
    assert res.exit_code == 0, res.output
    old = pd.read_csv(first / "plan.csv")
    open_areas = {a["id"] for a in ledger.objects("hazardous_area") if a["status"] != "closed"}
    assert len(old) and set(old["area_id"]) <= open_areas
    # HA-005's TS is reported completed in the record: only its clearance is planned
    assert set(old.loc[old["area_id"] == "HA-005", "activity"]) <= {"clearance"}

    res = runner.invoke(app, ["make", "--db", url, "--previous", str(first / "plan.csv"),
                              "--start", "2021-07-08", "--horizon-weeks", "26", "--seconds",
                              "0", "--out", str(tmp_path / "second"), "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)[0]
    assert summary["method"] == "replan"
    # every task under way in week 1 of the old plan is held: in the new plan it is worked
    # in week 0 by a team that had it in the old one
    span = old.groupby(["team_id", "area_id", "activity"])["week"].agg(["min", "max"])
    under_way = span[(span["min"] <= 1) & (span["max"] >= 1)].reset_index()
    assert summary["tasks_held_from_previous_plan"] >= under_way[["area_id", "activity"]] \
        .drop_duplicates().shape[0] > 0
    new = pd.read_csv(tmp_path / "second" / "plan.csv")
    week0 = set(zip(new.loc[new["week"] == 0, "team_id"], new.loc[new["week"] == 0, "area_id"],
                    new.loc[new["week"] == 0, "activity"], strict=True))
    for (area, activity), g in under_way.groupby(["area_id", "activity"]):
        assert any((team, area, activity) in week0 for team in g["team_id"]), (area, activity)

    pd.DataFrame({"team": ["T1"]}).to_csv(tmp_path / "bad.csv", index=False)
    res = runner.invoke(app, ["make", "--db", url, "--previous", str(tmp_path / "bad.csv"),
                              "--start", "2021-07-08"])
    assert res.exit_code == 2 and "PLAN_INSTANCE_INVALID" in res.output
    flat = "".join(res.output.split())           # the console wraps long paths
    assert "bad.csv" in flat and "team_id" in flat
    res = runner.invoke(app, ["make", "--db", url, "--method", "milp"])
    assert res.exit_code == 2 and "PLAN_CONFIG_INVALID" in res.output
    pd.DataFrame({"object_id": ["HA-001"], "score": [1.0]}).to_csv(tmp_path / "r2.csv",
                                                                   index=False)
    res = runner.invoke(app, ["make", "--db", url, "--risk", str(tmp_path / "r2.csv")])
    assert res.exit_code == 2 and "PLAN_INSTANCE_INVALID" in res.output
    assert "mean_probability" in "".join(res.output.split())


def test_cli_priorities_ranks_areas_and_settlements_with_their_points(tmp_path):
    """``safeground plan priorities``: every area and settlement ranked by the authority's
    score, the criteria's points adding up to it, written in full with --out."""
    from safeground.planning.priority import CRITERIA, area_scores
    from safeground.planning.synthetic import synthetic_instance

    res = runner.invoke(app, ["priorities", "--synthetic", "30", "--seed", "2", "--top", "5",
                              "--out", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    body = json.loads(res.output)
    assert [r["rank"] for r in body["areas"]] == [1, 2, 3, 4, 5]
    areas = pd.read_csv(tmp_path / "priorities_areas.csv")
    expected = {s.id: s for s in area_scores(synthetic_instance(30, 6, 4, 1, 2))}
    assert len(areas) == len(expected) == 30
    assert areas["rank"].tolist() == list(range(1, 31))
    for r in areas.itertuples():
        assert r.score == pytest.approx(expected[r.area_id].score)
        assert r.score == pytest.approx(sum(getattr(r, f"points_{c}") for c in CRITERIA),
                                        abs=0.01)
    assert areas.score.is_monotonic_decreasing
    sett = pd.read_csv(tmp_path / "priorities_settlements.csv")
    assert sett["rank"].tolist() == list(range(1, len(sett) + 1)) and len(sett) == 6
    table = runner.invoke(app, ["priorities", "--synthetic", "30", "--seed", "2"])
    assert table.exit_code == 0 and "Hazardous areas by priority (top 20 of 30)" in table.output


def test_cli_forecasts_and_ranks_the_record(tmp_path):
    """``plan forecast --db``: P10 / P50 / P90 completion of the record's own programme;
    ``plan priorities --db`` ranks its areas; --risk / --context need --db."""
    from safeground import example
    from safeground.record.ledger import Ledger
    from safeground.record.storage import Database
    from safeground.settings import Settings

    url = f"sqlite:///{tmp_path}/r.sqlite"
    ledger = Ledger(Database.open(url), Settings(database_url=url))
    ledger.approve(ledger.submit(example.records(), user="officer").accepted, user="chief")
    res = runner.invoke(app, ["forecast", "--db", url, "--start", "2021-07-01",
                              "--horizon-weeks", "104", "--runs", "30", "--seconds", "0",
                              "--json"])
    assert res.exit_code == 0, res.output
    rows = {r["quantile"]: r for r in json.loads(res.output)}
    assert list(rows) == ["P10", "P50", "P90"]
    dates = [rows[q]["completion_date"] for q in ("P10", "P50", "P90")]
    assert all(dates) and dates == sorted(dates) and dates[0] > "2021-07-01"
    res = runner.invoke(app, ["priorities", "--db", url, "--json"])
    assert res.exit_code == 0, res.output
    open_areas = {a["id"] for a in ledger.objects("hazardous_area") if a["status"] != "closed"}
    assert {r["area_id"] for r in json.loads(res.output)["areas"]} == open_areas
    res = runner.invoke(app, ["forecast", "--synthetic", "5", "--context", str(tmp_path)])
    assert res.exit_code == 2 and "PLAN_CONFIG_INVALID" in res.output


def test_cli_what_if_and_twin_comparison(tmp_path, monkeypatch):
    """``plan forecast --what-if`` lists every variant; ``plan compare --twin`` runs the
    policies on the twin (here the small scenario, one seed, one year) and writes its runs."""
    res = runner.invoke(app, ["forecast", "--synthetic", "10", "--horizon-weeks", "10",
                              "--runs", "10", "--seconds", "0", "--what-if", "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert rows[0]["scenario"] == "baseline" and len(rows) == 5

    import safeground.scenario as scenario_pkg

    real = scenario_pkg.ScenarioConfig
    monkeypatch.setattr(scenario_pkg, "ScenarioConfig", lambda seed: real.small(seed=seed))
    out = tmp_path / "runs.jsonl"
    res = runner.invoke(app, ["compare", "--twin", "--seeds", "1", "--years", "1",
                              "--policies", "nearest_first,greedy", "--seconds", "0",
                              "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    runs = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["policy"] for r in runs] == ["nearest_first", "greedy"]
    assert {r["policy"] for r in json.loads(res.output)} == {"nearest_first", "greedy"}


def test_cli_forecast_re_planned_quarterly_beside_the_plan_as_made():
    """``plan forecast --replan quarterly`` prints, per quantile, the completion and people
    able to return for the plan followed as made and for the plan made again every quarter."""
    res = runner.invoke(app, ["forecast", "--synthetic", "10", "--horizon-weeks", "26",
                              "--runs", "20", "--seconds", "0.05", "--replan", "quarterly",
                              "--replan-runs", "2", "--years", "1", "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert [r["quantile"] for r in rows] == ["P10", "P50", "P90"]
    assert {"completion (plan as made)", "completion (re-planned)",
            "people year 1 (plan as made)", "people year 1 (re-planned)"} <= set(rows[0])
    again = [r["people year 1 (re-planned)"] for r in rows]
    assert again == sorted(again, reverse=True)         # P10 is the optimistic side
    bad = runner.invoke(app, ["forecast", "--synthetic", "10", "--replan", "weekly"])
    assert bad.exit_code == 2 and "PLAN_CONFIG_INVALID" in bad.output
