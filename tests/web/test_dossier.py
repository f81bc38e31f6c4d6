"""The task dossier of a hazardous area: an A4 PDF that opens, holds the area's turning points
in lat/lon, UTM and MGRS, its risk and planned work, and never a victim's personal data."""

from __future__ import annotations

import io

import pytest
from websupport import build_site

from safeground.record.vocabulary import ReportType

pytest.importorskip("weasyprint")


def _text(pdf: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    assert reader.pages[0].mediabox.width == pytest.approx(595, abs=2)   # A4 portrait
    return "\n".join(p.extract_text() for p in reader.pages)


def _victim_strings(ledger) -> list[str]:
    """Every value of a victim's personal field in the record (name, address, birth date)."""
    from safeground.record.reports import sensitive_fields

    hidden = sensitive_fields(ReportType.VICTIM)
    out = []
    for r in ledger.reports():
        if str(r.type) == ReportType.VICTIM.value:
            out += [str(v) for k, v in r.payload.items() if k in hidden and v not in (None, "")]
    return out


def test_the_dossier_pdf_holds_the_area_coordinates_and_no_personal_data(tmp_path):
    import mgrs
    from pyproj import Transformer
    from resultsupport import write_risk

    site = build_site(f"sqlite:///{tmp_path}/record.sqlite", work_dir=tmp_path)
    rows = write_risk(site.ledger, tmp_path)
    # the accident's area: its victims are in the record, never in the dossier
    accident = site.ledger.objects(ReportType.ACCIDENT)[0]
    res = site.ledger.submit([{
        "report_type": "victim", "object_id": "VIC-DOSSIER", "date_of_information": "2021-01-20",
        "organisation": "ANAMA", "author": "field.officer", "accident_id": accident["id"],
        "outcome": "injured", "sex": "female", "age": 31, "status": "civilian",
        "name": "Zeynab Qwertyova", "address": "17 Nowhere Lane",
        "date_of_birth": "1989-03-04"}], user="records.officer")
    assert not res.rejected
    site.ledger.approve(res.accepted, user="ops.chief")
    area_id = accident["hazardous_area_id"] or "HA-001"
    r = site.as_user("clerk").get(f"/objects/hazardous_area/{area_id}/dossier.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = _text(r.content)
    area = site.ledger.get(ReportType.HAZARDOUS_AREA, area_id)
    ring = list(area["geometry"].exterior.coords)[:-1]
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32638", always_xy=True)
    for lon, lat in ring:
        assert f"{lat:.6f}" in text and f"{lon:.6f}" in text
        e, n = to_utm.transform(lon, lat)
        assert f"{int(e)}" in text and f"{int(n)}" in text      # cut to the metre, as MGRS
        assert mgrs.MGRS().toMGRS(lat, lon, MGRSPrecision=5) in text
    rank = next(x["rank"] for x in rows if x["object_id"] == area_id)
    assert f"{rank} of {len(rows)} areas" in text
    assert "Emergency information" in text
    personal = _victim_strings(site.ledger)
    assert {"Zeynab Qwertyova", "17 Nowhere Lane", "1989-03-04"} <= set(personal)
    for value in personal:
        # a victim's address may be a settlement's name, which the dossier rightly shows
        if value not in {s["name"] for s in site.ledger.objects(ReportType.SETTLEMENT)}:
            assert value not in text, value
    # a viewer may not print it; an unknown area is a 404 in the envelope
    assert site.as_user("visitor").get(
        f"/objects/hazardous_area/{area_id}/dossier.pdf").status_code == 403
    missing = site.as_user("clerk").get("/objects/hazardous_area/HA-NONE/dossier.pdf",
                                        headers={"Accept": "application/json"})
    assert missing.status_code == 404
    site.ledger.db.close()


def test_the_dossier_command_writes_the_pdf(tmp_path):
    from typer.testing import CliRunner

    from safeground.cli import app

    site = build_site(f"sqlite:///{tmp_path}/record.sqlite")
    out = tmp_path / "HA-002.pdf"
    res = CliRunner().invoke(app, ["report", "dossier", "HA-002", "--out", str(out),
                                   "--db", site.url])
    assert res.exit_code == 0, res.output
    text = _text(out.read_bytes())
    lon, lat = site.ledger.get(ReportType.HAZARDOUS_AREA, "HA-002")["geometry"].exterior.coords[0]
    assert "HA-002" in text and f"{lat:.6f}" in text and f"{lon:.6f}" in text
    site.ledger.db.close()
