"""The gate: each malformed report gets its coded problem, naming the record
and field, is kept as rejected with its reasons, and leaves the record unchanged."""

import datetime as dt

import pytest
import shapely
from helpers import LAT, LON, activity, area_box, load, point, rec, release
from helpers import programme as programme_records
from sqlalchemy import func, select

from safeground.record.reports import REPORT_SPECS
from safeground.record.storage.schema import object_tables, reports
from safeground.record.vocabulary import ReportStatus

TOMORROW = (dt.date.today() + dt.timedelta(days=1)).isoformat()
BOWTIE = shapely.Polygon([(LON, LAT), (LON + 0.01, LAT + 0.01), (LON + 0.01, LAT),
                          (LON, LAT + 0.01)])


def ha(**kw):
    r = rec("hazardous_area", "HA-NEW", "2021-02-01", area_box(3, 4, 3, 4),
            classification="SHA", contamination=["AP"])
    r.update(kw)
    return {k: v for k, v in r.items() if v is not None}


def drop(record, key):
    return {k: v for k, v in record.items() if k != key}


CASES = [
    ("unknown report type", ha(report_type="minefield"), "REPORT_TYPE_UNKNOWN"),
    ("missing report type", drop(ha(), "report_type"), "REPORT_TYPE_UNKNOWN"),
    ("missing object id", drop(ha(), "object_id"), "FIELD_REQUIRED"),
    ("bad object id", ha(object_id="HA 1/2"), "ID_INVALID"),
    ("missing date", drop(ha(), "date_of_information"), "FIELD_REQUIRED"),
    ("malformed date", ha(date_of_information="31/02/2021"), "DATE_INVALID"),
    ("future date", ha(date_of_information=TOMORROW), "DATE_FUTURE"),
    ("impossibly old date", ha(date_of_information="1900-01-01"), "DATE_TOO_OLD"),
    ("missing organisation", drop(ha(), "organisation"), "FIELD_REQUIRED"),
    ("missing author", ha(author="  "), "FIELD_REQUIRED"),
    ("missing required field", drop(ha(), "classification"), "FIELD_REQUIRED"),
    ("unknown choice", ha(classification="SHA?"), "CHOICE_UNKNOWN"),
    ("unknown item in multi-choice", ha(contamination=["AP", "napalm"]), "CHOICE_UNKNOWN"),
    ("field of another report type", ha(depth_cm=20), "FIELD_UNKNOWN"),
    ("text in a number field", ha(beneficiaries="many"), "FIELD_TYPE"),
    ("fraction in a whole-number field", ha(beneficiaries=12.5), "FIELD_TYPE"),
    ("number out of range", ha(beneficiaries=-3), "NUMBER_RANGE"),
    ("infinite number", ha(estimated_area_m2=float("inf")), "FIELD_TYPE"),
    ("bad yes/no", rec("land_release", "L9", "2021-03-01", area_box(0, 0.1), activity_id="A1",
                       hazardous_area_id="HA-1", release="cleared", method="manual",
                       depth_cm=10, qa_passed="perhaps"), "FIELD_TYPE"),
    ("end before start", rec("activity", "A9", "2021-03-01", activity_type="nts",
                             organisation_id="ORG-1", hazardous_area_id="HA-1",
                             start_date="2021-02-10", end_date="2021-02-01",
                             status="completed"), "DATE_ORDER"),
    ("missing geometry", ha(geometry=None), "GEOM_MISSING"),
    ("unreadable WKT", ha(geometry="POLYGON ((1 2, 3"), "GEOM_UNPARSABLE"),
    ("unreadable GeoJSON", ha(geometry={"type": "Polygon", "coordinates": "x"}),
     "GEOM_UNPARSABLE"),
    ("unknown CRS", ha(crs="EPSG:999999"), "CRS_UNKNOWN"),
    ("point where a polygon is needed", ha(geometry=point(0.5, 0.5)), "GEOM_TYPE"),
    ("self-intersecting polygon", ha(geometry=BOWTIE), "GEOM_SELF_INTERSECTION"),
    ("polygon with two distinct vertices",
     ha(geometry=shapely.Polygon([(LON, LAT), (LON + 0.01, LAT), (LON, LAT)])),
     "GEOM_TOO_FEW_VERTICES"),
    ("zero-area polygon",
     ha(geometry=shapely.Polygon([(LON, LAT), (LON + 0.01, LAT), (LON + 0.02, LAT)])),
     "GEOM_ZERO_AREA"),
    ("vertices kilometres apart",
     ha(geometry=shapely.Polygon([(LON, LAT), (LON + 0.5, LAT), (LON + 0.5, LAT + 0.001),
                                  (LON, LAT + 0.001)])), "GEOM_VERTEX_GAP"),
    ("outside the programme", ha(geometry=shapely.box(2.0, 48.0, 2.01, 48.01)),
     "GEOM_OUTSIDE_EXTENT"),
    ("latitude and longitude swapped",
     ha(geometry=shapely.box(LAT, LON, LAT + 0.01, LON + 0.01)), "GEOM_AXIS_SWAPPED"),
    ("NaN coordinates", ha(geometry=shapely.Point(float("nan"), LAT)), "GEOM_TYPE"),
    ("NaN point", rec("ordnance", "EO9", "2021-03-01", shapely.Point(float("nan"), LAT),
                      activity_id="A1", category="AP_mine", disposal="destroyed_in_situ"),
     "GEOM_NOT_FINITE"),
    ("geometry on a report that has none",
     rec("referral", "R9", "2021-03-01", point(0.5, 0.5), victim_id="V1", provider="x",
         service="medical", status="referred"), "GEOM_TYPE"),
    ("area too large for one record", ha(geometry=shapely.box(45.0, 38.5, 46.0, 39.5)),
     "GEOM_TOO_LARGE"),
    ("link to an unknown area", rec("evidence", "E9", "2021-03-01", point(0.5, 0.5),
                                    hazardous_area_id="HA-404", category="verbal",
                                    source="verbal", reliability="low"), "REF_UNKNOWN"),
    ("link to an object of another type",
     rec("evidence", "E9", "2021-03-01", point(0.5, 0.5), hazardous_area_id="ORG-1",
         category="verbal", source="verbal", reliability="low"), "OBJECT_TYPE_MISMATCH"),
    ("same report twice", rec("hazardous_area", "HA-1", "2021-01-05", area_box(),
                              classification="SHA", contamination=["AP"]), "DUPLICATE_REPORT"),
    ("new area over an existing one", ha(geometry=area_box(0.02, 1.0)), "DUPLICATE_AREA"),
    ("birth after the accident", rec("victim", "V9", "2021-03-01", accident_id="ACC-1",
                                     outcome="injured", sex="female", status="civilian",
                                     date_of_birth="2021-05-01"), "DATE_ORDER"),
]


def _fingerprint(ledger):
    with ledger.db.read() as conn:
        objects = {t.value: sorted(map(tuple, conn.execute(
            select(tab.c.id, tab.c.last_report_id)).all())) for t, tab in object_tables.items()}
        live = conn.execute(select(func.count()).select_from(reports).where(
            reports.c.status != ReportStatus.REJECTED.value)).scalar_one()
    return objects, live


@pytest.fixture
def programme(sqlite_ledger):
    load(sqlite_ledger, programme_records())
    return sqlite_ledger


def test_the_corpus_has_at_least_30_kinds():
    assert len({c[0] for c in CASES}) >= 30
    assert len({c[2] for c in CASES}) >= 25


@pytest.mark.parametrize("name,record,code", CASES, ids=[c[0] for c in CASES])
def test_bad_report_gets_its_code_and_changes_nothing(programme, name, record, code):
    before = _fingerprint(programme)
    record = {**record, "_where": "bad.csv row 7"}
    res = programme.submit([record], user="alice")
    assert res.accepted == []
    (rejection,) = res.rejected
    codes = [p.code for p in rejection.problems]
    assert code in codes, [p.message for p in rejection.problems]
    assert all(p.message.startswith("[bad.csv row 7]") for p in rejection.problems)
    kept = programme.report(rejection.report_id)
    assert kept.status is ReportStatus.REJECTED and kept.problems
    assert _fingerprint(programme) == before


def test_good_rows_of_a_batch_are_kept(programme):
    good = rec("evidence", "E-OK", "2021-03-01", point(0.2, 0.2), hazardous_area_id="HA-1",
               category="verbal", source="verbal", reliability="low")
    res = programme.submit([CASES[5][1], good, CASES[20][1]], user="alice")
    assert len(res.accepted) == 1 and len(res.rejected) == 2


def test_resubmitting_a_submission_id_is_idempotent(programme):
    good = rec("evidence", "E-OK", "2021-03-01", point(0.2, 0.2), hazardous_area_id="HA-1",
               category="verbal", source="verbal", reliability="low", submission_id="uuid:42")
    first = programme.submit([good], user="alice")
    again = programme.submit([good], user="alice")
    assert len(first.accepted) == 1
    assert again.accepted == [] and again.duplicates == [("record 1", first.accepted[0])]


def test_every_field_of_every_report_type_is_representable():
    """The Minimum Data Requirements fields (docs/domain.md §3) exist in the report specs."""
    mdr = {"activity": {"organisation_id", "activity_type", "start_date", "end_date", "status"},
           "hazardous_area": {"classification", "contamination", "beneficiaries", "benchmark"},
           "land_release": {"release", "depth_cm", "method"},
           "ordnance": {"category", "model", "condition", "depth_cm", "disposal"},
           "qa_visit": {"activity_id", "kind", "result"},
           "risk_education": {"organisation_id", "method", "girls", "boys", "women", "men"},
           "accident": {"device_category", "context"},
           "victim": {"name", "sex", "date_of_birth", "address", "outcome", "activity_at_time"}}
    for rtype, names in mdr.items():
        have = {f.name for f in REPORT_SPECS[rtype].fields}
        assert names <= have, (rtype, names - have)


def test_cleared_without_depth_is_refused_at_approval(programme):
    load(programme, [rec("evidence", "E1", "2021-02-02", point(0.9, 0.9),
                         hazardous_area_id="HA-1", category="eo_observed", source="observed",
                         reliability="high"), activity("A2", "clearance", "2021-03-01")])
    r = release("L1", "A2", "cleared", "2021-03-05", area_box(0, 0.5))
    del r["depth_cm"]
    res = programme.submit([r], user="alice")
    out = programme.approve(res.accepted, user="bob")
    assert out.refused[0][1][0]["code"] == "LR_DEPTH_REQUIRED"


def test_problems_found_before_the_gate_reject_the_record(programme):
    from safeground.record.problems import Problem

    good = rec("evidence", "E-OK", "2021-03-01", point(0.2, 0.2), hazardous_area_id="HA-1",
               category="verbal", source="verbal", reliability="low",
               _problems=[Problem("GEOM_UNPARSABLE", "odk.zip row 4", "geometry",
                                  {"reason": "trace with one point"})])
    res = programme.submit([good], user="alice")
    assert res.accepted == [] and res.rejected[0].problems[0].code == "GEOM_UNPARSABLE"


def test_form_metadata_is_kept_with_the_report(programme):
    r = rec("evidence", "E-GPS", "2021-03-01", point(0.2, 0.2), hazardous_area_id="HA-1",
            category="verbal", source="verbal", reliability="low", _gps_accuracy_m=4.5,
            _form_id="sg_nts", _where="nts.zip row 3")
    (rid,) = programme.submit([r], user="alice").accepted
    meta = programme.report(rid).meta
    assert meta == {"_gps_accuracy_m": 4.5, "_form_id": "sg_nts"}
