"""Languages in the web app: which language a request is answered in, and the templates' ``_``.

The language of a request is, in this order: the ``sg_lang`` cookie, set by the switcher in
every page's header (``GET /language?lang=az``) and at sign-in from the user's stored choice;
the signed-in user's stored choice (the switcher stores it on the user too,
``POST /api/v1/me/language``); the browser's ``Accept-Language``; English.

Templates get ``_`` (``{{ _("Text") }}``, ``{{ _("%(n)s areas", n=count) }}``),
``ngettext``, the filters ``num`` (``{{ value|num }}``, ``{{ value|num(1) }}``), ``pct``,
``date`` and ``datetime``, and the functions ``current_lang()``, ``text_dir()`` and
``language_menu()``.

Python code of the web layer imports ``_``, ``N_`` and ``ngettext`` from here.
"""

from __future__ import annotations

from typing import Any

from safeground.i18n import (
    N_,
    _,
    current,
    direction,
    format_date,
    format_datetime,
    format_number,
    format_percent,
    gettext,
    is_language,
    languages,
    name,
    negotiate,
    ngettext,
    ngettext_raw,
    reset_language,
    set_language,
    use,
)

__all__ = ["COOKIE", "N_", "LanguageMiddleware", "_", "choose", "current", "direction",
           "format_date", "format_datetime", "format_number", "format_percent", "install",
           "is_language",
           "ngettext", "set_language", "switcher", "use"]

#: the cookie that remembers the language chosen with the switcher (not a secret)
COOKIE = "sg_lang"


def _cookie(header: str | None) -> str | None:
    for part in (header or "").split(";"):
        k, _eq, v = part.strip().partition("=")
        if k == COOKIE:
            return v.strip()
    return None


def choose(cookie_header: str | None, accept_language: str | None,
           user_language: str | None = None) -> str:
    """The language to answer in: the cookie's, the user's, the browser's, else English."""
    for code in (_cookie(cookie_header), user_language):
        if code and is_language(code):
            return code
    return negotiate(accept_language) or "en"


class LanguageMiddleware:
    """Sets the language in use for each HTTP request from the cookie and ``Accept-Language``
    (the user is not known yet: ``page_context`` then applies the user's stored choice)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1")
                   for k, v in scope.get("headers", ()) if k in (b"cookie",
                                                                 b"accept-language")}
        token = set_language(choose(headers.get("cookie"), headers.get("accept-language")))
        try:
            await self.app(scope, receive, send)
        finally:
            reset_language(token)


def switcher() -> list[dict[str, str]]:
    """The languages for the header's switcher: code, own name, whether in use."""
    now = current()
    return [{"code": c, "name": name(c), "current": "1" if c == now else ""}
            for c in languages()]


def install(env: Any) -> None:
    """Give a Jinja2 environment the i18n extension, ``_`` and the locale-aware filters."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(gettext=gettext, ngettext=ngettext_raw, newstyle=True)
    env.filters["num"] = format_number
    env.filters["pct"] = format_percent
    env.filters["date"] = format_date
    env.filters["datetime"] = format_datetime
    env.globals["current_lang"] = current
    env.globals["text_dir"] = direction
    env.globals["language_menu"] = switcher
