"""``safeground user ...`` and the demo's users (the demo runs without serving here)."""

from __future__ import annotations

from io import StringIO

from rich.console import Console
from typer.testing import CliRunner

from safeground.cli import app
from safeground.record.users import Users


def _run(db: str, args: list[str], *lines: str):
    """``safeground ARGS --db DB`` with ``lines`` typed (passwords asked for, then standard
    input), no token or user from the environment."""
    return CliRunner().invoke(app, [*args, "--db", db], input="".join(f"{x}\n" for x in lines),
                              env={"SAFEGROUND_TOKEN": None, "SAFEGROUND_USER": None})


def _trail(db: str, action: str) -> list[dict]:
    from safeground.record import audit
    from safeground.record.storage import Database

    return audit.entries(Database.open(db), 1000, action)


def test_user_commands(tmp_path):
    from safeground.record.storage import Database

    db = f"sqlite:///{tmp_path}/record.sqlite"
    # the very first admin: no authentication while the record has no admin (audited)
    r = _run(db, ["user", "add", "Amina", "--role", "admin", "--role", "analyst",
                  "--password-stdin"], "amina-password")
    assert r.exit_code == 0, r.output
    assert "local administrator" in r.output and "admin" in r.output
    users = Users(Database.open(db))
    assert users.check_password("amina", "amina-password").roles == {"admin", "analyst"}
    assert _trail(db, "local_admin")[0]["detail"]["first_admin"] is True
    assert _trail(db, "role_grant_direct")[0]["target"] == "amina"
    # from now on an admin acts, signed in
    r = _run(db, ["user", "add", "rashad", "--role", "approver", "--password-stdin"],
             "rashad-password")
    assert r.exit_code == 2 and "UNAUTHENTICATED" in r.output
    assert users.list() == [users.get("amina")]
    r = _run(db, ["user", "add", "rashad", "--role", "approver", "--password-stdin",
                  "--user", "amina"], "amina-password", "rashad-password")
    assert r.exit_code == 0 and "approver" in r.output, r.output
    r = _run(db, ["user", "add", "RASHAD", "--role", "viewer", "--password-stdin", "--user",
                  "amina"], "amina-password", "another-password")
    assert r.exit_code == 2 and "USER_EXISTS" in r.output
    r = _run(db, ["user", "add", "x", "--role", "viewer", "--password-stdin", "--user",
                  "amina"], "amina-password", "short")
    assert r.exit_code == 2 and "USER_NAME_INVALID" in r.output
    r = _run(db, ["user", "add", "leyla", "--role", "pilot", "--password-stdin", "--user",
                  "amina"], "amina-password", "leyla-password")
    assert r.exit_code == 2 and "USER_ROLE_UNKNOWN" in r.output
    # an approver is no admin
    r = _run(db, ["user", "role", "rashad", "--role", "admin", "--user", "rashad"],
             "rashad-password")
    assert r.exit_code == 2 and "FORBIDDEN" in r.output
    # victim_data waits for a second admin; amina cannot confirm her own request
    r = _run(db, ["user", "role", "rashad", "--role", "approver", "--role", "victim_data",
                  "--user", "amina"], "amina-password")
    assert r.exit_code == 0 and "waits for a second admin" in r.output, r.output
    assert users.get("rashad").roles == {"approver"}
    grant = users.grants()[0]
    r = _run(db, ["user", "confirm", str(grant["id"]), "--user", "amina"], "amina-password")
    assert r.exit_code == 2 and "GRANT_SAME_ADMIN" in r.output
    # a second admin: asked for by amina, confirmed by nobody else yet -> the local
    # administrator (audited, an alert on the audit page) makes leyla admin at once
    r = _run(db, ["user", "add", "leyla", "--role", "admin", "--password-stdin", "--user",
                  "amina"], "amina-password", "leyla-password")
    assert r.exit_code == 0 and "waits for a second admin" in r.output
    assert users.get("leyla").roles == frozenset()
    r = _run(db, ["user", "role", "leyla", "--role", "admin", "--local-admin"])
    assert r.exit_code == 0 and users.get("leyla").roles == {"admin"}, r.output
    assert _trail(db, "local_admin")[0]["target"] == "user role"
    r = _run(db, ["user", "grants", "--user", "leyla"], "leyla-password")
    assert r.exit_code == 0 and "victim_data" in r.output
    r = _run(db, ["user", "confirm", str(grant["id"]), "--user", "leyla"], "leyla-password")
    assert r.exit_code == 0, r.output
    assert users.get("rashad").roles == {"approver", "victim_data"}
    confirmed = _trail(db, "role_grant_confirm")[0]
    assert confirmed["user"] == "leyla" and confirmed["source"] == "cli"
    r = _run(db, ["user", "list"])
    assert r.exit_code == 2 and "UNAUTHENTICATED" in r.output
    r = _run(db, ["user", "list", "--user", "amina"], "amina-password")
    assert "rashad" in r.output and "victim_data" in r.output
    r = _run(db, ["user", "deactivate", "rashad", "--user", "amina"], "amina-password")
    assert r.exit_code == 0 and users.check_password("rashad", "rashad-password") is None
    assert _trail(db, "user_deactivate")[0]["user"] == "amina"


def test_demo_adds_one_user_per_role_with_fresh_passwords(tmp_path):
    from safeground.demo import run
    from safeground.web.demo import DEMO_USERS

    out = StringIO()
    ledger = run(tmp_path / "demo", Console(file=out, width=120), use_example=True,
                 serve=False)
    users = {u.name: u for u in Users(ledger.db).list()}
    assert {n: next(iter(u.roles)) for n, u in users.items()} == DEMO_USERS
    printed = out.getvalue()
    assert "Demo users" in printed
    line = next(x for x in printed.splitlines() if "ops.chief" in x and "approver" in x)
    password = line.split()[-2] if line.rstrip().endswith("│") else line.split()[-1]
    assert Users(ledger.db).check_password("ops.chief", password) is not None
