"""Spreadsheet cells that are safe to open: no value of the record becomes a formula.

A text such as ``=HYPERLINK("http://…?"&A1,"Open")`` — an organisation's or a settlement's name,
typed by anyone who may submit a report — is a live formula once a spreadsheet program opens
the CSV or workbook it was written to (CSV or formula injection). Every CSV and xlsx writer of
Safeground writes its cells through this module:

* xlsx (openpyxl): a text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
  return is stored as text (cell type string, shown with Excel's quote prefix); the value
  itself is unchanged (``xlsx_append``);
* CSV: such a text gets a leading single quote, as OWASP advises (``csv_cell``), unless it is
  a plain number (``-12.5`` stays a number, and reads back as one).

Numbers, dates and booleans are never touched: only text is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

#: the first characters that make a spreadsheet program read a cell as a formula
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def risky(value: Any) -> bool:
    """Whether a value is text a spreadsheet program would read as a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_START)


def csv_cell(value: Any) -> Any:
    """A value for a CSV cell: formula-like text with a leading ``'``, anything else as is."""
    if risky(value) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_row(values: Iterable[Any]) -> list[Any]:
    return [csv_cell(v) for v in values]


def csv_dict(row: dict[str, Any]) -> dict[str, Any]:
    return {k: csv_cell(v) for k, v in row.items()}


def safe_frame(frame: Any) -> Any:
    """A pandas DataFrame for ``to_csv``: its text columns through ``csv_cell`` (a copy when
    anything changes; numeric columns are left alone)."""
    out = frame
    for col in frame.columns:
        if frame[col].dtype != object and str(frame[col].dtype) not in ("string", "str"):
            continue
        if not frame[col].map(lambda v: risky(v) and csv_cell(v) is not v).any():
            continue
        if out is frame:
            out = frame.copy()
        out[col] = frame[col].map(csv_cell)
    return out


def xlsx_append(sheet: Any, values: Iterable[Any]) -> None:
    """``sheet.append(values)`` with every formula-like text stored as text (openpyxl would
    store it as a formula)."""
    sheet.append(list(values))
    for cell in sheet[sheet.max_row]:
        if risky(cell.value):
            cell.data_type = "s"
            cell.quotePrefix = True
