"""The gate's record checks for large batches, column by column (issue 4).

``validation.check_record`` looks at one record at a time; at a million explosive-item rows its
per-record overhead (a ``_Found`` collector, a ``_coerce`` call per field, a geometry check with
numpy on one point) is most of an import. ``check_many`` gives exactly the same answer for a
batch, faster:

* records are grouped by report type; the unknown-field check runs once per distinct key set;
* each header and payload column is checked at once. Object ids go through the compiled id
  pattern over the column; dates, choices, numbers and yes/no values are checked once per
  *distinct value* of the column with the very function the per-record path uses
  (``validation._coerce``, ``validation.parse_date``), so the answers cannot differ, and a column
  of a million rows holding a few hundred distinct values costs a few hundred checks and a
  million dictionary look-ups;
* Point geometries are checked together: coordinates extracted in one ``shapely.get_x/get_y``
  call, then the finite / extent checks as numpy masks. Other geometries keep ``geo.check``;
* content hashes use one vectorised ``shapely.to_wkb`` call for the geometries.

Every record that fails any of these checks, or is unusual (a ``crs``, problems found before
the gate, a non-text header value, a geometry that is not a Point where only Points go...) is
handed to ``check_record`` itself, so its coded problems and messages are those of the
per-record path. Only clean records are ever built here, and a clean record is one for which
``check_record`` would have found nothing: the fast path changes the cost, never the outcome.
``check_many`` answers as for a new object (``update=False``); the caller re-checks the rare
record that turns out to update an object already known.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections import defaultdict
from itertools import repeat
from typing import Any

import numpy as np
import shapely

from safeground import geometry as geo
from safeground.problems import Problem
from safeground.reports import HEADER_FIELDS, REPORT_SPECS, FieldSpec, ReportSpec
from safeground.settings import Settings
from safeground.validation import (
    _ID,
    _IGNORED,
    _SURVEYED,
    CheckedRecord,
    _coerce,
    _date_order,
    _empty,
    _Found,
    check_record,
    parse_date,
)
from safeground.vocabulary import ReportType

#: batches at least this large go through ``check_many`` in ``Ledger.submit``
BATCH_THRESHOLD = 2000

Result = tuple[CheckedRecord | None, list[Problem]]

_ABSENT = object()  # the field is empty: not in the payload
_BAD = object()     # the value has a problem: the record goes to check_record
_NON_TEXT_KEYS = ("",)  # a key set with a key that is not text
_DATE_ORDER_FIELDS = {"start_date", "end_date", "date_of_birth"}
_ID_CORE = _ID.pattern.removeprefix("^").removesuffix("$")
assert _ID.pattern == f"^{_ID_CORE}$" and "\n" not in _ID_CORE
#: many ids, one a line
_IDS = re.compile(f"(?:{_ID_CORE}\n)*{_ID_CORE}")
_json_text = json.encoder.encode_basestring_ascii  # what json.dumps does with a str
#: values of these classes are equal only when they are written alike: safe to check once
_MEMO_CLASSES = (str, int, bool, type(None), dt.date)


def check_many(raws: list[dict[str, Any]], settings: Settings, projector: geo.Projector,
               wheres: list[str], today: dt.date | None = None) -> list[Result]:
    """``check_record(raw, ..., update=False)`` for every record of a batch, in order.

    Never raises for bad input (nor does ``check_record``)."""
    today = today or dt.date.today()
    results: list[Result | None] = [None] * len(raws)
    slow: list[int] = []
    groups: dict[ReportType, list[int]] = defaultdict(list)
    types: dict[Any, ReportType | None] = {}
    for i, raw in enumerate(raws):
        if raw.get("crs") is not None or raw.get("_problems"):
            slow.append(i)
            continue
        value = raw.get("report_type")
        try:
            rtype = types[value]
        except KeyError:
            try:
                rtype = types[value] = ReportType(str(value).strip())
            except ValueError:
                rtype = types[value] = None
        except TypeError:  # unhashable
            rtype = None
        if rtype is None:
            slow.append(i)
        else:
            groups[rtype].append(i)
    for rtype, idx in groups.items():
        done, rest = _check_group(REPORT_SPECS[rtype], [raws[i] for i in idx],
                                  [wheres[i] for i in idx], settings, projector, today)
        for j, rec in done:
            results[idx[j]] = (rec, [])
        slow += [idx[j] for j in rest]
    for i in slow:
        results[i] = check_record(raws[i], settings, projector, wheres[i], today)
    return results  # type: ignore[return-value]


def _check_group(spec: ReportSpec, rows: list[dict[str, Any]], wheres: list[str],
                 settings: Settings, projector: geo.Projector, today: dt.date
                 ) -> tuple[list[tuple[int, CheckedRecord]], list[int]]:
    """Check the records of one report type; return (position, record) of the clean ones and
    the positions of the others."""
    m = len(rows)
    ok = np.ones(m, dtype=bool)
    _unknown_fields(spec, rows, ok)
    oids = _text_column(rows, "object_id", ok)
    _check_ids(oids, ok)
    orgs = _text_column(rows, "organisation", ok)
    authors = _text_column(rows, "author", ok)
    dates = _date_column(rows, settings, today, ok)
    payloads, texts, sorted_texts = _payload_column(spec, rows, settings, today, ok)
    if _DATE_ORDER_FIELDS & {f.name for f in spec.fields}:
        for j in np.flatnonzero(ok).tolist():
            found = _Found("")
            _date_order(payloads[j], dates[j], found)
            if found.problems:
                ok[j] = False
    geoms = _geometry_column(spec, rows, settings, projector, ok)
    keep = np.flatnonzero(ok).tolist()
    hexes = shapely.to_wkb(_objects([geoms[j] for j in keep]), hex=True).tolist()
    done = []
    rtype = spec.type
    head = "[" + json.dumps(rtype.value) + ", "
    day_text = {d: json.dumps(d.isoformat()) for d in {dates[j] for j in keep}}
    subs = [rows[j].get("submission_id") for j in keep]
    if set(map(type, subs)) <= {str}:
        subs = [t or None for t in map(str.strip, subs)]
    else:
        subs = [None if _empty(t) else str(t).strip() for t in subs]
    sha256 = hashlib.sha256
    for j, wkb_hex, sub in zip(keep, hexes, subs, strict=True):
        date = dates[j]
        # json.dumps([type, id, date, payload, wkb hex], sort_keys=True), from its parts
        body = "".join((head, _json_text(oids[j]), ", ", day_text[date], ", ", sorted_texts[j],
                        ", ", "null" if wkb_hex is None else _json_text(wkb_hex), "]"))
        done.append((j, CheckedRecord(rtype, oids[j], date, orgs[j], authors[j], sub,
                                      payloads[j], geoms[j], wheres[j],
                                      sha256(body.encode()).hexdigest(), texts[j])))
    return done, np.flatnonzero(~ok).tolist()


def _unknown_fields(spec: ReportSpec, rows: list[dict[str, Any]], ok: np.ndarray) -> None:
    """Rows with a non-empty field of another report type: once per distinct key set."""
    known = {f.name for f in spec.fields}
    extra_of: dict[tuple[str, ...], tuple[str, ...]] = {}
    for j, raw in enumerate(rows):
        keys = tuple(raw)
        extra = extra_of.get(keys)
        if extra is None:
            if not all(isinstance(k, str) for k in keys):
                extra = extra_of[keys] = _NON_TEXT_KEYS  # check_record's answer, whatever
            else:
                extra = extra_of[keys] = tuple(
                    k for k in keys if not (k in HEADER_FIELDS or k in _IGNORED
                                            or k.startswith("_") or k in known))
        if extra and (extra is _NON_TEXT_KEYS or any(not _empty(raw[k]) for k in extra)):
            ok[j] = False


def _text_column(rows: list[dict[str, Any]], name: str, ok: np.ndarray) -> list[Any]:
    """A required text header column, stripped; rows where it is empty or not text fail."""
    out = [v.strip() if v.__class__ is str else None for v in (r.get(name) for r in rows)]
    for j, v in enumerate(out):
        if not v:
            ok[j] = False
    return out


def _check_ids(oids: list[Any], ok: np.ndarray) -> None:
    """The id pattern over the whole column at once (one line per id); row by row only when
    some id does not match."""
    texts = [o or "x" for o in oids]  # rows without an id have already failed
    joined = "\n".join(texts)
    if joined.count("\n") == len(texts) - 1 and _IDS.fullmatch(joined):
        return
    for j, text in enumerate(texts):
        if _ID.match(text) is None:
            ok[j] = False


def _date_column(rows: list[dict[str, Any]], settings: Settings, today: dt.date,
                 ok: np.ndarray) -> list[Any]:
    """Dates of information, each distinct value parsed and checked once."""
    seen: dict[tuple[type, Any], dt.date | None] = {}
    out: list[Any] = []
    for j, raw in enumerate(rows):
        v = raw.get("date_of_information")
        if v.__class__ in _MEMO_CLASSES:
            key = (v.__class__, v)
            try:
                day = seen[key]
            except KeyError:
                day = seen[key] = _date_of(v, settings, today)
        else:
            day = _date_of(v, settings, today)
        if day is None:
            ok[j] = False
        out.append(day)
    return out


def _date_of(value: Any, settings: Settings, today: dt.date) -> dt.date | None:
    if _empty(value):
        return None
    try:
        day = parse_date(value)
    except (TypeError, ValueError):
        return None
    return None if day > today or day < settings.earliest_date else day


def _payload_column(spec: ReportSpec, rows: list[dict[str, Any]], settings: Settings,
                    today: dt.date, ok: np.ndarray
                    ) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """Normalised payloads, their JSON text and their JSON text with sorted keys (as the
    content hash writes it); each field's distinct values checked once by ``_coerce``."""
    names = [f.name for f in spec.fields]
    cols, parts = zip(*(_field_column(f, rows, settings, today, ok) for f in spec.fields),
                      strict=True)
    # columns present in every row make whole payloads at C speed; the others are added
    some = [k for k in range(len(names)) if _ABSENT in cols[k]]
    if some:  # fields in spec order, as check_record makes them
        payloads = [{k: v for k, v in zip(names, values, strict=True) if v is not _ABSENT}
                    for values in zip(*cols, strict=True)]
    else:
        payloads = list(map(dict, map(zip, repeat(names), zip(*cols, strict=True))))
    order = sorted(range(len(names)), key=names.__getitem__)
    return payloads, _members(parts, range(len(names))), _members(parts, order)


def _members(parts: tuple[list[str | None], ...], order: Any) -> list[str]:
    """Each row's JSON object text from its members' text, in ``order``."""
    cols = [parts[k] for k in order]
    if any(None in c for c in cols):
        return ["{" + ", ".join([p for p in row if p is not None]) + "}"
                for row in zip(*cols, strict=True)]
    return list(map("{{{}}}".format, map(", ".join, zip(*cols, strict=True))))


def _field_column(f: FieldSpec, rows: list[dict[str, Any]], settings: Settings,
                  today: dt.date, ok: np.ndarray) -> tuple[list[Any], list[str | None]]:
    """One field's normalised values and their JSON text as a payload member."""
    key_text = json.dumps(f.name) + ": "

    def one(value: Any) -> tuple[Any, str | None]:
        if _empty(value) or (isinstance(value, list | tuple) and not value):
            return (_BAD if f.required else _ABSENT), None
        out, problem = _coerce(f, value, "", today, settings)
        return (_BAD, None) if problem else (out, key_text + json.dumps(out))

    col = [r.get(f.name) for r in rows]
    if f.kind != "choices" and set(map(type, col)) <= {str, type(None)}:
        # text or nothing (a CSV column): equal values are written alike, so each distinct
        # value is checked once and the column mapped through the answers at C speed
        table = {v: one(v) for v in set(col)}
        answers = list(map(table.__getitem__, col))
        if any(out is _BAD for out, _ in table.values()):
            for j, (out, _) in enumerate(answers):
                if out is _BAD:
                    ok[j] = False
        return [a[0] for a in answers], [a[1] for a in answers]
    seen: dict[Any, tuple[Any, str | None]] = {}
    parts: list[str | None] = [None] * len(col)
    for j, v in enumerate(col):
        cls = v.__class__
        if cls in _MEMO_CLASSES:
            key: Any = (cls, v)
        elif cls in (list, tuple) and all(e.__class__ is str for e in v):
            key = (cls, tuple(v))
        else:  # e.g. floats: 0.0 == -0.0, yet they are stored differently
            key = None
        if key is None:
            out, part = one(v)
        else:
            try:
                out, part = seen[key]
            except KeyError:
                out, part = seen[key] = one(v)
        if out is _BAD:
            ok[j] = False
        elif out.__class__ is list:
            out = list(out)  # each payload owns its list
        col[j] = out
        parts[j] = part
    return col, parts


def _geometry_column(spec: ReportSpec, rows: list[dict[str, Any]], settings: Settings,
                     projector: geo.Projector, ok: np.ndarray) -> list[Any]:
    """Geometries in EPSG:4326; Points checked together, others by ``geo.check``."""
    out: list[Any] = [None] * len(rows)
    points: list[int] = []
    takes_points = "Point" in spec.geometry
    for j, raw in enumerate(rows):
        if not ok[j]:
            continue
        g = raw.get("geometry")
        if g.__class__ is not shapely.Point:
            try:
                g = geo.parse(g)
            except geo.GeometryParseError:
                ok[j] = False
                continue
        if g is None:
            if spec.geometry_required:
                ok[j] = False
        elif not spec.geometry:
            ok[j] = False
        elif g.__class__ is shapely.Point and takes_points:
            points.append(j)
        elif geo.check(g, spec.geometry, settings, projector, "",
                       surveyed=spec.type in _SURVEYED):
            ok[j] = False
        out[j] = g
    if points:
        arr = _objects([out[j] for j in points])
        good = ~shapely.is_empty(arr)
        xy = shapely.get_coordinates(arr[good])  # one row per non-empty point
        x, y = xy[:, 0], xy[:, 1]
        minx, miny, maxx, maxy = settings.extent
        good[good] = np.isfinite(x) & np.isfinite(y) & (x >= minx) & (x <= maxx) \
            & (y >= miny) & (y <= maxy)
        for j in np.asarray(points)[~good].tolist():
            ok[j] = False
    return out


def _objects(values: list[Any]) -> np.ndarray:
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr
