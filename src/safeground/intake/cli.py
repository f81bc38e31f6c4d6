"""``safeground intake ...``: field forms, pulls from ODK Central / KoboToolbox, reconciliation
and the open-format exports. Commands call the same functions the API does; errors become
coded messages and exit codes here, at the boundary, and nowhere deeper.

``render_summary`` prints an ``ImportSummary`` the way ``safeground import`` shows it.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from safeground.cli_boundary import (
    DbOpt,
    ReaderOpt,
    UserOpt,
    acting_user,
    friendly,
    ledger_from,
    permission,
    reading_user,
)
from safeground.errors import ConfigError
from safeground.record.vocabulary import ReportType

app = typer.Typer(help="Field data intake and open exchange: XLSForms, ODK Central, "
                       "KoboToolbox, Survey123, GeoPackage, HXL.", no_args_is_help=True)
console = Console()

StateOpt = Annotated[Path, typer.Option("--state", help="File keeping each form's pull cursor")]


_ledger = ledger_from



def _types(names: list[str] | None) -> list[ReportType] | None:
    if not names:
        return None
    try:
        return [ReportType(n) for n in names]
    except ValueError as exc:
        raise typer.BadParameter(f"{exc}; report types: "
                                 f"{', '.join(t.value for t in ReportType)}") from exc


def render_summary(summary: Any, out: Console | None = None, limit: int = 20) -> None:
    """Print an ImportSummary: counts, rejection reasons by code, first rows to review."""
    out = out or console
    if getattr(summary, "file_problem", None) is not None:
        p = summary.file_problem
        out.print(f"[bold]{escape(Path(summary.path).name)}[/]: [red]refused, nothing stored[/] "
                  f"— {p.code}: {escape(p.message)}")
        return
    out.print(f"[bold]{escape(Path(summary.path).name)}[/] ({summary.format}): "
              f"[green]{summary.accepted} accepted[/], "
              f"[yellow]{summary.needs_review} need review[/], "
              f"[red]{summary.rejected} rejected[/], "
              f"{summary.already_imported} already imported")
    if summary.resumes:
        out.print(f"[yellow]{escape(summary.resumes)}[/]")
    if summary.incomplete:
        out.print(f"[red]{summary.incomplete.code}:[/] {escape(summary.incomplete.message)}")
    if summary.reasons:
        t = Table("code", "rows", "first example", title="Rejected, by reason")
        for code, n in summary.reasons.most_common():
            ex = next(p.message for _, ps in summary.rejections for p in ps if p.code == code)
            t.add_row(code, str(n), escape(ex[:110]))
        out.print(t)
    for where, rid, reasons in summary.reviews[:limit]:
        out.print(f"  [yellow]review[/] report {rid} ({escape(where)}): "
                  f"{escape('; '.join(reasons))}")
    if len(summary.reviews) > limit:
        out.print(f"  ... and {len(summary.reviews) - limit} more to review")
    if summary.rejects_path:
        out.print(f"Rejected rows with their problems: [bold]{escape(summary.rejects_path)}[/] "
                  "(fix them and import that file again)")


@friendly
def import_cmd(paths: Annotated[list[Path], typer.Argument(help="Files: ODK/Kobo/Survey123 "
                                                           "exports, GeoPackage, Esri .gdb, "
                                                           "GeoJSON, Shapefile (zip), KML, "
                                                           "CSV")],
               db: DbOpt = None, user: UserOpt = None,
               report_type: Annotated[str | None, typer.Option(
                   "--type", help="Report type of rows that name none")] = None,
               crs: Annotated[str | None, typer.Option(
                   help="CRS of CSV coordinates (e.g. EPSG:32638)")] = None,
               progress: Annotated[bool, typer.Option(help="Show a progress bar")] = True,
               as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Take field and geodata files into the holding area, with a summary and rejects file."""
    from safeground.intake.importer import import_path

    ledger = _ledger(db)
    who = acting_user(ledger.db, user, permission("submit"), "import")
    code = 0
    for path in paths:
        s = import_path(ledger, path, who.name, progress=progress and not as_json,
                        report_type=report_type, crs=crs)
        if as_json:
            console.print_json(json.dumps(s.to_dict(), default=str))
        else:
            render_summary(s)
        code = max(code, import_exit_code(s))
        if s.incomplete is not None:  # the files after it wait for the same command again
            break
    if code:
        raise typer.Exit(code)


def import_exit_code(summary: Any) -> int:
    """0: every record taken in (some may need review or were already imported); 1: some
    records refused, the others stored; 2: the file refused as a whole, nothing stored; 3: the
    import stopped part way (whole chunks are in; the same command again finishes it)."""
    if summary.incomplete is not None:
        return 3
    if summary.file_problem is not None:
        return 2
    return 1 if summary.rejected else 0


@app.command("pull-odk")
@friendly
def pull_odk(url: Annotated[str, typer.Argument(help="ODK Central base URL")],
             form: Annotated[list[str], typer.Option("--form", help="Form id (repeatable)")],
             email: Annotated[str, typer.Option(envvar="ODK_EMAIL")],
             password: Annotated[str, typer.Option(envvar="ODK_PASSWORD", prompt=True,
                                                   hide_input=True)],
             project: Annotated[int, typer.Option()] = 1,
             since: Annotated[str | None, typer.Option(
                 help="Only submissions after this ISO time (default: the saved cursor)")] = None,
             state: StateOpt = Path("safeground-pull.json"),
             db: DbOpt = None, user: UserOpt = None) -> None:
    """Pull new and edited submissions of forms from ODK Central (OData, paginated)."""
    from safeground.intake.pull import OdkCentral, load_cursor, pull, save_cursor

    ledger = _ledger(db)
    who = acting_user(ledger.db, user, permission("submit"), "intake pull-odk")
    client = OdkCentral(url, email, password, project)
    for form_id in form:
        key = f"odk {url} {project} {form_id}"
        cursor = since or load_cursor(state, key)
        res = pull(ledger, client.submissions(form_id, cursor), who.name,
                   f"ODK Central {form_id}", since=cursor)
        render_summary(res.summary)
        console.print(f"{res.pulled} submissions pulled; next pull starts after {res.cursor}")
        save_cursor(state, key, res.cursor)


@app.command("pull-kobo")
@friendly
def pull_kobo(url: Annotated[str, typer.Argument(help="KoboToolbox server, e.g. "
                                                 "https://kf.kobotoolbox.org")],
              asset: Annotated[list[str], typer.Option("--asset", help="Asset uid (repeatable)")],
              token: Annotated[str, typer.Option(envvar="KOBO_TOKEN", prompt=True,
                                                 hide_input=True)],
              since: Annotated[str | None, typer.Option()] = None,
              state: StateOpt = Path("safeground-pull.json"),
              db: DbOpt = None, user: UserOpt = None) -> None:
    """Pull new submissions of forms from KoboToolbox (API v2, paginated)."""
    from safeground.intake.pull import KoboToolbox, load_cursor, pull, save_cursor

    ledger = _ledger(db)
    who = acting_user(ledger.db, user, permission("submit"), "intake pull-kobo")
    for uid in asset:
        key = f"kobo {url} {uid}"
        cursor = since or load_cursor(state, key)
        res = pull(ledger, KoboToolbox(url, token, uid).submissions(cursor), who.name,
                   f"KoboToolbox {uid}", since=cursor)
        render_summary(res.summary)
        console.print(f"{res.pulled} submissions pulled; next pull starts after {res.cursor}")
        save_cursor(state, key, res.cursor)


@app.command("review")
@friendly
def review(db: DbOpt = None, all_: Annotated[bool, typer.Option(
        "--all", help="Show new objects too, not only those needing review")] = False,
           user: ReaderOpt = None) -> None:
    """Reconciliation proposals for reports in the holding area: new / update / link /
    probable duplicate, with the reasons."""
    from safeground.intake.reconcile import proposals_for

    ledger = _ledger(db)
    reading_user(ledger.db, user, permission("read_detail"), "intake review")
    props = proposals_for(ledger)
    t = Table("report", "type", "object", "proposal", "target", "why")
    for p in props:
        if all_ or p.action != "new":
            t.add_row(str(p.report_id), p.report_type, p.object_id,
                      ("[yellow]" if p.needs_review else "") + p.action, p.target or "",
                      escape("; ".join(p.reasons)[:120]))
    console.print(t)
    console.print(f"{len(props)} reports waiting; "
                  f"{sum(p.needs_review for p in props)} need a reviewer's decision")


@app.command("retarget")
@friendly
def retarget(report_id: int, target: Annotated[str, typer.Argument(
        help="Id of the existing object the report really speaks of")],
             note: str = "", db: DbOpt = None, user: UserOpt = None) -> None:
    """Override a proposal: the report is an update of TARGET, not a new object."""
    from safeground.intake.reconcile import override

    ledger = _ledger(db)
    who = acting_user(ledger.db, user, permission("decide"), "intake retarget")
    new = override(ledger, report_id, who.name, target, note)
    console.print(f"report {report_id} rejected; report {new} submitted for '{target}'")


@app.command("export-gpkg")
@friendly
def export_gpkg_cmd(out: Path, db: DbOpt = None,
                    type_: Annotated[list[str] | None, typer.Option("--type")] = None,
                    as_of: Annotated[str | None, typer.Option()] = None,
                    organisation: Annotated[str | None, typer.Option()] = None,
                    bbox: Annotated[str | None, typer.Option(
                        help="minlon,minlat,maxlon,maxlat")] = None,
                    sensitive: Annotated[bool, typer.Option(
                        help="Include victims' personal data")] = False,
                    reports: Annotated[bool, typer.Option(
                        help="Add the approved reports (makes the file re-importable)")] = True,
                    user: ReaderOpt = None) -> None:
    """The record, or part of it, as a GeoPackage (opens in QGIS). With --sensitive (victims'
    personal data) an authenticated user with the victim_data role is required."""
    from safeground.intake.export import export_gpkg

    box = tuple(float(x) for x in bbox.split(",")) if bbox else None
    ledger = _ledger(db)
    reading_user(ledger.db, user, permission("read_victims" if sensitive else "analyse"),
                 "intake export-gpkg", str(out), required=sensitive)
    counts = export_gpkg(ledger, out, _types(type_),
                         as_of=dt.date.fromisoformat(as_of) if as_of else None,
                         include_sensitive=sensitive, organisation=organisation,
                         bbox=box, with_reports=reports)  # type: ignore[arg-type]
    for layer, n in counts.items():
        console.print(f"  {layer}: {n}")
    console.print(f"Wrote [bold]{out}[/]")


@app.command("export-hxl")
@friendly
def export_hxl_cmd(out: Path, type_: Annotated[str, typer.Option("--type")] = "hazardous_area",
                   db: DbOpt = None, user: ReaderOpt = None) -> None:
    """One object type as CSV with HXL hashtags (never with personal data)."""
    from safeground.intake.export import export_hxl

    ledger = _ledger(db)
    reading_user(ledger.db, user, permission("analyse"), "intake export-hxl", str(out))
    n = export_hxl(ledger, out, ReportType(type_))
    console.print(f"Wrote {n} rows to [bold]{out}[/]")


@app.command("export-geojson")
@friendly
def export_geojson_cmd(out: Path, type_: Annotated[str, typer.Option("--type")],
                       db: DbOpt = None, user: ReaderOpt = None) -> None:
    """One object type as GeoJSON."""
    from safeground.intake.export import export_geojson

    ledger = _ledger(db)
    reading_user(ledger.db, user, permission("analyse"), "intake export-geojson", str(out))
    n = export_geojson(ledger, out, ReportType(type_))
    console.print(f"Wrote {n} features to [bold]{out}[/]")


@app.command("summary")
@friendly
def summary_cmd(by: Annotated[str, typer.Option(help="month, quarter or year")] = "quarter",
                out: Annotated[Path | None, typer.Option(help="Write CSV here")] = None,
                db: DbOpt = None, user: ReaderOpt = None) -> None:
    """IMAS land release summary: m² cancelled / reduced / cleared and items, by period,
    organisation and method."""
    from safeground.intake.export import land_release_summary, write_land_release_summary

    ledger = _ledger(db)
    reading_user(ledger.db, user, permission("read_public"), "intake summary")
    rows = land_release_summary(ledger, by=by)
    t = Table("period", "organisation", "method", "cancelled m²", "reduced m²", "cleared m²",
              "items")
    for r in rows:
        t.add_row(r["period"], r["organisation"], r["method"], f"{r['cancelled_m2']:,.0f}",
                  f"{r['reduced_m2']:,.0f}", f"{r['cleared_m2']:,.0f}", str(r["items"]))
    console.print(t)
    if out:
        write_land_release_summary(rows, out)
        console.print(f"Wrote [bold]{out}[/]")


@app.command("forms")
@friendly
def forms_cmd(out: Annotated[Path | None, typer.Option(
        help="Write the .xlsx forms here, creating the folder if needed "
             "(default: list them)")] = None) -> None:
    """The XLSForms for ODK Collect, KoboCollect and Survey123."""
    from safeground.forms import FORMS
    from safeground.forms.builder import FORMS_DIR, build

    if out is not None:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:      # a file in the way, or no right to write there
            raise ConfigError(f"--out {out}: cannot make the folder ({exc.strerror})") from None
    for f in FORMS.values():
        path = build(f, out) if out else FORMS_DIR / f"{f.form_id}.xlsx"
        console.print(f"{f.form_id:14} v{f.version}  {f.title}: {path}")
