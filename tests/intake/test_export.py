"""Requirement 5: GeoPackage (read back by GDAL), GeoJSON, HXL CSV (parsed by libhxl) and the
IMAS land release summary; and the GeoPackage is a complete copy of the record."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
from pathlib import Path

import hxl
import pyogrio
import pytest

from safeground.intake import export, samples
from safeground.intake import field_exports as fx
from safeground.intake.importer import import_path
from safeground.record.ledger import Ledger
from safeground.record.storage import Database
from safeground.record.vocabulary import ReportType

ORG = {"report_type": "organisation", "object_id": "ORG-1", "date_of_information": "2020-01-01",
       "organisation": "ORG-1", "author": "registrar", "name": "Field NGO", "kind": "ngo"}


def _approve_all(ledger):
    ids = [r.id for r in ledger.reports(status="submitted")]
    res = ledger.approve(ids, user="approver")
    assert res.refused == [], res.refused
    return res


@pytest.fixture(scope="module")
def record(tmp_path_factory):
    """A small record: 3 NTS (one CHA cleared in part, with items), an accident, an EORE.
    Built once for the module; the tests only read it."""
    tmp_path = tmp_path_factory.mktemp("record")
    ledger = Ledger(Database.open(f"sqlite:///{tmp_path}/record.sqlite"))
    ledger.approve(ledger.submit([ORG], user="registrar").accepted, user="approver")
    nts = [samples.nts(i) for i in range(3)]
    import_path(ledger, fx.odk_csv_zip(nts, tmp_path / "nts.zip"), "alice", progress=False)
    _approve_all(ledger)
    area = next(a for a in ledger.objects("hazardous_area") if a["classification"] == "CHA")
    x, y = area["geometry"].bounds[:2]
    clr = samples.clearance(0, area["id"], (x, y), day=samples.DAY.replace(month=7))
    acc = samples.accident(1)
    eore = samples.eore(2)
    for name, sub in (("clr", clr), ("acc", acc), ("eore", eore)):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(fx.odata_page([sub], sub.form_id)))
        s = import_path(ledger, path, "alice", progress=False)
        assert s.rejected == 0, s.rejections
    _approve_all(ledger)
    return ledger


def test_geopackage_is_valid_for_gdal_and_holds_every_layer(record, tmp_path):
    out = tmp_path / "record.gpkg"
    counts = export.export_gpkg(record, out)
    layers = dict(pyogrio.list_layers(out))
    assert layers["hazardous_areas"] in ("Polygon", "Unknown", "MultiPolygon", None)
    assert layers["ordnance_items"] == "Point"
    for name in layers:
        df = pyogrio.read_dataframe(out, layer=name)
        assert len(df) == counts[name]
    con = sqlite3.connect(out)
    assert con.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47  # 'GPKG'
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    srs = dict(con.execute("SELECT table_name, srs_id FROM gpkg_geometry_columns"))
    assert srs["hazardous_areas"] == 4326
    kinds = dict(con.execute("SELECT table_name, data_type FROM gpkg_contents"))
    assert kinds["victims"] == "attributes"
    assert "name" not in pyogrio.read_dataframe(out, layer="victims").columns  # sensitive


def test_geopackage_filters_by_type_and_organisation(record, tmp_path):
    out = tmp_path / "part.gpkg"
    counts = export.export_gpkg(record, out, [ReportType.ORDNANCE], with_reports=False)
    assert set(counts) == {"ordnance_items"}
    assert export.export_gpkg(record, tmp_path / "none.gpkg", organisation="NOBODY") == {}
    assert pyogrio.list_layers(tmp_path / "none.gpkg")[0][0] == "about"


def test_geopackage_round_trip_rebuilds_the_same_record(record, tmp_path):
    out = tmp_path / "record.gpkg"
    export.export_gpkg(record, out, include_sensitive=True)
    fresh = Ledger(Database.open(f"sqlite:///{tmp_path}/fresh.sqlite"))
    summary = import_path(fresh, out, "carol", progress=False, reconcile=False)
    assert summary.rejected == 0, summary.rejections[:3]
    _approve_all(fresh)
    for rtype in ReportType:
        a = record.objects(rtype)
        b = fresh.objects(rtype)
        assert len(a) == len(b), rtype
        for x, y in zip(a, b, strict=True):
            for k in x:
                if k in ("last_report_id", "engine_state"):
                    continue
                if k in ("geometry", "remaining_geometry") and x[k] is not None:
                    assert x[k].equals_exact(y[k], 1e-9), (rtype, k)
                elif isinstance(x[k], float):
                    assert x[k] == pytest.approx(y[k], abs=1e-6), (rtype, k)
                else:
                    assert x[k] == y[k], (rtype, x["id"], k)
    # importing the export again into the same record adds nothing
    again = import_path(fresh, out, "carol", progress=False)
    assert again.accepted == 0 and again.already_imported == summary.accepted + \
        summary.needs_review


def test_hxl_csv_is_parsed_by_libhxl(record, tmp_path):
    out = tmp_path / "areas.csv"
    n = export.export_hxl(record, out, ReportType.HAZARDOUS_AREA)
    data = hxl.data(str(out), hxl.InputOptions(allow_local=True))
    tags = [c.display_tag for c in data.columns]
    assert "#meta+id" in tags and "#geo+lat" in tags and "#status+class" in tags
    rows = list(data)
    assert len(rows) == n == 3
    assert {r.get("#status+class") for r in rows} <= {"SHA", "CHA"}
    assert float(rows[0].get("#geo+lat")) > 38


def test_hxl_never_carries_victims_names(record, tmp_path):
    out = tmp_path / "victims.csv"
    export.export_hxl(record, out, ReportType.VICTIM)
    text = out.read_text()
    assert "Aliyev" not in text and "#affected+outcome" in text
    assert len(list(hxl.data(str(out), hxl.InputOptions(allow_local=True)))) == 2


def test_land_release_summary_by_quarter(record, tmp_path):
    rows = export.land_release_summary(record, by="quarter")
    cleared = [r for r in rows if r["cleared_m2"] > 0]
    assert len(cleared) == 1
    r = cleared[0]
    assert r["period"] == "2025-Q3" and r["organisation"] == "ORG-1" and r["method"] == "manual"
    assert 10_000 < r["cleared_m2"] < 16_000          # a 0.0024° x 0.0006° strip near 40°N
    items = [r for r in rows if r["items"]]
    assert sum(r["items"] for r in items) == 3
    assert items[0]["items_by_category"] == {"AP_mine": 3}
    path = export.write_land_release_summary(rows, tmp_path / "lr.csv")
    assert "items_AP_mine" in path.read_text().splitlines()[0]


def test_geojson_export(record, tmp_path):
    out = tmp_path / "acc.geojson"
    assert export.export_geojson(record, out, ReportType.ACCIDENT) == 1
    df = pyogrio.read_dataframe(out)
    assert len(df) == 1 and df.geometry.iloc[0].geom_type == "Point"


VALIDATOR = "/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_gpkg.py"


@pytest.mark.skipif(not Path(VALIDATOR).exists() or not Path("/usr/bin/python3").exists(),
                    reason="GDAL's validate_gpkg.py (python3-gdal) is not installed")
def test_geopackage_passes_gdal_validate_gpkg(record, tmp_path):
    """GDAL's own GeoPackage validator (from the system GDAL). The GDAL that pyogrio bundles
    writes the R-tree update triggers of GeoPackage 1.4 (``update6``/``update7``), which the
    older system validator still asks under their 1.3 names (Req 75); every other requirement
    must pass, and the 1.4 triggers must be there."""
    out = tmp_path / "record.gpkg"
    export.export_gpkg(record, out)
    res = subprocess.run(["/usr/bin/python3", VALIDATOR, "-k", str(out)],
                         capture_output=True, text=True, timeout=120, check=False)
    problems = [line for line in res.stdout.splitlines() if line.strip()]
    other = [p for p in problems
             if not re.fullmatch(r"Req 75: rtree_\w+_update[13] trigger missing", p)]
    assert other == [], res.stdout + res.stderr
    con = sqlite3.connect(out)
    triggers = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
    assert "rtree_hazardous_areas_geom_update6" in triggers
    assert "rtree_hazardous_areas_geom_update7" in triggers
