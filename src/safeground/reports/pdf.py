"""Printable HTML to PDF, for every report (WeasyPrint, on the system's Pango and fonts).

Nothing is fetched while rendering: the reports are self-contained (inline CSS and SVG), and
the URL fetcher refuses every address, so a link or image named in a record's text cannot make
the renderer reach the network or read local files. Fonts are the system's (Debian
``fonts-dejavu-core``; the templates ask for "DejaVu Sans").
"""

from __future__ import annotations

from pathlib import Path

from safeground.errors import ConfigError
from safeground.i18n import N_
from safeground.record.problems import register

register({"PDF_UNAVAILABLE": N_("PDF output needs the system's Pango library: {reason}")})


def html_to_pdf(html: str, path: str | Path) -> Path:
    """Write ``html`` (a whole, self-contained page) as a PDF file at ``path``."""
    try:
        import weasyprint
    except OSError as exc:                        # the Python package is there, Pango is not
        raise ConfigError(f"PDF output needs the system's Pango library: {exc}",
                          code="PDF_UNAVAILABLE") from exc
    from weasyprint.urls import URLFetcher

    path = Path(path)
    nothing = URLFetcher(allowed_protocols=frozenset())   # every scheme refused, file: too
    weasyprint.HTML(string=html, url_fetcher=nothing).write_pdf(path)
    return path
