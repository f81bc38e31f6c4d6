"""The CSV geodata reader's fast paths (the million-row import) read what the csv module
reads: pandas' C reader for plain files, float() over whole coordinate columns."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safeground.intake import geodata

cells = st.text(alphabet=["a", "1", ".", " ", "é", ",", ";", '"', "\r", "\n", "-"], max_size=4)


def _rows(columns):
    return None if columns is None else list(zip(*columns, strict=True))


def csv_rows(text, delimiter):
    return [tuple(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]


@st.composite
def texts(draw):
    width = draw(st.integers(1, 4))
    delimiter = draw(st.sampled_from([",", ";"]))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    lines = [delimiter.join(draw(st.lists(cells, min_size=1, max_size=width + 1)))
             for _ in range(draw(st.integers(1, 6)))]
    header = delimiter.join(f"c{i}" for i in range(width))
    text = end.join([header, *lines]) + draw(st.sampled_from(["", end]))
    return text, delimiter, width


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(texts())
def test_plain_rows_are_the_csv_modules_rows(case):
    text, delimiter, width = case
    fast = _rows(geodata._plain_columns(text, delimiter, width, min_size=0))
    if fast is not None:
        assert fast == csv_rows(text, delimiter)[1:]


def test_plain_rows_read_a_plain_file_and_refuse_others():
    text = "a,b,c\r\n1,,x y\r\n2,é,3\r\n"
    assert _rows(geodata._plain_columns(text, ",", 3, min_size=0)) == \
        [("1", "", "x y"), ("2", "é", "3")]
    for other in ('a,b,c\n1,"2,3",4\n', "a,b,c\n1,2\n3,4,5,6\n", "a,b,c\n1,2,3\n\n4,5,6\n",
                  "a,b,c\r1,2,3\r", "a,b,c\n1,\x002,3\n"):
        assert geodata._plain_columns(other, ",", 3, min_size=0) is None


coordinate = st.one_of(st.floats(allow_nan=False, width=32).map(repr),
                       st.sampled_from(["", " 46.5 ", "46,5", "x", "nan", "1e3", "1_0", "+4"]))


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(coordinate, coordinate), min_size=1, max_size=8))
def test_points_parse_as_float_does(pairs):
    rows = [(x, y) for x, y in pairs]
    fast = geodata._points(rows, (0, 1), None)
    xs, ys, state = geodata._coordinates(rows, (0, 1))
    for p, x, y, s in zip(fast, xs, ys, state, strict=True):
        if s:
            assert p is (None if s == 2 else False)
        else:
            assert np.array_equal([p.x, p.y], [x, y], equal_nan=True)


def _items(path, n, *, sub=False, report_type=True, odd=None):
    cols = ["object_id", "date_of_information", "organisation", "author", "activity_id",
            "category", "depth_cm", "longitude", "latitude"]
    cols = (["report_type"] if report_type else []) + cols + (["submission_id"] if sub else [])
    lines = [",".join(cols)]
    for i in range(n):
        row = (["ordnance"] if report_type else []) + [
            f"EO-{i}", "2025-05-01", "ORG-1", "team 3", "ACT-1", "AP_mine", str(i % 21),
            f"{46.5 + i * 1e-5:.6f}", f"{39.6 + i * 1e-5:.6f}"] + ([f"s-{i}"] if sub else [])
        lines.append(",".join(odd(i, row) if odd else row))
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("case", ["plain", "ids", "typed", "empty cell", "comma decimal"])
def test_large_plain_files_read_as_row_by_row(tmp_path, monkeypatch, case):
    """Files large enough for the pandas reader give the records of the row-by-row reader."""
    odd = {"empty cell": lambda i, r: [*r[:6], "", *r[7:]] if i == 5000 else r,
           "comma decimal": lambda i, r: [*r[:-2], r[-2].replace(".", ","), r[-1]]
           if i == 7 else r}.get(case)
    path = _items(tmp_path / "items.csv", 16_000, sub=case == "ids",
                  report_type=case != "typed", odd=odd)
    assert path.stat().st_size > 1 << 20
    kind = "ordnance" if case == "typed" else None
    made = []
    columnar = geodata._plain_records
    monkeypatch.setattr(geodata, "_plain_records",
                        lambda *a: made.append(columnar(*a)) or made[-1])
    fast = list(geodata.read_csv(path, kind))
    # plain files are made column by column; the others by the row loop, from pandas' cells
    assert (bool(made) and made[0] is not None) == (case in ("plain", "ids", "typed"))
    monkeypatch.setattr(geodata, "_plain_columns", lambda *a, **k: None)
    slow = list(geodata.read_csv(path, kind))
    assert len(fast) == len(slow) == 16_000

    def plain(rec):
        if not isinstance(rec, dict):
            return rec.problem.to_dict()
        return [(k, v.wkt if hasattr(v, "wkt") else v if k != "_intake_problems"
                 else [p.to_dict() for p in v]) for k, v in rec.items()]
    assert [plain(r) for r in fast] == [plain(r) for r in slow]
