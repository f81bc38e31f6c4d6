"""``safeground user ...`` and the demo's users (the demo runs without serving here)."""

from __future__ import annotations

from io import StringIO

from rich.console import Console
from typer.testing import CliRunner

from safeground.cli import app
from safeground.web.users import Users


def test_user_commands(tmp_path):
    db = f"sqlite:///{tmp_path}/record.sqlite"
    run = CliRunner().invoke
    cli = app
    r = run(cli, ["user", "add", "amina", "--role", "approver", "--role", "analyst",
                  "--password-stdin", "--db", db, "--user", "setup"], input="a-long-password\n")
    assert r.exit_code == 0, r.output
    assert "approver" in r.output
    r = run(cli, ["user", "add", "x", "--role", "viewer", "--password-stdin", "--db", db],
            input="short\n")
    assert r.exit_code == 2 and "USER_NAME_INVALID" in r.output + (r.stderr or "")
    r = run(cli, ["user", "add", "rashad", "--role", "pilot", "--password-stdin", "--db", db],
            input="a-long-password\n")
    assert r.exit_code == 2
    r = run(cli, ["user", "role", "amina", "--role", "viewer", "--db", db])
    assert r.exit_code == 0, r.output
    r = run(cli, ["user", "list", "--db", db])
    assert "amina" in r.output and "viewer" in r.output and "analyst" not in r.output
    from safeground.record.storage import Database

    users = Users(Database.open(db))
    assert users.check_password("amina", "a-long-password").roles == {"viewer"}
    r = run(cli, ["user", "deactivate", "amina", "--db", db])
    assert r.exit_code == 0 and users.check_password("amina", "a-long-password") is None


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
