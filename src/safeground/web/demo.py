"""The demo's users and its web server (``make demo``).

One user per role, with passwords made at random each time the demo runs and printed once;
nothing secret is kept in the repository. The demo is the record's local administrator (it
creates the record): its grants of victim_data and admin apply at once and are audited as such
(``role_grant_direct``). It then submits and approves as two of these users, signed in with
their passwords (``sign_in``).
"""

from __future__ import annotations

import secrets
from pathlib import Path

from rich.console import Console
from rich.table import Table

from safeground.record.ledger import Ledger
from safeground.record.users import Permission, Role, Users

#: user name -> role. records.officer and ops.chief are the names the demo submits and
#: approves under, so the record's history names the same people.
DEMO_USERS: dict[str, Role] = {
    "visitor": Role.VIEWER,
    "records.officer": Role.DATA_ENTRY,
    "ops.chief": Role.APPROVER,
    "gis.analyst": Role.ANALYST,
    "va.officer": Role.VICTIM_DATA,
    "admin": Role.ADMIN,
}
HOST, PORT = "127.0.0.1", 8000


def add_demo_users(ledger: Ledger, console: Console) -> dict[str, str]:
    """Add the demo users with fresh random passwords; print and return name -> password."""
    users = Users(ledger.db)
    known = {u.name for u in users.list()}
    accounts: dict[str, str] = {}
    for name, role in DEMO_USERS.items():
        password = secrets.token_urlsafe(12)
        if name in known:
            users.set_password(name, password, by="demo", direct=True)
            users.set_roles(name, [role], by="demo", direct=True)
        else:
            users.add(name, password, [role], by="demo", direct=True)
        accounts[name] = password
    t = Table(title="Demo users (passwords made for this run)")
    for col in ("user", "role", "password"):
        t.add_column(col)
    for name, role in DEMO_USERS.items():
        t.add_row(name, role.value, accounts[name])
    console.print(t)
    return accounts


def sign_in(ledger: Ledger, name: str, password: str, permission: Permission) -> str:
    """The name of demo user ``name``, signed in with ``password`` and holding
    ``permission`` (the demo acts as its users the way the command line does)."""
    from safeground.errors import AuthenticationError, PermissionDeniedError

    user = Users(ledger.db).check_password(name, password)
    if user is None:
        raise AuthenticationError(f"demo user {name} cannot sign in", code="LOGIN_FAILED")
    if not user.can(permission):
        raise PermissionDeniedError(f"demo user {name} may not {permission.value}",
                                    code="FORBIDDEN")
    return user.name


def serve_demo(ledger: Ledger, workdir: Path, accounts: dict[str, str],
               console: Console) -> None:
    """Serve the web app over the demo record until interrupted."""
    import uvicorn

    from safeground.web.app import create_app

    app = create_app(ledger.settings, work_dir=workdir, ledger=ledger)
    console.rule("Web app")
    console.print(f"Open [bold]http://{HOST}:{PORT}/[/] and sign in as one of the users above "
                  f"(e.g. ops.chief for the review queue, visitor for the public view). "
                  f"QGIS: OGC API – Features at http://{HOST}:{PORT}/ogc. Stop with Ctrl-C.")
    from safeground.web.cli import uvicorn_options

    uvicorn.run(app, log_level="warning", **uvicorn_options(HOST, PORT, []))
