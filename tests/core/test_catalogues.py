"""The translation catalogues: every string the code and templates mark is translated into
Azerbaijani and Russian (none missing, none fuzzy), each translation keeps its placeholders
and markup, and each compiled ``.mo`` holds exactly what its ``.po`` says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from safeground import i18n

ROOT = Path(__file__).resolve().parents[2]
LOCALE = i18n.LOCALE_DIRS[0]
LANGS = ("en", "az", "ru")
TRANSLATED = ("az", "ru")
PLACEHOLDER = re.compile(r"\{[^{}]*\}|%\(\w+\)s")
TAG = re.compile(r"</?[a-z]+")


def _po(lang: str):
    with open(LOCALE / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=lang)


def _pairs(cat) -> dict:
    def norm(x):
        return x if isinstance(x, str) else tuple(x)

    return {norm(m.id): norm(m.string) for m in cat if m.id and not m.fuzzy}


def _filled(s) -> bool:
    return all(s) if isinstance(s, tuple) else bool(s)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> set[str]:
    """What ``pybabel extract`` finds in the code, templates and page scripts (babel.cfg)."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    done = subprocess.run([str(pybabel), "-q", "extract", "-F", "babel.cfg", "-o", str(pot),
                           "--no-location", "."], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    with open(pot, "rb") as f:
        ids = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}
    assert len(ids) > 500      # the templates, labels and problem messages were all read
    return ids


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_extracted_message_is_translated(extracted, lang):
    cat = _po(lang)
    have = {(m.id if isinstance(m.id, str) else m.id[0]): m for m in cat if m.id}
    missing = sorted(extracted - set(have))
    assert missing == [], f"{len(missing)} not in the {lang} catalogue: run make translations"
    untranslated = sorted(k for k in extracted if not _filled(have[k].string))
    assert untranslated == [], f"{len(untranslated)} untranslated in {lang}"
    fuzzy = sorted(k for k in extracted if have[k].fuzzy)
    assert fuzzy == [], f"{len(fuzzy)} fuzzy in {lang}"
    unused = sorted(set(have) - extracted)
    assert unused == [], f"{len(unused)} no longer used in {lang}: run make translations"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_translations_keep_placeholders_and_markup(lang):
    wrong = []
    for m in _po(lang):
        if not m.id:
            continue
        msgid = m.id if isinstance(m.id, str) else m.id[0]
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        want = sorted(PLACEHOLDER.findall(msgid))
        for s in strings:
            got = sorted(PLACEHOLDER.findall(s))
            # a plural form may leave out the number (Russian "one" is written out)
            if got != want and not (isinstance(m.id, tuple) and set(got) <= set(want)):
                wrong.append((msgid, s))
            if sorted(TAG.findall(s)) != sorted(TAG.findall(msgid)):
                wrong.append((msgid, s))
    assert wrong == []


@pytest.mark.parametrize("lang", LANGS)
def test_the_compiled_catalogue_matches_its_source(lang):
    with open(LOCALE / lang / "LC_MESSAGES" / "messages.mo", "rb") as f:
        mo = read_mo(f)
    po = _pairs(_po(lang))
    compiled = _pairs(mo)
    # a .mo leaves out an untranslated message, or (a plural) holds its English forms
    wanted = {k: v if _filled(v) else k for k, v in po.items()}
    assert set(compiled) <= set(po), "run `make translations` to compile the catalogues again"
    assert {k: compiled[k] for k in compiled} == {k: wanted[k] for k in compiled}
    assert {k for k, v in po.items() if _filled(v)} <= set(compiled)


def test_every_catalogue_is_a_language_offered():
    assert i18n.languages()[:3] == list(LANGS)
    assert i18n.name("az").startswith("Azərbaycan") and i18n.name("ru") == "Русский"


def test_every_field_and_vocabulary_value_has_a_label():
    from enum import Enum

    from safeground.record import labels, vocabulary
    from safeground.record.reports import REPORT_SPECS
    from safeground.record.storage.schema import object_tables

    fields = {f.name for spec in REPORT_SPECS.values() for f in spec.fields}
    assert fields - set(labels.FIELDS) == set()
    shown = {c.name for t in object_tables.values() for c in t.columns} - {
        "geometry", "remaining_geometry", "engine_state"}        # never shown as attributes
    assert shown - set(labels.FIELDS) == set()
    values = {m.value for e in vars(vocabulary).values() if isinstance(e, type) and
              issubclass(e, Enum) and e.__module__ == vocabulary.__name__ for m in e}
    assert values - set(labels.VALUES) == set()
    with i18n.use("ru"):
        assert labels.value("AP_mine") == "противопехотная мина"
        assert labels.field("hazardous_area_id") == "Опасный район"
        assert labels.value("HA-0001") == "HA-0001"      # an id stays as it is


def test_a_problem_message_is_shown_in_the_language_in_use():
    from safeground.record.problems import Problem

    p = Problem("DATE_FUTURE", "nts.csv row 3", "start_date", {"value": "2031-01-01"})
    assert p.message == "[nts.csv row 3] field 'start_date': date 2031-01-01 is in the future"
    with i18n.use("ru"):
        assert p.message == "[nts.csv row 3] поле 'start_date': дата 2031-01-01 в будущем"
    with i18n.use("az"):
        assert "2031-01-01 tarixi gələcəkdədir" in p.message
