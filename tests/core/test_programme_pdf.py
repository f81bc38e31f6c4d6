"""The programme report as PDF, with its map, and its charts inside the workbook: figures
from the record, no victim's personal data."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

import pytest
from helpers import load

from safeground import example
from safeground.record.ledger import Ledger
from safeground.record.storage import Database
from safeground.record.vocabulary import ReportType
from safeground.reports import programme

pytest.importorskip("weasyprint")

START, END = dt.date(2021, 1, 1), dt.date(2021, 12, 31)


@pytest.fixture
def ledger(database_url):
    led = Ledger(Database.open(database_url))
    load(led, example.records())
    return led


def test_the_pdf_holds_the_record_figures_a_map_and_no_personal_data(ledger, tmp_path):
    from pypdf import PdfReader

    rep = programme.write(ledger, tmp_path / "r.html", START, END, pdf=tmp_path / "r.pdf")
    html = (tmp_path / "r.html").read_text()
    svg = html[html.index('id="programme-map"'):]
    svg = svg[:svg.index("</svg>")]
    # every open area of the record is drawn (a filled path each), released land too
    open_areas = [a for a in ledger.objects(ReportType.HAZARDOUS_AREA, END)
                  if a["status"] != "closed"]
    assert svg.count('fill-opacity="0.6"') == len(open_areas)
    released = [r for r in ledger.objects(ReportType.LAND_RELEASE, END)
                if START <= r["first_date"] <= END]
    assert svg.count('fill-opacity="0.8"') == len(released)
    text = "\n".join(p.extract_text() for p in PdfReader(tmp_path / "r.pdf").pages)
    text = re.sub(r"\s+", " ", text)
    s = rep.at_end
    killed = sum(1 for v in ledger.objects(ReportType.VICTIM, END) if v["outcome"] == "killed")
    assert f"{rep.released_total_m2 / 1e6:,.2f} km² released" in text
    assert f"{sum(rep.items_by_category.values()):,} explosive items destroyed" in text
    assert f"{killed:,} / " in text and rep.casualties["killed"] == killed
    assert f"{s.areas_open['CHA']:,} / {s.areas_open['SHA']:,} CHA / SHA open" in text
    assert "Map of the programme" in text
    personal = [r.payload[k] for r in ledger.reports() if str(r.type) == "victim"
                for k in ("name", "date_of_birth") if r.payload.get(k)]
    assert personal and not any(str(v) in text for v in personal)


def test_the_workbook_holds_its_charts_over_its_own_cells(ledger, tmp_path):
    rep = programme.build(ledger, START, END)
    path = programme.write_workbook(rep, tmp_path / "r.xlsx")
    with zipfile.ZipFile(path) as z:
        charts = sorted(n for n in z.namelist() if n.startswith("xl/charts/chart"))
        xml = {n: z.read(n).decode() for n in charts}
    assert len(charts) == 3
    refs = " ".join(xml.values())
    n = len(rep.months)
    assert f"'months'!$B$2:$B${n + 1}" in refs and f"'months'!$F$2:$F${n + 1}" in refs
    assert f"'items'!$B$2:$B${len(rep.items_by_category) + 1}" in refs
    assert "7f1d1d" in refs.lower()          # killed: dark red
    # the cells the charts read are the report's figures
    from openpyxl import load_workbook

    months = list(load_workbook(io.BytesIO(path.read_bytes()))["months"].iter_rows(
        min_row=2, values_only=True))
    assert [r[6] for r in months] == [m.killed for m in rep.months]
