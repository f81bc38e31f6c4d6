"""What every ``safeground`` command group shares at the command-line boundary.

``friendly`` turns a ``SafegroundError`` into ``error CODE: message`` on standard error and exit
code 2 — the only place library errors become terminal output — and marks every audit entry the
command writes as coming from the command line (``source`` ``cli``). ``ledger_from`` opens the
record named by ``--db`` (or the environment).

Who acts: the command line enforces what the web enforces. A command that changes the record
or its users acts as a registered, active user holding the role it needs (``acting_user``):

* ``--user NAME`` (or ``$SAFEGROUND_USER``): the password is asked for (hidden, like
  ``getpass``), or
* ``$SAFEGROUND_TOKEN``: an API token (``safeground user token``, ``POST /api/v1/auth/token``),
  for scripts.

A wrong password, an unknown or inactive user, an unknown or expired token (LOGIN_FAILED,
TOKEN_INVALID), or a user without the role (FORBIDDEN) stops the command with exit code 2 and an
audit entry (``login_failed``, ``forbidden``). The two-person rule therefore holds here too:
nobody can approve as another name without that person's password.

Commands that only read (``reading_user``) run without a user — anyone who can open the
record's database can read it anyway — and are written to the audit trail (``cli_read``, with
the login name of the operating system, unverified); given ``--user`` or a token, the user is
authenticated, their role checked and their name audited. Reading victims' personal data
always needs an authenticated user with the ``victim_data`` role.

``local_admin`` is the set-up and recovery path for someone with access to the server and the
record's database (see ``safeground.web.cli``).
"""

from __future__ import annotations

import functools
import getpass
import os
from collections.abc import Callable
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from safeground.errors import AuthenticationError, PermissionDeniedError, SafegroundError
from safeground.record import audit
from safeground.record.summary import StatusSummary

err = Console(stderr=True)
TOKEN_ENV = "SAFEGROUND_TOKEN"  # noqa: S105 (the name of a variable, not a secret)
USER_ENV = "SAFEGROUND_USER"

#: the options every command that opens the record shares
DbOpt = Annotated[str | None, typer.Option("--db", help="Database URL (default: "
                                           "$SAFEGROUND_DATABASE_URL or sqlite:///safeground.sqlite)")]
UserOpt = Annotated[str | None, typer.Option(
    "--user", envvar=USER_ENV, show_envvar=False,
    help="Who acts: a registered user (default: $SAFEGROUND_USER); the password is asked for. "
    "Without it, the API token in $SAFEGROUND_TOKEN. Recorded in the audit trail")]
ReaderOpt = Annotated[str | None, typer.Option(
    "--user", envvar=USER_ENV, show_envvar=False,
    help="Read as this user (password asked for; or $SAFEGROUND_TOKEN): role checked and "
    "named in the audit trail. Without either, the read is audited as unauthenticated")]


def permission(name: str) -> Any:
    """The ``safeground.record.users.Permission`` a command needs, by name."""
    from safeground.record.users import Permission

    return Permission(name)


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a SafegroundError into a coded message and exit code 2, at the boundary."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with audit.acting_from("cli"):
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


def os_login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _users(db: Any) -> Any:
    from safeground.record.users import Users

    return Users(db)


def authenticate(db: Any, user: str | None, command: str, *,
                 required: bool = True) -> Any:
    """The user a command acts as: ``--user NAME`` (or $SAFEGROUND_USER) with a password
    asked for, else the API token in $SAFEGROUND_TOKEN. Returns None when neither is given and
    not ``required``. Failures are audited and raise AuthenticationError (LOGIN_FAILED,
    TOKEN_INVALID, UNAUTHENTICATED)."""
    from safeground.record.users import shown_name

    users = _users(db)
    name = user or os.environ.get(USER_ENV)
    token = os.environ.get(TOKEN_ENV, "").strip()
    if name:
        try:
            password = click.prompt(f"Password for {name}", hide_input=True, err=True,
                                    default="", show_default=False)
        except (click.exceptions.Abort, EOFError):  # no terminal and nothing on stdin
            raise AuthenticationError(
                f"no password given for {shown_name(name)}: type it at the prompt, or set "
                f"{TOKEN_ENV} to an API token", code="UNAUTHENTICATED") from None
        found = users.check_password(name, password)
        if found is None:
            audit.record(db, shown_name(name), "login_failed", os_login(),
                         {"kind": "cli", "command": command})
            raise AuthenticationError("wrong user name or password", code="LOGIN_FAILED")
        return found
    if token:
        found = users.session_user(token, kind="token")
        if found is None:
            audit.record(db, "?", "login_failed", os_login(),
                         {"kind": "cli-token", "command": command})
            raise AuthenticationError(f"the API token in {TOKEN_ENV} is unknown or expired",
                                      code="TOKEN_INVALID")
        return found
    if required:
        raise AuthenticationError(
            f"'{command}' acts as a registered user: give --user NAME (the password is asked "
            f"for) or set {TOKEN_ENV} to an API token", code="UNAUTHENTICATED")
    return None


def _allowed(db: Any, found: Any, permission: Any, command: str) -> Any:
    if not found.can(permission):
        audit.record(db, found.name, "forbidden", command,
                     {"needs": permission.value, "roles": sorted(found.roles)})
        raise PermissionDeniedError(
            f"{found.name}'s roles ({', '.join(sorted(found.roles)) or 'none'}) do not allow "
            f"'{command}' ({permission.value})", code="FORBIDDEN",
            details={"needs": permission.value})
    return found


def acting_user(db: Any, user: str | None, permission: Any, command: str) -> Any:
    """The authenticated, active user who runs a command that changes something, holding
    ``permission`` (a ``safeground.record.users.Permission``). Raises AuthenticationError or
    PermissionDeniedError (both audited)."""
    return _allowed(db, authenticate(db, user, command), permission, command)


def reading_user(db: Any, user: str | None, permission: Any, command: str,
                 target: str | None = None, *, required: bool = False) -> Any:
    """Who runs a command that reads: the authenticated user holding ``permission`` when
    ``--user`` or a token is given (or ``required``), else None (an unauthenticated read).
    Either way the read is audited (``cli_read``)."""
    found = authenticate(db, user, command, required=required)
    if found is not None:
        _allowed(db, found, permission, command)
    audit.record(db, found.name if found else "(unauthenticated)", "cli_read", target,
                 {"command": command, "os_user": os_login()})
    return found


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
