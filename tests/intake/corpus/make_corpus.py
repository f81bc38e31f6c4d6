"""Write the bad-input corpus and ``expected.json`` (run from the repository root):

    .venv/bin/python tests/intake/corpus/make_corpus.py

Each file holds one kind of trouble, mostly beside good rows that must still be taken in.
``expected.json`` gives, per file, the codes the import must report and how many records it
must still accept (accepted + needs review). Every file uses its own sample numbers, so the
files can be imported one after another into one record.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
from shapely.geometry import Point, box

from safeground.intake import field_exports as fx
from safeground.intake import samples

HERE = Path(__file__).parent
EXPECTED: dict[str, dict] = {}
_n = [0]


def nts(k: int = 1):
    """``k`` fresh NTS submissions (5 records each) with sample numbers of their own."""
    out = []
    for _ in range(k):
        _n[0] += 1
        out.append(samples.nts(1000 + _n[0], seed=7))
    return out


def expect(name: str, codes: list[str], good: int = 0) -> None:
    EXPECTED[name] = {"codes": codes, "good": good}


def with_values(sub, **vals):
    return dataclasses.replace(sub, values={**sub.values, **vals})


def rewrite_zip(src: Path, dst: Path, edit) -> None:
    """Copy a zip, passing each member's text through ``edit(name, text)``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for n in zin.namelist():
            text = zin.read(n).decode()
            zout.writestr(n, edit(n, text))
    src.unlink()


def odk_zip(name: str, subs) -> Path:
    return fx.odk_csv_zip(subs, HERE / name)


def main() -> None:
    # ------------------------------------------------------------ ODK Central CSV zip
    good = odk_zip("odk_corrupt.zip", nts())
    data = good.read_bytes()
    good.write_bytes(data[: len(data) // 2])
    expect("odk_corrupt.zip", ["FILE_UNREADABLE"])

    (HERE / "odk_not_a_zip.zip").write_text("SubmissionDate,KEY\nthis is not a zip\n")
    expect("odk_not_a_zip.zip", ["FILE_UNREADABLE"])

    tmp = odk_zip("tmp.zip", nts())
    rewrite_zip(tmp, HERE / "odk_no_key_column.zip",
                lambda n, t: t.replace(",KEY,", ",ID,") if "-" not in n else t)
    expect("odk_no_key_column.zip", ["COLUMN_MISSING"])

    tmp = odk_zip("tmp.zip", nts(2))
    rewrite_zip(tmp, HERE / "odk_orphan_repeat.zip", lambda n, t: t if not n.endswith(
        "-evidence.csv") else t.rstrip("\n") + "\ncombat_zone,observed,low,,39.8 46.8 0 3,"
        "uuid:no-such-parent,uuid:no-such-parent/evidence[1]\n")
    expect("odk_orphan_repeat.zip", ["REPEAT_ORPHAN"], good=10)

    a, b = nts(2)
    odk_zip("odk_unknown_version.zip", [a, with_values(b, sg_form_version="2019010101")])
    expect("odk_unknown_version.zip", ["FORM_VERSION_UNKNOWN"], good=5)

    a, b = nts(2)
    odk_zip("odk_unknown_form.zip", [a, with_values(b, sg_form_id="village_census")])
    expect("odk_unknown_form.zip", ["FORM_UNKNOWN"], good=5)

    a, b = nts(2)
    odk_zip("odk_broken_geoshape.zip", [a, with_values(b, ha_geo="39.8 46.8 0 3;abc")])
    expect("odk_broken_geoshape.zip", ["GEO_ENCODING", "REF_UNKNOWN"], good=5)

    a, b = nts(2)
    x, y = 46.9, 39.95
    from shapely.geometry import Polygon
    bowtie = Polygon([(x, y), (x + 0.002, y + 0.002), (x + 0.002, y), (x, y + 0.002)])
    odk_zip("odk_self_intersecting.zip", [a, with_values(b, ha_geo=bowtie)])
    expect("odk_self_intersecting.zip", ["GEOM_SELF_INTERSECTION", "REF_UNKNOWN"], good=5)

    a, b = nts(2)
    p = b.values["act_geo"][0]
    odk_zip("odk_swapped_axes.zip", [a, with_values(b, act_geo=Point(p.y, p.x))])
    expect("odk_swapped_axes.zip", ["GEOM_AXIS_SWAPPED"], good=5 + 4)

    a, b = nts(2)
    odk_zip("odk_bad_choice.zip", [a, with_values(b, ha_classification="SHA?")])
    expect("odk_bad_choice.zip", ["CHOICE_UNKNOWN"], good=5)

    a, b = nts(2)
    vals = dict(b.values)
    del vals["ha_classification"]
    odk_zip("odk_missing_required.zip", [a, dataclasses.replace(b, values=vals)])
    expect("odk_missing_required.zip", ["FIELD_REQUIRED"], good=5)

    tmp = odk_zip("tmp.zip", [with_values(s, author="Gülnarə Əliyeva") for s in nts()])
    with zipfile.ZipFile(tmp) as zin, zipfile.ZipFile(HERE / "odk_latin1.zip", "w") as zout:
        for n in zin.namelist():
            text = zin.read(n).decode()
            zout.writestr(n, text.replace("ə", "e").replace("Ə", "E").encode("latin-1")
                          if "-" not in n else text.encode())
    tmp.unlink()
    expect("odk_latin1.zip", ["FILE_ENCODING"])

    def twice(n, t):
        if "-" in n:
            return t
        lines = t.splitlines()
        return "\n".join([*lines, lines[1]]) + "\n"

    rewrite_zip(odk_zip("tmp.zip", nts(2)), HERE / "odk_duplicate_submission.zip", twice)
    expect("odk_duplicate_submission.zip", ["DUPLICATE_IN_BATCH"], good=10)

    a, b = nts(2)
    odk_zip("odk_future_date.zip", [a, with_values(b, date_of_information="2099-01-01")])
    expect("odk_future_date.zip", ["DATE_FUTURE"], good=5)

    a, b = nts(2)
    odk_zip("odk_bad_number.zip", [a, with_values(b, ha_beneficiaries="many")])
    expect("odk_bad_number.zip", ["FIELD_TYPE"], good=5)

    tmp = odk_zip("tmp.zip", nts(2))
    rewrite_zip(tmp, HERE / "odk_short_row.zip", lambda n, t: t if "-" in n else
                t.rstrip("\n") + "\n2025-06-02,ORG-1,cut short\n")
    expect("odk_short_row.zip", ["SUBMISSION_MALFORMED"], good=10)

    a, b = nts(2)
    odk_zip("odk_outside_extent.zip", [a, with_values(b, act_geo=Point(2.35, 48.85))])
    expect("odk_outside_extent.zip", ["GEOM_OUTSIDE_EXTENT"], good=5 + 4)

    a, b = nts(2)
    odk_zip("odk_poor_gps.zip", [a, with_values(b, ha_geo=(b.values["ha_geo"][0], 180.0))])
    expect("odk_poor_gps.zip", ["GPS_ACCURACY_POOR"], good=10)

    a, b = nts(2)
    odk_zip("odk_bad_date.zip", [a, with_values(b, act_start_date="02/06/2025")])
    expect("odk_bad_date.zip", ["DATE_INVALID"], good=5 + 4)

    # -------------------------------------------------------------------- OData JSON
    page = json.dumps(fx.odata_page(nts(2), "sg_nts"))
    (HERE / "odata_truncated.json").write_text(page[: len(page) // 2])
    expect("odata_truncated.json", ["FILE_UNREADABLE"])

    doc = fx.odata_page(nts(2), "sg_nts")
    del doc["value"][1]["__id"]
    (HERE / "odata_missing_id.json").write_text(json.dumps(doc))
    expect("odata_missing_id.json", ["SUBMISSION_MALFORMED"], good=5)

    doc = fx.odata_page(nts(2), "sg_nts")
    doc["value"][1]["hazardous_area"]["ha_geo"] = {"type": "Polygon", "coordinates": [[1, 2]]}
    (HERE / "odata_broken_geojson.json").write_text(json.dumps(doc))
    expect("odata_broken_geojson.json", ["GEO_ENCODING", "REF_UNKNOWN"], good=5)

    doc = fx.odata_page(nts(2), "sg_nts")
    doc["value"][1]["sg_form_version"] = "1"
    (HERE / "odata_unknown_version.json").write_text(json.dumps(doc))
    expect("odata_unknown_version.json", ["FORM_VERSION_UNKNOWN"], good=5)

    doc = fx.odata_page(nts(2), "sg_nts")
    doc["value"][1]["evidence"][0]["ev_reliability"] = "certain"
    (HERE / "odata_repeat_bad_choice.json").write_text(json.dumps(doc))
    expect("odata_repeat_bad_choice.json", ["CHOICE_UNKNOWN"], good=9)

    # ------------------------------------------------------------------- KoboToolbox
    (HERE / "kobo_binary.json").write_bytes(bytes(range(256)) * 4)
    expect("kobo_binary.json", ["FILE_ENCODING"])

    doc = fx.kobo_page(nts(2))
    for k in ("_uuid", "meta/instanceID"):
        del doc["results"][1][k]
    (HERE / "kobo_missing_uuid.json").write_text(json.dumps(doc))
    expect("kobo_missing_uuid.json", ["SUBMISSION_MALFORMED"], good=5)

    doc = fx.kobo_page(nts(2))
    doc["results"][1]["activity/act_geo"] = "39.81"
    (HERE / "kobo_bad_geopoint.json").write_text(json.dumps(doc))
    expect("kobo_bad_geopoint.json", ["GEO_ENCODING"], good=5 + 4)

    doc = fx.kobo_page(nts(2))
    lat, lon = doc["results"][1]["activity/act_geo"].split()[:2]
    doc["results"][1]["activity/act_geo"] = f"{lon} {lat} 0 4"
    (HERE / "kobo_swapped.json").write_text(json.dumps(doc))
    expect("kobo_swapped.json", ["GEOM_AXIS_SWAPPED"], good=5 + 4)

    doc = fx.kobo_page(nts(2))
    doc["results"][1]["evidence"][0]["evidence/ev_source"] = "rumour"
    (HERE / "kobo_repeat_bad_choice.json").write_text(json.dumps(doc))
    expect("kobo_repeat_bad_choice.json", ["CHOICE_UNKNOWN"], good=9)

    path = fx.kobo_csv(nts(2), HERE / "kobo_bad_choice.csv")
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace(";SHA;", ";SHB;").replace(";CHA;", ";CHB;")
    path.write_text("\n".join(lines) + "\n")
    expect("kobo_bad_choice.csv", ["CHOICE_UNKNOWN", "REF_UNKNOWN"], good=2)

    path = fx.kobo_csv([with_values(s, author="Gülnarə") for s in nts(2)],
                       HERE / "kobo_latin1.csv")
    path.write_bytes(path.read_text().replace("ə", "e").encode("latin-1"))
    expect("kobo_latin1.csv", ["FILE_ENCODING"])

    # ---------------------------------------------------------------------- Survey123
    subs = nts(2)
    vals = dict(subs[1].values)
    del vals["ha_geo"]
    fx.survey123_zip([subs[0], dataclasses.replace(subs[1], values=vals)],
                     HERE / "s123_null_geometry.zip")
    expect("s123_null_geometry.zip", ["GEOM_MISSING", "REF_UNKNOWN"], good=5)

    fx.survey123_zip([with_values(s, sg_form_id="xyz") for s in nts(1)],
                     HERE / "s123_unknown_form.zip")
    expect("s123_unknown_form.zip", ["FORM_UNKNOWN"])

    tmp = fx.survey123_zip(nts(1), HERE / "tmp.zip")
    with zipfile.ZipFile(tmp) as zf:
        doc = json.loads(zf.read("sg_nts.geojson"))
    tmp.unlink()
    for f in doc["features"]:
        del f["properties"]["globalid"]
        del f["properties"]["sg_form_id"]
    (HERE / "s123_no_globalid.geojson").write_text(json.dumps(doc))
    expect("s123_no_globalid.geojson", ["REPORT_TYPE_UNKNOWN"])

    # -------------------------------------------------------------------- generic CSV
    def write_csv(name: str, header: list[str], rows: list[list], encoding="utf-8") -> None:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(header)
        w.writerows(rows)
        (HERE / name).write_bytes(buf.getvalue().encode(encoding, errors="strict"))

    head = ["report_type", "object_id", "date_of_information", "organisation", "author",
            "category", "source", "reliability", "description", "longitude", "latitude"]

    def ev(i: int, lon: float = 46.95, lat: float = 40.1, desc: str = "crater") -> list:
        return ["evidence", f"EV-C{i}", "2025-05-01", "ORG-1", "nts team", "detonation",
                "observed", "high", desc, lon + i * 0.0011, lat]

    rows = [ev(1), ev(2)]
    write_csv("csv_missing_report_type.csv", head[1:], [r[1:] for r in rows])
    expect("csv_missing_report_type.csv", ["COLUMN_MISSING"])

    write_csv("csv_latin1_rows.csv", head, [ev(3), ev(4, desc="près du café"), ev(5)],
              encoding="latin-1")
    expect("csv_latin1_rows.csv", ["FILE_ENCODING"], good=2)

    bad = ev(7)
    bad[9] = "forty-six"
    write_csv("csv_bad_coordinates.csv", head, [ev(6), bad])
    expect("csv_bad_coordinates.csv", ["GEO_ENCODING"], good=1)

    bad = ev(9)
    bad[9], bad[10] = bad[10], bad[9]
    write_csv("csv_swapped_lonlat.csv", head, [ev(8), bad])
    expect("csv_swapped_lonlat.csv", ["GEOM_AXIS_SWAPPED"], good=1)

    mh = [*head[:-2], "mgrs"]
    write_csv("csv_bad_mgrs.csv", mh, [[*ev(10)[:-2], "38SNJ 4000 1000"],
                                       [*ev(11)[:-2], "38SNJ 400 10000"]])
    expect("csv_bad_mgrs.csv", ["MGRS_INVALID"], good=1)

    uh = [*head[:-2], "easting", "northing"]
    write_csv("csv_utm_without_crs.csv", uh, [[*ev(12)[:-2], 580000 + 100 * k, 4440000]
                                              for k in range(2)])
    expect("csv_utm_without_crs.csv", ["GEOM_OUTSIDE_EXTENT"])

    write_csv("csv_unknown_field.csv", [*head, "colour"], [[*ev(13), ""], [*ev(14), "red"]])
    expect("csv_unknown_field.csv", ["FIELD_UNKNOWN"], good=1)

    bad = ev(16)
    bad[0] = "minefield"
    write_csv("csv_unknown_report_type.csv", head, [ev(15), bad])
    expect("csv_unknown_report_type.csv", ["REPORT_TYPE_UNKNOWN"], good=1)

    bad = ev(18)
    bad[2] = "31/04/2025"
    write_csv("csv_bad_date.csv", head, [ev(17), bad])
    expect("csv_bad_date.csv", ["DATE_INVALID"], good=1)

    write_csv("csv_duplicate_rows.csv", head, [ev(19), ev(20), ev(19)])
    expect("csv_duplicate_rows.csv", ["DUPLICATE_SUBMISSION"], good=2)

    wh = [*head[:-2], "wkt"]
    write_csv("csv_bad_wkt.csv", wh, [[*ev(21)[:-2], "POINT (46.97 40.1)"],
                                      [*ev(22)[:-2], "POINT (46.97 40.1"]])
    expect("csv_bad_wkt.csv", ["GEOM_UNPARSABLE"], good=1)

    ah = ["report_type", "object_id", "date_of_information", "organisation", "author",
          "classification", "contamination", "wkt"]
    write_csv("csv_too_few_vertices.csv", ah, [
        ["hazardous_area", "HA-C1", "2025-05-01", "ORG-1", "a", "SHA", "AP",
         box(46.99, 40.2, 47.0, 40.21).wkt],
        ["hazardous_area", "HA-C2", "2025-05-01", "ORG-1", "a", "SHA", "AP",
         "POLYGON ((47.01 40.2, 47.02 40.2, 47.01 40.2, 47.01 40.2))"]])
    expect("csv_too_few_vertices.csv", ["GEOM_TOO_FEW_VERTICES"], good=1)

    write_csv("csv_ref_unknown.csv", [*head, "hazardous_area_id"],
              [[*ev(23), ""], [*ev(24), "HA-NOWHERE"]])
    expect("csv_ref_unknown.csv", ["REF_UNKNOWN"], good=1)

    (HERE / "csv_empty.csv").write_bytes(b"")
    expect("csv_empty.csv", ["FILE_EMPTY"])

    write_csv("csv_header_only.csv", head, [])
    expect("csv_header_only.csv", ["FILE_EMPTY"])

    bad = ev(26)
    bad[9] = ""
    bad[10] = ""
    write_csv("csv_missing_geometry.csv", head, [ev(25), bad])
    expect("csv_missing_geometry.csv", ["GEOM_MISSING"], good=1)

    write_csv("csv_no_geometry_columns.csv", head[:-2], [ev(27)[:-2]])
    expect("csv_no_geometry_columns.csv", ["COORDINATES_MISSING"])

    # ------------------------------------------------------------ GDAL vector formats
    (HERE / "gpkg_corrupt.gpkg").write_bytes(b"SQLite format 3\x00" + bytes(500))
    expect("gpkg_corrupt.gpkg", ["FILE_UNREADABLE"])

    frame = gpd.GeoDataFrame(
        {"report_type": ["evidence"] * 2, "object_id": ["EV-K1", "EV-K2"],
         "date_of_information": ["2025-05-02"] * 2, "organisation": ["ORG-1"] * 2,
         "author": ["a"] * 2, "category": ["marking", "marking"],
         "source": ["observed", "observed"], "reliability": ["high", "unsure"]},
        geometry=[Point(47.05, 40.3), Point(47.06, 40.3)], crs=4326)
    pyogrio.write_dataframe(frame, HERE / "gpkg_bad_choice.gpkg", layer="evidence")
    expect("gpkg_bad_choice.gpkg", ["CHOICE_UNKNOWN"], good=1)

    pyogrio.write_dataframe(frame.iloc[:0], HERE / "gpkg_empty_layer.gpkg", layer="evidence")
    expect("gpkg_empty_layer.gpkg", ["LAYER_EMPTY"])

    swapped = frame.copy()
    swapped["object_id"] = ["EV-K3", "EV-K4"]
    swapped["reliability"] = "high"
    swapped.geometry = [Point(47.07, 40.3), Point(40.3, 47.08)]
    pyogrio.write_dataframe(swapped, HERE / "geojson_swapped.geojson", driver="GeoJSON")
    expect("geojson_swapped.geojson", ["GEOM_AXIS_SWAPPED"], good=1)

    kml = frame[["geometry"]].copy()
    kml["Name"] = ["a marker", "another"]
    pyogrio.write_dataframe(kml, HERE / "kml_without_report_type.kml", driver="KML")
    expect("kml_without_report_type.kml", ["REPORT_TYPE_UNKNOWN"])

    shp = frame.copy()
    shp["object_id"] = ["EV-K5", "EV-K6"]
    shp["reliability"] = ["high", "high"]
    shp["date_of_information"] = ["2025-05-02", "2025-13-02"]
    zpath = HERE / "shapefile_bad_date.zip"
    tmpdir = HERE / "_shp"
    tmpdir.mkdir(exist_ok=True)
    pyogrio.write_dataframe(shp, tmpdir / "evidence.shp")
    with zipfile.ZipFile(zpath, "w") as zf:
        for p in sorted(tmpdir.iterdir()):
            zf.write(p, p.name)
            p.unlink()
    tmpdir.rmdir()
    expect("shapefile_bad_date.zip", ["DATE_INVALID"], good=1)

    (HERE / "notes.txt").write_text("minefield near the school, ask Rashad\n")
    expect("notes.txt", ["FILE_FORMAT_UNKNOWN"])

    (HERE / "expected.json").write_text(json.dumps(EXPECTED, indent=1, sort_keys=True) + "\n")
    print(f"{len(EXPECTED)} files")


if __name__ == "__main__":
    main()
