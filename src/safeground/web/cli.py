"""``safeground serve`` and ``safeground user ...``: run the web app, manage its users."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from safeground.cli_boundary import err, friendly, user_name

console = Console()
user_app = typer.Typer(help="Users of the web app and the API, and their roles.",
                       no_args_is_help=True)

DbOpt = Annotated[str | None, typer.Option("--db", help="Database URL (default: "
                                           "$SAFEGROUND_DATABASE_URL or sqlite:///safeground.sqlite)")]


def _users(db: str | None) -> Any:  # a Users over the record named by --db
    from safeground.record.storage import Database
    from safeground.settings import Settings
    from safeground.web.users import Users

    return Users(Database.open(Settings.from_env(database_url=db).database_url))


@friendly
def serve(host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="Port")] = 8000,
          db: DbOpt = None,
          work_dir: Annotated[Path | None, typer.Option(
              "--work-dir", help="Where the risk ranking (area-risk.csv) and the plan (plan/) "
              "are read from")] = None,
          secure_cookies: Annotated[bool, typer.Option(
              "--secure-cookies", help="Send the session cookie over HTTPS only (behind a "
              "TLS proxy)")] = False,
          follow_approvals: Annotated[bool, typer.Option(
              "--follow-approvals/--no-follow-approvals", help="Make the work directory's plan "
              "again from the record when reports are approved")] = True) -> None:
    """Run the web app, the API and OGC API – Features (docs/web.md)."""
    import uvicorn

    from safeground.settings import Settings
    from safeground.web import create_app

    app = create_app(Settings.from_env(database_url=db), work_dir=work_dir,
                     secure_cookies=secure_cookies, follow_approvals=follow_approvals)
    console.print(f"Safeground at [bold]http://{host}:{port}/[/]  (OGC API – Features: "
                  f"http://{host}:{port}/ogc; stop with Ctrl-C)")
    uvicorn.run(app, host=host, port=port, log_level="info")


def _password(stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@user_app.command("add")
@friendly
def add(name: str,
        role: Annotated[list[str], typer.Option("--role", help="A role (repeat for several): "
                                                "viewer, data_entry, approver, analyst, "
                                                "victim_data, admin")],
        password_stdin: Annotated[bool, typer.Option(
            "--password-stdin", help="Read the password from the first line of standard "
            "input instead of prompting")] = False,
        db: DbOpt = None,
        by: Annotated[str | None, typer.Option("--user", help="Who acts (audit trail)")]
        = None) -> None:
    """Add a user with one or more roles (prompts for the password)."""
    u = _users(db).add(name, _password(password_stdin), role, by=user_name(by))
    console.print(f"user [bold]{u.name}[/] added with roles {', '.join(sorted(u.roles))}")


@user_app.command("list")
@friendly
def list_(db: DbOpt = None) -> None:
    """Every user, their roles and whether they are active."""
    t = Table("user", "roles", "active")
    for u in _users(db).list():
        t.add_row(u.name, ", ".join(sorted(u.roles)), "yes" if u.active else "no")
    console.print(t)


@user_app.command("role")
@friendly
def role(name: str,
         role: Annotated[list[str], typer.Option("--role", help="The user's roles from now on "
                                                 "(repeat for several)")],
         db: DbOpt = None,
         by: Annotated[str | None, typer.Option("--user", help="Who acts (audit trail)")]
         = None) -> None:
    """Set a user's roles (replacing the ones they had)."""
    u = _users(db).set_roles(name, role, by=user_name(by))
    console.print(f"user [bold]{u.name}[/] now has roles {', '.join(sorted(u.roles))}")


@user_app.command("password")
@friendly
def password(name: str,
             password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
             db: DbOpt = None,
             by: Annotated[str | None, typer.Option("--user", help="Who acts (audit trail)")]
             = None) -> None:
    """Set a new password (ends the user's sessions and API tokens)."""
    _users(db).set_password(name, _password(password_stdin), by=user_name(by))
    console.print(f"password of [bold]{name}[/] changed; their sessions are closed")


@user_app.command("deactivate")
@friendly
def deactivate(name: str, db: DbOpt = None,
               by: Annotated[str | None, typer.Option("--user", help="Who acts (audit trail)")]
               = None) -> None:
    """Deactivate a user (their sessions and API tokens end at once)."""
    _users(db).set_active(name, False, by=user_name(by))
    console.print(f"user [bold]{name}[/] deactivated")


__all__ = ["err", "serve", "user_app"]
