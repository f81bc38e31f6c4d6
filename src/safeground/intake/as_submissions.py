"""Report records written back as form submissions: what a field team would have sent.

Used by the round-trip test (scenario -> form submissions -> import -> GeoPackage -> import)
and by demos that need realistic ODK / Kobo / Survey123 files. One record becomes one
submission of the form that captures it; a group that only names an existing object (a
hazardous area's id above an evidence point) carries the references. Records no form captures
(organisations, teams, settlements, referrals, post-clearance activities...) are returned as
``leftovers`` for the exchange file format: the ``REGISTRIES`` before the forms, the rest
(with whatever points at them) after.
"""

from __future__ import annotations

from typing import Any

from shapely.geometry.base import BaseGeometry

from safeground.forms.spec import FORM_VERSION, FORMS, Section
from safeground.intake.submissions import Submission
from safeground.record.reports import REPORT_SPECS
from safeground.record.vocabulary import ReportType

#: leftovers a desk registers before any form comes in; other leftovers come after the forms,
#: and so do the records that point at them
REGISTRIES = frozenset({"organisation", "team", "admin_area", "settlement"})
_GEO_TYPES = {"geopoint": "Point", "geotrace": "LineString", "geoshape": "Polygon"}
_SKIP = {"report_type", "object_id", "date_of_information", "organisation", "author",
         "submission_id", "geometry", "crs"}


def _target(rec: dict[str, Any], activity_form: dict[str, str]
            ) -> tuple[str, str, dict[str, str]] | None:
    """(form, section, {section: object id} of link-only groups) for one record, or None."""
    t = rec["report_type"]
    if t == ReportType.HAZARDOUS_AREA:
        return "sg_nts", "hazardous_area", {}
    if t == ReportType.EVIDENCE:
        return "sg_nts", "evidence", {"hazardous_area": rec.get("hazardous_area_id") or ""}
    if t == ReportType.ACTIVITY:
        kind = rec.get("activity_type")
        if kind == "nts":
            return "sg_nts", "activity", {"hazardous_area": rec.get("hazardous_area_id") or ""}
        if kind in ("ts", "clearance", "bac"):
            return "sg_clearance", "activity", {}
        if kind == "eod_spot":
            return "sg_eod", "activity", {}
        return None
    if t == ReportType.LAND_RELEASE:
        if rec.get("release") == "cancelled":
            if rec.get("method") != "nts":
                return None
            return "sg_nts", "cancelled", {"activity": rec.get("activity_id") or "",
                                           "hazardous_area": rec.get("hazardous_area_id") or ""}
        return "sg_clearance", "release", {"activity": rec.get("activity_id") or ""}
    if t == ReportType.ORDNANCE:
        # an item goes with its activity's form (EOD spot task or clearance)
        form = "sg_eod" if activity_form.get(str(rec.get("activity_id"))) == "sg_eod" \
            else "sg_clearance"
        return form, "item", {"activity": rec.get("activity_id") or ""}
    if t == ReportType.ACCIDENT:
        return "sg_accident", "accident", {}
    if t == ReportType.VICTIM:
        return "sg_accident", "victim", {"accident": rec.get("accident_id") or ""}
    if t == ReportType.RISK_EDUCATION:
        return "sg_eore", "session", {}
    if t == ReportType.QA_VISIT:
        return "sg_qa", "visit", {}
    return None


def _answer(v: Any) -> Any:
    if isinstance(v, list | tuple) and not isinstance(v, BaseGeometry):
        return " ".join(str(x) for x in v)
    if isinstance(v, bool):
        return "yes" if v else "no"
    return v


def as_submissions(records: list[dict[str, Any]]
                   ) -> tuple[dict[str, list[Submission]], list[dict[str, Any]]]:
    """Records -> ({form id: submissions}, leftovers). Raises KeyError for a record that
    holds a field its form section does not ask (a form and a report spec out of step)."""
    out: dict[str, list[Submission]] = {f: [] for f in FORMS}
    leftovers: list[dict[str, Any]] = []
    left_ids: set[str] = set()

    def leave(rec: dict[str, Any]) -> None:
        leftovers.append(rec)
        if rec["report_type"] not in REGISTRIES:
            left_ids.add(str(rec["object_id"]))

    activity_form: dict[str, str] = {}
    for n, rec in enumerate(records, start=1):
        target = _target(rec, activity_form)
        if target and rec["report_type"] == ReportType.ACTIVITY:
            activity_form[str(rec["object_id"])] = target[0]
        refs = {str(rec.get(f.name)) for f in REPORT_SPECS[ReportType(rec["report_type"])].fields
                if f.kind == "ref" and rec.get(f.name)}
        if target is None or refs & left_ids:
            leave(rec)   # no form for it, or it points at something that travels by file
            continue
        form_id, section_name, link_only = target
        form = FORMS[form_id]
        section = form.section(section_name)
        geom = rec.get("geometry")
        if geom is not None and section.geometry and (
                geom.geom_type != _GEO_TYPES[section.geometry]
                or (geom.geom_type == "Polygon" and len(geom.interiors))):
            leave(rec)   # evidence drawn as a polygon, an area with holes: no form can say it
            continue
        entry = _entry(section, rec)
        values: dict[str, Any] = {"organisation": rec["organisation"], "author": rec["author"],
                                  "date_of_information": str(rec["date_of_information"])}
        repeats: dict[str, list[dict[str, Any]]] = {}
        for other, oid in link_only.items():
            if oid:
                values[form.section(other).id_question] = oid
        if section_name == "release" and rec.get("hazardous_area_id"):
            values[form.section("activity").question("hazardous_area_id")] = \
                rec["hazardous_area_id"]
        if section.repeat:
            repeats[section.name] = [entry]
        else:
            values.update(entry)
        key = str(rec.get("submission_id") or f"record-{n}")
        out[form_id].append(Submission(
            key=key, instance_id=key, form_id=form_id, version=FORM_VERSION, values=values,
            repeats=repeats, submitted_at=f"{rec['date_of_information']}T12:00:00Z"))
    return {k: v for k, v in out.items() if v}, leftovers


def _entry(section: Section, rec: dict[str, Any]) -> dict[str, Any]:
    fixed = dict(section.fixed)
    asked = set(section.fields)
    entry: dict[str, Any] = {section.id_question: rec["object_id"]}
    for k, v in rec.items():
        if k in _SKIP or k.startswith("_") or v is None:
            continue
        if k in asked:
            entry[section.question(k)] = _answer(v)
        elif k in fixed:
            if str(fixed[k]) != str(v):
                raise KeyError(f"{section.name}: {k}={v!r} but the form fixes {fixed[k]!r}")
        elif k not in dict(section.links) and REPORT_SPECS[section.report_type].field(k):
            raise KeyError(f"{section.name} does not ask '{k}'")
    if section.geometry and rec.get("geometry") is not None:
        entry[section.geometry_question] = rec["geometry"]
    return entry
