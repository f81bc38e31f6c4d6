"""The plan in the web app: per-settlement return dates and per-area work, from the files the
planner writes (``planning.outputs.write_all``), read by analysts only."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest
from websupport import build_site, made, write_plan

from safeground.planning.outputs import settlement_table
from safeground.planning.replan import replan_from_record
from safeground.record import labels


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    """The example programme with a plan of its own record in its work directory."""
    work = tmp_path_factory.mktemp("work")
    site = build_site(f"sqlite:///{work}/record.sqlite", work_dir=work)
    plan = write_plan(site, work)
    yield site, plan
    site.ledger.db.close()


def test_settlement_returns_are_served_in_plan_order(planned):
    site, plan = planned
    expected = settlement_table(plan)
    body = site.as_user("analyst").get("/api/v1/plan/settlements").json()
    assert body["total"] == len(expected) == len(plan.instance.settlements) > 0
    got = body["settlements"]
    assert [r["settlement_id"] for r in got] == expected.settlement_id.tolist()
    within = [r for r in got if r["return_date"]]
    assert 0 < len(within) < len(got)       # some return within the five years, some do not
    assert all(r["last_access_area_id"] for r in within)
    assert sum(float(r["people_able_to_return"]) for r in within) == pytest.approx(
        plan.summary()["people_returned_in_horizon"])
    assert site.as_user("analyst").get("/api/v1/plan/settlements?limit=1").json()[
        "settlements"] == got[:1]


def test_plan_areas_are_served(planned):
    site, plan = planned
    body = site.as_user("analyst").get("/api/v1/plan/areas").json()
    assert body["total"] == len(plan.instance.areas)
    planned_ids = {r["area_id"] for r in body["areas"] if r["teams"]}
    frame = plan.to_frame()
    assert planned_ids == set(frame[frame.week < plan.prepared.horizon].area_id)


NUMBER_TEXT = re.compile(r"-?\d+(\.\d*)?([eE][-+]?\d+)?")


def _numbers_as_text(body, where: str = "") -> list[str]:
    """Every string in a JSON body that is a number written as text (identifiers aside)."""
    if isinstance(body, dict):
        return [hit for k, v in body.items() if k != "id" and not k.endswith("_id")
                for hit in _numbers_as_text(v, f"{where}.{k}")]
    if isinstance(body, list):
        return [hit for v in body for hit in _numbers_as_text(v, f"{where}[]")]
    return [f"{where}={body!r}"] if isinstance(body, str) and NUMBER_TEXT.fullmatch(body) else []


def test_the_json_api_gives_numbers_as_json_numbers(planned):
    """The plan's tables (read from CSV), the status and the team rates: every number is a
    JSON number, identifiers stay text."""
    site, plan = planned
    analyst = site.as_user("analyst")
    bodies = {url: analyst.get(url).json() for url in (
        "/api/v1/plan?limit=100000", "/api/v1/plan/areas", "/api/v1/plan/settlements",
        "/api/v1/status", "/api/v1/plan/rates")}
    for url, body in bodies.items():
        assert not _numbers_as_text(body), (url, _numbers_as_text(body)[:5])
    row = bodies["/api/v1/plan?limit=100000"]["rows"][0]
    assert type(row["week"]) is int and type(row["days"]) is float
    assert isinstance(row["team_id"], str) and isinstance(row["week_start"], str)
    assert sum(r["days"] for r in bodies["/api/v1/plan?limit=100000"]["rows"]) == \
        pytest.approx(plan.to_frame().days.sum())
    areas = bodies["/api/v1/plan/areas"]["areas"]
    assert all(type(a["remaining_m2"]) is float and type(a["priority_rank"]) is int
               for a in areas)
    people = bodies["/api/v1/plan/settlements"]["settlements"]
    assert all(type(p["displaced_population"]) is int for p in people)
    within = [p for p in people if p["return_date"]]
    assert sum(p["people_able_to_return"] for p in within) == pytest.approx(
        plan.summary()["people_returned_in_horizon"])
    status = bodies["/api/v1/status"]
    assert type(status["displaced"]) is int and type(status["remaining_m2"]["CHA"]) is float


def test_the_risk_ranking_is_served_with_numbers(tmp_path):
    """The risk ranking as ``safeground risk rank`` writes it: numbers (an empty cell of a
    number column as null), an empty proposal as empty text, true/false as booleans."""
    site = build_site(f"sqlite:///{tmp_path}/record.sqlite", work_dir=tmp_path)
    (tmp_path / "area-risk.csv").write_text(
        "object_id,rank,mean_probability,max_probability,expected_contaminated_m2,area_m2,"
        "proposed,score,direct_evidence\n"
        "HA-001,1,0.25,0.5,1200.5,4802.0,CHA,3,True\n"
        "007,2,0.125,0.25,,100.0,,1,False\n", encoding="utf-8")
    body = site.as_user("analyst").get("/api/v1/risk/areas").json()
    first, second = body["areas"]
    assert first == {"object_id": "HA-001", "rank": 1, "mean_probability": 0.25,
                     "max_probability": 0.5, "expected_contaminated_m2": 1200.5,
                     "area_m2": 4802.0, "proposed": "CHA", "score": 3,
                     "direct_evidence": True}
    assert second["object_id"] == "007"                          # an identifier stays text
    assert second["expected_contaminated_m2"] is None            # no number: null
    assert second["proposed"] == "" and second["direct_evidence"] is False
    site.ledger.db.close()


def test_analysis_page_lists_settlements_by_return(planned):
    site, plan = planned
    html = site.as_user("analyst").get("/analysis").text
    assert 'id="plan-returns"' in html
    table = settlement_table(plan)
    blocked = table[table.access_areas > 0]
    first = blocked.iloc[0]
    assert f'/objects/settlement/{first.settlement_id}' in html
    # the settlements no hazardous area blocks are told apart, not listed as the plan's
    free = table[table.access_areas == 0]
    for sid in free.settlement_id:
        assert f'/objects/settlement/{sid}"' not in html
    if len(free):
        assert f"{len(free)} more settlement" in html
    # the settlement links resolve to the record's settlements
    page = site.as_user("analyst").get(f"/objects/settlement/{first.settlement_id}")
    assert page.status_code == 200


def test_a_plan_without_a_forecast_has_none_to_serve(planned):
    site, _ = planned
    r = site.as_user("analyst").get("/api/v1/plan/forecast")
    assert r.status_code == 404 and r.json()["error"]["code"] == "OUTPUT_NOT_AVAILABLE"
    assert 'id="plan-forecast"' not in site.as_user("analyst").get("/analysis").text


def test_plan_tables_need_the_analyst_role(planned):
    site, _ = planned
    assert site.client().get("/api/v1/plan/settlements").status_code == 401
    assert site.as_user("visitor").get("/api/v1/plan/settlements").status_code == 403


def test_the_plan_is_a_map_layer_for_analysts(planned):
    """``planned_release``: the perimeters of the areas the plan puts teams on, each with its
    planned activities, teams, start and release dates — for analysts (it needs both
    read_detail and analyse), absent from everyone's default layers without a plan."""
    site, plan = planned
    table = {r["area_id"]: r for r in pd.read_csv(
        site.app.state.work_dir / "plan" / "plan_areas.csv",
        keep_default_na=False).to_dict("records")}
    analyst = site.as_user("analyst")
    body = analyst.get("/api/v1/map/layers").json()
    assert "planned_release" in body["layers"]            # a plan: in the analyst's defaults
    feats = body["layers"]["planned_release"]["features"]
    worked = {a for a, r in table.items() if r["teams"]}
    assert {f["id"] for f in feats} == worked and worked
    for f in feats:
        p, r = f["properties"], table[f["id"]]
        assert p["planned_release_date"] == r["release_date"]
        assert p["planned_start_date"] == r["start_date"] != ""
        assert (p["planned_activities"], p["planned_teams"]) == (r["activities"], r["teams"])
        assert f["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert any(f["properties"]["planned_release_date"] for f in feats)
    lean = analyst.get("/api/v1/map/layers?layers=planned_release&detail=map").json()
    assert set(lean["layers"]) == {"planned_release"}
    assert all(set(f["properties"]) <= {"name", "planned_release_date", "planned_activities"}
               for f in lean["layers"]["planned_release"]["features"])
    one = analyst.get(f"/api/v1/map/features/planned_release/{feats[0]['id']}").json()
    assert one["properties"]["planned_teams"] == table[feats[0]["id"]]["teams"]
    # an area the plan leaves alone is not a feature of the plan's layer
    idle = [a.id for a in plan.instance.areas if a.id not in worked]
    if idle:
        res = analyst.get(f"/api/v1/map/features/planned_release/{idle[0]}")
        assert res.status_code == 404
    # other roles: not in their defaults, refused by name
    for who in ("visitor", "chief"):
        user = site.as_user(who)
        assert "planned_release" not in user.get("/api/v1/map/layers").json()["layers"]
        res = user.get("/api/v1/map/layers?layers=planned_release")
        assert res.status_code == 403 and res.json()["error"]["code"] == "FORBIDDEN"
    page = analyst.get("/map").text
    assert "planned_release" in page and 'id="plan-legend"' in page


def test_without_a_plan_there_is_no_plan_layer(site):
    analyst = site.as_user("analyst")
    assert "planned_release" not in analyst.get("/api/v1/map/layers").json()["layers"]
    res = analyst.get("/api/v1/map/layers?layers=planned_release")
    assert res.status_code == 404 and res.json()["error"]["code"] == "OUTPUT_NOT_AVAILABLE"
    assert 'id="plan-legend"' not in analyst.get("/map").text


def test_the_programme_report_carries_the_served_plan(planned, site):
    """The web app's programme report takes the plan in its work directory (every role may
    make the report: the outlook is aggregates only); without a plan there is none."""
    with_plan, plan = planned
    visitor = with_plan.as_user("visitor")
    rep = made(with_plan, visitor,
               "/api/v1/programme-report?start=2021-01-01&end=2021-12-31&format=json").json()
    assert rep["outlook"][-1]["year"] == "not within the plan"
    assert sum(y["areas_released"] for y in rep["outlook"]) == len(plan.instance.areas)
    html = made(with_plan, visitor,
                "/api/v1/programme-report?start=2021-01-01&end=2021-12-31").text
    assert 'id="outlook"' in html
    bare = made(site, site.as_user("visitor"),
                "/api/v1/programme-report?start=2021-01-01&end=2021-12-31&format=json").json()
    assert bare["outlook"] is None


@pytest.fixture
def replanning(tmp_path):
    """A site of its own with a plan in its work directory, for tests that replace it."""
    site = build_site(f"sqlite:///{tmp_path}/record.sqlite", work_dir=tmp_path)
    plan = write_plan(site, tmp_path)
    yield site, plan, tmp_path / "plan"
    site.ledger.db.close()


def test_an_analyst_makes_the_plan_again_from_the_record(replanning):
    """POST /plan/jobs re-plans in the background from the day asked for, holding the work in
    progress of the plan already there; the new plan's files replace the old ones only when
    complete, the job says how it went, and the audit trail says who made it."""
    site, old, folder = replanning
    previous = folder.parent / "previous-plan.csv"
    previous.write_bytes((folder / "plan.csv").read_bytes())
    analyst = site.as_user("analyst")
    assert analyst.get("/api/v1/plan/jobs/current").json()["state"] == "idle"
    res = analyst.post("/api/v1/plan/jobs", json={"start": "2021-07-01", "horizon_weeks": 52,
                                                  "seconds": 0.3, "freeze_weeks": 4})
    assert res.status_code == 202, res.text
    assert res.json()["state"] == "running" and res.json()["by"] == "analyst"
    job = site.app.state.plan_jobs.wait(120)
    assert job.state == "done", job.error
    now = analyst.get("/api/v1/plan/jobs/current").json()
    assert now["state"] == "done" and now["start"] == "2021-07-01"
    assert now["summary"]["tasks_held_from_previous_plan"] > 0   # the old plan's work goes on
    weekly = pd.read_csv(folder / "plan.csv")
    assert weekly.week_start.min() >= "2021-07-01" and weekly.week.max() >= 0
    planned = set(zip(weekly.team_id, weekly.area_id, weekly.activity, strict=True))
    # what re-planning from that plan holds (the same path as the command line)
    kept = replan_from_record(site.ledger, start=dt.date(2021, 7, 1), horizon_weeks=52,
                              previous=previous, freeze_weeks=4, seconds=0.1).kept
    assert len(kept) == now["summary"]["tasks_held_from_previous_plan"]
    assert set(kept) <= planned
    assert not (folder.parent / "plan.new").exists() and not (folder.parent / "plan.old").exists()
    assert site.audit("plan_made")[-1]["user"] == "analyst"
    body = analyst.get("/api/v1/plan/settlements").json()
    assert body["total"] == len(old.instance.settlements)
    # the new plan comes with its completion forecast, which the programme report shows
    forecast = pd.read_csv(folder / "forecast.csv")
    assert forecast["quantile"].tolist() == ["P10", "P50", "P90"]
    assert forecast.completion_date.tolist() == sorted(forecast.completion_date)
    assert (forecast.completion_date > "2021-07-01").all()
    rep = made(site, analyst,
               "/api/v1/programme-report?start=2021-01-01&end=2021-12-31&format=json")
    assert [r["completion_date"] for r in rep.json()["forecast"]] == \
        forecast.completion_date.tolist()
    served = analyst.get("/api/v1/plan/forecast").json()
    assert [r["completion_date"] for r in served["quantiles"]] == \
        forecast.completion_date.tolist()
    assert [r["people_year_3"] for r in served["quantiles"]] == \
        pytest.approx(forecast.people_year_3.tolist())               # numbers, not text
    assert not _numbers_as_text(served)
    page = analyst.get("/analysis").text
    table = page.split('id="plan-forecast"')[1].split("</table>")[0]
    assert f"<td>P50</td><td>{forecast.completion_date[1]}</td>" in table


def test_a_failed_replanning_keeps_the_plan_there(replanning):
    site, _, folder = replanning
    before = (folder / "plan_settlements.csv").read_bytes()
    (folder / "plan.csv").write_text("not,a,plan\n1,2,3\n", encoding="utf-8")
    analyst = site.as_user("analyst")
    assert analyst.post("/api/v1/plan/jobs", json={"start": "2021-07-01", "seconds": 0.2}
                        ).status_code == 202
    job = site.app.state.plan_jobs.wait(120)
    assert job.state == "failed" and job.error["code"] == "PLAN_INSTANCE_INVALID"
    assert (folder / "plan_settlements.csv").read_bytes() == before
    assert not (folder.parent / "plan.new").exists()
    assert not site.audit("plan_made")


def test_one_replanning_at_a_time_for_analysts_with_a_work_directory(replanning, site):
    with_work, _, _ = replanning
    analyst = with_work.as_user("analyst")
    assert analyst.post("/api/v1/plan/jobs", json={"start": "2021-07-01", "seconds": 3}
                        ).status_code == 202
    again = analyst.post("/api/v1/plan/jobs", json={"start": "2021-07-01"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "PLAN_JOB_RUNNING"
    assert with_work.app.state.plan_jobs.wait(120).state == "done"
    assert with_work.as_user("visitor").post("/api/v1/plan/jobs").status_code == 403
    bad = analyst.post("/api/v1/plan/jobs", json={"start": "July"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "DATE_INVALID"
    none = site.as_user("analyst").post("/api/v1/plan/jobs", json={"start": "2021-07-01"})
    assert none.status_code == 404 and none.json()["error"]["code"] == "OUTPUT_NOT_AVAILABLE"


def test_settlements_no_hazard_blocks_are_counted_apart(replanning):
    """A settlement with no hazardous access area (free from the start: the plan does not
    free it) is not listed among the plan's returns; the page counts such settlements apart."""
    site, _, folder = replanning
    path = folder / "plan_settlements.csv"
    table = pd.read_csv(path, keep_default_na=False)
    table.loc[0, ["access_areas", "access_areas_released", "last_access_area_id"]] = [0, 0, ""]
    table.to_csv(path, index=False)
    html = site.as_user("analyst").get("/analysis").text
    sid = table.settlement_id[0]
    people = float(table.people_able_to_return[0])
    assert f'/objects/settlement/{sid}"' not in html
    assert f"1 more settlement ({people:,.0f} displaced people)" in html
    for other in table.settlement_id[1:]:
        assert f'/objects/settlement/{other}"' in html


def test_the_plan_geopackage_opens_in_gdal(planned, tmp_path):
    """What QGIS gets from the Analysis page's link: the plan's GeoPackage, read with GDAL
    (pyogrio), with the areas the plan works on and every settlement."""
    import pyogrio

    site, plan = planned
    res = site.as_user("analyst").get("/api/v1/plan/geopackage")
    assert res.status_code == 200
    path = tmp_path / "plan.gpkg"
    path.write_bytes(res.content)
    layers = {name for name, _ in pyogrio.list_layers(path)}
    assert layers == {"plan_areas", "settlement_returns"}
    sett = pyogrio.read_dataframe(path, layer="settlement_returns")
    assert len(sett) == len(plan.instance.settlements)
    assert site.as_user("visitor").get("/api/v1/plan/geopackage").status_code == 403
    assert 'id="plan-gpkg"' in site.as_user("analyst").get("/analysis").text


def test_the_analysis_page_sets_the_priority_ranking_beside_the_plan(planned):
    """The areas the authority's priority score ranks first, with each criterion's points and
    the plan's release date for them; the plan's area table carries the same scores."""
    from safeground.planning.priority import area_scores

    site, plan = planned
    scores = sorted(area_scores(plan.instance), key=lambda s: s.rank)
    body = site.as_user("analyst").get("/api/v1/plan/areas").json()
    served = {r["area_id"]: r for r in body["areas"]}
    for s in scores:
        assert int(served[s.id]["priority_rank"]) == s.rank
        assert float(served[s.id]["priority_score"]) == pytest.approx(s.score)
    html = site.as_user("analyst").get("/analysis").text
    assert 'id="plan-priorities"' in html
    table = html.split('id="plan-priorities"')[1].split("</table>")[0]
    # the rows follow the priority rank, each area in its own row (an explanation may link to
    # other areas: the work it would displace)
    positions = [table.index(f"<td><a href=\"/objects/hazardous_area/{s.id}\"")
                 for s in scores]
    assert positions == sorted(positions)
    first = scores[0]
    for name, points in first.breakdown.items():
        if points:
            assert f"{labels.criterion(name)} {points:.1f}" in table


def test_a_settlement_page_says_what_its_return_waits_on(planned):
    """The open hazardous areas between a settlement and its people's return (the planner's
    access rule), why each counts, and the plan's release and return dates."""
    from safeground.planning.outputs import area_table

    site, plan = planned
    table = settlement_table(plan).set_index("settlement_id")
    release = area_table(plan).set_index("area_id").release_date
    html = site.as_user("analyst").get("/objects/settlement/SET-FUZULI").text
    card = html.split('id="return-waits"')[1].split("</section>")[0]
    assert "2 open hazardous areas" in card
    for aid in ("HA-004", "HA-005"):
        row = card.split(f"/objects/hazardous_area/{aid}\"")[1].split("</tr>")[0]
        assert "linked to it in the record" in row
        assert (str(release[aid]) if release[aid] else "not within the plan") in row
    # the areas in the way are drawn on the page's small map
    import json

    geo = json.loads(html.split('id="object-geojson">')[1].split("</script>")[0])
    assert {f["properties"].get("id") for f in geo["features"]
            if f["properties"].get("part") == "access"} == {"HA-004", "HA-005"}
    returns = table.loc["SET-FUZULI"].return_date
    assert f"return from <strong>{returns if returns else 'a date beyond the plan'}</strong>" \
        in card
    # as known before the areas were recorded, nothing stood in the way yet, and the page
    # does not mix in today's plan
    early = site.as_user("analyst").get("/objects/settlement/SET-FUZULI?as_of=2020-12-05").text
    card = early.split('id="return-waits"')[1].split("</section>")[0]
    assert "No open hazardous area" in card and "Planned release" not in card


def test_the_access_of_a_settlement_is_in_the_api(planned):
    site, plan = planned
    body = site.as_user("analyst").get("/api/v1/settlements/SET-FUZULI/access").json()
    assert {a["id"]: a["why"] for a in body["areas"]} == {"HA-004": "linked",
                                                          "HA-005": "linked"}
    assert all(a["geometry"]["type"] in ("Polygon", "MultiPolygon") for a in body["areas"])
    table = settlement_table(plan).set_index("settlement_id")
    assert body["plan"]["return_date"] == (str(table.loc["SET-FUZULI"].return_date)
                                           if table.loc["SET-FUZULI"].return_date else "")
    assert site.as_user("analyst").get(
        "/api/v1/settlements/SET-NOWHERE/access").json()["error"]["code"] == "OBJECT_NOT_FOUND"
    assert site.as_user("visitor").get("/api/v1/settlements/SET-FUZULI/access").status_code \
        == 403


def test_without_a_plan_there_is_no_plan_collection(site):
    analyst = site.as_user("analyst")
    ids = {c["id"] for c in analyst.get("/ogc/collections").json()["collections"]}
    assert "hazardous_areas" in ids and "planned_release" not in ids
    r = analyst.get("/ogc/collections/planned_release/items")
    assert r.status_code == 404 and r.json()["error"]["code"] == "OUTPUT_NOT_AVAILABLE"


def test_team_rates_measured_from_the_record_are_served_to_analysts(planned):
    from safeground.planning.productivity import measured_rates

    site, _ = planned
    assert site.client().get("/api/v1/plan/rates").status_code == 401
    assert site.as_user("visitor").get("/api/v1/plan/rates").status_code == 403
    res = site.as_user("analyst").get("/api/v1/plan/rates")
    assert res.status_code == 200
    rows = {r["asset"]: r for r in res.json()["rates"]}
    expected = measured_rates(site.ledger)
    assert set(rows) == set(expected)
    assert rows["ts"]["activities"] == expected["ts"].activities == 1
    assert rows["ts"]["measured_m2_per_day"] == expected["ts"].measured_m2_per_day
    page = site.as_user("analyst").get("/analysis").text
    table = page.split('id="plan-rates"')[1].split("</table>")[0]
    assert table.count("<tr>") == 6                 # a header and the five assets
    assert "10,000 (default)" in table              # one TS activity: too few to use


def test_approving_reports_makes_the_plan_again(replanning):
    """The plan follows the record: reports approved, the work directory's plan is made again
    the same way, from the later of its first day and the newest report approved."""
    import json

    site, _, folder = replanning
    made = json.loads((folder / "plan.json").read_text())
    assert made["start"] == "2021-04-01" and made["horizon_weeks"] == 260
    rid = site.waiting[0]
    newest = site.ledger.report(rid).date_of_information
    res = site.as_user("chief").post("/api/v1/reports/approve", json={"ids": [rid]})
    assert res.status_code == 200 and res.json()["approved"] == [rid]
    job = res.json()["plan_job"]
    assert (job["state"], job["trigger"], job["by"]) == ("running", "approval", "chief")
    assert job["start"] == max(dt.date(2021, 4, 1), newest).isoformat()
    assert job["horizon_weeks"] == 260
    done = site.app.state.plan_jobs.wait(180)
    assert done.state == "done", done.error
    meta = json.loads((folder / "plan.json").read_text())
    assert meta["start"] == job["start"]
    # what it was made from: the record as it stood after the approval, the work directory's
    # risk ranking if any, the weights and the config's hash
    from safeground.record.ledger.rows import record_version

    with site.ledger.db.read() as conn:
        now = list(record_version(conn))
    assert meta["record_version"][0] == now[0]
    ranking = folder.parent / "area-risk.csv"
    assert meta["risk_model"]["kind"] == ("risk_ranking" if ranking.is_file()
                                          else "classification")
    assert len(meta["config_sha256"]) == 64 and meta["weights"]["priorities"]["weights"]
    assert isinstance(meta["unscheduled_priority_areas"], list)
    assert pd.read_csv(folder / "plan.csv").week_start.min() >= job["start"]
    (entry,) = site.audit("plan_made")
    assert entry["user"] == "chief" and entry["detail"]["trigger"] == "approval"
    page = site.as_user("analyst").get("/analysis").text
    assert "after reports approved by chief" in page


def test_approvals_while_a_plan_is_made_get_one_more_plan(replanning):
    site, _, folder = replanning
    jobs = site.app.state.plan_jobs
    analyst, chief = site.as_user("analyst"), site.as_user("chief")
    assert analyst.post("/api/v1/plan/jobs", json={"start": "2021-04-01", "horizon_weeks": 260,
                                                  "seconds": 3}).status_code == 202
    for rid in site.waiting[:2]:                  # two approvals while it runs: one more plan
        job = chief.post("/api/v1/reports/approve", json={"ids": [rid]}).json()["plan_job"]
        assert job["trigger"] == "asked" and job["queued"] is True
    last = jobs.wait(300)
    assert last.state == "done" and last.trigger == "approval" and not last.queued
    newest = max(site.ledger.report(r).date_of_information for r in site.waiting[:2])
    assert last.start == max(dt.date(2021, 4, 1), newest).isoformat()
    assert [a["user"] for a in site.audit("plan_made")] == ["analyst", "chief"]
    # the plan in the folder is the last one: made from everything approved
    assert pd.read_csv(folder / "plan.csv").week_start.min() >= last.start
    assert (folder / "plan.json").read_text().count(f'"start": "{last.start}"') == 1


def test_without_a_plan_to_follow_approval_makes_none(tmp_path, fresh_site):
    res = fresh_site.as_user("chief").post("/api/v1/reports/approve",
                                           json={"ids": fresh_site.waiting[:1]})
    assert res.status_code == 200 and res.json()["plan_job"] is None   # no work directory
    other = build_site(f"sqlite:///{tmp_path}/r.sqlite", work_dir=tmp_path)  # no plan there
    try:
        res = other.as_user("chief").post("/api/v1/reports/approve",
                                          json={"ids": other.waiting[:1]})
        assert res.json()["plan_job"] is None
        write_plan(other, tmp_path)
        other.app.state.plan_jobs.follow_approvals = False      # serve --no-follow-approvals
        res = other.as_user("chief").post("/api/v1/reports/approve",
                                          json={"ids": other.waiting[1:2]})
        assert res.json()["plan_job"] is None and not other.audit("plan_made")
    finally:
        other.ledger.db.close()


def test_the_plan_charts_are_served_in_the_pages_language(planned):
    """The planner draws each chart once per catalogue language; the analysis page asks for the
    one in its own language, and a plan written before (English only) is served in English."""
    site, _plan = planned
    analyst = site.as_user("analyst")
    analyst.cookies.set("sg_lang", "az")
    assert 'src="/api/v1/plan/charts/gantt?lang=az"' in analyst.get("/analysis").text
    for name in ("gantt", "returns"):
        en = site.as_user("analyst").get(f"/api/v1/plan/charts/{name}")
        az = analyst.get(f"/api/v1/plan/charts/{name}")
        ru = site.as_user("analyst").get(f"/api/v1/plan/charts/{name}?lang=ru")
        assert en.headers["content-type"] == az.headers["content-type"] == "image/png"
        assert en.content[:8] == az.content[:8] == ru.content[:8] == b"\x89PNG\r\n\x1a\n"
        assert len({en.content, az.content, ru.content}) == 3
        assert az.content == (site.app.state.work_dir / "plan" / f"plan_{name}.az.png").read_bytes()
    assert site.as_user("visitor").get("/api/v1/plan/charts/gantt?lang=az").status_code == 403


def test_a_plan_written_before_shows_its_english_charts(tmp_path):
    from safeground.planning.outputs import chart_path

    (tmp_path / "plan_gantt.png").write_bytes(b"en")
    assert chart_path(tmp_path, "gantt", "az") == tmp_path / "plan_gantt.png"
    (tmp_path / "plan_gantt.az.png").write_bytes(b"az")
    assert chart_path(tmp_path, "gantt", "az") == tmp_path / "plan_gantt.az.png"
    assert chart_path(tmp_path, "gantt", "en") == tmp_path / "plan_gantt.png"


def test_an_object_page_offers_a_correction_to_those_who_may_report(planned):
    """data_entry may report, so its object pages link to a correction form; an analyst may
    not (no link), and a viewer sees no object page at all."""
    site, _plan = planned
    page = "/objects/hazardous_area/HA-002"
    clerk = site.as_user("clerk").get(page)
    assert clerk.status_code == 200
    assert 'href="/submit?type=hazardous_area&amp;object=HA-002"' in clerk.text
    assert site.as_user("clerk").get("/submit?type=hazardous_area&object=HA-002"
                                      ).status_code == 200
    analyst = site.as_user("analyst").get(page)
    assert analyst.status_code == 200
    assert "report-correction" not in analyst.text and "/submit?" not in analyst.text
    assert site.as_user("visitor").get(page).status_code == 403
