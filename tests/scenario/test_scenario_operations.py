"""Early operations (scenario/operations.py): the record of the first months holds the survey
and clearance teams did, and every release in it passes the land release rules.

The default region's record goes through the intake path (``safeground import``'s
``import_path``) into a real SQLite record and is approved by a second person; its released land
is checked against the hazardous areas it comes from.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

import pytest
import shapely

from safeground.errors import ConfigError
from safeground.intake.importer import import_path
from safeground.record.ledger import Ledger
from safeground.record.storage import Database
from safeground.record.summary import status
from safeground.record.vocabulary import ReportStatus
from safeground.scenario import ScenarioConfig, generate
from safeground.scenario.fleet import DEFAULT_FLEET
from safeground.scenario.operations import mobilisation
from safeground.scenario.twin import OperationsTwin
from safeground.settings import Settings

KIND_OF = {"cancelled": "nts", "reduced": "ts", "cleared": "clearance"}


def _by_type(sc, rtype: str) -> list[dict]:
    return [r for r in sc.book.records if r["report_type"] == rtype]


@pytest.fixture(scope="module")
def default_record(default_region, tmp_path_factory):
    """The default region's report files taken in through the intake path and approved."""
    out = tmp_path_factory.mktemp("default-record")
    default_region.write(out / "scn")
    settings = Settings.from_env(database_url=f"sqlite:///{out / 'record.sqlite'}")
    ledger = Ledger(Database.open(settings.database_url), settings)
    summaries = [import_path(ledger, path, "records.officer", progress=False)
                 for path in sorted((out / "scn" / "reports").glob("*.geojson"))]
    pending = [r.id for r in ledger.reports(status=ReportStatus.SUBMITTED)]
    approved = ledger.approve(pending, user="ops.chief")
    return ledger, summaries, approved


def test_default_record_holds_released_land(default_region):
    cal = default_region.calibration()
    releases = _by_type(default_region, "land_release")
    assert releases and cal["released_km2"] > 0
    kinds = Counter(r["release"] for r in releases)
    assert set(kinds) == {"cancelled", "reduced", "cleared"}, kinds
    assert cal["items_found_by_operations"] > 0
    assert _by_type(default_region, "qa_visit")


def test_every_release_references_its_area_and_activity(default_region):
    sc = default_region
    cfg = sc.config
    areas = {r["object_id"]: r for r in _by_type(sc, "hazardous_area")}
    first_seen: dict[str, str] = {}
    for r in _by_type(sc, "hazardous_area"):
        first_seen[r["object_id"]] = min(first_seen.get(r["object_id"], "9"),
                                         r["date_of_information"])
    acts: dict[str, list[dict]] = defaultdict(list)
    for r in _by_type(sc, "activity"):
        acts[r["object_id"]].append(r)
    for r in _by_type(sc, "land_release"):
        assert r["hazardous_area_id"] in areas, r["object_id"]
        assert r["activity_id"] in acts, r["object_id"]
        act = acts[r["activity_id"]]
        assert {a["hazardous_area_id"] for a in act} == {r["hazardous_area_id"]}
        assert {a["activity_type"] for a in act} == {KIND_OF[r["release"]]}
        d = r["date_of_information"]
        assert first_seen[r["hazardous_area_id"]] <= act[0]["start_date"] <= d
        assert cfg.operations_start.isoformat() <= d < cfg.record_end.isoformat()
        if r["release"] == "cleared":
            assert r["depth_cm"] > 0 and r["qa_passed"] is True


def test_released_land_lies_in_its_area_and_adds_up(default_region):
    sc = default_region
    perimeter = {a.id: a.polygon for a in sc.areas}
    released: dict[str, list] = defaultdict(list)
    for r in _by_type(sc, "land_release"):
        g = r["geometry"]                        # EPSG:32638 in the book
        assert shapely.difference(g, perimeter[r["hazardous_area_id"]]).area < 1.0
        released[r["hazardous_area_id"]].append(g)
    ops = sc.operations
    assert ops is not None and set(released) <= set(ops.remaining)
    for aid, parts in released.items():
        total = sum(p.area for p in parts)
        # no square metre released twice, and released + remaining = the area's perimeter
        assert shapely.union_all(parts).area == pytest.approx(total, rel=1e-6, abs=1.0)
        assert total + ops.remaining[aid].area == pytest.approx(perimeter[aid].area,
                                                                rel=1e-6, abs=1.0)
    cal = sc.calibration()
    assert sum(p.area for ps in released.values() for p in ps) / 1e6 == pytest.approx(
        cal["released_km2"], abs=0.01)
    assert cal["released_km2"] < cal["suspected_km2"]


def test_default_record_passes_the_gate_and_approval(default_record, default_region):
    _, summaries, approved = default_record
    assert sum(s.rejected for s in summaries) == 0, [s.reasons for s in summaries]
    assert sum(s.accepted for s in summaries) == len(default_region.book)
    assert approved.refused == []
    assert len(approved.approved) == len(default_region.book)


def test_record_totals_match_the_scenario(default_record, default_region):
    ledger, _, _ = default_record
    st = status(ledger)
    book = defaultdict(float)
    for r in _by_type(default_region, "land_release"):
        book[r["release"]] += r["geometry"].area
    for kind in ("cancelled", "reduced", "cleared"):
        # the record computes areas from the EPSG:4326 files in the programme's UTM zone
        assert st.released_m2[kind] == pytest.approx(book[kind], rel=1e-4), kind
    items = sum(st.items.values())
    found = sum(r.get("quantity", 1) for r in _by_type(default_region, "ordnance"))
    assert items == found


def test_teams_mobilise_over_the_period(default_region):
    cfg = default_region.config
    mob = default_region.operations.mobilised
    assert set(mob) == {t.id for t in DEFAULT_FLEET}
    assert min(mob.values()) == cfg.operations_start
    assert max(mob.values()) == cfg.operations_start + dt.timedelta(cfg.operations_ramp_days)
    first_work: dict[str, str] = {}
    for r in _by_type(default_region, "activity"):
        if r["activity_type"] in ("nts", "ts", "clearance"):
            first_work[r["team_id"]] = min(first_work.get(r["team_id"], "9"), r["start_date"])
    for tid, d in first_work.items():
        assert d >= mob[tid].isoformat(), tid
    months = Counter(d[:7] for d in first_work.values())
    assert len(months) >= 3, months    # not all teams on day one
    # clearance teams first, survey teams last
    asset = {t.id: t.asset.value for t in DEFAULT_FLEET}
    assert max(mob[t] for t in mob if asset[t] == "machine") < min(
        mob[t] for t in mob if asset[t] == "nts")


def test_ramp_zero_mobilises_everyone_at_once():
    start = dt.date(2020, 12, 1)
    assert set(mobilisation(start, 0).values()) == {start}


def test_operations_are_deterministic_per_seed(small):
    again = generate(ScenarioConfig.small(seed=0))
    ops = [r for r in small.book.records if r["report_type"] in
           ("activity", "land_release", "qa_visit")]
    ops2 = [r for r in again.book.records if r["report_type"] in
            ("activity", "land_release", "qa_visit")]
    assert len(ops) == len(ops2) > 0
    for a, b in zip(ops, ops2, strict=True):
        assert {k: v for k, v in a.items() if k != "geometry"} == \
            {k: v for k, v in b.items() if k != "geometry"}
        assert (a["geometry"] is None and b["geometry"] is None) or \
            a["geometry"].equals_exact(b["geometry"], 0.0)
    other = generate(ScenarioConfig.small(seed=1))
    released = [r["geometry"].area for r in _by_type(small, "land_release")]
    assert released != [r["geometry"].area for r in _by_type(other, "land_release")]


def test_operations_off_and_late_start_release_nothing():
    off = generate(ScenarioConfig.small(seed=0, operations=False))
    assert off.operations is None and not _by_type(off, "land_release")
    late = generate(ScenarioConfig.small(seed=0, operations_start_days=200))
    assert late.operations is None and not _by_type(late, "land_release")
    assert off.calibration()["released_km2"] == 0


@pytest.mark.parametrize("bad", [{"operations_start_days": -1}, {"operations_ramp_days": -5},
                                 {"operations_productivity": 0.0},
                                 {"operations_productivity": 1.5}])
def test_bad_operations_settings_are_config_errors(bad):
    with pytest.raises(ConfigError) as exc:
        ScenarioConfig.small(**bad)
    assert exc.value.code == "SCENARIO_OPERATIONS_INVALID"


def test_twin_starts_where_the_operations_ended(small):
    twin = OperationsTwin(small, seed=1)
    ops = small.operations
    seen = {a.id: a for a in twin.observable_areas()}
    assert ops.remaining
    for aid, left in ops.remaining.items():
        assert seen[aid].remaining_m2 == pytest.approx(left.area, abs=1e-6)
        assert seen[aid].classification == ops.classification[aid]
        assert seen[aid].original_m2 > seen[aid].remaining_m2 or \
            seen[aid].classification == "CHA"
    assert all(job is None and not queue for job, _, queue in twin.team_work().values())
    m = twin.metrics()
    assert m.items_found_before == int((small.item_state == 1).sum())
    assert m.items_found_before > int((small.observed.state == 1).sum())
