"""Requirement 2: ODK Central (CSV zip, OData), KoboToolbox (JSON, CSV) and Survey123 exports
of the same submissions give the same dated reports."""

from __future__ import annotations

import json

import pytest

from safeground.intake import field_exports as fx
from safeground.intake import kobo, odk, samples, survey123
from safeground.intake.errors import FileProblem
from safeground.intake.submissions import to_records


def _records(subs):
    out = []
    for s in subs:
        assert not isinstance(s, FileProblem), s
        conv = to_records(s)
        assert conv.problems == {}
        out += conv.records
    return out


def _comparable(rec):
    keep = {k: str(v) for k, v in rec.items()
            if not k.startswith("_") and k != "geometry" and v is not None}
    geom = rec.get("geometry")
    return keep, (geom.normalize().wkt if geom is not None else None)


SUBS = [samples.nts(i) for i in range(3)]


def _same(got, want):
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        assert _comparable(a)[0] == _comparable(b)[0]
        ga, gb = a.get("geometry"), b.get("geometry")
        assert (ga is None) == (gb is None)
        if ga is not None:
            assert ga.normalize().equals_exact(gb.normalize(), 1e-7)
    return True


def test_nts_submission_becomes_area_activity_evidence_and_informant():
    recs = _records([samples.nts(0)])
    types = [r["report_type"] for r in recs]
    # the area comes first: the activity and the evidence point at it
    assert types == ["hazardous_area", "activity", "evidence", "evidence", "evidence"]
    area, activity = recs[0], recs[1]
    assert activity["hazardous_area_id"] == area["object_id"]
    assert activity["organisation_id"] == "ORG-1" and activity["activity_type"] == "nts"
    assert recs[4]["source"] == "verbal" and recs[4]["category"] == "verbal"
    assert area["_gps_accuracy_m"] == 3.5
    assert recs[2]["submission_id"].endswith("/evidence[1]")


def test_new_object_ids_are_stable_and_an_asked_id_is_kept():
    a = _records([samples.nts(1)])
    b = _records([samples.nts(1)])
    assert [r["object_id"] for r in a] == [r["object_id"] for r in b]
    sub = samples.nts(2)
    sub.values["ha_object_id"] = "HA-EXISTING"
    recs = _records([sub])
    assert recs[0]["object_id"] == "HA-EXISTING"
    assert recs[1]["hazardous_area_id"] == "HA-EXISTING"


def test_odk_csv_zip(tmp_path):
    got = _records(odk.read_csv_zip(fx.odk_csv_zip(SUBS, tmp_path / "nts.zip")))
    assert _same(got, _records(SUBS))


def test_odk_csv_zip_repeat_rows_name_their_table_and_row(tmp_path):
    subs = list(odk.read_csv_zip(fx.odk_csv_zip(SUBS, tmp_path / "nts.zip")))
    rec = to_records(subs[0]).records[2]
    assert rec["_where"] == "nts.zip:sg_nts-evidence.csv row 2"


def test_odk_odata_json():
    page = json.loads(json.dumps(fx.odata_page(SUBS, "sg_nts")))
    got = _records(odk.read_odata(page, "page.json"))
    assert _same(got, _records(SUBS))
    assert got[0]["_gps_accuracy_m"] == 3.5


def test_kobo_json():
    page = json.loads(json.dumps(fx.kobo_page(SUBS)))
    got = _records(kobo.read_json(page, "kobo.json"))
    assert _same(got, _records(SUBS))


def test_kobo_csv_has_no_repeats(tmp_path):
    got = _records(kobo.read_csv(fx.kobo_csv(SUBS, tmp_path / "kobo.csv")))
    want = [r for r in _records(SUBS) if r["report_type"] in ("hazardous_area", "activity")]
    assert _same(got, want)


def test_survey123_layer_with_related_repeat_tables(tmp_path):
    got = _records(survey123.read(fx.survey123_zip(SUBS, tmp_path / "s123.zip")))
    want = _records(SUBS)
    assert [r["report_type"] for r in got] == [r["report_type"] for r in want]
    assert got[0]["geometry"].equals_exact(want[0]["geometry"], 1e-9)
    assert got[2]["category"] == want[2]["category"]


@pytest.mark.parametrize("make", [samples.eod, samples.accident, samples.eore])
def test_other_forms_through_odata(make):
    sub = make(4)
    page = json.loads(json.dumps(fx.odata_page([sub], sub.form_id)))
    got = _records(odk.read_odata(page, "p.json"))
    assert _same(got, _records([sub]))


def test_accident_victims_link_to_their_accident():
    recs = _records([samples.accident(1)])
    acc, v1, v2 = recs
    assert v1["accident_id"] == v2["accident_id"] == acc["object_id"]
    assert v1["name"] == "A. Aliyev"


def test_clearance_release_takes_its_area_from_the_activity():
    recs = _records([samples.clearance(1, "HA-9", (46.9, 39.9))])
    act = recs[0]
    rel = next(r for r in recs if r["report_type"] == "land_release")
    items = [r for r in recs if r["report_type"] == "ordnance"]
    assert rel["hazardous_area_id"] == "HA-9" and rel["activity_id"] == act["object_id"]
    assert len(items) == 3 and all(i["activity_id"] == act["object_id"] for i in items)
