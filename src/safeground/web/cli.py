"""``safeground serve`` and ``safeground user ...``: run the web app, manage its users.

User commands act as an authenticated admin (``--user NAME`` with the password asked for, or
``$SAFEGROUND_TOKEN``; see ``safeground.cli_boundary``), except in two audited cases of the
*local administrator* — someone with access to the server and the record's database, who could
change the tables directly anyway:

* while the record has no active admin, ``safeground user add NAME --role admin`` needs no
  authentication (setting up the very first admin);
* ``--local-admin`` on ``user add``, ``role``, ``password``, ``activate``, ``deactivate``
  (recovery: every admin locked out or gone).

Both are written to the audit trail as ``local_admin`` (with the operating-system login) and
their grants of sensitive roles apply at once (``role_grant_direct``); the audit page shows
them to every admin as alerts. Otherwise granting ``victim_data`` or ``admin`` waits for a
second admin (``safeground user grants``, ``confirm``, ``refuse``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from safeground.cli_boundary import USER_ENV, DbOpt, acting_user, err, friendly, os_login

console = Console()
user_app = typer.Typer(help="Users of the web app and the API, and their roles.",
                       no_args_is_help=True)


ByOpt = Annotated[str | None, typer.Option(
    "--user", envvar=USER_ENV, show_envvar=False,
    help="The admin who acts (password asked for; default $SAFEGROUND_USER, else the API "
    "token in $SAFEGROUND_TOKEN)")]
LocalOpt = Annotated[bool, typer.Option(
    "--local-admin", help="Act as the local administrator (access to the server and the "
    "record's database), without a user: audited and shown to every admin")]


def _users(db: str | None) -> Any:  # a Users over the record named by --db
    from safeground.record.storage import Database
    from safeground.record.users import Users
    from safeground.settings import Settings

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
              "again when reports are approved")] = True,
          forwarded_allow_ips: Annotated[str, typer.Option(
              "--forwarded-allow-ips", help="Comma-separated addresses (or networks) of the "
              "reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed "
              "(default: none; the connection's own address is the client's)")] = "",
          basemap: Annotated[Path | None, typer.Option(
              "--basemap", help="An offline basemap: a raster MBTiles or PMTiles file (PNG, "
              "JPEG or WebP tiles) the app serves under the map's layers; nothing is fetched from "
              "the internet")] = None,
          public_url: Annotated[str | None, typer.Option(
              "--public-url", envvar="SAFEGROUND_PUBLIC_URL", show_envvar=False,
              help="The address users reach the app at, e.g. https://imas.example.org "
              "(default: $SAFEGROUND_PUBLIC_URL, else the address served on): links in OGC "
              "and API answers use it, never the request's Host header")] = None,
          workers: Annotated[int, typer.Option(
              "--workers", min=1, max=64, help="Worker processes answering requests (about one "
              "per CPU core); they share sessions, throttling, jobs and the re-planning "
              "through the database")] = 1,
          db_connections: Annotated[int, typer.Option(
              "--db-connections", min=1, max=1000, help="Database connections this server keeps "
              "open, shared among its workers (each keeps at least 4, and as many again for "
              "a while under load); keep the sum over all servers below PostgreSQL's "
              "max_connections")] = 20,
          graceful_timeout: Annotated[int, typer.Option(
              "--graceful-timeout", min=1, help="Seconds a stopping server (SIGTERM, Ctrl-C) "
              "waits for the requests it is answering")] = 30) -> None:
    """Run the web app, the API and OGC API – Features (docs/web.md, docs/deploy.md)."""
    import uvicorn

    from safeground.record.storage import Database
    from safeground.settings import Settings
    from safeground.web.app import check_public_url
    from safeground.web.serving import ServeOptions, build, per_worker, to_env

    proxies = [p.strip() for p in forwarded_allow_ips.split(",") if p.strip()]
    options = ServeOptions(db, str(work_dir.resolve()) if work_dir else None, secure_cookies,
                           follow_approvals, check_public_url(public_url),
                           per_worker(db_connections, workers),
                           str(basemap.resolve()) if basemap else None)
    shown = options.public_url or f"http://{host}:{port}"
    run: dict[str, Any] = {"log_level": "info", "timeout_graceful_shutdown": graceful_timeout,
                           **uvicorn_options(host, port, proxies)}
    if workers == 1:
        app: Any = build(options)
    else:
        import os

        # the schema brought up to date once, here, before the workers open the record
        Database.open(Settings.from_env(database_url=db).database_url).close()
        os.environ.update(to_env(options))
        app = "safeground.web.serving:app_from_env"
        # a worker builds its app before it answers uvicorn's health check: seconds on a busy
        # machine, more than uvicorn's default 5 s
        run.update(factory=True, workers=workers, timeout_worker_healthcheck=120)
    console.print(f"Safeground at [bold]{shown}/[/]  (OGC API – Features: {shown}/ogc; "
                  f"{workers} worker{'s' if workers > 1 else ''}, {options.connections} "
                  f"database connections each; trusted proxies: {', '.join(proxies) or 'none'}; "
                  "stop with Ctrl-C)")
    uvicorn.run(app, **run)


def uvicorn_options(host: str, port: int, proxies: list[str]) -> dict[str, Any]:
    """How uvicorn is run: forwarded headers believed only from ``proxies`` (uvicorn's own
    default would believe 127.0.0.1, or $FORWARDED_ALLOW_IPS)."""
    return {"host": host, "port": port, "proxy_headers": bool(proxies),
            "forwarded_allow_ips": ",".join(proxies) if proxies else ""}


def _password(stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


def _admin(db: str | None, by: str | None, local_admin: bool, command: str, *,
           bootstrap: bool = False) -> tuple[Any, str, bool]:
    """The Users store, who acts and whether as the local administrator (see the module)."""
    from safeground.record import audit
    from safeground.record.users import Permission

    users = _users(db)
    if local_admin or (bootstrap and by is None and not users.has_admin()):
        actor = f"local-admin:{os_login()}"
        audit.record(users.db, actor, "local_admin", command,
                     {"os_user": os_login(), "first_admin": not local_admin})
        err.print(f"[yellow]acting as the local administrator ({actor}); audited[/]")
        return users, actor, True
    return users, acting_user(users.db, by, Permission.MANAGE_USERS, command).name, False


def _pending(users: Any, name: str) -> None:
    waiting = [g for g in users.grants() if g["user_name"].lower() == name.lower()]
    for g in waiting:
        console.print(f"grant {g['id']}: {', '.join(g['roles'])} for [bold]{g['user_name']}[/] "
                      f"waits for a second admin (safeground user confirm {g['id']})")


@user_app.command("add")
@friendly
def add(name: str,
        role: Annotated[list[str], typer.Option("--role", help="A role (repeat for several): "
                                                "viewer, data_entry, approver, analyst, "
                                                "victim_data, admin")],
        password_stdin: Annotated[bool, typer.Option(
            "--password-stdin", help="Read the new user's password from the first line of "
            "standard input instead of prompting")] = False,
        db: DbOpt = None, by: ByOpt = None, local_admin: LocalOpt = False) -> None:
    """Add a user with one or more roles (prompts for the password). victim_data and admin
    wait for a second admin, except for the local administrator (and the very first admin)."""
    users, actor, direct = _admin(db, by, local_admin, "user add", bootstrap=True)
    u = users.add(name, _password(password_stdin), role, by=actor, direct=direct)
    console.print(f"user [bold]{u.name}[/] added with roles {', '.join(sorted(u.roles)) or 'none'}")
    _pending(users, u.name)


@user_app.command("list")
@friendly
def list_(db: DbOpt = None, by: ByOpt = None) -> None:
    """Every user, their roles and whether they are active (for an admin)."""
    from safeground.cli_boundary import reading_user
    from safeground.record.users import Permission

    users = _users(db)
    reading_user(users.db, by, Permission.MANAGE_USERS, "user list", required=True)
    t = Table("user", "roles", "active")
    for u in users.list():
        t.add_row(u.name, ", ".join(sorted(u.roles)), "yes" if u.active else "no")
    console.print(t)


@user_app.command("role")
@friendly
def role(name: str,
         role: Annotated[list[str], typer.Option("--role", help="The user's roles from now on "
                                                 "(repeat for several)")],
         db: DbOpt = None, by: ByOpt = None, local_admin: LocalOpt = False) -> None:
    """Set a user's roles (replacing the ones they had); a new victim_data or admin role
    waits for a second admin."""
    users, actor, direct = _admin(db, by, local_admin, "user role")
    u = users.set_roles(name, role, by=actor, direct=direct)
    console.print(f"user [bold]{u.name}[/] now has roles {', '.join(sorted(u.roles)) or 'none'}")
    _pending(users, u.name)


@user_app.command("password")
@friendly
def password(name: str,
             password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
             db: DbOpt = None, by: ByOpt = None, local_admin: LocalOpt = False) -> None:
    """Set a new password (ends the user's sessions and API tokens). An admin's password is
    set only by that admin or the local administrator."""
    users, actor, direct = _admin(db, by, local_admin, "user password")
    users.set_password(name, _password(password_stdin), by=actor, direct=direct)
    console.print(f"password of [bold]{name}[/] changed; their sessions are closed")


@user_app.command("deactivate")
@friendly
def deactivate(name: str, db: DbOpt = None, by: ByOpt = None,
               local_admin: LocalOpt = False) -> None:
    """Deactivate a user (their sessions and API tokens end at once)."""
    users, actor, _ = _admin(db, by, local_admin, "user deactivate")
    users.set_active(name, False, by=actor)
    console.print(f"user [bold]{name}[/] deactivated")


@user_app.command("activate")
@friendly
def activate(name: str, db: DbOpt = None, by: ByOpt = None,
             local_admin: LocalOpt = False) -> None:
    """Reactivate a deactivated user."""
    users, actor, _ = _admin(db, by, local_admin, "user activate")
    users.set_active(name, True, by=actor)
    console.print(f"user [bold]{name}[/] active again")


@user_app.command("grants")
@friendly
def grants(db: DbOpt = None, by: ByOpt = None) -> None:
    """Grants of victim_data and admin waiting for a second admin."""
    from safeground.cli_boundary import reading_user
    from safeground.record.users import Permission

    users = _users(db)
    reading_user(users.db, by, Permission.MANAGE_USERS, "user grants", required=True)
    t = Table("grant", "user", "roles", "asked by", "asked at (UTC)")
    for g in users.grants():
        t.add_row(str(g["id"]), g["user_name"], ", ".join(g["roles"]), g["requested_by"],
                  g["requested_at"].isoformat(sep=" ", timespec="seconds"))
    console.print(t)


@user_app.command("confirm")
@friendly
def confirm(grant_id: int, db: DbOpt = None, by: ByOpt = None) -> None:
    """Confirm a pending grant as a second admin (not the one who asked, not its user)."""
    from safeground.record.users import Permission

    users = _users(db)
    who = acting_user(users.db, by, Permission.MANAGE_USERS, "user confirm")
    u = users.confirm_grant(grant_id, who.name)
    console.print(f"grant {grant_id} confirmed: [bold]{u.name}[/] now has roles "
                  f"{', '.join(sorted(u.roles))}")


@user_app.command("refuse")
@friendly
def refuse(grant_id: int, db: DbOpt = None, by: ByOpt = None) -> None:
    """Refuse a pending grant (or withdraw one's own request)."""
    from safeground.record.users import Permission

    users = _users(db)
    who = acting_user(users.db, by, Permission.MANAGE_USERS, "user refuse")
    users.refuse_grant(grant_id, who.name)
    console.print(f"grant {grant_id} refused")


@user_app.command("token")
@friendly
def token(db: DbOpt = None, by: ByOpt = None) -> None:
    """Sign in (password asked for) and print a new API token for scripts: export it as
    SAFEGROUND_TOKEN (valid 30 days; ends with a new password or deactivation)."""
    import click

    from safeground.errors import AuthenticationError

    if not by:
        raise AuthenticationError("name yourself with --user NAME (a token is made from a "
                                  "password sign-in)", code="UNAUTHENTICATED")
    password = click.prompt(f"Password for {by}", hide_input=True, err=True, default="",
                            show_default=False)
    _user, tok = _users(db).login(by, password, kind="token", client=f"cli:{os_login()}")
    typer.echo(tok)


__all__ = ["err", "serve", "user_app"]
