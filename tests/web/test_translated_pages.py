"""Every page in Azerbaijani and in Russian shows no English of the interface: each visible
text (and title, label, placeholder) of the page in that language is compared with the same
page in English; what is the same in both must be data of the record (names, ids, numbers,
codes, free text), never a sentence of the interface."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import select

from safeground import i18n
from safeground.record.storage.schema import reports, users

#: (who looks, page): every page of the web UI, each for a role that may see it
PAGES = [
    ("visitor", "/map"), ("visitor", "/dashboard"), ("chief", "/review"),
    ("analyst", "/analysis"), ("root", "/users"), ("root", "/audit"),
    ("root", "/objects/hazardous_area/HA-002"), ("root", "/objects/settlement/{settlement}"),
    ("root", "/objects/accident/{accident}"), ("root", "/account/password"),
    ("root", "/api/v1/docs"), (None, "/login"), ("visitor", "/review"),
]
ATTRS = ("title", "aria-label", "placeholder", "alt")
SKIP = {"script", "style", "code", "option", "datalist"}
VOID = {"meta", "link", "input", "br", "img", "hr", "source", "col", "area", "wbr"}
WORDS = re.compile(r"[A-Za-z]{3,}[ ,;:]+[a-z][a-z0-9]+")


class _Text(HTMLParser):
    """The visible texts of a page, outside script, style and code."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.skip = 0
        self.open: list[bool] = []       # per open element: whether it skips its text

    def handle_starttag(self, tag, attrs):
        # text the page itself declares English (lang="en": the API's own descriptions)
        skips = tag in SKIP or (("lang", "en") in attrs and tag != "html")
        if tag not in VOID:
            self.open.append(skips)
        if skips:
            self.skip += 1
        for k, v in attrs:
            if k in ATTRS and v:
                self.texts.append(v.strip())

    def handle_endtag(self, tag):
        if tag in VOID or not self.open:
            return
        if self.open.pop() and self.skip:
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip and data.strip():
            self.texts.append(" ".join(data.split()))


def _texts(html: str) -> list[str]:
    p = _Text()
    p.feed(html)
    return p.texts


@pytest.fixture(scope="module")
def data_text(site) -> str:
    """Every text the record holds (payloads, ids, users): what pages may show as it is."""
    from safeground.record.storage.schema import audit_log
    from safeground.record.users import Role

    with site.ledger.db.read() as conn:
        rows = conn.execute(select(reports.c.payload, reports.c.object_id,
                                   reports.c.organisation, reports.c.author,
                                   reports.c.source)).all()
        names = conn.execute(select(users.c.name)).scalars().all()
        audit = conn.execute(select(audit_log)).all()
    parts = [str(v) for r in rows for v in (*r[1:], *(r[0] or {}).values()) if v]
    parts += [str(v) for r in audit for v in r if v]
    # role names are codes, shown as they are (the roles field, its placeholder)
    parts.append(", ".join(r.value for r in Role) + "\nviewer, analyst")
    return "\n".join(parts + list(names))


def _english_msgids(lang: str) -> set[str]:
    """The English strings of the catalogue that ``lang`` writes differently."""
    with open(i18n.LOCALE_DIRS[0] / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f)
                if m.id and (m.string if isinstance(m.string, str) else m.string[0]) !=
                (m.id if isinstance(m.id, str) else m.id[0])}


def _ids(site) -> dict[str, str]:
    from safeground.record.vocabulary import ReportType

    def first(t):
        return sorted(o["id"] for o in site.ledger.objects(t))[0]

    return {"settlement": first(ReportType.SETTLEMENT), "accident": first(ReportType.ACCIDENT)}


def _page(site, who, path, lang):
    c = site.as_user(who) if who else site.client()
    r = c.get(path, headers={"Accept-Language": lang, "Accept": "text/html"})
    assert r.status_code in (200, 403), (path, r.status_code)
    return r.text


@pytest.mark.parametrize("lang", ["az", "ru"])
def test_every_page_is_translated(site, data_text, lang):
    ids = _ids(site)
    msgids = _english_msgids(lang)
    sentences = [m for m in msgids if len(m.split()) >= 3 and "%" not in m and "{" not in m]
    found: list[tuple[str, str]] = []
    for who, path in PAGES:
        path = path.format(**ids)
        english = set(_texts(_page(site, who, path, "en")))
        page = _page(site, who, path, lang)
        assert f'<html lang="{lang}"' in page, path
        for text in _texts(page):
            if text in msgids and text not in ("API", "QA", "QC", "EOD", "JSON"):
                found.append((path, text))          # a string of the catalogue, in English
            elif any(s in text for s in sentences):
                found.append((path, text))
            elif text in english and WORDS.search(text) and text not in data_text \
                    and not text.startswith("{"):
                found.append((path, text))          # English words, not the record's
    assert found == [], "\n".join(f"{p}: {t}" for p, t in found)


def test_the_check_finds_english(site, data_text):
    """The check above does find a page left in English (the same page asked for in English
    is compared with itself)."""
    page = _page(site, "visitor", "/dashboard", "en")
    english = set(_texts(page))
    left = [t for t in _texts(page) if t in english and WORDS.search(t)
            and t not in data_text]
    assert "Programme status" in left or any("hazardous areas" in t for t in left)
