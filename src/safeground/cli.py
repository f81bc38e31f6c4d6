"""The ``safeground`` command line (Typer).

Commands are thin: they parse arguments, call the same plain functions the web API and reports
use, and print. A ``SafegroundError`` becomes a clear message and a non-zero exit code here, at
the boundary, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from safeground.cli_boundary import (
    USER_ENV,
    DbOpt,
    ReaderOpt,
    UserOpt,
    acting_user,
    err,
    friendly,
    ledger_from,
    os_login,
    permission,
    print_status,
    reading_user,
)
from safeground.errors import SafegroundError
from safeground.record.exchange import to_geojson
from safeground.record.storage import Database
from safeground.record.summary import status
from safeground.record.vocabulary import ReportType
from safeground.reports import programme
from safeground.settings import Settings


class _LazyGroup(TyperGroup):
    """The top-level group: the domain packages' command groups are imported only when used.

    They pull in scikit-learn, LightGBM, GeoPandas and HiGHS; importing them all made
    ``safeground --help`` take seconds. Help lists them from the short texts in ``LAZY``.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in LAZY if n not in self.commands)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in LAZY:
            return super().get_command(ctx, cmd_name)
        return click.Command(cmd_name, help=LAZY[cmd_name].help)  # for help listings only

    def resolve_command(self, ctx: click.Context, args: list[str]
                        ) -> tuple[str | None, click.Command | None, list[str]]:
        if len(args) > 1 and args[0] == "report" and args[1] in REPORT_KINDS:
            return f"report {args[1]}", REPORT_KINDS[args[1]].load(), args[2:]
        if args and args[0] in LAZY and args[0] not in self.commands:
            self.add_command(LAZY[args[0]].load(), args[0])
        return super().resolve_command(ctx, args)


@dataclass(frozen=True)
class _Lazy:
    module: str
    attr: str
    help: str

    def load(self) -> click.Command:
        obj = getattr(importlib.import_module(self.module), self.attr)
        if isinstance(obj, typer.Typer):
            return typer.main.get_command(obj)
        return typer.main.get_command(_single(obj, self.help))


def _single(func: Any, help_: str) -> typer.Typer:
    one = typer.Typer()
    one.command(help=help_)(func)
    return one


LAZY: dict[str, _Lazy] = {
    # one import for every format: plain report files, field-form exports, geodata
    "import": _Lazy("safeground.intake.cli", "import_cmd",
                    "Take report files, field-form exports (ODK Central, KoboToolbox, "
                    "Survey123) and geodata (GeoPackage, Shapefile, KML, GeoJSON, CSV) in "
                    "through the gate, with a progress bar, a summary and a rejects file to fix "
                    "and re-import."),
    "migrate": _Lazy("safeground.migrate.cli", "app",
                     "Migrate a legacy record (IMSMA NG or Core exports, spreadsheets, GIS "
                     "files) in three steps: inspect, check, run; and roll a batch back."),
    "scenario": _Lazy("safeground.scenario.cli", "app",
                      "Synthetic post-conflict regions with hidden ground truth."),
    "intake": _Lazy("safeground.intake.cli", "app",
                    "Field data intake and open exchange: XLSForms, ODK Central, KoboToolbox, "
                    "Survey123, GeoPackage, HXL."),
    "risk": _Lazy("safeground.risk.cli", "app",
                  "Evidence-based contamination risk model: fit, evaluate, score, map, "
                  "explain."),
    "plan": _Lazy("safeground.planning.cli", "app",
                  "Plan land release: which land first so the most people go home safely "
                  "soonest."),
    "serve": _Lazy("safeground.web.cli", "serve",
                   "Run the web app, the API and OGC API – Features (docs/web.md)."),
    "user": _Lazy("safeground.web.cli", "user_app",
                  "Users of the web app and the API, and their roles."),
}

#: ``safeground report KIND ...``: the reports beside the programme report (``report FILE``)
REPORT_KINDS: dict[str, _Lazy] = {
    "article7": _Lazy("safeground.reports.cli", "article7",
                      "Article 7 forms C, F, G and I of the Mine Ban Convention and the "
                      "Landmine Monitor's figures for a year (HTML, xlsx, PDF)."),
    "dossier": _Lazy("safeground.reports.cli", "dossier",
                     "The task dossier of a hazardous area for the field team (A4 PDF)."),
}


app = typer.Typer(help="Safeground: the national mine action record and land-release planning.",
                  no_args_is_help=True, pretty_exceptions_enable=False, cls=_LazyGroup)
console = Console()




def _settings(db: str | None) -> Settings:
    return Settings.from_env(database_url=db)


_ledger = ledger_from


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"'{value}' is not a date (YYYY-MM-DD)") from exc


@app.command()
@friendly
def init(db: DbOpt = None) -> None:
    """Create (or migrate) the record database."""
    s = _settings(db)
    Database.open(s.database_url)
    console.print(f"Record ready at [bold]{s.database_url}[/]")


def _ids(ids: list[int]) -> list[int]:
    if not ids:
        raise typer.BadParameter("name report ids, or --all")
    return ids


@app.command()
@friendly
def approve(ids: Annotated[list[int] | None, typer.Argument(help="Report ids")] = None,
            all_: Annotated[bool, typer.Option("--all", help="Every submitted report")] = False,
            note: str | None = None,
            link: Annotated[list[str] | None, typer.Option(
                "--link", help="REPORT=AREA: link this evidence or accident report to the "
                               "hazardous area as it is approved (the review queue's link "
                               "proposal); repeat for more")] = None,
            db: DbOpt = None, user: UserOpt = None) -> None:
    """Approve submitted reports as an approver (never one's own submissions)."""
    links: dict[int, str] = {}
    for item in link or []:
        rid, sep, area = item.partition("=")
        if not sep or not rid.strip().isdigit() or not area.strip():
            raise typer.BadParameter(f"'{item}' is not REPORT=AREA (e.g. 120=HA-001)",
                                     param_hint="--link")
        links[int(rid)] = area.strip()
    ledger = _ledger(db)
    who = acting_user(ledger.db, user, permission("decide"), "approve")
    if all_:  # chosen in the database: nothing loaded but what is approved, a run at a time
        res = ledger.approve_all(who.name, note, links=links or None)
    else:
        res = ledger.approve(_ids(ids or []), who.name, note, links=links or None)
    console.print(f"{len(res.approved)} approved, {len(res.refused)} refused, "
                  f"{len(res.already_decided)} already decided, {len(res.not_found)} not found")
    for out in res.outcomes(approved=False):
        for p in out["problems"]:
            colour = "yellow" if out["outcome"] == "already_decided" else "red"
            err.print(f"  report {out['report_id']}: {out['outcome'].replace('_', ' ')}: "
                      f"[{colour}]{p.get('code')}[/] {escape(str(p.get('message')))}")
    if res.refused or res.not_found:
        raise typer.Exit(1)


@app.command()
@friendly
def reject(ids: Annotated[list[int], typer.Argument(help="Report ids")],
           note: Annotated[str, typer.Option(help="Why (kept with the report)")],
           db: DbOpt = None, user: UserOpt = None) -> None:
    """Reject submitted reports, with the reason (as an approver)."""
    ledger = _ledger(db)
    who = acting_user(ledger.db, user, permission("decide"), "reject")
    n = ledger.reject(ids, who.name, note)
    console.print(f"{n} rejected")


@app.command("status")
@friendly
def status_(db: DbOpt = None,
            as_json: Annotated[bool, typer.Option("--json")] = False,
            user: ReaderOpt = None) -> None:
    """Programme status: SHA/CHA, land released, items, casualties, settlements."""
    ledger = _ledger(db)
    reading_user(ledger.db, user, permission("read_public"), "status")
    summary = status(ledger)
    if as_json:
        console.print_json(json.dumps(summary.to_dict()))
    else:
        print_status(summary, console)


@app.command("as-of")
@friendly
def as_of(date: Annotated[str, typer.Argument(help="YYYY-MM-DD")], db: DbOpt = None,
          as_json: Annotated[bool, typer.Option("--json")] = False,
          user: ReaderOpt = None) -> None:
    """The status as it was known on a past date (by date of information)."""
    day = _date(date)
    ledger = _ledger(db)
    reading_user(ledger.db, user, permission("read_public"), "as-of", date)
    summary = status(ledger, day)
    if as_json:
        console.print_json(json.dumps(summary.to_dict()))
    else:
        print_status(summary, console)


@app.command()
@friendly
def history(object_id: str, db: DbOpt = None, user: ReaderOpt = None) -> None:
    """Every report about an object (or linked to a hazardous area), in date order."""
    ledger = _ledger(db)
    reading_user(ledger.db, user, permission("read_detail"), "history", object_id)
    t = Table(title=f"History of {object_id}")
    for col in ("report", "date", "type", "object", "status", "by"):
        t.add_column(col, no_wrap=True)
    t.add_column("what", overflow="fold")
    for r in ledger.history(object_id):
        what = ", ".join(f"{k}={v}" for k, v in list(r.payload.items())[:4])
        t.add_row(str(r.id), r.date_of_information.isoformat(), str(r.type), r.object_id,
                  r.status.value, r.decided_by or r.submitted_by, what)
    console.print(t)


@app.command()
@friendly
def export(out: Annotated[Path, typer.Argument(help="Output .geojson file")],
           report_type: Annotated[str, typer.Option("--type", help="Object type")] =
           "hazardous_area",
           as_of_date: Annotated[str | None, typer.Option("--as-of")] = None,
           db: DbOpt = None, user: ReaderOpt = None) -> None:
    """Export the derived record of one object type as GeoJSON (sensitive fields left out)."""
    try:
        rtype = ReportType(report_type)
    except ValueError as exc:
        raise typer.BadParameter(f"unknown type '{report_type}'") from exc
    day = _date(as_of_date) if as_of_date else None
    ledger = _ledger(db)
    reading_user(ledger.db, user, permission("read_detail"), "export", rtype.value)
    rows = ledger.objects(rtype, day)
    out.write_text(json.dumps(to_geojson(rows, rtype), default=str))
    console.print(f"{len(rows)} {rtype.value} objects written to {out}")


@app.command()
@friendly
def report(out: Annotated[Path, typer.Argument(help="Output .html file (printable)")],
           start: Annotated[str, typer.Option("--from", help="First day of the period")],
           end: Annotated[str | None, typer.Option("--to", help="Last day (default: today)")]
           = None,
           xlsx: Annotated[Path | None, typer.Option(help="Also write the tables to this "
                                                     ".xlsx workbook")] = None,
           pdf: Annotated[Path | None, typer.Option(help="Also write the report as this "
                                                    ".pdf file")] = None,
           title: Annotated[str, typer.Option(help="Report title")] =
           "Mine action programme report",
           plan: Annotated[Path | None, typer.Option(help="A plan folder (safeground plan "
                                                     "make --out): add its yearly outlook")]
           = None,
           db: DbOpt = None, user: ReaderOpt = None) -> None:
    """Programme report for government and donors: land released, items, casualties, risk
    education, referrals, quality and returns in a period (HTML, optionally Excel and PDF);
    with --plan, what the current plan expects year by year. `safeground report article7`
    writes the Mine Ban Convention's Article 7 forms instead."""
    period_end = _date(end) if end else dt.date.today()
    ledger = _ledger(db)
    reading_user(ledger.db, user, permission("read_public"), "report",
                 f"{start}..{period_end.isoformat()}")
    rep = programme.write(ledger, out, _date(start), period_end, xlsx=xlsx, title=title,
                          plan=plan, pdf=pdf)
    console.print(f"{programme.headline(rep)}; written to {out}")
    if xlsx:
        console.print(f"Tables written to {xlsx}")
    if pdf:
        console.print(f"PDF written to {pdf}")


@app.command()
@friendly
def demo(workdir: Annotated[Path, typer.Option(help="Where the demo writes")] = Path("var/demo"),
         use_example: Annotated[bool, typer.Option(
             "--example", help="Load the small built-in example programme, not a scenario")]
         = False,
         seed: Annotated[int, typer.Option(help="Scenario seed")] = 1,
         serve: Annotated[bool, typer.Option(
             "--serve/--no-serve", help="End by serving the web app on 127.0.0.1:8000 with "
             "demo users (passwords made at random and printed)")] = True) -> None:
    """Generate a region, take its reports in through the gate, approve, report (make demo)."""
    from safeground.demo import run

    run(workdir, console, use_example=use_example, seed=seed, serve=serve)


LocalAdminOpt = Annotated[bool, typer.Option(
    "--local-admin", help="Act as the local administrator (access to the server and the "
    "record's database), without a user: only while the target record is empty; audited")]
AdminOpt = Annotated[str | None, typer.Option(
    "--user", envvar=USER_ENV, show_envvar=False,
    help="The admin who acts (password asked for; default $SAFEGROUND_USER, else the API "
    "token in $SAFEGROUND_TOKEN)")]


@app.command()
@friendly
def backup(out: Annotated[Path, typer.Argument(help="The backup file to write (.tar.gz)")],
           work_dir: Annotated[Path | None, typer.Option(
               "--work-dir", help="Also pack this work directory (plans, risk model files)")]
           = None,
           db: DbOpt = None, user: AdminOpt = None) -> None:
    """Back up the whole record (reports, users, sessions, audit trail; optionally the work
    directory) to one archive with a manifest, while the app serves. As an admin: the archive
    holds victims' personal data and password hashes (docs/deploy.md)."""
    from safeground.record import audit
    from safeground.record import backup as bk

    s = _settings(db)
    database = Database.open(s.database_url)
    who = acting_user(database, user, permission("manage_users"), "backup")
    audit.record(database, who.name, "backup", out.name,
                 {"work_dir": bool(work_dir), "os_user": os_login()})
    res = bk.backup(database, out, work_dir=work_dir)
    m = res.manifest
    console.print(f"Backup written to [bold]{escape(str(out))}[/]: "
                  f"{m['counts'].get('reports', 0):,} reports, "
                  f"{m['counts'].get('users', 0):,} users, "
                  f"{m['counts'].get('audit_log', 0):,} audit entries, "
                  f"{len(m['members']) - 1:,} work-directory files; record version "
                  f"{m['record_version']}")


def _target_is_empty(url: str) -> bool:
    from safeground.record import backup as bk

    target = Database.open(url, migrate=False)
    try:
        return not bk.holds(target)
    finally:
        target.close()


@app.command()
@friendly
def restore(archive: Annotated[Path, typer.Argument(help="A backup file (safeground backup)")],
            check_only: Annotated[bool, typer.Option(
                "--check", help="Only compare the record with the backup's manifest (record "
                "version, rows per table, status); change nothing")] = False,
            force: Annotated[bool, typer.Option(
                "--force", help="Restore over a record (or work directory) that is not "
                "empty")] = False,
            work_dir: Annotated[Path | None, typer.Option(
                "--work-dir", help="Restore the archived work directory here")] = None,
            db: DbOpt = None, user: AdminOpt = None,
            local_admin: LocalAdminOpt = False) -> None:
    """Restore a backup into the record named by --db (refused over a non-empty record
    without --force), then check it against the backup's manifest. As an admin of the TARGET
    record, or --local-admin while it is empty."""
    from safeground.errors import PermissionDeniedError
    from safeground.record import audit
    from safeground.record import backup as bk

    s = _settings(db)
    if check_only:
        target = Database.open(s.database_url)
        reading_user(target, user, permission("manage_users"), "restore --check", archive.name,
                     required=not local_admin)
        manifest = bk.read_manifest(archive)
        bk.check_or_raise(target, manifest)
        console.print(f"The record matches {escape(str(archive))}: record version "
                      f"{manifest['record_version']}, {len(manifest['counts'])} tables, status")
        return
    if local_admin:
        if not _target_is_empty(s.database_url):
            raise PermissionDeniedError(
                "--local-admin restores only into an empty record: this one holds data, so "
                "an admin of it must restore (--user)", code="FORBIDDEN")
        actor = f"local-admin:{os_login()}"
    else:
        target = Database.open(s.database_url)
        actor = acting_user(target, user, permission("manage_users"), "restore").name
        target.close()
    manifest = bk.restore(s.database_url, archive, force=force, work_dir=work_dir)
    restored = Database.open(s.database_url)
    if local_admin:   # shown to every admin as an alert, like the user commands' local admin
        audit.record(restored, actor, "local_admin", "restore", {"os_user": os_login()})
    audit.record(restored, actor, "restore", archive.name,
                 {"created": manifest.get("created"), "record_version":
                  manifest.get("record_version"), "forced": force, "os_user": os_login()})
    console.print(f"Restored {escape(str(archive))} (made {manifest.get('created')}): "
                  f"{manifest['counts'].get('reports', 0):,} reports, "
                  f"{manifest['counts'].get('users', 0):,} users; checked against its manifest")


db_app = typer.Typer(help="The record's database: bring the schema up to date, check it.",
                     no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
@friendly
def db_upgrade(db: DbOpt = None) -> None:
    """Bring the schema to the newest version (Alembic), creating the postgis extension where
    allowed. Run it as the role that owns the schema."""
    s = _settings(db)
    database = Database.open(s.database_url)
    current, head = database.schema_revision()
    console.print(f"Schema at {current} (newest {head}) at [bold]{escape(_shown_url(s))}[/]")


def _shown_url(s: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(s.database_url).render_as_string(hide_password=True)


@db_app.command("check")
@friendly
def db_check(db: DbOpt = None) -> None:
    """Check the database without changing it: it answers, the schema is at the newest
    version, PostGIS is there (PostgreSQL). Exit 2 with DB_CHECK_FAILED otherwise."""
    from sqlalchemy import text

    from safeground.errors import ConfigError

    s = _settings(db)
    rows: list[tuple[str, bool, str]] = []
    try:
        database = Database.open(s.database_url, migrate=False)
        with database.read() as conn:
            conn.execute(text("SELECT 1"))
        rows.append(("connection", True, _shown_url(s)))
    except Exception as exc:
        from safeground.record.storage.database import _first_line

        rows.append(("connection", False, _first_line(exc)))
        database = None
    if database is not None:
        current, head = database.schema_revision()
        rows.append(("schema", current == head, f"at {current or 'none'}, newest {head}"))
        if database.dialect == "postgresql":
            with database.read() as conn:
                version = conn.execute(text(
                    "SELECT extversion FROM pg_extension WHERE extname = 'postgis'")).scalar()
                role = conn.execute(text("SELECT current_user")).scalar()
            rows.append(("postgis", version is not None,
                         f"version {version}" if version else "extension missing: the owner "
                         "must run CREATE EXTENSION postgis"))
            rows.append(("role", True, str(role)))
        database.close()
    t = Table(title="Database check")
    for col in ("check", "result", "detail"):
        t.add_column(col)
    for name, ok, detail in rows:
        t.add_row(name, "[green]ok[/]" if ok else "[red]FAILED[/]", escape(detail))
    console.print(t)
    failed = [name for name, ok, _ in rows if not ok]
    if failed:
        raise ConfigError(f"the database check failed: {', '.join(failed)}",
                          code="DB_CHECK_FAILED", details=failed)


def command_tree() -> click.Command:
    """The whole command tree with every lazy group loaded (for documentation and tests)."""
    root = typer.main.get_command(app)
    assert isinstance(root, _LazyGroup)
    for name, lazy in LAZY.items():
        if name not in root.commands:
            root.add_command(lazy.load(), name)
    return root


def main() -> None:
    try:
        app()
    except SafegroundError as exc:
        err.print(f"[red]error {exc.code}:[/] {escape(exc.message)}")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
