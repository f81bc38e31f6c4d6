"""The plan in the web app: per-settlement return dates and per-area work, from the files the
planner writes (``planning.outputs.write_all``), read by analysts only."""

from __future__ import annotations

import datetime as dt

import pytest
from websupport import build_site

from safeground.planning.heuristic import plan_heuristic
from safeground.planning.outputs import settlement_table, write_all
from safeground.planning.record import instance_from_record


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    """The example programme with a plan of its own record in its work directory."""
    work = tmp_path_factory.mktemp("work")
    site = build_site(f"sqlite:///{work}/record.sqlite", work_dir=work)
    inst = instance_from_record(site.ledger, start=dt.date(2021, 4, 1), horizon_weeks=260)
    plan = plan_heuristic(inst, seconds=0.3)
    write_all(plan, work / "plan")
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
    assert planned_ids == set(plan.to_frame().area_id)


def test_analysis_page_lists_settlements_by_return(planned):
    site, plan = planned
    html = site.as_user("analyst").get("/analysis").text
    assert 'id="plan-returns"' in html
    first = settlement_table(plan).iloc[0]
    assert f'/objects/settlement/{first.settlement_id}' in html
    # the settlement links resolve to the record's settlements
    page = site.as_user("analyst").get(f"/objects/settlement/{first.settlement_id}")
    assert page.status_code == 200


def test_plan_tables_need_the_analyst_role(planned):
    site, _ = planned
    assert site.client().get("/api/v1/plan/settlements").status_code == 401
    assert site.as_user("visitor").get("/api/v1/plan/settlements").status_code == 403
