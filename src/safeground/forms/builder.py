"""Build the XLSForm ``.xlsx`` files from ``FORMS`` and ``REPORT_SPECS``.

Run ``python -m safeground.forms.builder`` (or ``safeground intake forms``) after changing a
report spec or a form; the files are committed so field staff can upload them unchanged to
ODK Central, KoboToolbox or Survey123 Connect.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from safeground import i18n
from safeground.forms.spec import (
    FORM_ID_FIELD,
    FORM_VERSION_FIELD,
    FORMS,
    FormSpec,
    Section,
)
from safeground.i18n import N_, _
from safeground.record import labels
from safeground.record.cells import xlsx_append
from safeground.record.reports import REPORT_SPECS, FieldSpec

FORMS_DIR = Path(__file__).parent
#: the languages of every form: code and the XLSForm language name (``label::English (en)``)
LANGUAGES = (("en", "English (en)"), ("az", "Azerbaijani (az)"), ("ru", "Russian (ru)"))
DEFAULT_LANGUAGE = LANGUAGES[0][1]
#: the columns written once per language
TRANSLATED = ("label", "hint", "constraint_message")
SURVEY_COLUMNS = ("type", "name", "label", "hint", "required", "relevant", "constraint",
                  "constraint_message", "calculation", "appearance")

_HEADER_ROWS = (
    {"type": "start", "name": "start"},
    {"type": "end", "name": "end"},
    {"type": "deviceid", "name": "deviceid"},
    {"type": "text", "name": "organisation", "label": N_("Reporting organisation (its id)"),
     "required": "yes"},
    {"type": "text", "name": "author", "label": N_("Author (team leader or surveyor)"),
     "required": "yes"},
    {"type": "date", "name": "date_of_information", "label": N_("Date of information"),
     "hint": N_("the date the facts were observed, not today's date if they are older"),
     "required": "yes", "constraint": ". <= today()",
     "constraint_message": N_("the date of information cannot be in the future")},
)


def _number(x: float) -> str:
    """A bound as XPath reads it: ``10000000000``, never ``1e+10`` (ODK Validate refuses
    exponents)."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _text(message: str, **values: str) -> dict[str, str]:
    """``message`` in every form language: {"English (en)": ..., "Azerbaijani (az)": ...}.
    ``values`` are filled in after translation (they may be labels themselves: callables of
    no argument are called in each language)."""
    out = {}
    for code, name in LANGUAGES:
        with i18n.use(code):
            filled = {k: v() if callable(v) else v for k, v in values.items()}
            out[name] = _(message, **filled) if filled else _(message)
    return out


def _in_languages(label: str, kind: str = "field") -> dict[str, str]:
    """A field's or a choice's label in every form language."""
    out = {}
    for code, name in LANGUAGES:
        with i18n.use(code):
            out[name] = labels.capital(labels.field(label) if kind == "field" else
                                       labels.value(label))
    return out


def list_name(enum: type[StrEnum], restricted: tuple[str, ...] | None = None) -> str:
    base = re.sub(r"(?<!^)(?=[A-Z])", "_", enum.__name__).lower()
    return base if restricted is None else base + "_" + "_".join(restricted)


def _question(section: Section, spec: FieldSpec) -> tuple[dict[str, str], list[tuple]]:
    """The survey row of one payload field and the choice rows it needs."""
    restrict = dict(section.restrict).get(spec.name)
    row: dict[str, Any] = {"name": section.question(spec.name),
                           "label": _in_languages(spec.name)}
    choices: list[tuple] = []
    kind = spec.kind
    if kind in ("choice", "choices") and spec.choices is not None:
        values = restrict or tuple(m.value for m in spec.choices)
        lname = list_name(spec.choices, restrict)
        row["type"] = ("select_one " if kind == "choice" else "select_multiple ") + lname
        choices = [(lname, v, _in_languages(v, "value")) for v in values]
    elif kind == "bool":
        row["type"] = "select_one yes_no"
    else:
        row["type"] = {"int": "integer", "float": "decimal", "date": "date"}.get(kind, "text")
    if kind == "ref" and spec.ref is not None:
        ref = spec.ref.value
        row["hint"] = _text(N_("id of an existing %(what)s"),
                            what=lambda: labels.value(ref))
    if spec.low is not None and spec.high is not None and kind in ("int", "float"):
        low, high = _number(spec.low), _number(spec.high)
        row["constraint"] = f". >= {low} and . <= {high}"
        row["constraint_message"] = _text(N_("between %(low)s and %(high)s"),
                                          low=lambda: i18n.format_number(spec.low),
                                          high=lambda: i18n.format_number(spec.high))
    if kind == "date":
        row["constraint"] = ". <= today()"
    if spec.required:
        row["required"] = "yes"
    if spec.sensitive:
        row["hint"] = _text(N_("sensitive: personal data, never published"))
    row.update(dict(dict(section.extra).get(spec.name, ())))
    return row, choices


def survey_rows(form: FormSpec) -> tuple[list[dict[str, Any]], list[tuple[str, str, Any]]]:
    """The survey and choices sheets of one form, as rows. A translated cell (label, hint,
    constraint message) is a dict of its text per form language."""
    rows: list[dict[str, Any]] = [
        {k: _text(v) if k in TRANSLATED else v for k, v in r.items()} for r in _HEADER_ROWS]
    rows.append({"type": "calculate", "name": FORM_ID_FIELD, "calculation": f"'{form.form_id}'"})
    rows.append({"type": "calculate", "name": FORM_VERSION_FIELD,
                 "calculation": f"'{form.version}'"})
    choices: list[tuple[str, str, Any]] = [
        ("yes_no", "yes", _in_languages("yes", "value")),
        ("yes_no", "no", _in_languages("no", "value"))]
    for section in form.sections:
        rspec = REPORT_SPECS[section.report_type]
        kind = "repeat" if section.repeat else "group"
        rows.append({"type": f"begin_{kind}", "name": section.name,
                     "label": _text(section.label)})
        if section.ask_id:
            rtype = section.report_type.value
            rows.append({"type": "text", "name": section.id_question,
                         "label": _text(N_("Id of the %(what)s"),
                                        what=lambda r=rtype: labels.value(r)),
                         "hint": _text(N_("leave blank for a new one; give the id to update "
                                          "an existing one"))})
        for fname in section.fields:
            fspec = rspec.field(fname)
            if fspec is None:
                raise KeyError(f"{form.form_id}: {fname} is not a {section.report_type} field")
            row, extra = _question(section, fspec)
            rows.append(row)
            choices.extend(c for c in extra if c not in choices)
        if section.geometry:
            geo = {"type": section.geometry, "name": section.geometry_question,
                   "label": _text({"geopoint": N_("Location"), "geotrace": N_("Line"),
                                   "geoshape": N_("Perimeter")}[section.geometry])}
            if section.geometry_required:
                geo["required"] = "yes"
            rows.append(geo)
        rows.append({"type": f"end_{kind}"})
    return rows, choices


def build(form: FormSpec, directory: Path = FORMS_DIR) -> Path:
    """Write one form's ``.xlsx``; returns its path."""
    rows, choices = survey_rows(form)
    names = [name for _code, name in LANGUAGES]
    columns = [(c, lang) for c in SURVEY_COLUMNS
               for lang in (names if c in TRANSLATED else [None])]
    wb = Workbook()
    survey = wb.active
    survey.title = "survey"
    xlsx_append(survey, [f"{c}::{lang}" if lang else c for c, lang in columns])
    for r in rows:
        xlsx_append(survey, [_cell(r.get(c, ""), lang) for c, lang in columns])
    sheet = wb.create_sheet("choices")
    xlsx_append(sheet, ("list_name", "name", *(f"label::{n}" for n in names)))
    for lname, value, label in choices:
        xlsx_append(sheet, (lname, value, *(label[n] for n in names)))
    settings = wb.create_sheet("settings")
    xlsx_append(settings, ("form_title", "form_id", "version", "instance_name",
                           "default_language"))
    xlsx_append(settings, (form.title, form.form_id, form.version,
                           "concat(${organisation}, ' ', ${date_of_information})",
                           DEFAULT_LANGUAGE))
    path = directory / f"{form.form_id}.xlsx"
    wb.save(path)
    return path


def _cell(value: Any, lang: str | None) -> str:
    if isinstance(value, dict):
        return value.get(lang, "") if lang else value[DEFAULT_LANGUAGE]
    return value if lang is None or lang == DEFAULT_LANGUAGE else ""


def build_all(directory: Path = FORMS_DIR) -> list[Path]:
    return [build(f, directory) for f in FORMS.values()]


if __name__ == "__main__":  # pragma: no cover
    for p in build_all():
        print(p)
