"""The Article 7 forms and the Landmine Monitor's figures: checked against the example
programme's reports, reconciled with the programme report, and free of victims' personal data
in every output (HTML, xlsx, PDF)."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from pathlib import Path

import pypdf
import pytest
import shapely
from helpers import load
from openpyxl import load_workbook
from shapely.geometry import box
from typer.testing import CliRunner

from safeground import example
from safeground.cli import app
from safeground.errors import ConfigError, ValidationError
from safeground.record.ledger import Ledger
from safeground.record.storage import Database
from safeground.record.summary import status
from safeground.reports import programme, treaty

ROOT = Path(__file__).resolve().parents[2]
YEAR = 2021
START, END = dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31)
KINDS = ("cancelled", "reduced", "cleared")

#: a victim whose personal data must never appear in a report
NAME, BIRTH, ADDRESS = "Zaur Testov Examplov", "1979-03-14", "12 Nizami Street, flat 7"


def _r(rtype, oid, date, geometry=None, **payload):
    rec = {"report_type": rtype, "object_id": oid, "date_of_information": date,
           "organisation": "ANAMA", "author": "field.officer", **payload}
    if geometry is not None:
        rec["geometry"] = geometry
    return rec


def extra_records():
    """Beside the example: an AP area with no settlement or admin area (placed by its polygon),
    named like a spreadsheet formula; AP mines found there and rendered safe (known type, not
    destroyed); an IED-only area; an accident whose victim has a name, birth date and address."""
    return [
        _r("hazardous_area", "HA-101", "2021-02-01", box(47.196, 39.696, 47.204, 39.704),
           classification="CHA", contamination=["AP"], name="=HYPERLINK(\"x\")"),
        _r("hazardous_area", "HA-102", "2021-02-01", box(47.096, 40.096, 47.104, 40.104),
           classification="SHA", contamination=["IED"], name="IED suspected"),
        _r("activity", "ACT-TS-101", "2021-07-01", shapely.Point(47.20, 39.70),
           activity_type="ts", organisation_id="ORG-NGO1", team_id="T-TS1",
           hazardous_area_id="HA-101", asset="ts", start_date="2021-07-01", status="ongoing"),
        _r("ordnance", "EO-101", "2021-07-05", shapely.Point(47.201, 39.701),
           activity_id="ACT-TS-101", category="AP_mine", model="PMN-1", condition="armed",
           depth_cm=6, disposal="rendered_safe", quantity=2),
        _r("accident", "ACC-101", "2021-08-01", shapely.Point(47.199, 39.699),
           hazardous_area_id="HA-101", device_category="AP_mine", context="civilian"),
        _r("victim", "VIC-101", "2021-08-01", accident_id="ACC-101", outcome="injured",
           sex="female", age=9, status="civilian", name=NAME, date_of_birth=BIRTH,
           address=ADDRESS),
    ]


@pytest.fixture
def ledger(database_url):
    led = Ledger(Database.open(database_url))
    load(led, example.records())
    return led


@pytest.fixture
def fuller(tmp_path):
    url = f"sqlite:///{tmp_path}/fuller.sqlite"
    led = Ledger(Database.open(url))
    load(led, example.records() + extra_records())
    return led, url


def _admin_of_area(recs):
    """Area id -> admin area name, through the area's settlement (as the example links them)."""
    admin_names = {r["object_id"]: r["name"] for r in recs if r["report_type"] == "admin_area"}
    settlement_admin = {r["object_id"]: r["admin_area_id"] for r in recs
                        if r["report_type"] == "settlement" and r.get("admin_area_id")}
    return {r["object_id"]: admin_names[settlement_admin[r["settlement_id"]]] for r in recs
            if r["report_type"] == "hazardous_area"}


def _in_year(rec):
    return START <= dt.date.fromisoformat(rec["date_of_information"]) <= END


def test_forms_hold_the_record_of_the_year(ledger):
    recs = example.records()
    rep = treaty.build(ledger, YEAR, country="Azerbaijan", voluntary=True)
    admin = _admin_of_area(recs)

    # Form C: the AP areas still open at year end — HA-002 was cleared and closed in June
    ap = {r["object_id"] for r in recs
          if r["report_type"] == "hazardous_area" and "AP" in r["contamination"]}
    assert ap == {"HA-001", "HA-002", "HA-004", "HA-007"}
    assert {a.id for a in rep.form_c} == ap - {"HA-002"}
    by_id = {a.id: a for a in rep.form_c}
    standing = {a["id"]: a for a in ledger.objects("hazardous_area", END)}
    for a in rep.form_c:
        assert a.admin_area == admin[a.id]
        assert a.area_m2 == pytest.approx(standing[a.id]["remaining_m2"], abs=0.1)
        assert a.emplaced == treaty.NOT_RECORDED
        poly = next(r["geometry"] for r in recs if r["object_id"] == a.id)
        assert (a.lon, a.lat) == pytest.approx((poly.centroid.x, poly.centroid.y), abs=1e-5)
    # HA-001 had its western half cancelled by NTS in February
    assert by_id["HA-001"].area_m2 == pytest.approx(by_id["HA-001"].original_m2 / 2, rel=0.01)
    assert by_id["HA-007"].settlement == "Alikhanli" and by_id["HA-007"].admin_area == "Fuzuli"
    totals = {t.admin_area: t for t in rep.form_c_by_admin}
    assert (totals["Aghdam"].sha, totals["Aghdam"].cha) == (1, 0)
    assert (totals["Fuzuli"].sha, totals["Fuzuli"].cha) == (0, 2)
    assert sum(t.area_m2 for t in rep.form_c_by_admin) == pytest.approx(
        sum(a.area_m2 for a in rep.form_c), abs=1)

    # Form F: each release in the administrative area of its hazardous area, by method
    expected: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for r in recs:
        if r["report_type"] == "land_release" and _in_year(r):
            expected[(admin[r["hazardous_area_id"]], r["method"])][r["release"]] += \
                ledger.projector.area_m2(r["geometry"])
    got = {(row.admin_area, row.method): row for row in rep.form_f_release}
    assert set(got) == set(expected) == {("Aghdam", "nts"), ("Aghdam", "manual"),
                                         ("Fuzuli", "nts"), ("Fuzuli", "ts")}
    for key, by_kind in expected.items():
        for k in KINDS:
            assert getattr(got[key], f"{k}_m2") == pytest.approx(by_kind[k], abs=0.1)
    items = defaultdict(Counter)
    for r in recs:
        if r["report_type"] == "ordnance" and _in_year(r):
            items[r["category"]][r["disposal"]] += r["quantity"]
    assert {i.category: i.by_disposal for i in rep.form_f_items} == items
    # land remaining at year end: the same total as the record's status on 31 December
    at_end = status(ledger, END)
    assert sum(t.area_m2 for t in rep.form_f_remaining) == pytest.approx(
        sum(at_end.remaining_m2.values()), abs=1)
    assert sum(t.sha + t.cha for t in rep.form_f_remaining) == sum(at_end.areas_open.values())

    # Form G: the three PMN-2 destroyed in situ in HA-002
    assert [(g.model, g.quantity) for g in rep.form_g] == [("PMN-2", 3)]

    # Form I: each session, in its settlement's administrative area, by sex and age
    eore = [r for r in recs if r["report_type"] == "risk_education" and _in_year(r)]
    settlement = {r["object_id"]: r for r in recs if r["report_type"] == "settlement"
                  and r.get("admin_area_id")}
    names = {r["object_id"]: r["name"] for r in recs if r["report_type"] == "admin_area"}
    assert sorted((e.admin_area, e.settlement, e.sessions, e.girls, e.boys, e.women, e.men)
                  for e in rep.form_i) == sorted(
        (names[settlement[r["settlement_id"]]["admin_area_id"]],
         settlement[r["settlement_id"]]["name"], 1, r.get("girls", 0), r.get("boys", 0),
         r.get("women", 0), r.get("men", 0)) for r in eore)


def test_figures_reconcile_with_the_programme_report(ledger):
    """Land released by kind, items by category, casualties by outcome and status: the same
    in the Article 7 report, the Monitor's figures and the programme report for the year."""
    rep = treaty.build(ledger, YEAR)
    prog = programme.build(ledger, START, END)
    for k in KINDS:
        assert rep.monitor.released_m2[k] == pytest.approx(prog.released_m2[k], abs=0.5)
        assert rep.released_m2[k] == pytest.approx(prog.released_m2[k], abs=0.5)
    assert sum(prog.released_m2.values()) > 0
    assert rep.monitor.items_by_category == prog.items_by_category
    assert {i.category: i.total for i in rep.form_f_items} == prog.items_by_category
    assert rep.monitor.killed == prog.casualties.get("killed", 0) == 1
    assert rep.monitor.injured == prog.casualties.get("injured", 0) == 1
    for st, v in rep.monitor.casualties_by_status.items():
        for outcome in ("killed", "injured"):
            assert v[outcome] == prog.casualties.get(f"{outcome}_{st}", 0)
    assert sum(rep.monitor.children_by_sex.values()) == prog.casualties.get("children", 0)
    assert rep.monitor.accidents == prog.accidents
    people = sum(e.people for e in rep.form_i)
    assert people == sum(prog.eore[k] for k in ("girls", "boys", "women", "men"))
    assert sum(e.sessions for e in rep.form_i) == prog.eore["sessions"]


def test_a_year_is_the_record_as_known_at_its_end(ledger):
    before = treaty.build(ledger, 2020)
    # at the end of 2020 nothing was released and HA-002 was still open
    assert "HA-002" in {a.id for a in before.form_c}
    assert sum(before.released_m2.values()) == 0 and not before.form_g and not before.form_i
    assert before.monitor.killed + before.monitor.injured == 0
    for a in before.form_c:
        assert a.area_m2 == pytest.approx(a.original_m2, abs=0.1)
    with pytest.raises(ValidationError) as exc:
        treaty.build(ledger, dt.date.today().year + 1)
    assert exc.value.code == "YEAR_INVALID"


def test_areas_are_placed_and_typed_from_the_record(fuller):
    led, _ = fuller
    rep = treaty.build(led, YEAR)
    area = next(a for a in rep.form_c if a.id == "HA-101")
    # no settlement and no admin area recorded: its polygon lies in Fuzuli district
    assert area.admin_area == "Fuzuli" and area.settlement == ""
    # the PMN-1 found there gives the type; rendered safe, they are not in Form G
    assert area.mine_types == ("PMN-1",)
    assert [(g.model, g.quantity) for g in rep.form_g] == [("PMN-2", 3)]
    assert {i.category: i.by_disposal for i in rep.form_f_items}["AP_mine"] == {
        "destroyed_in_situ": 3, "rendered_safe": 2}
    # the IED-only area is not in Form C but is counted among the other hazards
    assert "HA-102" not in {a.id for a in rep.form_c}
    assert {t.admin_area: t.sha for t in rep.other_areas_by_admin}["Aghdam"] == 2
    assert rep.monitor.casualties_by_age["child"]["injured"] == 2
    assert rep.monitor.children_by_sex == {"female": 1, "male": 1, "unknown": 0}


def test_outputs_hold_the_figures_and_no_personal_data(fuller, tmp_path):
    led, _ = fuller
    written = treaty.write(led, YEAR, tmp_path / "out", country="Azerbaijan", voluntary=True)
    rep = written.report
    html = written.html.read_text(encoding="utf-8")
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", html)
    reader = pypdf.PdfReader(written.pdf)
    assert written.pdf.read_bytes().startswith(b"%PDF") and len(reader.pages) >= 2
    text = " ".join(p.extract_text() for p in reader.pages)
    flat = re.sub(r"\s+", " ", text)
    for doc in (html, flat):
        assert "VOLUNTARY REPORT" in doc and "Azerbaijan" in doc
        for form in ("Form C", "Form F", "Form G", "Form I", "Landmine Monitor"):
            assert form in doc
        assert "PMN-2" in doc and "HA-101" in doc
        assert f"{rep.released_m2['cleared']:,.0f}" in doc
        assert f"{sum(a.area_m2 for a in rep.form_c):,.0f}" in doc
        for secret in (NAME, "Zaur", "Examplov", BIRTH, "1979", "Nizami", "(withheld)"):
            assert secret not in doc, secret
    book = load_workbook(written.xlsx)
    assert {"cover", "form_c", "form_f_release", "form_f_items", "form_f_remaining", "form_g",
            "form_i", "monitor"} <= set(book.sheetnames)
    cells = [str(v) for ws in book for row in ws.iter_rows(values_only=True) for v in row
             if v is not None]
    for secret in (NAME, "Nizami", "1979-03-14"):
        assert not any(secret in c for c in cells)
    # a name that a spreadsheet would read as a formula is written as text
    form_c = list(book["form_c"].iter_rows(values_only=True))
    names = {row[0]: row[1] for row in form_c[1:]}
    assert names["HA-101"] == "'=HYPERLINK(\"x\")"
    monitor = {(row[0], row[1]): row[2] for row in book["monitor"].iter_rows(values_only=True)}
    assert monitor[("land cleared (m2)", "all")] == rep.monitor.released_m2["cleared"]
    assert monitor[("casualties by status: injured", "civilian")] == 2
    cover = dict(book["cover"].iter_rows(values_only=True))
    assert cover["voluntary (not a State Party)"] == "yes"


def test_the_voluntary_setting_and_the_cli(fuller, tmp_path):
    _, url = fuller
    conf = tmp_path / "safeground.toml"
    conf.write_text('[reports]\narticle7_voluntary = true\ncountry = "Azerbaijan"\n')
    run = CliRunner()
    r = run.invoke(app, ["report", "article7", "--year", str(YEAR), "--out",
                         str(tmp_path / "a"), "--config", str(conf), "--db", url,
                         "--no-pdf"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "Voluntary Article 7 report of Azerbaijan" in r.output
    assert "VOLUNTARY REPORT" in (tmp_path / "a" / f"article7-{YEAR}.html").read_text()
    assert not (tmp_path / "a" / f"article7-{YEAR}.pdf").exists()
    # the flag wins over the setting; the country falls back to the national authority's
    r = run.invoke(app, ["report", "article7", "--year", str(YEAR), "--out",
                         str(tmp_path / "b"), "--state-party", "--db", url],
                   catch_exceptions=False)
    assert r.exit_code == 0, r.output
    html = (tmp_path / "b" / f"article7-{YEAR}.html").read_text()
    assert "VOLUNTARY" not in html and "Article 7 report of AZ" in html
    assert (tmp_path / "b" / f"article7-{YEAR}.pdf").read_bytes().startswith(b"%PDF")
    # a setting Safeground does not know is refused with a coded message
    conf.write_text("[reports]\narticle7_voluntery = true\n")
    bad = run.invoke(app, ["report", "article7", "--year", str(YEAR), "--out",
                           str(tmp_path / "c"), "--config", str(conf), "--db", url])
    assert bad.exit_code == 2 and "REPORT_CONFIG_INVALID" in bad.output
    with pytest.raises(ConfigError) as exc:
        conf.write_text('[reports]\narticle7_voluntary = "yes"\n')
        treaty.ReportSettings.read(conf)
    assert exc.value.code == "REPORT_CONFIG_INVALID"


def test_the_programme_report_as_pdf(ledger, tmp_path, database_url):
    out, pdf = tmp_path / "p.html", tmp_path / "p.pdf"
    r = CliRunner().invoke(app, ["report", str(out), "--from", "2021-01-01", "--to",
                                 "2021-12-31", "--pdf", str(pdf), "--db", database_url],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(pdf).pages)
    rep = programme.build(ledger, START, END)
    assert "Mine action programme report" in text
    assert f"{rep.released_total_m2 / 1e6:,.2f}" in text


def test_the_mdr_page_names_only_fields_the_record_has():
    """docs/mdr.md maps the GICHD Minimum Data Requirements to the record's fields, written
    `type.field`; each must be a field the record holds, and every MDR group is covered."""
    text = (ROOT / "docs/mdr.md").read_text(encoding="utf-8")
    fields = treaty.record_fields()
    named = re.findall(r"`([a-z_]+)\.([a-z_0-9]+)`", text)
    assert len(named) > 30
    unknown = [f"{t}.{f}" for t, f in named if f not in fields.get(t, ())]
    assert not unknown, f"docs/mdr.md names fields the record does not have: {unknown}"
    for group in ("Hazardous area", "Activity", "Land release", "Explosive ordnance",
                  "Accident", "Victim", "Risk education", "Quality"):
        assert f"## {group}" in text, group
    # the field list at the end of the page is the one the code generates today
    assert text.rstrip().endswith(treaty.record_fields_markdown().rstrip())
    assert "remaining_m2" in fields["hazardous_area"] and "name" in fields["victim"]
    assert "engine_state" not in fields["hazardous_area"]


def test_the_pdf_renderer_fetches_nothing(tmp_path):
    """A stylesheet or image named in the page (say, through text a record carried) is not
    read: the renderer refuses file and network addresses alike."""
    from safeground.reports.pdf import html_to_pdf

    css = tmp_path / "leak.css"
    css.write_text('body::after { content: "LEAKED-FROM-DISK"; }', encoding="utf-8")
    html = (f'<html><head><link rel="stylesheet" href="{css.as_uri()}">'
            '<link rel="stylesheet" href="http://127.0.0.1:9/x.css"></head>'
            '<body><p>report body</p>'
            '<img src="data:text/plain;base64,TEVBS0VELUZST00tREFUQQ=="></body></html>')
    out = html_to_pdf(html, tmp_path / "x.pdf")
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(out).pages)
    assert "report body" in text
    assert "LEAKED" not in text
    # the same page with a renderer that may read files does show it: the test can fail
    import weasyprint

    weasyprint.HTML(string=html).write_pdf(tmp_path / "open.pdf")
    opened = " ".join(p.extract_text() for p in pypdf.PdfReader(tmp_path / "open.pdf").pages)
    assert "LEAKED-FROM-DISK" in opened
