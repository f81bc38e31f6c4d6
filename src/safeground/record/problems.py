"""The catalogue of coded validation messages.

Every problem Safeground finds in input has a stable code and a message template that names
the record (file and row, or report id) and the field, in the manner of pyxform:

    [nts.csv row 12] field 'classification': 'SHA?' is not one of SHA, CHA

Tests assert on the code, never on the wording. ``docs/errors.md`` lists the whole catalogue and
a test checks it stays complete.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from safeground.i18n import N_, _, gettext
from safeground.record.reports import is_sensitive_name

#: code -> message template. Placeholders come from ``Problem.params``.
CATALOGUE: dict[str, str] = {
    # structure and fields
    "FILE_UNREADABLE": N_("the file cannot be read: {reason}"),
    "FILE_EMPTY": N_("the file holds no records"),
    "FILE_ENCODING": N_("the file is not valid {encoding} text: {reason}"),
    "FILE_FORMAT_UNKNOWN": N_("unknown file format '{suffix}' (expected {expected})"),
    "FILE_TOO_LARGE": N_("the file is {value}, more than the {limit} allowed for {what}"),
    "FILE_ENCRYPTED": N_("the archive member is encrypted; export the data without a password"),
    "ARCHIVE_TOO_LARGE": N_("the archive expands to {value} ({how}), more than the {limit} allowed"),
    "ARCHIVE_TOO_MANY_MEMBERS": N_("the archive holds {value:,} members, more than the {limit:,} allowed"),
    "ARCHIVE_RATIO": N_("the member expands {value:,.0f} times its compressed size ({how}), more than the {limit:,.0f} allowed: a zip bomb?"),
    "ARCHIVE_METHOD": N_("the member is compressed with method {value}; Safeground reads stored, deflate, bzip2 and lzma"),
    "ARCHIVE_CORRUPT": N_("the archive member is corrupt: {reason}"),
    "JSON_TOO_DEEP": N_("the JSON nests {value} levels deep, more than the {limit} allowed"),
    "CELL_TOO_LARGE": N_("a cell holds more than {limit} characters"),
    "IMPORT_FAILED": N_("the file could not be read: {reason} (the error was logged)"),
    "COLUMN_MISSING": N_("required column '{column}' is missing"),
    "REPORT_TYPE_UNKNOWN": N_("'{value}' is not a report type (expected one of {expected})"),
    "FIELD_REQUIRED": N_("required field is missing or empty"),
    "FIELD_UNKNOWN": N_("field is not part of a '{report_type}' report"),
    "FIELD_TYPE": N_("'{value}' is not a valid {expected}"),
    "CHOICE_UNKNOWN": N_("'{value}' is not one of {expected}"),
    "NUMBER_RANGE": N_("{value} is outside the allowed range {low}..{high}"),
    "ID_INVALID": N_("'{value}' is not a valid identifier (letters, digits, '-', '_', '.', ':'; at most 64)"),
    # dates
    "DATE_INVALID": N_("'{value}' is not a date (expected YYYY-MM-DD)"),
    "DATE_FUTURE": N_("date {value} is in the future"),
    "DATE_TOO_OLD": N_("date {value} is before {earliest}, the earliest date the programme accepts"),
    "DATE_ORDER": N_("'{field}' ({value}) comes before '{other_field}' ({other_value})"),
    # geometry
    "GEOM_MISSING": N_("the record has no geometry, and a '{report_type}' needs one"),
    "GEOM_UNPARSABLE": N_("the geometry cannot be read: {reason}"),
    "GEOM_TYPE": N_("geometry type {value} is not allowed here (expected {expected})"),
    "GEOM_TOO_FEW_VERTICES": N_("the polygon has {value} distinct vertices; at least 3 are needed"),
    "GEOM_SELF_INTERSECTION": N_("the polygon is invalid: {reason}"),
    "GEOM_ZERO_AREA": N_("the polygon has no area"),
    "GEOM_VERTEX_GAP": N_("two consecutive vertices are {value:.0f} m apart (more than {limit:.0f} m)"),
    "GEOM_OUTSIDE_EXTENT": N_("coordinates ({x:.5f}, {y:.5f}) fall outside the programme extent {extent}"),
    "GEOM_AXIS_SWAPPED": N_("coordinates ({x:.5f}, {y:.5f}) look like latitude/longitude swapped"),
    "GEOM_NOT_FINITE": N_("the geometry has empty, NaN or infinite coordinates"),
    "CRS_UNKNOWN": N_("CRS '{value}' is not known"),
    "GEOM_TOO_LARGE": N_("the area is {value:.0f} km², more than the {limit:.0f} km² one record may hold"),
    "GEOM_TOO_MANY_VERTICES": N_("the geometry has {value:,} vertices, more than the {limit:,} one record may hold"),
    # links and duplicates
    "REF_UNKNOWN": N_("'{value}' does not name an existing {target}"),
    "REF_WRONG_AREA": N_("{target} '{value}' belongs to hazardous area '{other}', not '{expected}'"),
    "DUPLICATE_REPORT": N_("same content as report {other} already in the record"),
    "DUPLICATE_SUBMISSION": N_("submission '{value}' was already taken in as report {other}"),
    "DUPLICATE_AREA": N_("overlaps {overlap:.0%} of existing hazardous area '{other}' (probable duplicate)"),
    "OBJECT_TYPE_MISMATCH": N_("'{value}' is a {actual}, not a {expected}"),
    # land release rules
    "LR_ALREADY_RELEASED": N_("{overlap_m2:.0f} m² of this {kind} polygon was already {previous} on {date}"),
    "LR_OUTSIDE_AREA": N_("the {kind} polygon does not overlap the remaining hazardous area"),
    "LR_AREA_CLOSED": N_("hazardous area '{value}' is closed; only new evidence can reopen it"),
    "LR_CLEARANCE_ON_SHA": N_("hazardous area '{value}' is still suspected (SHA): confirm it by technical survey or direct evidence before clearance"),
    "LR_METHOD_MISMATCH": N_("land cannot be {kind} by a '{activity_type}' activity (allowed: {expected})"),
    "LR_CANCEL_OVER_DIRECT_EVIDENCE": N_("the cancelled polygon covers direct evidence '{value}'; cancel only land without evidence"),
    "LR_DEPTH_REQUIRED": N_("cleared land must state the clearance depth"),
    "LR_QA_REQUIRED": N_("cleared land must pass quality checks (qa_passed) before it is recorded as cleared"),
    "LR_GEOMETRY_AFTER_RELEASE": N_("the perimeter of '{value}' cannot change after land was released from it; report new evidence instead"),
    # lifecycle
    "REPORT_NOT_SUBMITTED": N_("report {value} is {status}, not submitted"),
    "APPROVER_IS_SUBMITTER": N_("report {value} was submitted by '{user}'; another person must approve it"),
    "REPORT_NOT_FOUND": N_("no report {value}"),
    "REPORT_ALREADY_DECIDED": N_("report {value} was already {status} by '{user}'"),
    "LINK_NOT_APPLICABLE": N_("report {value} cannot be linked to hazardous area '{target}': {reason}"),
    # writing
    "DATABASE_BUSY": N_("the database stayed busy with other writers for {seconds} s; nothing of this change was stored, try again"),
    "IMPORT_INCOMPLETE": N_("the import of {value} stopped after {done} of {total} records ({reason}); those are in the holding area: run the same import again to finish it"),
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One coded problem found in one record.

    ``where`` names the record: a file and row (``nts.csv row 12``) or a report id.
    """

    code: str
    where: str = ""
    field: str | None = None
    params: dict[str, Any] = dc_field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.code not in CATALOGUE:
            raise KeyError(f"problem code {self.code!r} is not in the catalogue")
        withheld = withhold_values(self.field, self.params)
        if withheld is not self.params:
            object.__setattr__(self, "params", withheld)

    @property
    def message(self) -> str:
        """The message in the language in use (``safeground.i18n``; English unless set)."""
        template = CATALOGUE[self.code]
        text = None
        for t in (gettext(template), template):    # a translation that does not fit: English
            try:
                text = t.format(**self.params)
                break
            except (KeyError, IndexError, ValueError, TypeError):
                continue
        if text is None:
            text = template + f" {self.params}"
        prefix = f"[{self.where}] " if self.where else ""
        if self.field:
            prefix += _("field '%(field)s': ", field=self.field)
        return prefix + text

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "where": self.where, "field": self.field,
                "message": self.message,
                "params": {k: v if isinstance(v, (int, float, str, bool)) or v is None else str(v)
                           for k, v in self.params.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Problem:
        return cls(code=data["code"], where=data.get("where", ""), field=data.get("field"),
                   params=data.get("params", {}))


#: what a message says in place of a value of victims' personal data
WITHHELD = "<{field} withheld>"
#: the params that hold the value of the problem's field, and (field param, its value param)
_VALUE_PARAMS = ("value", "actual")
_OTHER_PARAMS = (("field", "value"), ("other_field", "other_value"))


def withhold_values(fld: str | None, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` without the values of fields that hold victims' personal data (sensitive in
    some report type of ``REPORT_SPECS``, however spelt): a problem about a birth date names
    the field, never the date. The same dict when there is nothing to withhold."""
    out = params
    if fld is not None and is_sensitive_name(fld):
        out = {**out, **{k: WITHHELD.format(field=fld) for k in _VALUE_PARAMS if k in out}}
    for name_key, value_key in _OTHER_PARAMS:
        other = out.get(name_key)
        if value_key in out and is_sensitive_name(other):
            out = {**out, value_key: WITHHELD.format(field=other)}
    return out


def register(codes: dict[str, str]) -> None:
    """Add a module's own codes to the one catalogue (intake, risk and planning have some).

    Raises ``ValueError`` if a code is already there with another template.
    """
    for code, template in codes.items():
        if CATALOGUE.get(code, template) != template:
            raise ValueError(f"problem code {code!r} is already registered differently")
        CATALOGUE[code] = template
