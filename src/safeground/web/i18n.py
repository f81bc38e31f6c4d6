"""Languages in the web app: which language a request is answered in, and the templates' ``_``.

The language of a request is, in this order: the ``sg_lang`` cookie, set by the switcher in
every page's header (``GET /language?lang=az``) and at sign-in from the user's stored choice;
the signed-in user's stored choice (the switcher stores it on the user too,
``POST /api/v1/me/language``); the browser's ``Accept-Language``; English.

Templates get ``_`` (``{{ _("Text") }}``, ``{{ _("%(n)s areas", n=count) }}``),
``ngettext``, the filters ``num`` (``{{ value|num }}``, ``{{ value|num(1) }}``), ``pct``,
``date``, ``datetime``, ``field`` (a field's label) and ``term`` (a vocabulary value's),
and the functions ``current_lang()``, ``text_dir()``, ``language_menu()``,
``problem_message(p)`` and ``shown_message(error)``.

Python code of the web layer imports ``_``, ``N_`` and ``ngettext`` from here.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
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
    install_jinja,
    is_language,
    languages,
    name,
    negotiate,
    ngettext,
    reset_language,
    set_language,
    use,
)
from safeground.record import labels
from safeground.record.problems import Problem

__all__ = ["COOKIE", "N_", "LanguageMiddleware", "_", "choose", "current", "direction",
           "format_date", "format_datetime", "format_number", "format_percent", "install",
           "is_language", "ngettext", "problem_message", "reason", "set_language",
           "shown_message", "switcher", "use"]

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


def problem_message(p: Any) -> str:
    """A stored problem (its dict) in the language in use: made again from its code and
    params, or its stored message if the code is not known."""
    if not isinstance(p, dict):
        return str(p)
    try:
        return Problem(p["code"], p.get("where", ""), p.get("field"),
                       p.get("params") or {}).message
    except (KeyError, TypeError):
        return str(p.get("message", ""))


def _shown(value: str) -> str:
    return "—" if value in ("None", "") else labels.value(value)


_REASONS: tuple[tuple[re.Pattern[str], Any], ...] = (
    (re.compile(r"(\w+): (.*) -> (.*)"),
     lambda m: f"{labels.field(m[1])}: {_shown(m[2])} → {_shown(m[3])}"),
    (re.compile(r"overlaps (\d+%) of (.+)"),
     lambda m: _("overlaps %(share)s of %(what)s", share=m[1], what=m[2])),
    (re.compile(r"dates (\d+) days apart"),
     lambda m: _("dates %(n)s days apart", n=m[1])),
    (re.compile(r"same (\w+) '(.*)'"),
     lambda m: _("same %(field)s '%(value)s'", field=labels.field(m[1]),
                 value=labels.value(m[2]))),
    (re.compile(r"(\d+) m from (.+)"), lambda m: _("%(m)s m from %(what)s", m=m[1], what=m[2])),
    (re.compile(r"lies inside hazardous area '(.+)' \((\w*)\) but names no hazardous area"),
     lambda m: _("lies inside hazardous area '%(id)s' (%(cls)s) but names no hazardous area",
                 id=m[1], cls=labels.value(m[2]))),
    (re.compile(r"(\w+)"), lambda m: labels.field(m[1])),
)


def reason(text: Any) -> str:
    """A reconciliation reason (made in English by the intake) in the language in use."""
    text = str(text)
    for pattern, say in _REASONS:
        m = pattern.fullmatch(text)
        if m:
            return str(say(m))
    return text


def shown_message(error: Any) -> str:
    """An error's message for a page, in the language in use where the error is coded."""
    problems = getattr(error, "problems", None)
    if problems:
        return "; ".join(p.message for p in problems[:5])
    code = getattr(error, "code", None)
    details = error.details if isinstance(getattr(error, "details", None), dict) else {}
    if code == "LOGIN_FAILED":
        return _("wrong user name or password")
    if code == "LOGIN_RATE_LIMITED":
        return _("too many failed sign-ins; try again in %(s)s s",
                 s=details.get("retry_after", 60))
    if code == "OBJECT_NOT_FOUND":
        m = re.fullmatch(r"no (\w+) '(.*)'(?: known on (\S+))?", str(error.message))
        if m:
            return _("no %(what)s '%(id)s'", what=labels.value(m[1]), id=m[2]) + \
                (" · " + _("as known on %(date)s", date=format_date(m[3])) if m[3] else "")
    if code == "FORBIDDEN":
        needs = details.get("needs", "")
        return _("Your roles do not allow this (it needs the permission %(needs)s).",
                 needs=needs)
    return str(getattr(error, "message", error))


STATIC = Path(__file__).parent / "static"


@functools.lru_cache(maxsize=1)
def _script_messages() -> tuple[str, ...]:
    """The strings the page scripts translate (``_("...")`` in ``static/*.js``)."""
    from babel.messages.extract import extract

    found: set[str] = set()
    for path in sorted(STATIC.glob("*.js")):
        with open(path, "rb") as f:
            for _line, message, _comments, _context in extract("javascript", f):
                if isinstance(message, str):
                    found.add(message)
    return tuple(sorted(found))


@functools.lru_cache(maxsize=16)
def _script_catalogue(code: str) -> dict[str, dict[str, str]]:
    with use(code):
        return {
            "messages": {m: gettext(m) for m in _script_messages() if gettext(m) != m},
            "fields": {k: labels.field(k) for k in labels.FIELDS},
            "terms": {k: labels.value(k) for k in labels.VALUES},
        }


def script_catalogue() -> dict[str, dict[str, str]]:
    """The page scripts' translations in the language in use (for ``|tojson`` into a
    ``<script type="application/json">`` block)."""
    return _script_catalogue(current())


def install(env: Any) -> None:
    """Give a Jinja2 environment the i18n extension, ``_`` and the locale-aware filters."""
    install_jinja(env)
    env.filters["field"] = labels.field          # a field's label: {{ "depth_cm"|field }}
    env.filters["term"] = labels.value           # a vocabulary value: {{ "AP_mine"|term }}
    env.filters["capital"] = labels.capital
    env.filters["reason"] = reason
    env.globals["language_menu"] = switcher
    env.globals["problem_message"] = problem_message
    env.globals["script_catalogue"] = script_catalogue
    env.globals["shown_message"] = shown_message
