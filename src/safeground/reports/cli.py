"""``safeground report article7``: the Article 7 forms and the Landmine Monitor's figures.

Loaded only when used (it imports the PDF renderer); ``safeground report FILE.html`` is the
programme report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from safeground.cli_boundary import ReaderOpt, friendly, ledger_from, permission, reading_user

console = Console()


@friendly
def article7(
    year: Annotated[int, typer.Option(help="The calendar year reported on")],
    out: Annotated[Path, typer.Option(help="Folder to write article7-YEAR.html, .xlsx, .pdf")],
    voluntary: Annotated[bool | None, typer.Option(
        "--voluntary/--state-party",
        help="Label the report voluntary (the country is not a State Party) or not "
             "(default: \\[reports] article7_voluntary in --config, else State Party)")] = None,
    country: Annotated[str | None, typer.Option(
        help="Country named on the forms (default: \\[reports] country in --config, else the "
             "national authority's country in the record)")] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", help="Settings file (TOML) with a \\[reports] table")] = None,
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also write the PDF")] = True,
    db: Annotated[str | None, typer.Option("--db", help="Database URL (default: "
                                           "$SAFEGROUND_DATABASE_URL or "
                                           "sqlite:///safeground.sqlite)")] = None,
) -> None:
    """Article 7 report of the Mine Ban Convention for a year — Forms C (mined areas), F (land
    released, items, land remaining), G (AP mines destroyed) and I (risk education) — with the
    Landmine Monitor's figures, as HTML, xlsx and PDF. Victims appear only as counts."""
    from safeground.reports import treaty

    settings = treaty.ReportSettings.read(config)
    ledger = ledger_from(db)
    name = country if country is not None else (settings.country
                                                or treaty.national_country(ledger))
    written = treaty.write(ledger, year, out, country=name, pdf=pdf,
                           voluntary=settings.article7_voluntary if voluntary is None
                           else voluntary)
    console.print(treaty.headline(written.report))
    for path in (written.html, written.xlsx, written.pdf):
        if path is not None:
            console.print(f"written to {path}")


@friendly
def dossier(
    area: Annotated[str, typer.Argument(help="The hazardous area's id")],
    out: Annotated[Path, typer.Option(help="The PDF file to write")],
    work_dir: Annotated[Path | None, typer.Option(
        "--work-dir", help="Where the risk ranking (area-risk.csv) and the plan (plan/) are "
        "read from, for the area's risk and planned work")] = None,
    db: Annotated[str | None, typer.Option("--db", help="Database URL (default: "
                                           "$SAFEGROUND_DATABASE_URL or "
                                           "sqlite:///safeground.sqlite)")] = None,
    user: ReaderOpt = None,
) -> None:
    """The task dossier of a hazardous area (A4 PDF): map with the perimeter and turning
    points, their coordinates in lat/lon, UTM and MGRS, evidence, activities, history, risk,
    planned work and emergency information to fill in. No victim's personal data."""
    from safeground.reports import dossier as dossier_

    ledger = ledger_from(db)
    reading_user(ledger.db, user, permission("read_detail"), "report dossier", area)
    path = dossier_.write(ledger, area, out, work_dir)
    console.print(f"dossier of {area} written to {path}")
