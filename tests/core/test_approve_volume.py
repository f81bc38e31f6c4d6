"""Approving many reports: a run at a time and, for new explosive items and other objects
nothing links to, in the database. The derived record must be the one the report-by-report
fold makes of the same reports in one go."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import text

from safeground import example
from safeground.errors import ConflictError
from safeground.record import audit
from safeground.record.ledger import Ledger
from safeground.record.storage import Database, spatial
from safeground.record.vocabulary import ReportStatus, ReportType
from safeground.settings import Settings

LON, LAT = 46.0, 40.0


def _item(oid: str, date: str, activity: str, **kw) -> dict:
    from shapely.geometry import Point

    n = int(oid.rsplit("-", 1)[1])
    return {"report_type": "ordnance", "object_id": oid, "date_of_information": date,
            "organisation": "ORG-NGO1", "author": "team", "activity_id": activity,
            "category": "AP_mine", "model": "PMN-2", "condition": "armed",
            "disposal": "destroyed_in_situ", "quantity": 1,
            "geometry": Point(LON + n * 1e-4, LAT + n * 1e-4), **kw}


def _second_batch() -> list[dict]:
    """Reports of every kind the set-wise lane must leave to the fold, and many it takes."""
    recs = []
    # HA-005 (its TS finished 2021-03-20): new items after its last event -> set-wise
    recs += [_item(f"EO-{i}", f"2021-07-{1 + i % 28:02d}", "ACT-TS-001") for i in range(100, 160)]
    # HA-001: items dated before its NTS take effect when the activity began (not late)
    recs += [_item(f"EO-{i}", "2021-01-15", "ACT-NTS-001") for i in range(200, 205)]
    recs += [_item(f"EO-{i}", "2021-09-01", "ACT-NTS-001") for i in range(205, 210)]
    # HA-002: items dated before its last release (late: the fold rebuilds the area)
    recs += [_item(f"EO-{i}", "2021-04-20", "ACT-CLR-001") for i in range(300, 305)]
    recs += [_item(f"EO-{i}", "2021-08-02", "ACT-CLR-001") for i in range(305, 310)]
    # HA-003: a revision, a new activity (submitted first) and items found by it
    recs.append({"report_type": "hazardous_area", "object_id": "HA-003",
                 "date_of_information": "2021-08-01", "organisation": "ORG-ANAMA",
                 "author": "surveyor", "name": "Revised", "classification": "SHA"})
    first = [{"report_type": "activity", "object_id": "ACT-TS-003",
              "date_of_information": "2021-08-10", "organisation": "ORG-NGO1",
              "author": "team", "activity_type": "ts", "organisation_id": "ORG-NGO1",
              "hazardous_area_id": "HA-003", "start_date": "2021-08-10", "status": "ongoing"}]
    recs += [_item(f"EO-{i}", "2021-08-11", "ACT-TS-003") for i in range(400, 405)]
    # HA-008: an item reported twice, and an update of an item already in the record
    recs += [_item("EO-500", "2021-07-01", "ACT-NTS-002"),
             _item("EO-500", "2021-07-03", "ACT-NTS-002", condition="unarmed")]
    recs.append(_item("EO-001", "2021-07-05", "ACT-NTS-002", quantity=2))
    # QA visits: new (set-wise, no area) and about an activity of this approval
    recs += [{"report_type": "qa_visit", "object_id": f"QA-{i}", "date_of_information":
              "2021-07-20", "organisation": "ORG-ANAMA", "author": "qa",
              "activity_id": "ACT-NTS-002" if i % 2 else "ACT-TS-003", "kind": "QA",
              "result": "pass", "nonconformities": i % 3} for i in range(10, 20)]
    random.Random(7).shuffle(recs)
    return first + recs


def _record(url: str) -> Ledger:
    led = Ledger(Database.open(url), Settings(database_url=url))
    res = led.submit(example.records(), user="records.officer")
    assert not res.rejected
    led.approve(res.accepted, user="ops.chief")
    res = led.submit(_second_batch(), user="records.officer")
    assert not res.rejected, [p.message for r in res.rejected for p in r.problems]
    return led


def _state(led: Ledger) -> dict:
    with led.db.read() as conn:
        reps = conn.execute(text("SELECT id, status, seq, decided_by FROM reports "
                                 "ORDER BY id")).all()
    return {"reports": [tuple(r) for r in reps],
            **{t.value: led.objects(t) for t in ReportType}}


def _boxes(led: Ledger) -> list[tuple]:
    with led.db.read() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT k.kind, k.object_id, r.minx, r.miny, r.maxx, r.maxy FROM "
            f"{spatial.rtrees[ReportType.ORDNANCE].name} r "
            "JOIN spatial_keys k ON k.id = r.id ORDER BY k.object_id"))]


def test_a_run_at_a_time_and_set_wise_equals_report_by_report(tmp_path, database_url,
                                                              monkeypatch):
    reference = _record(f"sqlite:///{tmp_path}/reference.sqlite")
    reference.set_wise = False
    reference.approve_chunk = 10**9         # every report through the fold, in one go
    expected = reference.approve_all("ops.chief")

    written: list[int] = []
    insert = Ledger._insert_new_objects

    def counting(self, conn, rtype, ids):
        written.extend(ids)
        return insert(self, conn, rtype, ids)

    monkeypatch.setattr(Ledger, "_insert_new_objects", counting)
    led = _record(database_url)
    led.approve_chunk = 7                   # many runs, cut across every kind of report
    got = led.approve_all("ops.chief")

    assert sorted(got.approved) == sorted(expected.approved)
    assert got.refused == expected.refused
    # the set-wise lane took the new items of HA-005 and HA-001 and the new QA visits about
    # activities already in the record, and nothing else
    with led.db.read() as conn:
        names = dict(conn.execute(text("SELECT id, object_id FROM reports")).all())
    lane = {names[i] for i in written}
    assert {f"EO-{i}" for i in [*range(100, 160), *range(200, 210)]} <= lane
    assert not lane & ({f"EO-{i}" for i in [*range(300, 310), *range(400, 405), 500, 1]})
    assert {"QA-11", "QA-13"} <= lane and not lane & {"QA-10", "QA-12"}
    assert _state(led) == _state(reference)
    area = {a["id"]: a for a in led.objects("hazardous_area")}
    assert area["HA-005"]["classification"] == "CHA"
    assert area["HA-003"]["classification"] == "CHA"  # its items came after the revision
    if led.db.dialect == "sqlite":
        assert _boxes(led) == _boxes(reference)
        assert len(_boxes(led)) == len(led.objects("ordnance"))


def test_audit_trail_of_a_chunked_approval_is_one_entry(sqlite_ledger):
    led = sqlite_ledger
    res = led.submit(example.records(), user="records.officer")
    led.approve_chunk = 5
    out = led.approve(res.accepted, user="ops.chief")
    trail = audit.entries(led.db, action="approve")
    assert len(trail) == 1
    assert trail[0]["detail"]["approved"] == out.approved
    with led.db.read() as conn:
        seqs = conn.execute(text("SELECT seq FROM reports WHERE status = :s ORDER BY seq"),
                            {"s": ReportStatus.APPROVED.value}).scalars().all()
    assert seqs == list(range(1, len(out.approved) + 1))


def _items_to_decide(led: Ledger, n: int) -> list[int]:
    base = {"date_of_information": "2024-01-01", "organisation": "ORG-1", "author": "t"}
    res = led.submit([{**base, "report_type": "organisation", "object_id": "ORG-1",
                       "name": "NGO", "kind": "ngo"},
                      {**base, "report_type": "activity", "object_id": "ACT-1",
                       "activity_type": "clearance", "organisation_id": "ORG-1",
                       "start_date": "2024-01-01", "status": "ongoing"}], user="alice")
    led.approve(res.accepted, user="bob")
    res = led.submit([{**base, "report_type": "ordnance", "object_id": f"EO-{i}",
                       "activity_id": "ACT-1", "category": "UXO", "condition": "armed",
                       "disposal": "destroyed_in_situ", "quantity": 1,
                       "geometry": {"type": "Point", "coordinates": [46 + i * 1e-6, 40]}}
                      for i in range(n)], user="alice")
    assert len(res.accepted) == n
    return res.accepted


def test_reject_more_ids_than_sqlite_binds_in_one_statement(sqlite_ledger):
    ids = _items_to_decide(sqlite_ledger, 40_000)  # SQLite binds at most 32,766 per statement
    assert sqlite_ledger.reject(ids, user="bob", note="duplicate return") == 40_000
    with sqlite_ledger.db.read() as conn:
        counts = dict(conn.execute(text("SELECT status, count(*) FROM reports "
                                        "WHERE report_type = 'ordnance' GROUP BY status")).all())
    assert counts == {"rejected": 40_000}
    with pytest.raises(ConflictError):
        sqlite_ledger.reject(ids[:1], user="bob", note="again")


def test_approve_more_ids_than_sqlite_binds_in_one_statement(sqlite_ledger):
    ids = _items_to_decide(sqlite_ledger, 40_000)
    res = sqlite_ledger.approve(ids, user="bob")
    assert len(res.approved) == 40_000 and not res.refused
    assert len(sqlite_ledger.objects("ordnance")) == 40_000
