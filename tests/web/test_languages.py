"""Pages in the user's language: the cookie of the switcher, the user's stored choice, the
browser's Accept-Language; ``<html lang dir>``; numbers and dates written per language."""

from __future__ import annotations

import datetime as dt
import re

from websupport import password

from safeground import i18n
from safeground.record.users import Users
from safeground.web.i18n import choose


def _html_lang(text: str) -> tuple[str, str]:
    m = re.search(r'<html lang="([^"]+)" dir="([^"]+)">', text)
    assert m, text[:300]
    return m.group(1), m.group(2)


def test_accept_language_picks_the_first_language_with_a_catalogue():
    assert i18n.negotiate("ru-RU,ru;q=0.9,en;q=0.8") == "ru"
    assert i18n.negotiate("de-DE,de;q=0.9,az;q=0.5,en;q=0.4") == "az"
    assert i18n.negotiate("en;q=0.2, ru;q=0.7") == "ru"
    assert i18n.negotiate("de, fr") is None
    assert i18n.negotiate("ru;q=0") is None
    assert choose("sg_lang=az", "ru") == "az"              # the switcher's cookie first
    assert choose("sg_lang=xx", "ru", "az") == "az"        # unknown cookie: the user's
    assert choose(None, "ru, en", None) == "ru"
    assert choose(None, None, None) == "en"


def test_strings_numbers_and_dates_follow_the_language_in_use():
    with i18n.use("ru"):
        assert i18n._("Map") == "Карта"
        assert i18n.format_number(1234567.5) == "1\xa0234\xa0567,5"
        assert i18n.format_number(0.25, 2) == "0,25"
        assert "2026" in i18n.format_date(dt.date(2026, 12, 7)) and "дек" in \
            i18n.format_date("2026-12-07")
    with i18n.use("az"):
        assert i18n._("Map") == "Xəritə"
        assert i18n.format_number(1234567.5) == "1.234.567,5"
    with i18n.use("en"):
        assert i18n._("Map") == "Map"
        assert i18n.format_number(1234567.5) == "1,234,567.5"
        assert i18n.format_date("2026-12-07") == "Dec 7, 2026"
    assert i18n.current() == "en"
    with i18n.use("xx"):            # no such catalogue: English
        assert i18n.current() == "en"


def test_the_login_page_follows_accept_language_and_the_switcher(fresh_site):
    c = fresh_site.client()
    page = c.get("/login", headers={"Accept-Language": "ru-RU,ru;q=0.9"})
    assert _html_lang(page.text) == ("ru", "ltr")
    assert "Язык" in page.text
    # the switcher: a link that sets the cookie and comes back
    r = c.get("/language", params={"lang": "az", "next": "/login"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert c.cookies.get("sg_lang") == "az"
    page = c.get("/login", headers={"Accept-Language": "ru"})
    assert _html_lang(page.text) == ("az", "ltr")
    # an unknown language changes nothing; an outside address is not followed
    r = c.get("/language", params={"lang": "xx", "next": "https://evil.example/"},
              follow_redirects=False)
    assert r.headers["location"] == "/map" and c.cookies.get("sg_lang") == "az"


def test_a_users_language_is_stored_and_applied_at_sign_in(fresh_site):
    from safeground.record.users import csrf_token

    c = fresh_site.client()
    assert c.post("/login", data={"name": "clerk", "password": password("clerk")},
                  follow_redirects=False).status_code == 303
    csrf = csrf_token(c.cookies.get("sg_session"))
    assert c.post("/api/v1/me/language", json={"language": "ru"}).status_code == 403  # no CSRF
    r = c.post("/api/v1/me/language", json={"language": "ru"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["language"] == "ru"
    bad = c.post("/api/v1/me/language", json={"language": "xx"},
                 headers={"X-CSRF-Token": csrf})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["code"] == \
        "LANGUAGE_UNKNOWN"
    assert Users(fresh_site.ledger.db).get("clerk").language == "ru"
    page = c.get("/dashboard")
    assert _html_lang(page.text)[0] == "ru" and "Карта" in page.text
    # another browser: no cookie, an English browser; the user's choice still applies
    other = fresh_site.client()
    r = other.post("/login", data={"name": "clerk", "password": password("clerk")},
                   headers={"Accept-Language": "en"}, follow_redirects=False)
    assert other.cookies.get("sg_lang") == "ru"
    other.cookies.delete("sg_lang")
    page = other.get("/map", headers={"Accept-Language": "en"})
    assert _html_lang(page.text)[0] == "ru"
    # a bearer-token client with no cookie gets the stored choice too
    page = fresh_site.as_user("clerk").get("/map")
    assert _html_lang(page.text)[0] == "ru"


def test_a_right_to_left_catalogue_makes_the_layout_right_to_left(fresh_site, tmp_path,
                                                                   monkeypatch):
    """Adding a language is adding a catalogue: an Arabic one (a few strings, made here)
    is offered in the switcher and turns the page right-to-left."""
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    cat = Catalog(locale="ar")
    cat.add("Sign in", "تسجيل الدخول")
    cat.add("Language", "اللغة")
    folder = tmp_path / "ar" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with open(folder / "messages.mo", "wb") as f:
        write_mo(f, cat)
    monkeypatch.setattr(i18n, "LOCALE_DIRS", [*i18n.LOCALE_DIRS, tmp_path])
    i18n.reload()
    try:
        assert i18n.languages() == ["en", "az", "ru", "ar"]
        page = fresh_site.client().get("/login", headers={"Accept-Language": "ar"})
        assert _html_lang(page.text) == ("ar", "rtl")
        assert "تسجيل الدخول" in page.text and 'hreflang="ar"' in page.text
        assert _html_lang(fresh_site.client().get("/login").text) == ("en", "ltr")
    finally:
        monkeypatch.undo()
        i18n.reload()
