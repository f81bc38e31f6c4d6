"""The gate's fast path for large batches (issue 4) gives the per-record path's answer.

``batch_gate.check_many`` checks a batch column by column; ``Ledger.submit`` uses it from
``BATCH_THRESHOLD`` records on. Whatever the batch, both paths must accept and reject the same
records, with the same problem codes, fields, ``where`` strings and messages, and store the same
reports (same payload text, geometry bytes and content hash: deduplication relies on them).
The ledger's cached link checker must see what another writer put in the record.
"""

import datetime as dt
import json
import math

import pytest
import shapely
from helpers import LAT, LON, area_box, load, point, programme, rec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from test_bad_input import CASES

from safeground.record.batch_gate import check_many
from safeground.record.geometry import Projector
from safeground.record.ledger import Ledger
from safeground.record.ledger import submitting as ledger_module
from safeground.record.storage import Database
from safeground.record.validation import check_record
from safeground.settings import Settings

TODAY = dt.date.today()
SETTINGS = Settings()
PROJECTOR = Projector(SETTINGS.utm_epsg)

PROGRAMME = programme()


def item(i, **kw):
    """An explosive-item row as a CSV import gives it: text values, a Point."""
    r = {"report_type": "ordnance", "object_id": f"EO-{i}", "date_of_information": "2021-03-01",
         "organisation": "ANAMA", "author": "team 3", "activity_id": "A1",
         "category": "AP_mine", "model": "PMN-2", "condition": "armed",
         "depth_cm": str(i % 21), "disposal": "destroyed_in_situ", "quantity": "1",
         "geometry": shapely.Point(46.5 + (i % 997) / 1000, 39.6 + (i % 991) / 1000),
         "submission_id": f"row:{i}", "_where": f"items.csv row {i + 2}"}
    r.update(kw)
    return {k: v for k, v in r.items() if v is not None}


#: unusual rows that must go the per-record way (or give its answer)
ODD = [
    item(1, depth_cm="12.0"), item(2, depth_cm="12.5"), item(3, depth_cm=-0.0),
    item(4, quantity="0"), item(5, quantity=7), item(6, quantity=True), item(7, depth_cm="x"),
    item(8, category="AP mine"), item(9, condition=""), item(10, condition=None),
    item(11, object_id=" EO-11 "), item(12, object_id="EO 12"), item(13, object_id=13),
    item(14, organisation="  "), item(15, date_of_information=dt.date(2021, 3, 2)),
    item(16, date_of_information="2021-03-01T10:00:00"), item(17, date_of_information="1980-1-1"),
    item(18, geometry=shapely.Point(39.7, 46.6)), item(19, geometry=shapely.Point(2.0, 48.0)),
    item(20, geometry="POINT (46.7 39.8)"), item(21, geometry=point(0.1, 0.1), crs="EPSG:4326"),
    item(22, geometry=shapely.Point(46.7, 39.8, 12.0)), item(23, geometry=shapely.Point()),
    item(24, geometry=area_box(0, 0.1)), item(25, geometry=None), item(26, beneficiaries=""),
    item(27, beneficiaries=3), item(28, _gps_accuracy_m=4.5, _form_id="sg_eo"),
    item(29, _problems=[{"code": "GEOM_UNPARSABLE", "where": "x", "field": "geometry",
                         "params": {"reason": "test"}}]),
    item(30, activity_id="A404"), item(31, activity_id="ORG-1"), item(32, submission_id=None),
    item(33, object_id="EO-40"), item(40), item(34, object_id="EO-1"),  # updates in the batch
    item(35, submission_id="row:36"), item(36), item(37, activity_id=""),
    item(38, report_type=" ordnance "), item(39, report_type="Ordnance"),
    item(41, geometry=shapely.Point(math.inf, 39.8)), item(42, model=42.0),
    item(43, depth_cm=float("nan")),
    rec("activity", "A9", "2021-03-01", activity_type="nts", organisation_id="ORG-1",
        hazardous_area_id="HA-1", start_date="2021-02-10", end_date="2021-02-11",
        status="completed"),
    rec("evidence", "E-P", "2021-03-01", point(0.2, 0.2), hazardous_area_id="HA-1",
        category="verbal", source="verbal", reliability="low"),
    rec("evidence", "E-POLY", "2021-03-01", area_box(0.2, 0.3, 0.2, 0.3),
        hazardous_area_id="HA-1", category="verbal", source="verbal", reliability="low"),
    rec("victim", "V2", "2021-03-01", accident_id="ACC-1", outcome="injured", sex="female",
        status="civilian", age="33", date_of_birth="1990-01-01"),
    rec("land_release", "L2", "2021-03-01", area_box(0, 0.1), activity_id="A1",
        hazardous_area_id="HA-1", release="cancelled", method="nts", qa_passed="yes"),
]


def mixed_batch(n_good=3000):
    bad = [{**r, "_where": f"bad.csv row {k}"} for k, (_, r, _) in enumerate(CASES)]
    odd = ODD + bad
    batch = [item(1000 + i) for i in range(n_good)]
    step = n_good // len(odd)
    for k, r in enumerate(odd):
        batch.insert(k * (step + 1), r)
    return batch


def outcome(led, res, first_id):
    """What a submit did: its result and the stored rows (timestamps aside), as plain data."""
    rejected = [(r.where, r.report_id, [(p.code, p.field, p.where, p.message) for p in r.problems])
                for r in res.rejected]
    with led.db.read() as conn:
        rows = conn.execute(text(
            "SELECT id, report_type, object_id, area_id, organisation, author, "
            "date_of_information, payload, geometry, status, submitted_by, decided_by, "
            "decision_note, problems, source, submission_id, content_hash, meta, seq "
            "FROM reports WHERE id >= :first ORDER BY id"), {"first": first_id}).all()
    return res.accepted, rejected, res.duplicates, [tuple(r) for r in rows]


def runs(tmp_path, name, batches, threshold, monkeypatch, url=None):
    """Submit each batch in turn to one ledger (later ones through its cached link checker);
    the outcome of each."""
    url = url or f"sqlite:///{tmp_path}/{name}.sqlite"
    led = Ledger(Database.open(url), Settings(database_url=url))
    load(led, PROGRAMME)
    monkeypatch.setattr(ledger_module, "BATCH_THRESHOLD", threshold)
    outs = []
    for k, batch in enumerate(batches):
        with led.db.read() as conn:
            first = conn.execute(text("SELECT max(id) + 1 FROM reports")).scalar_one()
        res = led.submit([dict(r) for r in batch], user="alice", source=f"items{k}.csv",
                         today=TODAY)
        outs.append(outcome(led, res, first))
    led.db.close()
    return outs


def run(tmp_path, name, batch, threshold, monkeypatch):
    return runs(tmp_path, name, [batch], threshold, monkeypatch)[0]


def test_fast_and_per_record_paths_store_the_same(tmp_path, monkeypatch):
    batch = mixed_batch()
    slow = run(tmp_path, "slow", batch, 10**9, monkeypatch)
    fast = run(tmp_path, "fast", batch, 1, monkeypatch)
    assert fast[0] == slow[0] and len(slow[0]) >= 3000
    assert fast[1] == slow[1]
    assert fast[2] == slow[2]
    assert fast[3] == slow[3]
    codes = {c for _, _, probs in slow[1] for c, *_ in probs}
    assert {code for _, _, code in CASES} <= codes


def linked_batch(n=2400):
    """Clean records whose answers depend on other records of the batch: links to objects the
    batch makes (before and after they are made, refused or not), an update that moves an
    activity off its area, shared keys, submission ids and contents."""
    act = {"report_type": "activity", "activity_type": "clearance",
           "organisation_id": "ORG-1", "start_date": "2021-02-01", "status": "ongoing",
           "date_of_information": "2021-03-01", "organisation": "ANAMA", "author": "team 3"}
    specials = {
        100: item(100, activity_id="A-NEW"),  # before A-NEW is made: REF_UNKNOWN
        200: {**act, "object_id": "A-NEW", "hazardous_area_id": "HA-1"},
        300: item(300, activity_id="A-NEW"),  # after: accepted, area HA-1
        400: {**act, "object_id": "A-BAD", "status": "sleeping"},  # refused
        500: item(500, activity_id="A-BAD"),
        600: {**act, "object_id": "A1"},  # an update of A1 without its area
        700: item(700),  # A1's area is now unknown to the gate
        800: item(800, object_id="EO-801", submission_id="row:own-801"),
        801: item(801, submission_id="row:own-801"),  # same submission id: not stored again
        900: item(901, submission_id="row:900b", _where="items.csv row 902"),
        901: item(901),  # same content as 900, other submission: DUPLICATE_REPORT
        1000: item(1000, crs="EPSG:4326", geometry=point(0.3, 0.3), object_id=" EO-1001"),
        1001: item(1001),  # the same object as the unusual record before it: an update
        1100: item(1100, activity_id="A-LATE"),
        1200: {**act, "object_id": "A-LATE", "hazardous_area_id": "HA-1"},
        1300: item(1300, activity_id="A-LATE", hazardous_area_id="HA-1"),
        1400: rec("accident", "ACC-2", "2021-03-01", point(0.6, 0.6), device_category="AP_mine",
                  context="civilian"),
        1401: rec("victim", "V-2", "2021-03-01", accident_id="ACC-2", outcome="injured",
                  sex="male", status="civilian"),
        1402: rec("victim", "V-3", "2021-03-01", accident_id="ACC-404", outcome="injured",
                  sex="male", status="civilian"),
    }
    return [specials.get(i, item(i)) for i in range(n)]


def test_links_inside_a_large_batch_give_the_per_record_answer(tmp_path, monkeypatch):
    batch = linked_batch()
    # the same batch again (duplicate submissions), then the same contents under new
    # submission ids (DUPLICATE_REPORT naming the stored reports)
    again = [dict(r) for r in batch[:50]]
    copies = [{**r, "submission_id": f"copy:{i}"} for i, r in enumerate(batch[:2100])]
    slow = runs(tmp_path, "slow", [batch, again, copies], 10**9, monkeypatch)
    fast = runs(tmp_path, "fast", [batch, again, copies], 1, monkeypatch)
    assert fast == slow
    first, second, third = slow
    rows = {r[2]: r for r in first[3]}
    codes = {c for _, _, probs in first[1] for c, *_ in probs}
    assert {"REF_UNKNOWN", "DUPLICATE_REPORT"} <= codes
    assert rows["EO-300"][3] == "HA-1" and rows["EO-599"][3] == "HA-1"
    assert rows["EO-700"][3] is None  # after the update of A1 without its area
    assert [w for w, _ in first[2]] == ["items.csv row 803"]
    assert len(second[2]) == 50 and all(rid > 0 for _, rid in second[2])
    dup = [probs[0] for _, _, probs in third[1] if probs[0][0] == "DUPLICATE_REPORT"]
    assert len(dup) > 2000 and all("in this batch" not in p[3] for p in dup)


def test_blocks_on_each_backend(tmp_path, monkeypatch, database_url):
    """Blocks and single records stored together, on SQLite and PostGIS: the per-record
    answer, and the same rows on both (geometry aside: each backend writes its own)."""
    batch = linked_batch(2200)
    slow = runs(tmp_path, "slow", [batch, batch[:30]], 10**9, monkeypatch)
    fast = runs(tmp_path, "fast", [batch, batch[:30]], 1, monkeypatch, url=database_url)
    for s_out, f_out in zip(slow, fast, strict=True):
        assert f_out[:3] == s_out[:3]
        assert [_plain(r) for r in f_out[3]] == [_plain(r) for r in s_out[3]]


def _plain(row):
    """A stored report row as plain values, whatever the backend."""
    def parsed(v):
        return json.loads(v) if isinstance(v, str) else v

    geom = row[8]
    if geom is not None:
        geom = shapely.from_wkb(bytes.fromhex(geom) if isinstance(geom, str) else geom).wkt
    return (*row[:6], str(row[6]), parsed(row[7]), geom, *row[9:13], parsed(row[13]),
            *row[14:17], parsed(row[17]), row[18])


def same(raws):
    wheres = [f"t.csv row {i}" for i in range(len(raws))]
    fast = check_many(raws, SETTINGS, PROJECTOR, wheres, TODAY)
    slow = [check_record(r, SETTINGS, PROJECTOR, w, TODAY)
            for r, w in zip(raws, wheres, strict=True)]
    for (frec, fprobs), (srec, sprobs) in zip(fast, slow, strict=True):
        assert [p.to_dict() for p in fprobs] == [p.to_dict() for p in sprobs]
        assert (frec is None) == (srec is None)
        if srec is not None:
            assert frec.content_hash == srec.content_hash
            assert (frec.object_id, frec.date_of_information, frec.organisation, frec.author,
                    frec.submission_id, frec.payload, frec.where) == \
                (srec.object_id, srec.date_of_information, srec.organisation, srec.author,
                 srec.submission_id, srec.payload, srec.where)
            assert list(frec.payload) == list(srec.payload)


def test_check_many_matches_check_record_on_odd_rows():
    same([dict(r) for r in ODD] + [dict(r) for _, r, _ in CASES])


values = st.one_of(st.none(), st.sampled_from(["", " ", "1", "12", "12.0", "-3", "2.5", "x",
                                               "AP_mine", "armed", "yes", "2021-03-01"]),
                   st.integers(-5, 2000), st.floats(allow_nan=True), st.booleans())
coords = st.tuples(st.floats(30, 60, allow_nan=False), st.floats(30, 60, allow_nan=False))


@st.composite
def items(draw):
    r = item(draw(st.integers(0, 50)))
    for name in draw(st.lists(st.sampled_from(
            ["category", "condition", "depth_cm", "quantity", "model", "disposal", "activity_id",
             "object_id", "date_of_information", "author", "size", "submission_id"]),
            max_size=3)):
        r[name] = draw(values)
    if draw(st.booleans()):
        x, y = draw(coords)
        r["geometry"] = shapely.Point(x, y)
    return r


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(items(), min_size=1, max_size=25))
def test_property_both_paths_agree(raws):
    same(raws)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(items(), min_size=1, max_size=8))
def test_property_shared_payloads_agree(raws):
    """Many rows, few distinct payloads: each payload made once and shared (CSV files)."""
    same([dict(r) for r in raws * (64 // len(raws) + 1)])


def test_link_checker_sees_another_writer(tmp_path):
    url = f"sqlite:///{tmp_path}/shared.sqlite"
    a = Ledger(Database.open(url), Settings(database_url=url))
    b = Ledger(Database.open(url), Settings(database_url=url))
    load(a, PROGRAMME)
    first = a.submit([item(1)], user="alice")  # a's checker is now cached
    assert first.accepted
    # another writer: a new organisation, and a rejection of a's pending report
    load(b, [rec("organisation", "ORG-2", "2021-01-01", name="HALO", kind="ngo")])
    b.reject(first.accepted, user="bob", note="wrong team")
    team = rec("team", "T-1", "2021-02-01", organisation_id="ORG-2", name="T1", asset="manual")
    res = a.submit([team, item(1)], user="alice")
    assert len(res.accepted) == 2, [p.message for r in res.rejected for p in r.problems]
    # this ledger's own writes keep its checker right too
    again = a.submit([item(1)], user="alice")
    assert again.duplicates == [("items.csv row 3", res.accepted[1])]
    a.reject(res.accepted[1:], user="bob", note="again")
    assert a.submit([item(1)], user="alice").accepted
    a.db.close()
    b.db.close()


@pytest.mark.parametrize("dup", [False, True])
def test_submit_of_a_large_batch_uses_real_ids_for_later_duplicates(sqlite_ledger, dup):
    load(sqlite_ledger, PROGRAMME)
    batch = [item(i) for i in range(2500)]
    res = sqlite_ledger.submit(batch, user="alice")
    assert len(res.accepted) == 2500
    again = sqlite_ledger.submit(batch[:3] if dup else [], user="alice")
    assert again.duplicates == ([(r["_where"], rid) for r, rid in
                                 zip(batch[:3], res.accepted, strict=False)] if dup else [])


def test_geometry_kept_exactly(tmp_path, monkeypatch):
    batch = [item(i, geometry=shapely.Point(LON + i * 1e-7, LAT)) for i in range(2100)]
    fast = run(tmp_path, "f", batch, 1, monkeypatch)
    assert all(shapely.from_wkb(r[8]).equals(b["geometry"])
               for r, b in zip(fast[3], batch, strict=True))


def test_clean_rows_take_the_fast_path(monkeypatch):
    """Only the odd rows reach check_record; the others are checked column by column."""
    import safeground.record.batch_gate as bg

    calls = []
    monkeypatch.setattr(bg, "check_record", lambda raw, *a: calls.append(raw) or (None, []))
    raws = [item(i) for i in range(3000)] + [item(7, depth_cm="x")]
    out = check_many(raws, SETTINGS, PROJECTOR, [r["_where"] for r in raws], TODAY)
    assert calls == [raws[-1]]
    assert all(rec is not None for rec, _ in out[:-1])
