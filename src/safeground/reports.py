"""Dated field reports: the only way the record changes (IMSMA's best idea, docs/domain.md §3).

A report has a type, the object it speaks of, the reporting organisation, an author, a date of
information and a payload. It is stored immutably; its lifecycle is submitted -> approved or
rejected, and the approver must differ from the submitter.

``REPORT_SPECS`` is the one description of every report type's fields: the gate checks, the file
format (docs/report-format.md), the XLSForms and the API schema are all read from it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from safeground import vocabulary as v
from safeground.vocabulary import ReportStatus, ReportType


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
