"""The translation catalogues: each compiled ``.mo`` holds exactly what its ``.po`` says."""

from __future__ import annotations

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from safeground import i18n

LOCALE = i18n.LOCALE_DIRS[0]
LANGS = ("en", "az", "ru")


def _pairs(cat) -> dict:
    return {m.id: m.string for m in cat if m.id and not m.fuzzy}


@pytest.mark.parametrize("lang", LANGS)
def test_the_compiled_catalogue_matches_its_source(lang):
    folder = LOCALE / lang / "LC_MESSAGES"
    with open(folder / "messages.po", "rb") as f:
        po = read_po(f, locale=lang)
    with open(folder / "messages.mo", "rb") as f:
        mo = read_mo(f)
    # a .mo leaves out untranslated messages (English is all msgid)
    wanted = {k: v for k, v in _pairs(po).items()
              if (all(v) if isinstance(v, tuple) else v)}
    assert _pairs(mo) == wanted, "run `make translations` to compile the catalogues again"


def test_every_catalogue_is_a_language_offered():
    assert i18n.languages()[:3] == list(LANGS)
    assert i18n.name("az").startswith("Azərbaycan") and i18n.name("ru") == "Русский"
