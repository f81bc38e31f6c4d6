"""Dated field reports: the only way the record changes (IMSMA's best idea, DOMAIN.md §3).

A report has a type, the object it speaks of, the reporting organisation, an author, a date of
information and a payload. It is stored immutably; its lifecycle is submitted -> approved or
rejected, and the approver must differ from the submitter.

``REPORT_SPECS`` is the one description of every report type's fields: the gate checks, the file
format (docs/report-format.md), the XLSForms and the API schema are all read from it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from itertools import repeat
from typing import Any

from safeground.record import vocabulary as v
from safeground.record.vocabulary import ReportStatus, ReportType


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One payload field. ``kind`` is str, int, float, bool, date, choice, choices or ref."""

    name: str
    kind: str = "str"
    required: bool = False
    choices: type[StrEnum] | None = None
    ref: ReportType | None = None
    low: float | None = None
    high: float | None = None
    sensitive: bool = False
    doc: str = ""


@dataclass(frozen=True, slots=True)
class ReportSpec:
    type: ReportType
    fields: tuple[FieldSpec, ...]
    geometry: tuple[str, ...] = ()        # allowed geometry types; () = no geometry
    geometry_required: bool = False
    doc: str = ""

    def field(self, name: str) -> FieldSpec | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None


def _f(name: str, kind: str = "str", **kw: Any) -> FieldSpec:
    return FieldSpec(name, kind, **kw)


POLY = ("Polygon", "MultiPolygon")
POINT = ("Point",)
ANY_GEOM = ("Point", "Polygon", "MultiPolygon", "LineString")

REPORT_SPECS: dict[ReportType, ReportSpec] = {s.type: s for s in (
    ReportSpec(ReportType.ORGANISATION, (
        _f("name", required=True),
        _f("kind", "choice", required=True, choices=v.OrganisationKind),
        _f("country"),
    ), doc="An operator, authority or donor."),
    ReportSpec(ReportType.TEAM, (
        _f("organisation_id", "ref", required=True, ref=ReportType.ORGANISATION),
        _f("name", required=True),
        _f("asset", "choice", required=True, choices=v.Asset),
        _f("size", "int", low=1, high=500),
    ), doc="A team of an organisation, by its main asset."),
    ReportSpec(ReportType.ADMIN_AREA, (
        _f("name", required=True),
        _f("level", "int", required=True, low=0, high=4),
        _f("parent_id", "ref", ref=ReportType.ADMIN_AREA),
        _f("pcode", doc="official code of the unit"),
    ), geometry=POLY, doc="An administrative unit (district, municipality)."),
    ReportSpec(ReportType.SETTLEMENT, (
        _f("name", required=True),
        _f("admin_area_id", "ref", ref=ReportType.ADMIN_AREA),
        _f("pre_conflict_population", "int", required=True, low=0, high=5_000_000),
        _f("displaced_population", "int", low=0, high=5_000_000),
        _f("returned_population", "int", low=0, high=5_000_000),
        _f("return_status", "choice", required=True, choices=v.ReturnStatus),
    ), geometry=("Point", "Polygon", "MultiPolygon"), geometry_required=True,
        doc="A city, town or village with its pre-conflict and displaced population."),
    ReportSpec(ReportType.HAZARDOUS_AREA, (
        _f("name"),
        _f("classification", "choice", required=True, choices=v.HazardClass),
        _f("contamination", "choices", required=True, choices=v.Contamination),
        _f("settlement_id", "ref", ref=ReportType.SETTLEMENT),
        _f("admin_area_id", "ref", ref=ReportType.ADMIN_AREA),
        _f("land_use", "choice", choices=v.LandUse),
        _f("estimated_area_m2", "float", low=0, high=1e10),
        _f("beneficiaries", "int", low=0, high=10_000_000),
        _f("benchmark", doc="reference point description"),
    ), geometry=POLY, geometry_required=True,
        doc="A suspected (SHA) or confirmed (CHA) hazardous area with its perimeter."),
    ReportSpec(ReportType.EVIDENCE, (
        _f("hazardous_area_id", "ref", ref=ReportType.HAZARDOUS_AREA),
        _f("category", "choice", required=True, choices=v.EvidenceCategory),
        _f("source", "choice", required=True, choices=v.EvidenceSource),
        _f("reliability", "choice", required=True, choices=v.Reliability),
        _f("description"),
    ), geometry=ANY_GEOM, geometry_required=True,
        doc="Direct or indirect evidence of explosive ordnance (kind follows from category)."),
    ReportSpec(ReportType.ACTIVITY, (
        _f("activity_type", "choice", required=True, choices=v.ActivityType),
        _f("organisation_id", "ref", required=True, ref=ReportType.ORGANISATION),
        _f("team_id", "ref", ref=ReportType.TEAM),
        _f("hazardous_area_id", "ref", ref=ReportType.HAZARDOUS_AREA),
        _f("asset", "choice", choices=v.Asset),
        _f("start_date", "date", required=True),
        _f("end_date", "date"),
        _f("status", "choice", required=True, choices=v.ActivityStatus),
    ), geometry=POINT, doc="A survey, clearance or EOD task, with its reference point."),
    ReportSpec(ReportType.LAND_RELEASE, (
        _f("activity_id", "ref", required=True, ref=ReportType.ACTIVITY),
        _f("hazardous_area_id", "ref", required=True, ref=ReportType.HAZARDOUS_AREA),
        _f("release", "choice", required=True, choices=v.ReleaseKind),
        _f("method", "choice", required=True, choices=v.ReleaseMethod),
        _f("depth_cm", "int", low=0, high=1000),
        _f("qa_passed", "bool"),
    ), geometry=POLY, geometry_required=True,
        doc="Land cancelled, reduced or cleared by an activity (a release product)."),
    ReportSpec(ReportType.ORDNANCE, (
        _f("activity_id", "ref", ref=ReportType.ACTIVITY),
        _f("category", "choice", required=True, choices=v.OrdnanceCategory),
        _f("model"),
        _f("condition", "choice", choices=v.OrdnanceCondition),
        _f("depth_cm", "int", low=0, high=1000),
        _f("disposal", "choice", required=True, choices=v.Disposal),
        _f("quantity", "int", low=1, high=100_000),
    ), geometry=POINT, geometry_required=True, doc="An explosive item found and disposed of."),
    ReportSpec(ReportType.ACCIDENT, (
        _f("hazardous_area_id", "ref", ref=ReportType.HAZARDOUS_AREA),
        _f("device_category", "choice", required=True, choices=v.OrdnanceCategory),
        _f("context", "choice", required=True, choices=v.AccidentContext),
        _f("activity_at_time"),
        _f("description"),
    ), geometry=POINT, geometry_required=True,
        doc="An unplanned explosion that caused harm; the date of information is its date."),
    ReportSpec(ReportType.VICTIM, (
        _f("accident_id", "ref", required=True, ref=ReportType.ACCIDENT),
        _f("outcome", "choice", required=True, choices=v.VictimOutcome),
        _f("sex", "choice", required=True, choices=v.Sex),
        _f("age", "int", low=0, high=120),
        _f("status", "choice", required=True, choices=v.VictimStatus),
        _f("activity_at_time"),
        _f("name", sensitive=True),
        _f("date_of_birth", "date", sensitive=True),
        _f("address", sensitive=True),
    ), doc="A person killed or injured in an accident. "
           "Name, birth date and address are sensitive."),
    ReportSpec(ReportType.RISK_EDUCATION, (
        _f("organisation_id", "ref", required=True, ref=ReportType.ORGANISATION),
        _f("settlement_id", "ref", ref=ReportType.SETTLEMENT),
        _f("method", "choice", required=True, choices=v.EoreMethod),
        _f("girls", "int", low=0, high=100_000),
        _f("boys", "int", low=0, high=100_000),
        _f("women", "int", low=0, high=100_000),
        _f("men", "int", low=0, high=100_000),
    ), geometry=POINT, geometry_required=True,
        doc="An explosive ordnance risk education session; "
            "audience by sex and age band (under 18 / 18+)."),
    ReportSpec(ReportType.REFERRAL, (
        _f("victim_id", "ref", required=True, ref=ReportType.VICTIM),
        _f("provider", required=True),
        _f("service", "choice", required=True, choices=v.ReferralService),
        _f("status", "choice", required=True, choices=v.ReferralStatus),
    ), doc="A victim-assistance referral of a survivor to a service provider."),
    ReportSpec(ReportType.QA_VISIT, (
        _f("activity_id", "ref", required=True, ref=ReportType.ACTIVITY),
        _f("kind", "choice", required=True, choices=v.QaKind),
        _f("result", "choice", required=True, choices=v.QaResult),
        _f("nonconformities", "int", low=0, high=1000),
        _f("notes"),
    ), doc="A quality assurance visit or quality control sample of an activity."),
)}

#: The header fields every report carries, whatever its type.
HEADER_FIELDS = ("report_type", "object_id", "date_of_information", "organisation", "author",
                 "submission_id")


@dataclass(frozen=True, slots=True)
class Report:
    """A stored field report. ``payload`` holds normalised values; ``geometry`` is a shapely
    geometry in EPSG:4326 (or None)."""

    id: int
    type: ReportType
    object_id: str
    organisation: str
    author: str
    date_of_information: dt.date
    payload: dict[str, Any]
    geometry: Any
    status: ReportStatus
    submitted_by: str
    submitted_at: dt.datetime
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    decision_note: str | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)
    source: str | None = None
    submission_id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def sensitive_fields(report_type: ReportType) -> frozenset[str]:
    return frozenset(f.name for f in REPORT_SPECS[report_type].fields if f.sensitive)


# ------------------------------------------------------------------ names as people write them
#: report type names people write for the IMAS ones (after ``normal_name``)
TYPE_ALIASES: dict[str, ReportType] = {
    "organization": ReportType.ORGANISATION, "operator": ReportType.ORGANISATION,
    "admin_unit": ReportType.ADMIN_AREA, "administrative_area": ReportType.ADMIN_AREA,
    "village": ReportType.SETTLEMENT, "town": ReportType.SETTLEMENT,
    "hazard_area": ReportType.HAZARDOUS_AREA, "hazardousarea": ReportType.HAZARDOUS_AREA,
    "ha": ReportType.HAZARDOUS_AREA, "sha": ReportType.HAZARDOUS_AREA,
    "cha": ReportType.HAZARDOUS_AREA,
    "landrelease": ReportType.LAND_RELEASE, "release": ReportType.LAND_RELEASE,
    "explosive_item": ReportType.ORDNANCE, "item": ReportType.ORDNANCE,
    "eo": ReportType.ORDNANCE, "uxo": ReportType.ORDNANCE,
    "incident": ReportType.ACCIDENT,
    "victims": ReportType.VICTIM, "casualty": ReportType.VICTIM, "casualties": ReportType.VICTIM,
    "survivor": ReportType.VICTIM, "mine_victim": ReportType.VICTIM,
    "eore": ReportType.RISK_EDUCATION, "mre": ReportType.RISK_EDUCATION,
    "riskeducation": ReportType.RISK_EDUCATION,
    "qa": ReportType.QA_VISIT, "qc": ReportType.QA_VISIT, "qavisit": ReportType.QA_VISIT,
}

#: field names people write for Safeground's (after ``normal_name``)
FIELD_ALIASES: dict[str, str] = {
    "organization": "organisation", "reporttype": "report_type",
    "dob": "date_of_birth", "birth_date": "date_of_birth", "birthdate": "date_of_birth",
    "dateofbirth": "date_of_birth", "date_birth": "date_of_birth",
    "full_name": "name", "fullname": "name", "victim_name": "name", "person_name": "name",
    "home_address": "address", "victim_address": "address", "residence": "address",
    "objectid": "object_id", "dateofinformation": "date_of_information",
}

_SEPARATORS = str.maketrans({" ": "_", "-": "_", "\t": "_"})


@lru_cache(maxsize=4096)
def normal_name(name: str) -> str:
    """A field name as Safeground writes it: stripped, case-folded, spaces and hyphens as
    underscores (``"Date of birth"``, ``"date-of-birth"`` -> ``date_of_birth``), known aliases
    (``dob``, ``organization``) resolved. Names starting with ``_`` (kept with the report
    as its meta) stay as they are."""
    if name.startswith("_"):
        return name
    text = "_".join(x for x in name.strip().casefold().translate(_SEPARATORS).split("_") if x)
    return FIELD_ALIASES.get(text, text)


def normal_type(value: Any) -> ReportType | None:
    """The report type a value names, however it is spelt (``"Victim "``, ``"hazardous
    area"``, ``"casualty"``), or None."""
    if value.__class__ is ReportType:
        return value  # type: ignore[no-any-return]
    if not isinstance(value, str):
        return None
    text = normal_name(value)
    found = ReportType._value2member_map_.get(text)
    return found if found is not None else TYPE_ALIASES.get(text)  # type: ignore[return-value]


_KNOWN_TYPES = frozenset(ReportType._value2member_map_)
_CLEAN_KEYS: dict[tuple[Any, ...], dict[str, str] | None] = {}


def normal_record(raw: dict[str, Any]) -> dict[str, Any]:
    """A record with its field names and report type as Safeground writes them
    (``normal_name``, ``normal_type``): the same dict when nothing changes, else a copy.
    When two names mean the same field, the first one with a value is kept. An unknown report
    type is kept as written, stripped and case-folded."""
    renames = _renames_of(tuple(raw))
    rtype = raw.get("report_type") if renames is None else None
    if renames is None and (rtype.__class__ is not str or rtype in _KNOWN_TYPES):
        return raw
    out: dict[str, Any] = {}
    if renames is None:
        out = dict(raw)
    else:
        for k, value in raw.items():
            name = renames.get(k, k)
            if name not in out or _blank(out[name]):
                out[name] = value
    rtype = out.get("report_type")
    if isinstance(rtype, str):
        found = normal_type(rtype)
        out["report_type"] = found.value if found is not None else normal_name(rtype)
    return out


def normal_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``normal_record`` of each record, the list itself when every one is already as
    Safeground writes it (a batch of a million clean records is looked at in two passes
    in C: its distinct field names and distinct types)."""
    if not records:
        return records
    names = set().union(*records)
    types = set(map(dict.get, records, repeat("report_type")))
    if all(not isinstance(k, str) or normal_name(k) == k for k in names) and \
            all(t.__class__ is not str or t in _KNOWN_TYPES for t in types):
        return records
    return list(map(normal_record, records))


def _renames_of(keys: tuple[Any, ...]) -> dict[str, str] | None:
    renames = _CLEAN_KEYS.get(keys, False)
    if renames is False:
        renames = {k: n for k in keys if isinstance(k, str) and (n := normal_name(k)) != k} \
            or None
        if len(_CLEAN_KEYS) < 10_000:
            _CLEAN_KEYS[keys] = renames
    return renames  # type: ignore[return-value]


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


#: every field name that holds victims' personal data in some report type
SENSITIVE_NAMES: frozenset[str] = frozenset(
    f.name for spec in REPORT_SPECS.values() for f in spec.fields if f.sensitive)


def is_sensitive_name(name: Any) -> bool:
    """Whether a field name, however spelt, holds personal data in some report type (the last
    part of a form's group path too: ``victim/date_of_birth``)."""
    if not isinstance(name, str):
        return False
    return normal_name(name) in SENSITIVE_NAMES or \
        normal_name(re.split(r"[/.:]", name)[-1]) in SENSITIVE_NAMES


def sensitive_keys(report_type: Any, payload: dict[str, Any]) -> list[str]:
    """The keys of a stored payload that hold victims' personal data, read from
    ``REPORT_SPECS`` whatever the spelling of the type and the names:

    * a known type: its sensitive fields (a victim's name, birth date, address);
    * a known type whose payload also holds a field sensitive in another type and not its
      own (a birth date in an 'organisation'), or a type not known at all (a rejected
      ``"Victimm"``): every field sensitive in any type (``SENSITIVE_NAMES``).

    Keys are returned as stored (``"Name"`` in a payload kept raw before names were
    normalised)."""
    hits = [k for k in payload if is_sensitive_name(k)]
    if not hits:
        return []
    rtype = normal_type(report_type)
    if rtype is not None:
        spec = REPORT_SPECS[rtype]
        own = {f.name: f.sensitive for f in spec.fields}
        if all(normal_name(k) in own for k in hits):
            return [k for k in hits if own[normal_name(k)]]
    return hits
