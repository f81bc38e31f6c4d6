"""Requirements 3, 4 and 6: generic geodata import in any CRS, the holding area with
reconciliation proposals and reasons, idempotent re-import, and the rejects file round trip."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import Point, box
from typer.testing import CliRunner

from safeground.cli import app as main_app
from safeground.intake import field_exports as fx
from safeground.intake import samples
from safeground.intake.cli import app
from safeground.intake.importer import import_path
from safeground.intake.reconcile import override, proposals_for
from safeground.record.exchange import write_reports


def _approve(ledger, ids=None):
    ids = ids if ids is not None else [r.id for r in ledger.reports(status="submitted")]
    res = ledger.approve(ids, user="approver")
    assert res.refused == []


def test_reimporting_the_same_export_adds_nothing(ledger, tmp_path):
    path = fx.odk_csv_zip([samples.nts(i) for i in range(3)], tmp_path / "nts.zip")
    first = import_path(ledger, path, "alice", progress=False)
    again = import_path(ledger, path, "alice", progress=False)
    assert first.accepted == 15 and first.rejected == 0
    assert again.accepted == again.rejected == 0 and again.already_imported == 15
    assert {p.code for p in again.duplicates} == {"DUPLICATE_SUBMISSION"}
    assert len(ledger.reports()) == 1 + 15


def test_an_edited_submission_updates_the_same_objects(ledger, tmp_path):
    sub = samples.nts(1)
    import_path(ledger, fx.odk_csv_zip([sub], tmp_path / "a.zip"), "alice", progress=False)
    _approve(ledger)
    edited = dataclasses.replace(sub, instance_id="uuid:edited-1",
                                 values={**sub.values, "ha_classification": "CHA",
                                         "ha_beneficiaries": 500})
    s = import_path(ledger, fx.odk_csv_zip([edited], tmp_path / "b.zip"), "alice",
                    progress=False)
    area = next(p for p in s.proposals if p.report_type == "hazardous_area")
    assert area.action == "update" and area.target.startswith("HA-")
    assert any("classification: SHA -> CHA" in r for r in area.reasons)
    assert not any("estimated_area_m2" in r for r in area.reasons)  # "40000" is 40000.0
    _approve(ledger)
    assert ledger.get("hazardous_area", area.target)["beneficiaries"] == 500


def test_rejects_file_can_be_fixed_and_imported_again(ledger, tmp_path):
    good, bad = samples.nts(1), samples.nts(2)
    bad = dataclasses.replace(bad, values={**bad.values, "ha_classification": "SHA?"})
    s = import_path(ledger, fx.odk_csv_zip([good, bad], tmp_path / "nts.zip"), "alice",
                    progress=False)
    assert s.accepted == 5 and s.rejected == 5
    assert s.reasons["CHOICE_UNKNOWN"] == 1 and s.reasons["REF_UNKNOWN"] >= 1
    rejects = tmp_path / "nts.rejects.csv"
    assert s.rejects_path == str(rejects)
    rows = list(csv.DictReader(rejects.open(encoding="utf-8")))
    assert rows[0]["classification"] == "SHA?" and "CHOICE_UNKNOWN" in rows[0]["_problems"]
    assert rows[0]["wkt"].startswith("POLYGON")
    rows[0]["classification"] = "SHA"
    fixed = tmp_path / "fixed.csv"
    with fixed.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    again = import_path(ledger, fixed, "alice", progress=False)
    assert again.rejected == 0, again.rejections
    assert again.accepted + again.needs_review == 5


def test_overlapping_area_is_proposed_as_a_probable_duplicate(ledger, tmp_path):
    first = samples.nts(1)
    import_path(ledger, fx.odk_csv_zip([first], tmp_path / "a.zip"), "alice", progress=False)
    _approve(ledger)
    poly = first.values["ha_geo"][0]
    x0, y0, x1, y1 = poly.bounds
    shifted = box(x0 + (x1 - x0) * 0.4, y0, x1 + (x1 - x0) * 0.4, y1)   # 60 % overlap
    other = samples.nts(500)
    other = dataclasses.replace(other, values={**other.values, "ha_geo": shifted,
                                               "ha_name": first.values["ha_name"]})
    s = import_path(ledger, fx.odk_csv_zip([other], tmp_path / "b.zip"), "bob", progress=False)
    dup = next(p for p in s.proposals if p.report_type == "hazardous_area")
    assert dup.action == "duplicate" and dup.needs_review
    assert any("overlaps 60%" in r for r in dup.reasons)
    assert any("same name" in r for r in dup.reasons)
    assert s.needs_review >= 1
    # the reviewer overrides: it is the same area, an update of the first
    new_id = override(ledger, dup.report_id, "carol", dup.target)
    assert ledger.report(dup.report_id).status == "rejected"
    assert ledger.report(new_id).object_id == dup.target
    assert proposals_for(ledger, [new_id])[0].action == "update"


def test_accident_inside_an_area_is_proposed_as_a_link_and_twin_reports_as_duplicate(
        ledger, tmp_path):
    nts = samples.nts(1)
    import_path(ledger, fx.odk_csv_zip([nts], tmp_path / "a.zip"), "alice", progress=False)
    _approve(ledger)
    inside = nts.values["ha_geo"][0].centroid
    acc = samples.accident(7)
    acc = dataclasses.replace(acc, values={**acc.values, "acc_geo": inside})
    twin = samples.accident(8)
    twin = dataclasses.replace(twin, values={**twin.values,
                                             "acc_geo": Point(inside.x + 0.0003, inside.y)})
    path = tmp_path / "acc.json"
    path.write_text(json.dumps(fx.kobo_page([acc, twin])))
    s = import_path(ledger, path, "bob", progress=False)
    props = {p.object_id: p for p in s.proposals if p.report_type == "accident"}
    actions = sorted(p.action for p in props.values())
    assert actions == ["duplicate", "link"] or actions == ["duplicate", "duplicate"]
    link = [p for p in proposals_for(ledger) if p.report_type == "accident"]
    assert any("inside hazardous area" in r for p in link for r in p.reasons) or \
        any(p.action == "duplicate" and "m from" in p.reasons[0] for p in link)


def test_geopackage_in_a_projected_crs_is_reprojected(ledger, tmp_path):
    frame = gpd.GeoDataFrame(
        {"object_id": ["EV-G1"], "date_of_information": ["2025-05-02"],
         "organisation": ["ORG-1"], "author": ["gis"], "category": ["marking"],
         "source": ["observed"], "reliability": ["high"]},
        geometry=[Point(47.0, 40.0)], crs=4326).to_crs(32638)
    path = tmp_path / "partner.gpkg"
    pyogrio.write_dataframe(frame, path, layer="evidence")
    s = import_path(ledger, path, "alice", progress=False)
    assert s.accepted == 1, s.rejections
    rep = ledger.report(s.report_ids[0])
    assert rep.geometry.distance(Point(47.0, 40.0)) < 1e-7


@pytest.mark.parametrize("zipped", [False, True], ids=["folder", "zip"])
def test_esri_file_geodatabase_is_taken_like_a_geopackage(ledger, tmp_path, zipped):
    frame = gpd.GeoDataFrame(
        {"object_id": ["EV-F1"], "date_of_information": ["2025-05-02"],
         "organisation": ["ORG-1"], "author": ["gis"], "category": ["marking"],
         "source": ["observed"], "reliability": ["high"]},
        geometry=[Point(47.0, 40.0)], crs=4326).to_crs(32638)
    gdb = tmp_path / "partner.gdb"
    pyogrio.write_dataframe(frame, gdb, layer="evidence", driver="OpenFileGDB")
    path = gdb
    if zipped:
        import shutil
        path = Path(shutil.make_archive(str(tmp_path / "partner"), "zip", tmp_path, "partner.gdb"))
    s = import_path(ledger, path, "alice", progress=False)
    assert s.accepted == 1, s.rejections
    assert ledger.report(s.report_ids[0]).geometry.distance(Point(47.0, 40.0)) < 1e-7


def test_shapefile_with_cut_column_names(ledger, tmp_path):
    frame = gpd.GeoDataFrame(
        {"report_type": ["evidence"], "object_id": ["EV-S1"],
         "date_of_information": ["2025-05-02"], "organisation": ["ORG-1"], "author": ["gis"],
         "category": ["marking"], "source": ["observed"], "reliability": ["high"]},
        geometry=[Point(47.01, 40.0)], crs=4326)
    folder = tmp_path / "shp"
    folder.mkdir()
    with pytest.warns(RuntimeWarning):
        pyogrio.write_dataframe(frame, folder / "evidence.shp")
    s = import_path(ledger, folder / "evidence.shp", "alice", progress=False)
    assert s.accepted == 1, s.rejections


def test_kml_with_extended_data(ledger, tmp_path):
    frame = gpd.GeoDataFrame(
        {"report_type": ["evidence"], "object_id": ["EV-K1"],
         "date_of_information": ["2025-05-02"], "organisation": ["ORG-1"], "author": ["gis"],
         "category": ["marking"], "source": ["observed"], "reliability": ["high"]},
        geometry=[Point(47.02, 40.0)], crs=4326)
    path = tmp_path / "marks.kml"
    pyogrio.write_dataframe(frame, path, driver="KML")
    s = import_path(ledger, path, "alice", progress=False)
    assert s.accepted == 1, s.rejections


def test_csv_with_mgrs_and_csv_in_utm(ledger, tmp_path):
    head = "report_type,object_id,date_of_information,organisation,author,category,source," \
           "reliability"
    m = tmp_path / "mgrs.csv"
    m.write_text(f"{head},mgrs\nevidence,EV-M1,2025-05-01,ORG-1,a,marking,observed,high,"
                 "38SNJ 4000 1000\n")
    s = import_path(ledger, m, "alice", progress=False)
    assert s.accepted == 1, s.rejections
    u = tmp_path / "utm.csv"
    u.write_text(f"{head},easting,northing\nevidence,EV-U1,2025-05-01,ORG-1,a,marking,observed,"
                 "high,585000,4430000\n")
    s = import_path(ledger, u, "alice", progress=False, crs="EPSG:32638")
    assert s.accepted == 1, s.rejections
    g = ledger.report(s.report_ids[0]).geometry
    assert 45.5 < g.x < 48 and 39 < g.y < 41


def test_unknown_crs_for_coordinates_is_a_file_problem(ledger, tmp_path):
    u = tmp_path / "utm.csv"
    u.write_text("report_type,object_id,easting,northing\nevidence,EV-1,585000,4430000\n")
    s = import_path(ledger, u, "alice", progress=False, crs="EPSG:999999")
    assert s.codes == {"CRS_UNKNOWN"} and s.accepted == 0
    assert len(ledger.reports()) == 1   # nothing but the organisation


def test_poor_gps_fix_is_kept_and_flagged_for_review(ledger, tmp_path):
    sub = samples.eore(3)
    sub = dataclasses.replace(sub, values={**sub.values,
                                           "eore_geo": (sub.values["eore_geo"][0], 250.0)})
    path = tmp_path / "eore.json"
    path.write_text(json.dumps(fx.odata_page([sub], "sg_eore")))
    s = import_path(ledger, path, "alice", progress=False)
    assert s.needs_review == 1 and "GPS_ACCURACY_POOR" in s.codes


def test_cli_import_review_export_and_summary(cli_accounts, tmp_path):
    run = cli_accounts.run
    org = tmp_path / "org.geojson"
    write_reports([{"report_type": "organisation", "object_id": "ORG-1",
                   "date_of_information": "2020-01-01", "organisation": "ORG-1",
                   "author": "registrar", "name": "Field NGO", "kind": "ngo"}], org)
    assert run(main_app, ["import", str(org), "--no-progress"], user="alice").exit_code == 0
    assert run(main_app, ["approve", "--all"], user="bob").exit_code == 0
    path = fx.odk_csv_zip([samples.nts(i) for i in range(2)], tmp_path / "nts.zip")
    res = run(main_app, ["import", str(path), "--no-progress"], user="alice")
    assert res.exit_code == 0, res.output
    assert "10 accepted" in res.output
    res = run(app, ["review", "--all"], user="bob")
    assert res.exit_code == 0 and "hazardous_area" in res.output
    res = run(app, ["export-gpkg", str(tmp_path / "out.gpkg")], user="carol")
    assert res.exit_code == 0, res.output
    res = run(app, ["summary", "--out", str(tmp_path / "lr.csv")])
    assert res.exit_code == 0 and (tmp_path / "lr.csv").exists()
    res = CliRunner().invoke(app, ["forms"])
    assert "sg_clearance" in res.output
    bad = tmp_path / "notes.txt"
    bad.write_text("x")
    res = run(main_app, ["import", str(bad), "--no-progress"], user="alice")
    # a file refused whole (nothing stored) is 2; 1 is kept for "some rows refused"
    assert res.exit_code == 2 and "FILE_FORMAT_UNKNOWN" in res.output
    # an analyst may export but not take reports in
    res = run(main_app, ["import", str(path), "--no-progress"], user="carol")
    assert res.exit_code == 2 and "FORBIDDEN" in res.output


def test_forms_out_makes_a_missing_folder_and_refuses_a_file_in_the_way(tmp_path):
    runner = CliRunner()
    out = tmp_path / "new" / "forms"
    res = runner.invoke(app, ["forms", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert (out / "sg_nts.xlsx").is_file() and (out / "sg_clearance.xlsx").is_file()
    blocked = tmp_path / "a-file"
    blocked.write_text("x")
    res = runner.invoke(app, ["forms", "--out", str(blocked / "forms")])
    assert res.exit_code == 2 and "CONFIG_INVALID" in res.output
    assert "cannot make the folder" in res.output
    assert "Traceback" not in res.output


def test_progress_bar_does_not_get_in_the_way(ledger, tmp_path, capsys):
    path = fx.odk_csv_zip([samples.nts(1)], tmp_path / "nts.zip")
    s = import_path(ledger, path, "alice", progress=True, chunk=2)
    assert s.accepted == 5


def test_a_row_with_an_oversize_field_is_rejected_alone_and_nothing_of_it_stored(ledger,
                                                                                 tmp_path):
    limit = ledger.settings.max_field_chars
    head = "report_type,object_id,date_of_information,organisation,author,category,source," \
           "reliability,description,lat,lon"
    path = tmp_path / "long.csv"
    path.write_text(f"{head}\n"
                    "evidence,EV-L1,2025-05-01,ORG-1,a,marking,observed,high,short,40.0,47.0\n"
                    f"evidence,EV-L2,2025-05-01,ORG-1,a,marking,observed,high,{'x' * (limit + 1)},"
                    "40.0,47.01\n")
    before = len(ledger.reports())
    s = import_path(ledger, path, "alice", progress=False)
    assert s.accepted == 1 and s.rejected == 1, (s.rejections, s.reviews)
    (where, probs), = s.rejections
    assert "row 3" in where or "3" in where, where
    assert [(p.code, p.field, p.params["value"]) for p in probs] == \
        [("FIELD_TOO_LARGE", "description", limit + 1)]
    assert len(ledger.reports()) == before + 1  # the long row is not kept at the gate either
    with (tmp_path / "long.rejects.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["object_id"] for r in rows] == ["EV-L2"]
    assert rows[0]["description"].endswith("…") and len(rows[0]["description"]) < 300
    assert "FIELD_TOO_LARGE" in rows[0]["_problems"]
