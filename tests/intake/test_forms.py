"""Requirement 1: the XLSForms, in IMAS words, built from REPORT_SPECS, convert with pyxform."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook
from pyxform.xls2xform import convert

from safeground.forms import FORMS
from safeground.forms.builder import FORMS_DIR, build, survey_rows
from safeground.record.reports import REPORT_SPECS


@pytest.mark.parametrize("form_id", list(FORMS))
def test_every_form_converts_cleanly_with_pyxform(form_id):
    warnings: list[str] = []
    result = convert(FORMS_DIR / f"{form_id}.xlsx", warnings=warnings)
    assert f'id="{form_id}"' in result.xform
    assert FORMS[form_id].version in result.xform
    assert warnings == []


@pytest.mark.parametrize("form_id", list(FORMS))
def test_committed_form_is_what_the_builder_makes(form_id, tmp_path):
    """A report spec changed without rebuilding the forms fails here: run
    ``python -m safeground.forms.builder``."""
    fresh = load_workbook(build(FORMS[form_id], tmp_path))
    committed = load_workbook(FORMS_DIR / f"{form_id}.xlsx")
    for sheet in ("survey", "choices", "settings"):
        assert list(fresh[sheet].values) == list(committed[sheet].values), sheet


def test_choices_come_from_the_vocabulary():
    rows, choices = survey_rows(FORMS["sg_nts"])
    classification = {name for lst, name, _ in choices if lst == "hazard_class"}
    assert classification == {"SHA", "CHA"}
    row = next(r for r in rows if r.get("name") == "ha_classification")
    assert row["type"] == "select_one hazard_class" and row["required"] == "yes"


def test_clearance_form_offers_only_reduced_or_cleared_and_asks_depth_when_cleared():
    rows, choices = survey_rows(FORMS["sg_clearance"])
    release = next(r for r in rows if r.get("name") == "rel_release")
    offered = {n for lst, n, _ in choices if release["type"].endswith(lst)}
    assert offered == {"reduced", "cleared"}
    depth = next(r for r in rows if r.get("name") == "rel_depth_cm")
    assert "cleared" in depth["required"]


def test_forms_cover_every_field_report_type():
    produced = {s.report_type.value for f in FORMS.values() for s in f.sections}
    assert {"hazardous_area", "evidence", "activity", "land_release", "ordnance", "accident",
            "victim", "risk_education", "qa_visit"} <= produced


def test_question_names_are_unique_across_each_form():
    """Survey123 wants every name unique in the whole form, groups notwithstanding."""
    for form in FORMS.values():
        rows, _ = survey_rows(form)
        names = [r["name"] for r in rows if r.get("name")]
        assert len(names) == len(set(names)), form.form_id


def test_every_asked_field_exists_in_report_specs():
    for form in FORMS.values():
        for s in form.sections:
            spec = REPORT_SPECS[s.report_type]
            for f in (*s.fields, *(k for k, _ in s.fixed), *(k for k, _ in s.links)):
                assert spec.field(f) is not None, (form.form_id, s.name, f)


def test_victim_personal_data_is_marked_sensitive_in_the_form():
    rows, _ = survey_rows(FORMS["sg_accident"])
    assert "sensitive" in next(r for r in rows if r.get("name") == "vic_name")["hint"]
