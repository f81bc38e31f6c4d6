"""What each field form asks and which dated reports one submission becomes.

A form is a header (organisation, author, date of information) and sections. A section is a
group or a repeat group whose questions are the ``REPORT_SPECS`` fields of one report type;
each filled section becomes one report (one per repeat). Question names carry a short section
prefix (``ha_classification``, ``ev_source``) because Survey123 wants names unique across the
whole form; the intake strips the prefix, whatever group path an export puts in front.

Object ids: every section asks for an existing object's id (``ha_object_id``); left blank, the
intake derives a stable id from the submission's instance id, so a re-import names the same
objects. A group where only the id (and references) is answered makes no report: it names the
object the other sections refer to. References between sections of one submission (an item's
``activity_id``) are filled from ``links`` when the form leaves them empty.
"""

from __future__ import annotations

from dataclasses import dataclass

from safeground.i18n import N_
from safeground.record.vocabulary import ReportType

#: The version every form built from this module carries (XLSForm settings ``version``).
FORM_VERSION = "2026112701"

#: Header questions every form starts with; each becomes the report header of the same name.
HEADER = ("organisation", "author", "date_of_information")

#: Hidden questions that carry the form id and version inside every submission, whatever the
#: platform does with the XLSForm ``version`` setting (KoboToolbox replaces it with its own).
FORM_ID_FIELD = "sg_form_id"
FORM_VERSION_FIELD = "sg_form_version"


@dataclass(frozen=True, slots=True)
class Section:
    """One report type inside a form: a group (one report) or a repeat group (one per entry)."""

    name: str
    prefix: str
    report_type: ReportType
    fields: tuple[str, ...]
    label: str
    repeat: bool = False
    geometry: str | None = None          # geopoint, geotrace or geoshape
    geometry_required: bool = False
    #: payload values the form sets without asking, e.g. activity_type=eod_spot
    fixed: tuple[tuple[str, str], ...] = ()
    #: payload field -> where its value comes from when not answered: "section" (that
    #: section's object id), "section.field" (a field of a non-repeat section) or "@header"
    links: tuple[tuple[str, str], ...] = ()
    ask_id: bool = True
    id_prefix: str = "OBJ"
    #: choice fields offered with fewer choices than the vocabulary has
    restrict: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: extra XLSForm columns for a question (relevant, required expressions, hints)
    extra: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()

    def question(self, field: str) -> str:
        return f"{self.prefix}_{field}"

    @property
    def geometry_question(self) -> str:
        return f"{self.prefix}_geo"

    @property
    def id_question(self) -> str:
        return f"{self.prefix}_object_id"


@dataclass(frozen=True, slots=True)
class FormSpec:
    form_id: str
    title: str
    sections: tuple[Section, ...]
    version: str = FORM_VERSION
    #: every version of this form the intake can still read
    known_versions: tuple[str, ...] = (FORM_VERSION,)
    doc: str = ""

    def section(self, name: str) -> Section:
        for s in self.sections:
            if s.name == name:
                return s
        raise KeyError(name)

    def question_map(self) -> dict[str, tuple[Section | None, str]]:
        """Question name -> (section, payload field); header questions map to (None, name).

        The payload field is ``"object_id"`` for the id question and ``"geometry"`` for the geo one.
        """
        out: dict[str, tuple[Section | None, str]] = {h: (None, h) for h in HEADER}
        for s in self.sections:
            for f in s.fields:
                out[s.question(f)] = (s, f)
            if s.ask_id:
                out[s.id_question] = (s, "object_id")
            if s.geometry:
                out[s.geometry_question] = (s, "geometry")
        return out


_ACT_BASE = ("organisation_id", "team_id", "asset", "start_date", "end_date", "status")
_ITEM = Section(
    "item", "item", ReportType.ORDNANCE,
    ("category", "model", "condition", "depth_cm", "disposal", "quantity"),
    N_("Explosive items found"), repeat=True, geometry="geopoint", geometry_required=True,
    links=(("activity_id", "activity"),), id_prefix="EO")

FORMS: dict[str, FormSpec] = {f.form_id: f for f in (
    FormSpec("sg_nts", N_("Non-technical survey"), (
        Section("activity", "act", ReportType.ACTIVITY, _ACT_BASE, N_("Survey activity"),
                geometry="geopoint", fixed=(("activity_type", "nts"),),
                links=(("organisation_id", "@organisation"),
                       ("hazardous_area_id", "hazardous_area")), id_prefix="ACT"),
        Section("hazardous_area", "ha", ReportType.HAZARDOUS_AREA,
                ("name", "classification", "contamination", "settlement_id", "admin_area_id",
                 "land_use",
                 "estimated_area_m2", "beneficiaries", "benchmark"),
                N_("Hazardous area"), geometry="geoshape", geometry_required=True, id_prefix="HA"),
        Section("evidence", "ev", ReportType.EVIDENCE,
                ("category", "source", "reliability", "description"),
                N_("Evidence"), repeat=True, geometry="geopoint", geometry_required=True,
                links=(("hazardous_area_id", "hazardous_area"),), id_prefix="EV"),
        Section("informant", "inf", ReportType.EVIDENCE, ("reliability", "description"),
                N_("Informants (what each said; names are not kept in the record)"), repeat=True,
                geometry="geopoint", geometry_required=True,
                fixed=(("category", "verbal"), ("source", "verbal")),
                links=(("hazardous_area_id", "hazardous_area"),), id_prefix="INF"),
        Section("cancelled", "can", ReportType.LAND_RELEASE, (),
                N_("Land cancelled by this survey"), repeat=True, geometry="geoshape",
                geometry_required=True,
                fixed=(("release", "cancelled"), ("method", "nts")),
                links=(("activity_id", "activity"), ("hazardous_area_id", "hazardous_area")),
                ask_id=False, id_prefix="LR"),
    ), doc="Evidence points with source and reliability, the hazardous area perimeter, "
           "informants and beneficiaries."),
    FormSpec("sg_clearance", N_("Technical survey and clearance: progress and completion"), (
        Section("activity", "act", ReportType.ACTIVITY,
                ("activity_type", "hazardous_area_id", *_ACT_BASE), N_("Activity"),
                geometry="geopoint", links=(("organisation_id", "@organisation"),),
                restrict=(("activity_type", ("ts", "clearance", "bac")),), id_prefix="ACT"),
        Section("release", "rel", ReportType.LAND_RELEASE,
                ("release", "method", "depth_cm", "qa_passed"),
                N_("Release products (land reduced or cleared)"), repeat=True,
                geometry="geoshape", geometry_required=True,
                links=(("activity_id", "activity"),
                       ("hazardous_area_id", "activity.hazardous_area_id")),
                restrict=(("release", ("reduced", "cleared")),),
                extra=(("depth_cm", (("required", "${rel_release} = 'cleared'"),)),
                       ("qa_passed", (("relevant", "${rel_release} = 'cleared'"),))),
                ask_id=False, id_prefix="LR"),
        _ITEM,
    ), doc="Release products as polygons and every item found, for TS, clearance and BAC."),
    FormSpec("sg_eod", N_("EOD spot task"), (
        Section("activity", "act", ReportType.ACTIVITY, ("hazardous_area_id", *_ACT_BASE),
                N_("EOD spot task"), geometry="geopoint",
                fixed=(("activity_type", "eod_spot"),),
                links=(("organisation_id", "@organisation"),), id_prefix="ACT"),
        _ITEM,
    ), doc="A call-out to dispose of items reported by the public or the police."),
    FormSpec("sg_accident", N_("Accident and victims"), (
        Section("accident", "acc", ReportType.ACCIDENT,
                ("hazardous_area_id", "device_category", "context", "activity_at_time",
                 "description"),
                N_("Accident"), geometry="geopoint", geometry_required=True, id_prefix="ACC"),
        Section("victim", "vic", ReportType.VICTIM,
                ("outcome", "sex", "age", "status", "activity_at_time", "name",
                 "date_of_birth", "address"),
                N_("Victims"), repeat=True, links=(("accident_id", "accident"),),
                id_prefix="VIC"),
    ), doc="An accident and each person killed or injured; victims' personal data is sensitive."),
    FormSpec("sg_eore", N_("Risk education session"), (
        Section("session", "eore", ReportType.RISK_EDUCATION,
                ("organisation_id", "settlement_id", "method", "girls", "boys", "women", "men"),
                N_("Session"), geometry="geopoint", geometry_required=True,
                links=(("organisation_id", "@organisation"),), id_prefix="EORE"),
    ), doc="One EORE session with its audience by sex and age band."),
    FormSpec("sg_qa", N_("Quality assurance visit"), (
        Section("visit", "qa", ReportType.QA_VISIT,
                ("activity_id", "kind", "result", "nonconformities", "notes"),
                N_("QA / QC visit"), id_prefix="QA"),
    ), doc="A QA visit or QC sample of an activity, with non-conformities found."),
)}


def form_for(form_id: str) -> FormSpec | None:
    return FORMS.get(form_id)
