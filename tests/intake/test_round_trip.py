"""Must show: scenario -> form submissions -> import -> GeoPackage export -> re-import into a
new database gives the same record.

The scenario's field reports are written as the forms' submissions in every platform's format
(ODK Central CSV zip and OData, KoboToolbox JSON and CSV, Survey123); what no form captures
(organisations, teams, settlements, referrals) travels as exchange files, as it would from a
desk. The record built from the forms must equal the record built from the reports themselves,
and the GeoPackage must carry it whole into an empty database.
"""

from __future__ import annotations

import json

import pytest

from safeground.intake import field_exports as fx
from safeground.intake.as_submissions import REGISTRIES, as_submissions
from safeground.intake.export import export_gpkg
from safeground.intake.importer import import_path
from safeground.record.ledger import Ledger
from safeground.record.storage import Database
from safeground.record.vocabulary import ReportType
from safeground.scenario import ScenarioConfig, generate
from safeground.scenario.records import write_geojson


def _approve_all(ledger):
    ids = [r.id for r in ledger.reports(status="submitted")]
    return ledger.approve(ids, user="approver")


def _content_key(x: dict) -> tuple:
    c = x["geometry"].centroid if x.get("geometry") is not None else None
    return (str(x.get("activity_id")), str(x.get("hazardous_area_id")), str(x.get("release")),
            round(c.x, 7) if c else 0.0, round(c.y, 7) if c else 0.0)


def _same_record(a: Ledger, b: Ledger, tol: float, rel: float,
                 ids_from_intake: tuple[ReportType, ...] = ()) -> None:
    """Every object equal, id by id; for the types in ``ids_from_intake`` (form sections that
    ask no id, so the gate names the object from its submission) content by content."""
    for rtype in ReportType:
        xs, ys = a.objects(rtype), b.objects(rtype)
        skip = {"last_report_id"}
        if rtype in ids_from_intake:
            xs, ys = sorted(xs, key=_content_key), sorted(ys, key=_content_key)
            assert len(xs) == len(ys), rtype
            skip.add("id")
        else:
            assert [x["id"] for x in xs] == [y["id"] for y in ys], rtype
        for x, y in zip(xs, ys, strict=True):
            for k, v in x.items():
                if k in skip:
                    continue
                if k in ("geometry", "remaining_geometry") and v is not None:
                    assert v.hausdorff_distance(y[k]) <= tol, (rtype, x["id"], k)
                elif isinstance(v, float):
                    assert v == pytest.approx(y[k], rel=rel, abs=1e-6), (rtype, x["id"], k)
                else:
                    assert v == y[k], (rtype, x["id"], k, v, y[k])


@pytest.fixture(scope="module")
def scenario_records():
    sc = generate(ScenarioConfig(seed=1, region="rectangle", rect_km=(12.0, 8.0)))
    return list(sc.report_records())


def test_scenario_forms_geopackage_round_trip(scenario_records, tmp_path):
    recs = scenario_records
    subs, leftovers = as_submissions(recs)
    assert {"sg_nts", "sg_accident", "sg_eod"} <= set(subs)

    early = tmp_path / "desk.geojson"
    late = tmp_path / "referrals.geojson"
    write_geojson(early, [r for r in leftovers if r["report_type"] in REGISTRIES])
    write_geojson(late, [r for r in leftovers if r["report_type"] not in REGISTRIES])
    files = [early]
    writers = {  # every platform's format gets its turn
        "sg_nts": lambda s, p: fx.odk_csv_zip(s, p.with_suffix(".zip")),
        "sg_clearance": lambda s, p: _json(p, fx.odata_page(s, "sg_clearance")),
        "sg_eod": lambda s, p: _json(p, fx.kobo_page(s)),
        "sg_accident": lambda s, p: fx.odk_csv_zip(s, p.with_suffix(".zip")),
        "sg_eore": lambda s, p: fx.survey123_zip(s, p.with_suffix(".zip")),
        "sg_qa": lambda s, p: fx.kobo_csv(s, p.with_suffix(".csv")),
    }
    for form_id in ("sg_nts", "sg_clearance", "sg_eod", "sg_accident", "sg_eore", "sg_qa"):
        if form_id in subs:
            files.append(writers[form_id](subs[form_id], tmp_path / form_id))
    files.append(late)

    # A: the record built from the form submissions
    a = Ledger(Database.open(f"sqlite:///{tmp_path}/a.sqlite"))
    for path in files:
        s = import_path(a, path, "field", progress=False)
        assert s.rejected == 0, (path.name, s.rejections[:3])
    _approve_all(a)

    # C: the record built from the scenario's reports themselves, given to the gate directly
    # (the leftovers through the same desk files as in A)
    c = Ledger(Database.open(f"sqlite:///{tmp_path}/c.sqlite"))
    assert import_path(c, early, "desk", progress=False).rejected == 0
    left = {id(r) for r in leftovers}
    res = c.submit([r for r in recs if id(r) not in left], user="desk")
    assert not res.rejected, res.rejected[:3]
    assert import_path(c, late, "desk", progress=False).rejected == 0
    _approve_all(c)
    # land released by a clearance or NTS form is named by the gate (LR-<submission>-<n>),
    # not by the scenario: compared by what it says
    assert c.objects(ReportType.LAND_RELEASE), "the scenario's record holds land release"
    _same_record(a, c, tol=1e-9, rel=1e-9, ids_from_intake=(ReportType.LAND_RELEASE,))

    # B: A's GeoPackage imported into an empty database
    gpkg = export_gpkg(a, tmp_path / "record.gpkg", include_sensitive=True)
    assert gpkg["hazardous_areas"] == len(a.objects("hazardous_area"))
    b = Ledger(Database.open(f"sqlite:///{tmp_path}/b.sqlite"))
    s = import_path(b, tmp_path / "record.gpkg", "gis", progress=False, reconcile=False)
    assert s.rejected == 0, s.rejections[:3]
    _approve_all(b)
    _same_record(a, b, tol=1e-9, rel=1e-9)


def _json(path, doc):
    out = path.with_suffix(".json")
    out.write_text(json.dumps(doc))
    return out
