"""Planning works from the record alone (issue 6): the example programme, as approved reports."""

import datetime as dt

from safeground import example
from safeground.ledger import Ledger
from safeground.planning.heuristic import plan_heuristic
from safeground.planning.model import Prepared
from safeground.planning.record import instance_from_record
from safeground.settings import Settings
from safeground.storage import Database


def test_a_plan_from_the_record(tmp_path):
    url = f"sqlite:///{tmp_path}/r.sqlite"
    ledger = Ledger(Database.open(url), Settings(database_url=url))
    res = ledger.submit(example.records(), user="officer")
    ledger.approve(res.accepted, user="chief")
    inst = instance_from_record(ledger, start=dt.date(2021, 7, 1), horizon_weeks=26,
                                risk={"HA-001": 0.05})
    open_areas = {a["id"] for a in ledger.objects("hazardous_area") if a["status"] != "closed"}
    assert {a.id for a in inst.areas} == open_areas
    assert {t.asset for t in inst.teams} == {"nts", "ts", "manual", "dog"}
    (aghdam,) = [s for s in inst.settlements if s.id == "SET-AGHDAM"]
    assert aghdam.displaced_population == int(37_700 * 0.95) - 1_200
    assert next(a for a in inst.areas if a.id == "HA-001").contamination_probability == 0.05
    assert next(a for a in inst.areas if a.id == "HA-006").casualties_nearby == 2
    plan = plan_heuristic(inst, seconds=2.0)
    rows = plan.assignments()
    assert rows and {x.area_id for x in rows} <= open_areas


def test_stages_done_come_from_completed_activities(tmp_path):
    url = f"sqlite:///{tmp_path}/r.sqlite"
    ledger = Ledger(Database.open(url), Settings(database_url=url))
    res = ledger.submit(example.records(), user="officer")
    ledger.approve(res.accepted, user="chief")
    inst = instance_from_record(ledger, start=dt.date(2021, 7, 1), horizon_weeks=26)
    done = {a.id: a.stages_done for a in inst.areas}
    # HA-001: NTS completed; HA-005: TS reported ongoing, then completed; the rest: none
    assert done == {"HA-001": 1, "HA-003": 0, "HA-004": 0, "HA-005": 2, "HA-006": 0,
                    "HA-007": 0}
    prep = Prepared(inst)
    stages = {a.id: sorted(int(prep.task_stage[k]) for k in prep.area_tasks[i])
              for i, a in enumerate(inst.areas)}
    assert stages["HA-005"] == [2]            # only clearance is left to plan
    assert 0 not in stages["HA-001"]          # no second NTS
