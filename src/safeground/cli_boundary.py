"""What every ``safeground`` command group shares at the command-line boundary.

``friendly`` turns a ``SafegroundError`` into ``error CODE: message`` on standard error and exit
code 2 — the only place library errors become terminal output. ``ledger_from`` opens the record
named by ``--db`` (or the environment) and ``user_name`` resolves ``--user``.
"""

from __future__ import annotations

import functools
import getpass
import os
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from safeground.errors import SafegroundError
from safeground.record.summary import StatusSummary

err = Console(stderr=True)


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a SafegroundError into a coded message and exit code 2, at the boundary."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SafegroundError as exc:
            err.print(f"[red]error {exc.code}:[/] {escape(exc.message)}")
            raise typer.Exit(2) from None
    return wrapper


def ledger_from(db: str | None) -> Any:
    """The record at ``db`` (default: $SAFEGROUND_DATABASE_URL, else ./safeground.sqlite)."""
    from safeground.record.ledger import Ledger
    from safeground.record.storage import Database
    from safeground.settings import Settings

    s = Settings.from_env(database_url=db)
    return Ledger(Database.open(s.database_url), s)


def user_name(user: str | None) -> str:
    return user or os.environ.get("SAFEGROUND_USER") or getpass.getuser()


def print_status(summary: StatusSummary, console: Console) -> None:
    """The programme status as a table on the terminal."""
    when = summary.as_of.isoformat() if summary.as_of else "now"
    t = Table(title=f"Programme status ({when})", show_header=False)
    t.add_column("what")
    t.add_column("value", justify="right")
    for cls in ("SHA", "CHA"):
        t.add_row(f"{cls} open", f"{summary.areas_open[cls]:,}  "
                  f"({summary.remaining_m2[cls] / 1e6:,.3f} km²)")
    t.add_row("hazardous areas closed", f"{summary.areas_closed:,}")
    for kind, m2 in summary.released_m2.items():
        t.add_row(f"land {kind}", f"{m2:,.0f} m²")
    for cat, n in summary.items.items():
        t.add_row(f"items: {cat}", f"{n:,}")
    for k, n in summary.casualties.items():
        t.add_row(f"casualties: {k.replace('_', ' ')}", f"{n:,}")
    for k, n in summary.settlements.items():
        t.add_row(f"settlements {k.replace('_', ' ')}", f"{n:,}")
    t.add_row("displaced / returned", f"{summary.displaced:,} / {summary.returned:,}")
    for k, n in summary.reports.items():
        t.add_row(f"reports {k}", f"{n:,}")
    console.print(t)
