"""``safeground migrate``: inspect a legacy source, check it against a mapping (a dry run),
run the migration as one approved batch, and roll a batch back."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from safeground.cli_boundary import (
    DbOpt,
    UserOpt,
    acting_user,
    err,
    friendly,
    ledger_from,
    permission,
    reading_user,
)

app = typer.Typer(help="Migrate a legacy record (IMSMA NG or Core exports, spreadsheets, GIS "
                  "files) in three steps: inspect, check, run; and roll a batch back.",
                  no_args_is_help=True)
console = Console()

SourceArg = Annotated[Path, typer.Argument(help="The source: a .gdb folder or zipped .gdb, "
                                           ".gpkg, .shp, .kml, .geojson, .xlsx or .csv")]
MappingOpt = Annotated[Path, typer.Option("--mapping", "-m", help="The mapping file (TOML)")]



@app.command("inspect")
@friendly
def inspect_cmd(source: SourceArg,
                out: Annotated[Path | None, typer.Option(
                    "--out", help="Where to write the starter mapping (default: "
                    "SOURCE-NAME.mapping.toml beside the current folder)")] = None,
                top: Annotated[int, typer.Option(help="Most common values shown per field")]
                = 10) -> None:
    """List every layer and field with types, counts and most common values, and write a
    starter mapping file with guesses to review."""
    from safeground.migrate.inspect import inspect, write_starter
    from safeground.migrate.source import Source

    src = Source(source)
    profiles = inspect(src, top)
    for lp in profiles:
        t = Table(title=f"{lp.name}: {lp.rows:,} rows, geometry {lp.geometry_type or 'none'}, "
                        f"CRS {lp.crs or 'none'} → {lp.guess.value if lp.guess else '?'}")
        for c in ("field", "type", "filled", "distinct", "most common", "guess"):
            t.add_column(c, overflow="fold")
        for c in lp.columns:
            t.add_row(escape(c.name), c.type, f"{c.filled:,}", f"{c.distinct:,}",
                      escape(", ".join(f"{v} ({n})" for v, n in c.top[:top])[:200]),
                      "id" if c.name == lp.id_column else lp.fields.get(c.name, ""))
        console.print(t)
    path = out or Path(f"{source.stem}.mapping.toml")
    write_starter(src, profiles, path)
    console.print(f"Starter mapping written to [bold]{escape(str(path))}[/]: every guess is "
                  "marked for review.")


@app.command("check")
@friendly
def check_cmd(source: SourceArg, mapping: MappingOpt,
              html: Annotated[Path | None, typer.Option(help="HTML report (default: "
                                                        "SOURCE.check.html)")] = None,
              csv: Annotated[Path | None, typer.Option(help="CSV of every finding (default: "
                                                       "SOURCE.check.csv)")] = None,
              db: DbOpt = None, user: UserOpt = None) -> None:
    """Dry run: what maps and what does not, geometry faults with their repair or refusal,
    links, duplicates. Writes an HTML and a CSV report; nothing is written to the record."""
    from safeground.migrate.check import dry_run, write_csv, write_html
    from safeground.migrate.mapping import load
    from safeground.migrate.source import Source

    ledger = ledger_from(db)
    reading_user(ledger.db, user, permission("read_detail"), "migrate check", source.name)
    src = Source(source)
    plan = dry_run(src, load(mapping), ledger.settings, ledger)
    html_path = html or Path(f"{source.stem}.check.html")
    csv_path = csv or Path(f"{source.stem}.check.csv")
    write_html(plan, html_path)
    write_csv(plan, csv_path)
    _summary(plan)
    console.print(f"Report written to {escape(str(html_path))} and {escape(str(csv_path))}; "
                  "nothing was written to the record.")


def _summary(plan: object) -> None:
    from safeground.migrate.transform import Plan

    assert isinstance(plan, Plan)
    t = Table(title="Reports by type")
    t.add_column("type")
    t.add_column("reports", justify="right")
    for k, n in sorted(plan.by_type().items()):
        t.add_row(k, f"{n:,}")
    console.print(t)
    console.print(f"{plan.count('refused'):,} refused, {plan.count('repaired'):,} repaired, "
                  f"{plan.count('warning'):,} warnings")
    for code, n in sorted(plan.codes().items()):
        console.print(f"  {code}: {n:,}")


@app.command("run")
@friendly
def run_cmd(source: SourceArg, mapping: MappingOpt,
            approver: Annotated[str, typer.Option(help="The second person, a registered "
                                                  "approver who approves the batch (not the "
                                                  "one running it); their password is asked "
                                                  "for")],
            db: DbOpt = None, user: UserOpt = None) -> None:
    """Submit the mapped reports through the gate and approve them as one migration batch.
    Re-running changes nothing: rows taken in before are skipped."""
    from safeground.migrate.mapping import load
    from safeground.migrate.run import run
    from safeground.migrate.source import Source

    ledger = ledger_from(db)
    src, mapped = Source(source), load(mapping)   # a bad source fails before any password
    who = acting_user(ledger.db, user, permission("submit"), "migrate run")
    if approver.strip() == who.name:
        res = run(ledger, src, mapped, who.name, approver)  # refused: MIGRATE_APPROVER_IS_RUNNER
    second = acting_user(ledger.db, approver, permission("decide"), "migrate run --approver")
    res = run(ledger, src, mapped, who.name, second.name)
    if res.batch is None:
        console.print(f"Nothing new to migrate: {len(res.plan.records):,} reports already in "
                      "the record (or refused before).")
        return
    console.print(f"Batch [bold]{res.batch}[/]: {res.submitted:,} submitted, "
                  f"{len(res.rejected):,} rejected at the gate, {res.duplicates:,} already in, "
                  f"{res.approved:,} approved by {escape(approver)}, "
                  f"{len(res.refused):,} left waiting for approval; "
                  f"{res.plan.count('refused'):,} refused before the gate "
                  "(see migrate check).")
    for r in res.rejected[:50]:
        for p in r.problems:
            err.print(f"  [red]{p.code}[/] {escape(p.message)}")
    for rid, problems in res.refused[:50]:
        for p in problems:
            err.print(f"  report {rid}: [red]{p.get('code')}[/] {escape(str(p.get('message')))}")
    console.print(f"Undo with: safeground migrate rollback {res.batch}")


@app.command("rollback")
@friendly
def rollback_cmd(batch: Annotated[str, typer.Argument(help="The batch id printed by run")],
                 db: DbOpt = None, user: UserOpt = None) -> None:
    """Remove a whole migration batch, before anything else builds on it."""
    from safeground.migrate.run import rollback

    ledger = ledger_from(db)
    who = acting_user(ledger.db, user, permission("decide"), "migrate rollback")
    res = rollback(ledger, batch, who.name)
    removed = ", ".join(f"{n:,} {k}" for k, n in sorted(res.objects_removed.items())) or "none"
    console.print(f"Batch {escape(batch)} rolled back: {res.reports_removed:,} reports removed; "
                  f"objects removed: {removed}; {res.objects_rebuilt:,} objects derived again.")
