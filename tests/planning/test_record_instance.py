"""Planning works from the record alone: the example programme, as approved reports."""

import datetime as dt

from safeground import example
from safeground.planning.heuristic import plan_heuristic
from safeground.planning.model import Prepared
from safeground.planning.record import instance_from_record
from safeground.record.ledger import Ledger
from safeground.record.storage import Database
from safeground.settings import Settings


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


def _record(tmp_path):
    url = f"sqlite:///{tmp_path}/r.sqlite"
    ledger = Ledger(Database.open(url), Settings(database_url=url))
    res = ledger.submit(example.records(), user="officer")
    ledger.approve(res.accepted, user="chief")
    return ledger


def _centres(ledger):
    from safeground.record.geometry import Projector

    proj = Projector(ledger.settings.utm_epsg)
    return ({s["id"]: proj.to_metric(s["geometry"]).centroid
             for s in ledger.objects("settlement")},
            {a["id"]: proj.to_metric(a["remaining_geometry"]).centroid
             for a in ledger.objects("hazardous_area") if a["status"] != "closed"})


def test_access_areas_come_from_the_rule_the_links_and_the_context_roads(tmp_path):
    """A settlement waits on the areas linked to it and on those the access rule finds: within
    its built-up radius (from the context's settlements) + margin, and along roads touching it."""
    import geopandas as gpd
    import pytest
    import shapely

    from safeground.errors import ConfigError
    from safeground.planning.config import load_config

    ledger = _record(tmp_path)
    towns, areas = _centres(ledger)
    access = {s.id: set(s.access_area_ids) for s in instance_from_record(
        ledger, start=dt.date(2021, 7, 1), horizon_weeks=26).settlements}
    # HA-003 lies 10.2 km from Aghdam: not Aghdam's, by link or by distance
    assert access["SET-AGHDAM"] == {"HA-001"} and access["SET-QUZANLI"] == {"HA-003"}

    ctx = tmp_path / "context"
    ctx.mkdir()
    gpd.GeoDataFrame({"settlement_id": ["SET-AGHDAM"], "radius_m": [9_500.0]},
                     geometry=[towns["SET-AGHDAM"]], crs="EPSG:32638").to_file(
        ctx / "settlements.gpkg")
    inst = instance_from_record(ledger, start=dt.date(2021, 7, 1), horizon_weeks=26,
                                context=ctx)
    by_id = {s.id: s for s in inst.settlements}
    # a built-up radius of 9.5 km + the 1 km margin reaches HA-003
    assert set(by_id["SET-AGHDAM"].access_area_ids) == {"HA-001", "HA-003"}
    assert set(next(a for a in inst.areas if a.id == "HA-003").settlement_ids) == {
        "SET-AGHDAM", "SET-QUZANLI"}

    from safeground.planning.record import settlement_access

    assert {a["id"]: a["why"] for a in settlement_access(ledger, "SET-AGHDAM", context=ctx)} \
        == {"HA-001": "linked", "HA-003": "near"}

    # a road from Aghdam to HA-003, with a reach long enough to follow it there
    (ctx / "settlements.gpkg").unlink()
    road = shapely.LineString([towns["SET-AGHDAM"], areas["HA-003"]])
    gpd.GeoDataFrame({"road_class": ["secondary"]}, geometry=[road],
                     crs="EPSG:32638").to_file(ctx / "roads.gpkg")
    far = load_config(overrides={"access": {"road_reach_m": 12_000}})
    with_road = {s.id: set(s.access_area_ids) for s in instance_from_record(
        ledger, start=dt.date(2021, 7, 1), horizon_weeks=26, context=ctx,
        config=far).settlements}
    assert with_road["SET-AGHDAM"] == {"HA-001", "HA-003"}
    # one settlement's areas, each with why it counts
    from safeground.errors import NotFoundError

    why = {a["id"]: a["why"] for a in settlement_access(ledger, "SET-AGHDAM", context=ctx,
                                                        config=far)}
    assert why == {"HA-001": "linked", "HA-003": "road"}
    with pytest.raises(NotFoundError):
        settlement_access(ledger, "SET-NOWHERE")
    # the default reach (4 km) stops the road short of HA-003
    assert {s.id: set(s.access_area_ids) for s in instance_from_record(
        ledger, start=dt.date(2021, 7, 1), horizon_weeks=26,
        context=ctx).settlements}["SET-AGHDAM"] == {"HA-001"}

    with pytest.raises(ConfigError) as err:
        instance_from_record(ledger, start=dt.date(2021, 7, 1), horizon_weeks=26,
                             context=tmp_path / "nowhere")
    assert err.value.code == "PLAN_INSTANCE_INVALID"


def test_the_twin_and_the_planner_share_the_access_rule():
    from safeground.planning.config import load_config
    from safeground.scenario.twin import ACCESS_RULE

    assert load_config().access == ACCESS_RULE


def test_funded_reconstruction_comes_from_the_context_layers(tmp_path):
    """An area meeting a funded reconstruction project ready by the plan's first day scores on
    criterion 4 and is valued when released; a project ready later does not count yet; a
    ready_date that is not a date is refused, naming the layer, row and field."""
    import geopandas as gpd
    import pytest

    from safeground.errors import ConfigError
    from safeground.planning.priority import area_scores

    ledger = _record(tmp_path)
    _, areas = _centres(ledger)
    ctx = tmp_path / "context"
    ctx.mkdir()
    layer = gpd.GeoDataFrame(
        {"project_id": ["REC-01", "REC-02"], "ready_date": ["2021-05-01", "2021-09-01"]},
        geometry=[areas["HA-001"].buffer(200), areas["HA-006"].buffer(200)], crs="EPSG:32638")
    layer.to_file(ctx / "reconstruction.gpkg")

    def funded(start):
        inst = instance_from_record(ledger, start=start, horizon_weeks=26, context=ctx)
        points = {s.id: s.breakdown["reconstruction"] for s in area_scores(inst)}
        return ({a.id for a in inst.areas if a.funded_reconstruction},
                {k for k, v in points.items() if v > 0})

    assert funded(dt.date(2021, 4, 1)) == (set(), set())
    assert funded(dt.date(2021, 7, 1)) == ({"HA-001"}, {"HA-001"})
    assert funded(dt.date(2021, 10, 1)) == ({"HA-001", "HA-006"}, {"HA-001", "HA-006"})

    layer.assign(ready_date=["2021-05-01", "soon"]).to_file(ctx / "reconstruction.gpkg")
    with pytest.raises(ConfigError) as err:
        instance_from_record(ledger, start=dt.date(2021, 7, 1), horizon_weeks=26, context=ctx)
    assert err.value.code == "PLAN_INSTANCE_INVALID"
    assert "row 2" in str(err.value) and "ready_date" in str(err.value)
