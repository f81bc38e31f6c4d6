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
    hint = next(r for r in rows if r.get("name") == "vic_name")["hint"]
    assert "sensitive" in hint["English (en)"]
    assert "конфиденциально" in hint["Russian (ru)"] and "həssas" in hint["Azerbaijani (az)"]


def _odk_validate_runs() -> str | None:
    """Why ODK Validate cannot run here (no Java), or None."""
    import shutil

    return None if shutil.which("java") else (
        "ODK Validate needs a Java runtime (default-jre-headless: scripts/system-packages.sh)")


@pytest.mark.skipif(_odk_validate_runs() is not None, reason=str(_odk_validate_runs()))
@pytest.mark.parametrize("form_id", list(FORMS))
def test_every_form_passes_odk_validate_in_all_three_languages(form_id):
    """pyxform's validator runs ODK Validate (the JavaRosa parser ODK Collect uses) on the
    converted form, which carries English, Azerbaijani and Russian text."""
    result = convert(FORMS_DIR / f"{form_id}.xlsx", validate=True)   # raises if refused
    xform = result.xform
    assert '<translation lang="English (en)" default="true()">' in xform
    for lang in ("Azerbaijani (az)", "Russian (ru)"):
        assert f'<translation lang="{lang}">' in xform
    # every label of every language is there: as many text entries in each translation
    blocks = xform.split("<translation ")[1:]
    counts = {b.split(">", 1)[0]: b.count("<text id=") for b in blocks}
    assert len(set(counts.values())) == 1, counts


@pytest.mark.skipif(_odk_validate_runs() is not None, reason=str(_odk_validate_runs()))
def test_odk_validate_refuses_a_bound_written_with_an_exponent(tmp_path):
    """What the forms once had (``. <= 1e+10``): the validator does run and refuses it."""
    from pyxform.validators.odk_validate import ODKValidateError

    wb = load_workbook(FORMS_DIR / "sg_nts.xlsx")
    survey = wb["survey"]
    header = [c.value for c in survey[1]]
    col = header.index("constraint") + 1
    row = next(r for r in range(2, survey.max_row + 1)
               if survey.cell(r, col).value == ". >= 0 and . <= 10000000000")
    survey.cell(row, col).value = ". >= 0 and . <= 1e+10"
    wb.save(tmp_path / "sg_nts.xlsx")
    with pytest.raises(ODKValidateError, match="1e"):
        convert(tmp_path / "sg_nts.xlsx", validate=True)


def test_labels_hints_and_choices_are_in_three_languages():
    wb = load_workbook(FORMS_DIR / "sg_nts.xlsx")
    header = [c.value for c in wb["survey"][1]]
    for column in ("label", "hint", "constraint_message"):
        for lang in ("English (en)", "Azerbaijani (az)", "Russian (ru)"):
            assert f"{column}::{lang}" in header
    assert "label" not in header
    choices = [c.value for c in wb["choices"][1]]
    assert choices == ["list_name", "name", "label::English (en)", "label::Azerbaijani (az)",
                       "label::Russian (ru)"]
    rows = list(wb["choices"].values)[1:]
    sha = next(r for r in rows if r[0] == "hazard_class" and r[1] == "SHA")
    assert sha[2:] == ("SHA", "ŞTƏ", "ПОР")
    ap = next(r for r in load_workbook(FORMS_DIR / "sg_clearance.xlsx")["choices"].values
              if r[1] == "AP_mine")
    assert ap[2:] == ("Anti-personnel mine", "Piyada əleyhinə mina", "Противопехотная мина")
    settings = dict(zip(*list(wb["settings"].values), strict=True))
    assert settings["default_language"] == "English (en)"
    # every label is filled in every language
    en, az, ru = (header.index(f"label::{n}") for n in ("English (en)", "Azerbaijani (az)",
                                                         "Russian (ru)"))
    for r in list(wb["survey"].values)[1:]:
        assert bool(r[en]) == bool(r[az]) == bool(r[ru]), r
