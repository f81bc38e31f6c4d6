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

from safeground.errors import SafegroundError

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
    from safeground.ledger import Ledger
    from safeground.settings import Settings
    from safeground.storage import Database

    s = Settings.from_env(database_url=db)
    return Ledger(Database.open(s.database_url), s)


def user_name(user: str | None) -> str:
    return user or os.environ.get("SAFEGROUND_USER") or getpass.getuser()
