"""Ledger.page: filters, counts and pages asked of the database (R*Tree on SQLite, GiST on
PostGIS) give exactly what the whole layer filtered in Python gives; the R*Tree follows the
areas as approvals move, shrink and close them."""

from __future__ import annotations

import datetime as dt
import random

import pytest
import shapely
from helpers import LAT, LON, D, area_box, base, load, rec, release
from shapely.geometry import box
from sqlalchemy import select

from safeground.record.ledger import Ledger
from safeground.record.storage import spatial
from safeground.record.vocabulary import ReportType

HA = ReportType.HAZARDOUS_AREA


def _areas(n: int, seed: int = 7) -> list[dict]:
    rnd = random.Random(seed)
    out = [rec("organisation", "ORG-1", "2021-01-01", name="ANAMA", kind="national_authority")]
    for i in range(n):
        x, y = LON + rnd.uniform(0, 0.5), LAT + rnd.uniform(0, 0.5)
        w, h = rnd.uniform(0.001, 0.03), rnd.uniform(0.001, 0.03)
        shape = box(x, y, x + w, y + h) if i % 3 else shapely.Polygon(
            [(x, y), (x + w, y), (x, y + h)])          # triangles: the box is not the shape
        day = dt.date(2021, 1, 1) + dt.timedelta(days=rnd.randrange(0, 700))
        out.append(rec("hazardous_area", f"HA-{i:04d}", day.isoformat(), shape,
                       classification=rnd.choice(["SHA", "CHA"]), contamination=["AP"]))
    return out


@pytest.fixture
def many(ledger: Ledger) -> Ledger:
    load(ledger, _areas(240))
    return ledger


def _python(ledger, bbox=None, where=None, dates=None):
    rows = ledger.objects(HA)
    if where:
        rows = [r for r in rows if all(r.get(k) == v for k, v in where.items())]
    if dates:
        lo, hi = dates
        rows = [r for r in rows if not (hi and r["first_date"] > hi)
                and not (lo and r["last_date"] < lo)]
    if bbox:
        rows = [r for r in rows if r["geometry"] is not None
                and r["geometry"].intersects(shapely.box(*bbox))]
    return rows


BOXES = [None, (LON + 0.1, LAT + 0.1, LON + 0.3, LAT + 0.25), (LON, LAT, LON + 0.02, LAT + 0.5),
         (0.0, 0.0, 1.0, 1.0), (LON - 1, LAT - 1, LON + 2, LAT + 2)]


@pytest.mark.parametrize("bbox", BOXES)
@pytest.mark.parametrize("where,dates", [
    (None, None), ({"classification": "CHA"}, None),
    (None, (dt.date(2021, 6, 1), dt.date(2022, 3, 1))),
    ({"classification": "SHA"}, (None, dt.date(2021, 9, 30)))])
def test_pages_are_the_python_filter_paged(many, bbox, where, dates):
    expected = _python(many, bbox, where, dates)
    assert 0 <= len(expected) <= 240
    for limit in (1, 7, 100, 1000):
        got, offset = [], 0
        while True:
            rows, matched = many.page(HA, bbox=bbox, where=where, dates=dates, limit=limit,
                                      offset=offset)
            assert matched == len(expected)
            assert len(rows) == min(limit, max(0, matched - offset))
            got += rows
            offset += limit
            if offset >= matched:
                break
        assert [r["id"] for r in got] == [r["id"] for r in expected]
        assert got == expected                          # every field, geometry included


def test_a_box_that_meets_only_the_bounding_box_of_a_triangle_misses_it(ledger):
    tri = shapely.Polygon([(LON, LAT), (LON + D, LAT), (LON, LAT + D)])
    load(ledger, [*base(), rec("hazardous_area", "HA-T", "2021-01-05", tri,
                               classification="SHA", contamination=["AP"])])
    corner = (LON + 0.8 * D, LAT + 0.8 * D, LON + 0.9 * D, LAT + 0.9 * D)
    rows, n = ledger.page(HA, bbox=corner)     # HA-1 is the whole square: only it
    assert n == 1 and [r["id"] for r in rows] == ["HA-1"]
    rows, n = ledger.page(HA, bbox=(LON, LAT, LON + 0.1 * D, LAT + 0.1 * D))
    assert n == 2 and {r["id"] for r in rows} == {"HA-1", "HA-T"}


def _boxes(ledger) -> dict[str, tuple[float, ...]]:
    rt, keys = spatial.rtrees[HA], spatial.spatial_keys
    q = select(keys.c.object_id, rt.c.minx, rt.c.miny, rt.c.maxx, rt.c.maxy) \
        .select_from(rt.join(keys, keys.c.id == rt.c.id)).where(keys.c.kind == HA.value)
    with ledger.db.read() as conn:
        return {r[0]: tuple(r[1:]) for r in conn.execute(q)}


def _near(a, b) -> bool:
    return all(abs(x - y) < 1e-5 for x, y in zip(a, b, strict=True))   # float32 boxes


def test_the_rtree_follows_areas_that_move_shrink_and_close(sqlite_ledger):
    ledger = sqlite_ledger
    load(ledger, [*base(), rec("hazardous_area", "HA-2", "2021-01-05", area_box(2, 3, 2, 3),
                               classification="SHA", contamination=["AP"])])
    assert _near(_boxes(ledger)["HA-1"], area_box().bounds)
    # a re-survey moves HA-1 east: the old place finds nothing, the new one finds it
    moved = area_box(5, 6, 0, 1)
    load(ledger, [rec("hazardous_area", "HA-1", "2021-03-01", moved, classification="CHA",
                      contamination=["AP"])])
    assert _near(_boxes(ledger)["HA-1"], moved.bounds)
    assert ledger.page(HA, bbox=area_box(0.2, 0.8, 0.2, 0.8).bounds) == ([], 0)
    rows, n = ledger.page(HA, bbox=area_box(5.2, 5.8, 0.2, 0.8).bounds)
    assert n == 1 and rows[0]["geometry"].equals(moved)
    # then it shrinks, and is cleared: the record keeps the perimeter, so does the index
    small = area_box(5, 5.5, 0, 0.5)
    load(ledger, [rec("hazardous_area", "HA-1", "2021-04-01", small, classification="CHA",
                      contamination=["AP"]),
                  rec("activity", "A1", "2021-05-01", activity_type="clearance",
                      organisation_id="ORG-1", hazardous_area_id="HA-1",
                      start_date="2021-05-01", status="completed"),
                  release("LR-1", "A1", "cleared", "2021-05-02", small)])
    row = ledger.get(HA, "HA-1")
    assert row["status"] == "closed"
    assert _near(_boxes(ledger)["HA-1"], small.bounds)
    assert ledger.page(HA, bbox=area_box(5.7, 5.9, 0.7, 0.9).bounds) == ([], 0)
    assert [r["id"] for r in ledger.page(HA, bbox=small.bounds)[0]] == ["HA-1"]
    assert set(_boxes(ledger)) == {"HA-1", "HA-2"}
    lr = spatial.rtrees[ReportType.LAND_RELEASE]
    with ledger.db.read() as conn:
        assert conn.execute(select(lr.c.id)).all() != []


def test_the_migration_fills_the_rtree_for_existing_rows(sqlite_ledger):
    ledger = sqlite_ledger
    load(ledger, _areas(30))
    before = _boxes(ledger)
    with ledger.db.write() as conn:
        spatial.drop_sqlite(conn)
        spatial.create_sqlite(conn)
        assert conn.execute(select(spatial.rtrees[HA].c.id)).all() == []
        spatial.fill_sqlite(conn)
    assert _boxes(ledger) == before and len(before) == 30


def test_bounds_come_from_the_index_and_hold_every_geometry(many):
    rows = many.objects(HA)
    exact = shapely.GeometryCollection([r["geometry"] for r in rows]).bounds
    got = many.bounds(HA)
    assert got is not None
    assert got[0] <= exact[0] and got[1] <= exact[1] and got[2] >= exact[2] \
        and got[3] >= exact[3]
    assert _near(got, exact)
    assert many.bounds(ReportType.ACCIDENT) is None


def test_migration_0007_goes_down_and_up_and_fills_the_index(database_url):
    """A record made before the spatial indexes (migration 0006) gets them, filled, on
    upgrade; the downgrade removes them."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect

    from safeground.record.storage import Database
    from safeground.record.storage.database import MIGRATIONS
    from safeground.settings import Settings

    db = Database.open(database_url)
    ledger = Ledger(db, Settings(database_url=database_url))
    load(ledger, _areas(25))
    boxes_before = _boxes(ledger) if db.dialect == "sqlite" else None

    def run(step, target):
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with db.write() as conn:
            cfg.attributes["connection"] = conn
            step(cfg, target)

    def indexed() -> bool:
        names = set(inspect(db.engine).get_table_names())
        if db.dialect == "sqlite":
            return "rtree_hazardous_areas" in names and "spatial_keys" in names
        idx = {i["name"] for i in inspect(db.engine).get_indexes("hazardous_areas")}
        return spatial.gist_name(HA) in idx

    assert indexed()
    run(command.downgrade, "0006")
    assert not indexed()
    run(command.upgrade, "head")
    assert indexed()
    if boxes_before is not None:
        assert _boxes(ledger) == boxes_before and len(boxes_before) == 25
    rows, n = ledger.page(HA, bbox=(LON, LAT, LON + 0.25, LAT + 0.25), limit=None)
    expected = _python(ledger, (LON, LAT, LON + 0.25, LAT + 0.25))
    assert n == len(expected) > 0 and [r["id"] for r in rows] == [r["id"] for r in expected]


def test_a_batch_rolled_back_takes_its_boxes_with_it(sqlite_ledger):
    """Deleting objects (a batch rolled back) removes their boxes (the delete trigger), and
    objects derived again get theirs back."""
    ledger = sqlite_ledger
    load(ledger, base())
    res = ledger.submit([rec("hazardous_area", "HA-9", "2021-02-01", area_box(3, 4, 3, 4),
                             classification="SHA", contamination=["AP"])],
                        user="alice", source="batch-7")
    ledger.approve(res.accepted, user="bob")
    assert set(_boxes(ledger)) == {"HA-1", "HA-9"}
    ledger.rollback_batch("batch-7", "batch-7", user="bob")
    assert set(_boxes(ledger)) == {"HA-1"}
    assert ledger.page(HA, bbox=area_box(3, 4, 3, 4).bounds) == ([], 0)
