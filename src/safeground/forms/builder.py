"""Build the XLSForm ``.xlsx`` files from ``FORMS`` and ``REPORT_SPECS``.

Run ``python -m safeground.forms.builder`` (or ``safeground intake forms``) after changing a
report spec or a form; the files are committed so field staff can upload them unchanged to
ODK Central, KoboToolbox or Survey123 Connect.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

from openpyxl import Workbook

from safeground.forms.spec import (
    FORM_ID_FIELD,
    FORM_VERSION_FIELD,
    FORMS,
    FormSpec,
    Section,
)
from safeground.record.cells import xlsx_append
from safeground.record.reports import REPORT_SPECS, FieldSpec

FORMS_DIR = Path(__file__).parent
SURVEY_COLUMNS = ("type", "name", "label", "hint", "required", "relevant", "constraint",
                  "constraint_message", "calculation", "appearance")

_HEADER_ROWS = (
    {"type": "start", "name": "start"},
    {"type": "end", "name": "end"},
    {"type": "deviceid", "name": "deviceid"},
    {"type": "text", "name": "organisation", "label": "Reporting organisation (its id)",
     "required": "yes"},
    {"type": "text", "name": "author", "label": "Author (team leader or surveyor)",
     "required": "yes"},
    {"type": "date", "name": "date_of_information", "label": "Date of information",
     "hint": "the date the facts were observed, not today's date if they are older",
     "required": "yes", "constraint": ". <= today()",
     "constraint_message": "the date of information cannot be in the future"},
)


def _label(value: str) -> str:
    if value.isupper() or ("_" not in value and value[:1].isupper()):
        return value.replace("_", " ")
    text = value.replace("_", " ")
    return text[:1].upper() + text[1:]


def list_name(enum: type[StrEnum], restricted: tuple[str, ...] | None = None) -> str:
    base = re.sub(r"(?<!^)(?=[A-Z])", "_", enum.__name__).lower()
    return base if restricted is None else base + "_" + "_".join(restricted)


def _question(section: Section, spec: FieldSpec) -> tuple[dict[str, str], list[tuple]]:
    """The survey row of one payload field and the choice rows it needs."""
    restrict = dict(section.restrict).get(spec.name)
    row: dict[str, str] = {"name": section.question(spec.name), "label": _label(spec.name)}
    choices: list[tuple] = []
    kind = spec.kind
    if kind in ("choice", "choices") and spec.choices is not None:
        values = restrict or tuple(m.value for m in spec.choices)
        lname = list_name(spec.choices, restrict)
        row["type"] = ("select_one " if kind == "choice" else "select_multiple ") + lname
        choices = [(lname, v, _label(v)) for v in values]
    elif kind == "bool":
        row["type"] = "select_one yes_no"
    else:
        row["type"] = {"int": "integer", "float": "decimal", "date": "date"}.get(kind, "text")
    if kind == "ref" and spec.ref is not None:
        row["hint"] = f"id of an existing {spec.ref.value.replace('_', ' ')}"
    if spec.low is not None and spec.high is not None and kind in ("int", "float"):
        row["constraint"] = f". >= {spec.low:g} and . <= {spec.high:g}"
        row["constraint_message"] = f"between {spec.low:g} and {spec.high:g}"
    if kind == "date":
        row["constraint"] = ". <= today()"
    if spec.required:
        row["required"] = "yes"
    if spec.sensitive:
        row["hint"] = "sensitive: personal data, never published"
    row.update(dict(dict(section.extra).get(spec.name, ())))
    return row, choices


def survey_rows(form: FormSpec) -> tuple[list[dict[str, str]], list[tuple[str, str, str]]]:
    """The survey and choices sheets of one form, as rows."""
    rows: list[dict[str, str]] = [dict(r) for r in _HEADER_ROWS]
    rows.append({"type": "calculate", "name": FORM_ID_FIELD, "calculation": f"'{form.form_id}'"})
    rows.append({"type": "calculate", "name": FORM_VERSION_FIELD,
                 "calculation": f"'{form.version}'"})
    choices: list[tuple[str, str, str]] = [("yes_no", "yes", "Yes"), ("yes_no", "no", "No")]
    for section in form.sections:
        rspec = REPORT_SPECS[section.report_type]
        kind = "repeat" if section.repeat else "group"
        rows.append({"type": f"begin_{kind}", "name": section.name, "label": section.label})
        if section.ask_id:
            rows.append({"type": "text", "name": section.id_question,
                         "label": f"Id of the {section.report_type.value.replace('_', ' ')}",
                         "hint": "leave blank for a new one; give the id to update an existing "
                                 "one"})
        for fname in section.fields:
            fspec = rspec.field(fname)
            if fspec is None:
                raise KeyError(f"{form.form_id}: {fname} is not a {section.report_type} field")
            row, extra = _question(section, fspec)
            rows.append(row)
            choices.extend(c for c in extra if c not in choices)
        if section.geometry:
            geo = {"type": section.geometry, "name": section.geometry_question,
                   "label": {"geopoint": "Location", "geotrace": "Line",
                             "geoshape": "Perimeter"}[section.geometry]}
            if section.geometry_required:
                geo["required"] = "yes"
            rows.append(geo)
        rows.append({"type": f"end_{kind}"})
    return rows, choices


def build(form: FormSpec, directory: Path = FORMS_DIR) -> Path:
    """Write one form's ``.xlsx``; returns its path."""
    rows, choices = survey_rows(form)
    wb = Workbook()
    survey = wb.active
    survey.title = "survey"
    xlsx_append(survey, SURVEY_COLUMNS)
    for r in rows:
        xlsx_append(survey, [r.get(c, "") for c in SURVEY_COLUMNS])
    sheet = wb.create_sheet("choices")
    xlsx_append(sheet, ("list_name", "name", "label"))
    for c in choices:
        xlsx_append(sheet, c)
    settings = wb.create_sheet("settings")
    xlsx_append(settings, ("form_title", "form_id", "version", "instance_name"))
    xlsx_append(settings, (form.title, form.form_id, form.version,
                     "concat(${organisation}, ' ', ${date_of_information})"))
    path = directory / f"{form.form_id}.xlsx"
    wb.save(path)
    return path


def build_all(directory: Path = FORMS_DIR) -> list[Path]:
    return [build(f, directory) for f in FORMS.values()]


if __name__ == "__main__":  # pragma: no cover
    for p in build_all():
        print(p)
