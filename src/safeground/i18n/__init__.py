"""Languages: gettext catalogues (Babel), the language of the current request or command, and
dates and numbers written the way each language writes them.

The catalogues are ``safeground/locale/LANG/LC_MESSAGES/messages.po`` (the text translators
edit) and ``messages.mo`` (compiled from it with ``pybabel compile``; both are in the
repository, and a test checks that they agree). Every catalogue found there is a language the
app offers; its direction (left-to-right or right-to-left) comes from Babel's locale data, so
adding a language is adding a catalogue.

The language in use is a context variable: the web app sets it for each request (the user's
choice, else the browser's ``Accept-Language``), ``use("az")`` sets it for a block. Strings
are translated when they are shown:

* ``_("Text")``, ``_("%(n)s areas", n=3)`` and ``ngettext(singular, plural, n)`` translate
  now, into the language in use;
* ``N_("Text")`` only marks a string for the catalogue (a module-level label, a problem
  message): translate it with ``_`` where it is shown.

This module sits below every other layer, so records, forms, reports and the web app all use
the same catalogues.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gettext as _gettext
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel import dates as _dates
from babel import numbers as _numbers
from babel.support import Translations

DOMAIN = "messages"
DEFAULT = "en"
#: where the catalogues are: one folder per language (tests may add a folder)
LOCALE_DIRS: list[Path] = [Path(__file__).parent.parent / "locale"]
#: the languages every installation has, in the order the switcher lists them
CORE = ("en", "az", "ru")

_current: ContextVar[str] = ContextVar("safeground_language", default=DEFAULT)


def _catalogue_languages() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for base in LOCALE_DIRS:
        if not base.is_dir():
            continue
        for sub in sorted(base.iterdir()):
            if (sub / "LC_MESSAGES" / f"{DOMAIN}.mo").is_file():
                found.setdefault(sub.name, base)
    return found


def languages() -> list[str]:
    """The language codes with a catalogue: English, Azerbaijani, Russian first."""
    found = _catalogue_languages()
    return [c for c in CORE if c in found or c == DEFAULT] + \
        sorted(c for c in found if c not in CORE)


def is_language(code: str | None) -> bool:
    return bool(code) and code in languages()


@functools.lru_cache(maxsize=64)
def _locale(code: str) -> Locale:
    try:
        return Locale.parse(code.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT)


def name(code: str) -> str:
    """The language's name in itself: ``Azərbaycan``, ``русский``."""
    loc = _locale(code)
    shown = loc.get_display_name(loc) or code
    return shown[:1].upper() + shown[1:]


def direction(code: str | None = None) -> str:
    """``rtl`` for a right-to-left language (Arabic, Persian, ...), else ``ltr``."""
    return "rtl" if _locale(code or current()).character_order == "right-to-left" else "ltr"


@functools.lru_cache(maxsize=32)
def _translations(code: str) -> _gettext.NullTranslations:
    base = _catalogue_languages().get(code)
    if base is None or code == DEFAULT:
        return _gettext.NullTranslations()
    return Translations.load(str(base), [code], DOMAIN)


def reload() -> None:
    """Forget loaded catalogues (after a catalogue folder was added or changed)."""
    _translations.cache_clear()


def current() -> str:
    """The language in use (``en`` unless set)."""
    return _current.get()


def set_language(code: str | None) -> Any:
    """Use ``code`` from now on in this context (a known language, else English). Returns the
    token for ``reset_language``."""
    return _current.set(code if code and is_language(code) else DEFAULT)


def reset_language(token: Any) -> None:
    _current.reset(token)


@contextlib.contextmanager
def use(code: str | None) -> Iterator[str]:
    """``with use("ru"): ...`` — the block speaks Russian."""
    token = set_language(code)
    try:
        yield current()
    finally:
        _current.reset(token)


def translations(code: str | None = None) -> _gettext.NullTranslations:
    return _translations(code or current())


def gettext(message: str) -> str:
    """``message`` in the language in use, unformatted (for Jinja's new-style gettext)."""
    return _translations(current()).gettext(message) if message else message


def ngettext_raw(singular: str, plural: str, n: int) -> str:
    return _translations(current()).ngettext(singular, plural, n)


def _(message: str, **values: Any) -> str:
    """``message`` translated; with ``values``, filled in: ``_("%(n)s areas", n=3)``."""
    text = gettext(message)
    return text % values if values else text


def ngettext(singular: str, plural: str, n: int, **values: Any) -> str:
    """The singular or plural form (by the language's rules) for ``n``, filled in with ``n``
    and ``values``: ``ngettext("%(n)s area", "%(n)s areas", k)``."""
    return ngettext_raw(singular, plural, n) % {"n": n, "num": n, **values}


def N_(message: str) -> str:
    """Marks ``message`` for the catalogue without translating it (translate it when shown)."""
    return message


# ------------------------------------------------------------------------- choosing a language
def negotiate(accept_language: str | None, offered: list[str] | None = None) -> str | None:
    """The first language of an ``Accept-Language`` header (by quality) that has a catalogue:
    ``"ru-RU,ru;q=0.9,en;q=0.8"`` -> ``ru``. None if none matches."""
    if not accept_language:
        return None
    offered = offered if offered is not None else languages()
    wanted: list[tuple[float, int, str]] = []
    for i, part in enumerate(accept_language.split(",")[:30]):
        tag, _sep, params = part.strip().partition(";")
        q = 1.0
        for p in params.split(";"):
            k, _eq, v = p.strip().partition("=")
            if k.strip() == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        tag = tag.strip().lower()
        if tag and q > 0:
            wanted.append((-q, i, tag))
    for _q, _i, tag in sorted(wanted):
        if tag == "*":
            return None
        base = tag.replace("_", "-").split("-")[0]
        if base in offered:
            return base
    return None


# ---------------------------------------------------------------------------- formatting
def format_number(value: Any, digits: int | None = None) -> str:
    """A number as the language writes it: ``12,345.5`` (en), ``12.345,5`` (az),
    ``12 345,5`` (ru). ``digits``: exactly that many decimals. None/empty: an empty string."""
    if value is None or value == "":
        return ""
    loc = _locale(current())
    if digits is None:
        return _numbers.format_decimal(value, locale=loc)
    fmt = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return _numbers.format_decimal(value, format=fmt, locale=loc, decimal_quantization=True)


def format_percent(value: Any, digits: int = 0) -> str:
    """A share (0.25) as a percentage in the language's way: ``25%``, ``25 %``."""
    if value is None or value == "":
        return ""
    fmt = "#,##0" + ("." + "0" * digits if digits > 0 else "") + "%"
    return _numbers.format_percent(value, format=fmt, locale=_locale(current()))


def format_date(value: Any, form: str = "medium") -> str:
    """A date in the language's way (``7 Dec 2026``, ``7 dek 2026``, ``7 дек. 2026 г.``).
    A string is parsed as an ISO date first; what cannot be read is returned as it is."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        value = value.date()
    return _dates.format_date(value, format=form, locale=_locale(current()))


def format_datetime(value: Any, form: str = "medium") -> str:
    """A date and time (UTC, as stored) in the language's way."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return format_date(value, form)
    return _dates.format_datetime(value, format=form, locale=_locale(current()))
