"""A form submission, whatever platform sent it, and the dated reports it becomes.

Every parser (ODK Central CSV or OData, KoboToolbox JSON or CSV, Survey123 GeoJSON) yields
``Submission`` values: question names with group paths stripped, repeat entries as lists. Then
``to_records`` turns one submission into plain record dicts for ``Ledger.submit``, in the order
their references need (a hazardous area before the evidence that points at it).

Ids: ``key`` is the submission's lasting id (ODK ``__id``, Kobo ``meta/rootUuid``), which names
new objects, so an edited submission updates the same objects; ``instance_id`` names this
version and becomes each record's ``submission_id``, so re-importing it adds nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from shapely.geometry.base import BaseGeometry

from safeground.forms.spec import (
    FORM_ID_FIELD,
    FORM_VERSION_FIELD,
    FORMS,
    HEADER,
    FormSpec,
    Section,
)
from safeground.intake import geo
from safeground.record.problems import Problem
from safeground.record.reports import REPORT_SPECS

#: GPS fixes worse than this (metres) are kept but flagged for review
POOR_ACCURACY_M = 50.0


@dataclass(frozen=True, slots=True)
class Submission:
    """One filled form. ``values``/``repeats`` use question names without group paths."""

    key: str
    instance_id: str
    form_id: str | None
    version: str | None
    values: dict[str, Any]
    repeats: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    submitted_at: str | None = None
    where: str = ""
    #: where each repeat entry came from (file and row), by repeat name
    repeat_where: dict[str, list[str]] = field(default_factory=dict)


@dataclass(slots=True)
class Converted:
    """The records of one submission, and intake problems found on the way.

    ``problems`` keyed by record index (``-1``: the whole submission) hold what the gate cannot
    see (an unreadable ODK location); ``notes`` hold what needs a reviewer's eye but does not
    refuse the record (a poor GPS fix).
    """

    records: list[dict[str, Any]]
    problems: dict[int, list[Problem]] = field(default_factory=dict)
    notes: dict[int, list[Problem]] = field(default_factory=dict)


def last_segment(path: str) -> str:
    """``"hazardous_area/ha_classification"`` or ``"hazardous_area-ha_name"`` -> the name."""
    return re.split(r"[/\-]", path)[-1]


def _short(key: str) -> str:
    hexes = re.sub(r"[^0-9a-fA-F]", "", key.removeprefix("uuid:"))
    if len(hexes) >= 12 and len(key.removeprefix("uuid:")) <= 40:
        return hexes[:12].lower()
    return hashlib.sha1(key.encode()).hexdigest()[:12]  # noqa: S324 - a name, not a secret


@lru_cache(maxsize=32)
def section_order(form_id: str) -> tuple[Section, ...]:
    """Sections ordered so every link target comes before the sections that refer to it."""
    form = FORMS[form_id]
    order: list[Section] = []

    def visit(s: Section, seen: frozenset[str]) -> None:
        if s in order or s.name in seen:
            return
        for _, source in s.links:
            target = source.split(".")[0]
            if not target.startswith("@") and target != s.name:
                visit(form.section(target), seen | {s.name})
        order.append(s)

    for s in form.sections:
        visit(s, frozenset())
    return tuple(order)


def _epoch_ms_to_date(value: Any) -> Any:
    """Epoch milliseconds (Survey123) -> ISO date; other values, and epochs outside the
    calendar, as they are (the gate says what is wrong with them)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 10**10:
        try:
            return dt.datetime.fromtimestamp(value / 1000, dt.UTC).date().isoformat()
        except (OverflowError, OSError, ValueError):
            return value
    return value


def read_geometry(value: Any) -> tuple[BaseGeometry | None, float | None]:
    """Any field encoding of a place -> (geometry in lon/lat, accuracy in metres).

    Raises ``geo.GeoEncodingError``.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    if isinstance(value, BaseGeometry):
        return value, None
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], BaseGeometry):
        return value
    if isinstance(value, dict):
        return geo.geojson(value)
    if isinstance(value, float) and value != value:  # NaN from a spreadsheet cell
        return None, None
    return geo.odk_any(str(value))


def check_form(sub: Submission) -> tuple[FormSpec | None, list[Problem]]:
    """Which Safeground form and version the submission was made with; problems if unknown."""
    form_id = sub.values.get(FORM_ID_FIELD) or sub.form_id
    form = FORMS.get(str(form_id)) if form_id else None
    if form is None:
        return None, [Problem("FORM_UNKNOWN", sub.where, "form", {
            "value": str(form_id)[:60], "expected": ", ".join(FORMS)})]
    version = sub.values.get(FORM_VERSION_FIELD) or sub.version
    if str(version) not in form.known_versions:
        return None, [Problem("FORM_VERSION_UNKNOWN", sub.where, "version", {
            "form": form.form_id, "value": str(version)[:40],
            "expected": ", ".join(form.known_versions)})]
    return form, []


def to_records(sub: Submission) -> Converted:
    """One submission -> the records it holds (see module docstring). Never raises for bad
    input: a submission made with an unknown form gives no records and a problem at ``-1``."""
    form, problems = check_form(sub)
    if form is None:
        return Converted([], {-1: problems})
    header = {h: _epoch_ms_to_date(sub.values.get(h)) if h == "date_of_information"
              else sub.values.get(h) for h in HEADER}
    short = _short(sub.key)
    out = Converted([])
    ids: dict[str, str] = {}
    single: dict[str, dict[str, Any]] = {}
    for s in section_order(form.form_id):
        entries = sub.repeats.get(s.name, []) if s.repeat else [sub.values]
        wheres = sub.repeat_where.get(s.name, []) if s.repeat else []
        for i, entry in enumerate(entries, start=1):
            where = wheres[i - 1] if i - 1 < len(wheres) else (
                f"{sub.where} {s.name}[{i}]" if s.repeat else f"{sub.where} {s.name}")
            rec, probs, notes = _section_record(s, entry, header, where)
            oid = rec.get("object_id")
            if not oid:
                oid = f"{s.id_prefix}-{short}" + (f"-{i}" if s.repeat else "")
                rec["object_id"] = oid
            if not s.repeat:
                single[s.name] = rec
                if not _answered(s, entry):
                    # a group left empty makes no report; given an id, it names an existing
                    # object for the other sections to refer to
                    if s.ask_id and entry.get(s.id_question):
                        ids[s.name] = oid
                    continue
                ids[s.name] = oid
            for fname, source in s.links:
                if rec.get(fname) in (None, ""):
                    rec[fname] = _link(source, ids, single, header)
            rec["submission_id"] = f"{sub.instance_id}/{s.name}" + (f"[{i}]" if s.repeat else "")
            rec["_form"] = f"{form.form_id}@{form.version}"
            idx = len(out.records)
            out.records.append(rec)
            if probs:
                out.problems[idx] = probs
            if notes:
                out.notes[idx] = notes
    return out


def _answered(s: Section, entry: dict[str, Any]) -> bool:
    """Whether a group says something of its own: a field other than a reference, or a place."""
    spec = REPORT_SPECS[s.report_type]
    for fname in s.fields:
        f = spec.field(fname)
        v = entry.get(s.question(fname))
        if f is not None and f.kind != "ref" and v is not None and v != "":
            return True
    if s.geometry:
        v = entry.get(s.geometry_question)
        if v is not None and v != "":
            return True
    return False


def _link(source: str, ids: dict[str, str], single: dict[str, dict[str, Any]],
          header: dict[str, Any]) -> Any:
    if source.startswith("@"):
        return header.get(source[1:])
    if "." in source:
        sec, fname = source.split(".", 1)
        return single.get(sec, {}).get(fname)
    return ids.get(source)


@lru_cache(maxsize=128)
def _questions(s: Section) -> tuple[tuple[str, str, str], ...]:
    """(payload field, question name, kind) of a section, worked out once."""
    spec = REPORT_SPECS[s.report_type]
    out = []
    for fname in s.fields:
        f = spec.field(fname)
        out.append((fname, s.question(fname), f.kind if f is not None else "str"))
    return tuple(out)


def _section_record(s: Section, entry: dict[str, Any], header: dict[str, Any], where: str
                    ) -> tuple[dict[str, Any], list[Problem], list[Problem]]:
    rec: dict[str, Any] = {"report_type": s.report_type.value, **header, "_where": where}
    rec.update(s.fixed)
    problems: list[Problem] = []
    notes: list[Problem] = []
    if s.ask_id:
        oid = entry.get(s.id_question)
        if oid is not None and str(oid).strip():
            rec["object_id"] = str(oid).strip()
    for fname, question, kind in _questions(s):
        value = entry.get(question)
        if value is None:
            continue
        if kind == "date":
            value = _epoch_ms_to_date(value)
        elif kind == "choices" and isinstance(value, list):
            value = " ".join(str(v) for v in value)
        rec[fname] = value
    if s.geometry:
        try:
            value = entry.get(s.geometry_question)
            if value is None and not s.repeat and s.geometry == "geopoint":
                value = entry.get("_geolocation")  # Kobo's copy of the first geopoint
            geom, acc = read_geometry(value)
        except geo.GeoEncodingError as exc:
            problems.append(Problem(exc.code, where, s.geometry_question, exc.params))
            geom, acc = None, None
        rec["geometry"] = geom
        if acc is not None:
            rec["_gps_accuracy_m"] = acc
            if acc > POOR_ACCURACY_M:
                notes.append(Problem("GPS_ACCURACY_POOR", where, s.geometry_question,
                                     {"value": acc, "limit": POOR_ACCURACY_M}))
    return rec, problems, notes


__all__ = ["Converted", "Submission", "check_form", "last_segment", "read_geometry",
           "section_order", "to_records"]
