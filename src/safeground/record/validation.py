"""The gate: every check a record passes before it becomes a submitted report.

``check_record`` looks at one record on its own (fields, choices, dates, geometry);
``check_links`` looks at it against the record and the batch (references, duplicates). Both
return coded ``Problem`` values from the one catalogue and never raise for bad input.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from shapely.geometry.base import BaseGeometry

from safeground.record import geometry as geo
from safeground.record.problems import Problem, register
from safeground.record.reports import HEADER_FIELDS, REPORT_SPECS, FieldSpec
from safeground.record.vocabulary import ReportType, choices
from safeground.settings import Settings

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$")
_TRUE = {"true", "yes", "1", "1.0", "y", "t"}
_FALSE = {"false", "no", "0", "0.0", "n", "f"}
_IGNORED = {"geometry", "crs"}
_SURVEYED = {ReportType.HAZARDOUS_AREA, ReportType.LAND_RELEASE, ReportType.EVIDENCE}


@dataclass(frozen=True, slots=True)
class CheckedRecord:
    """A record that passed ``check_record``: normalised, JSON-able payload, EPSG:4326 geometry."""

    report_type: ReportType
    object_id: str
    date_of_information: dt.date
    organisation: str
    author: str
    submission_id: str | None
    payload: dict[str, Any]
    geometry: BaseGeometry | None
    where: str
    content_hash: str = field(default="")
    #: ``json.dumps(payload)`` when already made (by ``batch_gate``): the stored text
    payload_json: str | None = field(default=None, compare=False, repr=False)


def _empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def parse_date(value: Any) -> dt.date:
    """Raises ValueError when ``value`` is not a date."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    return dt.date.fromisoformat(text[:10])


def _coerce(spec: FieldSpec, value: Any, where: str, today: dt.date,
            settings: Settings) -> tuple[Any, Problem | None]:
    def bad(code: str, **params: Any) -> tuple[None, Problem]:
        return None, Problem(code, where, spec.name, params)

    kind = spec.kind
    if kind in ("str", "ref"):
        text = str(value).strip()
        if kind == "ref" and not _ID.match(text):
            return bad("ID_INVALID", value=text[:80])
        return text, None
    if kind == "int":
        try:
            num = float(value)
            if not num.is_integer():
                raise ValueError
            out: Any = int(num)
        except (TypeError, ValueError):
            return bad("FIELD_TYPE", value=str(value)[:80], expected="whole number")
    elif kind == "float":
        try:
            out = float(value)
            if not math.isfinite(out):
                raise ValueError
        except (TypeError, ValueError):
            return bad("FIELD_TYPE", value=str(value)[:80], expected="number")
    elif kind == "bool":
        if isinstance(value, bool):
            return value, None
        text = str(value).strip().lower()
        if text in _TRUE | _FALSE:
            return text in _TRUE, None
        return bad("FIELD_TYPE", value=str(value)[:80], expected="yes/no value")
    elif kind == "date":
        try:
            day = parse_date(value)
        except (TypeError, ValueError):
            return bad("DATE_INVALID", value=str(value)[:40])
        if day > today:
            return bad("DATE_FUTURE", value=day.isoformat())
        if day < settings.earliest_date and not spec.sensitive:
            return bad("DATE_TOO_OLD", value=day.isoformat(),
                       earliest=settings.earliest_date.isoformat())
        return day.isoformat(), None
    elif kind == "choice":
        assert spec.choices is not None
        text = str(value).strip()
        allowed = choices(spec.choices)
        if text not in allowed:
            return bad("CHOICE_UNKNOWN", value=text[:80], expected=", ".join(allowed))
        return text, None
    elif kind == "choices":
        assert spec.choices is not None
        items = value if isinstance(value, list | tuple) else \
            [x for x in re.split(r"[\s,;]+", str(value)) if x]
        allowed = choices(spec.choices)
        for item in items:
            if str(item) not in allowed:
                return bad("CHOICE_UNKNOWN", value=str(item)[:80], expected=", ".join(allowed))
        if not items:
            return bad("FIELD_REQUIRED")
        return sorted({str(i) for i in items}), None
    else:  # pragma: no cover - the spec table is closed
        raise AssertionError(kind)
    if (spec.low is not None and out < spec.low) or (spec.high is not None and out > spec.high):
        return bad("NUMBER_RANGE", value=out, low=spec.low, high=spec.high)
    return out, None


def content_hash(rtype: str, object_id: str, date: dt.date, payload: dict[str, Any],
                 geometry: BaseGeometry | None) -> str:
    body = json.dumps([rtype, object_id, date.isoformat(), payload,
                       geometry.wkb_hex if geometry is not None else None],
                      sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


class _Found:
    """Collects the problems of one record."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.problems: list[Problem] = []

    def __call__(self, code: str, fld: str | None = None, **params: Any) -> None:
        self.problems.append(Problem(code, self.where, fld, params))


def _header(raw: dict[str, Any], p: _Found, settings: Settings,
            today: dt.date) -> dt.date | None:
    """Check object id, date of information, organisation and author; return the date."""
    object_id = raw.get("object_id")
    if _empty(object_id):
        p("FIELD_REQUIRED", "object_id")
    elif not _ID.match(str(object_id).strip()):
        p("ID_INVALID", "object_id", value=str(object_id)[:80])
    for name in ("organisation", "author"):
        if _empty(raw.get(name)):
            p("FIELD_REQUIRED", name)
    if _empty(raw.get("date_of_information")):
        p("FIELD_REQUIRED", "date_of_information")
        return None
    try:
        date = parse_date(raw["date_of_information"])
    except (TypeError, ValueError):
        p("DATE_INVALID", "date_of_information", value=str(raw["date_of_information"])[:40])
        return None
    if date > today:
        p("DATE_FUTURE", "date_of_information", value=date.isoformat())
    elif date < settings.earliest_date:
        p("DATE_TOO_OLD", "date_of_information", value=date.isoformat(),
          earliest=settings.earliest_date.isoformat())
    return date


def _payload(raw: dict[str, Any], spec: Any, p: _Found, settings: Settings, today: dt.date,
             update: bool) -> dict[str, Any]:
    """Check and normalise the payload fields of the report type."""
    payload: dict[str, Any] = {}
    known = {f.name for f in spec.fields}
    for key in raw:
        if key in HEADER_FIELDS or key in _IGNORED or key.startswith("_") or key in known:
            continue
        if not _empty(raw[key]):  # an empty column of another report type is fine
            p("FIELD_UNKNOWN", key, report_type=spec.type.value)
    for f in spec.fields:
        value = raw.get(f.name)
        if _empty(value) or (isinstance(value, list | tuple) and not value):
            if f.required and not update:
                p("FIELD_REQUIRED", f.name)
            continue
        out, problem = _coerce(f, value, p.where, today, settings)
        if problem:
            p.problems.append(problem)
        else:
            payload[f.name] = out
    return payload


def _date_order(payload: dict[str, Any], date: dt.date | None, p: _Found) -> None:
    """Dates that must come in order: start <= end <= date of information; birth before."""
    pairs = [("start_date", payload.get("start_date"), "end_date", payload.get("end_date"))]
    if date:
        day = date.isoformat()
        pairs += [("end_date", payload.get("end_date"), "date_of_information", day),
                  ("date_of_birth", payload.get("date_of_birth"), "date_of_information", day)]
    for first, a, second, b in pairs:
        if a and b and b < a:
            p("DATE_ORDER", second, field=second, value=b, other_field=first, other_value=a)


def _geometry(raw: dict[str, Any], spec: Any, p: _Found, settings: Settings,
              projector: geo.Projector, update: bool) -> BaseGeometry | None:
    try:
        geom = geo.parse(raw.get("geometry"), raw.get("crs"))
    except geo.GeometryParseError as exc:
        p(exc.code, "geometry", **exc.params)
        return None
    if geom is None:
        if spec.geometry_required and not update:
            p("GEOM_MISSING", "geometry", report_type=spec.type.value)
    elif not spec.geometry:
        p("GEOM_TYPE", "geometry", value=geom.geom_type, expected="no geometry")
    else:
        p.problems += geo.check(geom, spec.geometry, settings, projector, p.where,
                                surveyed=spec.type in _SURVEYED)
    return geom


def check_record(raw: dict[str, Any], settings: Settings, projector: geo.Projector,
                 where: str, today: dt.date | None = None, update: bool = False
                 ) -> tuple[CheckedRecord | None, list[Problem]]:
    """Check one raw record. Returns the normalised record, or None with its problems.

    An ``update`` (a report about an object the record already holds) needs only the fields
    it changes: required payload fields and the geometry may be left out."""
    today = today or dt.date.today()
    p = _Found(where)
    rtype_raw = raw.get("report_type")
    try:
        rtype = ReportType(str(rtype_raw).strip())
    except ValueError:
        p("REPORT_TYPE_UNKNOWN", "report_type", value=str(rtype_raw)[:60],
          expected=", ".join(choices(ReportType)))
        return None, p.problems
    spec = REPORT_SPECS[rtype]
    date = _header(raw, p, settings, today)
    payload = _payload(raw, spec, p, settings, today, update)
    _date_order(payload, date, p)
    geom = _geometry(raw, spec, p, settings, projector, update)
    if p.problems:
        return None, p.problems
    assert date is not None
    oid = str(raw["object_id"]).strip()
    sub = None if _empty(raw.get("submission_id")) else str(raw["submission_id"]).strip()
    return CheckedRecord(rtype, oid, date, str(raw["organisation"]).strip(),
                         str(raw["author"]).strip(), sub, payload, geom, where,
                         content_hash(rtype.value, oid, date, payload, geom)), []


register({"FIELD_TOO_LARGE": "the field holds {value} characters, more than the {limit} "
                             "a field may hold"})

#: a field's name may be at most this long (longer ones are refused as FIELD_TOO_LARGE)
MAX_FIELD_NAME = 200


def oversize_fields(rec: dict[str, Any], max_chars: int) -> list[Problem]:
    """FIELD_TOO_LARGE for each field of a raw record (other than its geometry) longer than
    ``max_chars``, and each field name longer than ``MAX_FIELD_NAME``: checked before the gate,
    since a record the gate refuses is kept as sent (the API refuses the request, a file
    import rejects the row)."""
    where = str(rec.get("_where", ""))
    found: list[Problem] = []
    for key, value in rec.items():
        if key in ("geometry", "_where") or key.startswith("_intake"):
            continue
        name = key if len(key) <= 60 else key[:60] + "…"
        if len(key) > MAX_FIELD_NAME:
            found.append(Problem("FIELD_TOO_LARGE", where, name,
                                 {"value": len(key), "limit": MAX_FIELD_NAME}))
            continue
        size = len(value) if isinstance(value, str) else \
            len(json.dumps(value, default=str)) if isinstance(value, list | dict) else 0
        if size > max_chars:
            found.append(Problem("FIELD_TOO_LARGE", where, name,
                                 {"value": size, "limit": max_chars}))
    return found
