"""The command line, end to end, as a user would run it."""

import functools
import json

import pytest
from typer.testing import CliRunner

from harness.accounts import password
from safeground import example
from safeground.cli import app
from safeground.record.exchange import write_reports

runner = CliRunner()


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("SAFEGROUND_DATABASE_URL", f"sqlite:///{tmp_path}/r.sqlite")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("SAFEGROUND_TOKEN", raising=False)
    monkeypatch.delenv("SAFEGROUND_USER", raising=False)
    return tmp_path


def test_import_approve_status_history_export(cli_accounts, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    run = functools.partial(cli_accounts.run, app)
    reports = write_reports(example.records(), tmp_path / "reports.geojson")
    r = run(["import", str(reports), "--no-progress"], user="dana")
    assert r.exit_code == 0 and "49 accepted" in r.output, r.output
    r = run(["approve", "--all"], user="dana")          # her own submissions
    assert r.exit_code == 1 and "APPROVER_IS_SUBMITTER" in r.output   # refused, one by one
    r = run(["approve", "--all"], user="bob")
    assert r.exit_code == 0 and "49 approved" in r.output
    r = run(["status", "--json"])
    summary = json.loads(r.output)
    assert summary["areas_open"] == {"SHA": 2, "CHA": 4}
    assert summary["items"]["AP_mine"] == 3
    r = run(["as-of", "2021-03-01", "--json"], user="viewer")
    assert json.loads(r.stdout)["released_m2"]["cleared"] == 0
    r = run(["history", "HA-002"], user="carol")
    assert r.exit_code == 0 and "land_release" in r.output
    out = tmp_path / "victims.geojson"
    assert run(["export", str(out), "--type", "victim"]).exit_code == 0
    victims = json.loads(out.read_text())["features"]
    assert len(victims) == 2 and all("name" not in v["properties"] for v in victims)
    trail = _trail(cli_accounts.url)
    assert ("dana", "submit", "cli") in trail and ("bob", "approve", "cli") in trail
    assert ("(unauthenticated)", "cli_read", "cli") in trail      # status, no user given
    assert ("viewer", "cli_read", "cli") in trail and ("carol", "cli_read", "cli") in trail


def _trail(url: str, action: str | None = None) -> list[tuple]:
    from safeground.record import audit
    from safeground.record.storage import Database

    db = Database.open(url)
    try:
        rows = audit.entries(db, 10_000, action)
    finally:
        db.close()
    return [(r["user"], r["action"], r["source"]) if action is None else r for r in rows]


def test_one_person_cannot_submit_and_approve_as_two(cli_accounts, tmp_path):
    """The two-person rule on the command line: naming another approver needs their
    password; an approver who submitted cannot approve."""
    run = functools.partial(cli_accounts.run, app)
    reports = write_reports(example.records()[:5], tmp_path / "reports.geojson")
    assert run(["import", str(reports), "--no-progress"], user="alice").exit_code == 0
    # alice claims to be bob: she does not know his password
    r = run(["approve", "--all"], user="bob", typed=password("alice"))
    assert r.exit_code == 2 and "LOGIN_FAILED" in r.output and "approved" not in r.output
    # alice as herself has no approver role
    r = run(["approve", "--all"], user="alice")
    assert r.exit_code == 2 and "FORBIDDEN" in r.output
    # no name at all: no longer the login name of the operating system
    r = run(["approve", "--all"])
    assert r.exit_code == 2 and "UNAUTHENTICATED" in r.output
    refused = _trail(cli_accounts.url, "login_failed")
    assert refused[0]["user"] == "bob" and refused[0]["source"] == "cli" and \
        refused[0]["detail"]["command"] == "approve"
    forbidden = _trail(cli_accounts.url, "forbidden")
    assert forbidden[0]["user"] == "alice" and forbidden[0]["detail"]["needs"] == "decide"
    from safeground.record.ledger import Ledger
    from safeground.record.storage import Database
    from safeground.record.vocabulary import ReportStatus

    db = Database.open(cli_accounts.url)
    assert len(Ledger(db).reports(status=ReportStatus.SUBMITTED)) == 5      # none approved
    db.close()
    r = run(["approve", "--all"], user="BOB", typed=password("bob"))    # any case: bob
    assert r.exit_code == 0 and "5 approved" in r.output
    assert ("bob", "approve", "cli") in _trail(cli_accounts.url)


@pytest.mark.parametrize("case", ["unknown", "inactive", "wrong", "no-role"])
def test_refused_commands_exit_2_with_a_code_and_an_audit_entry(cli_accounts, tmp_path, case):
    from safeground.record.storage import Database
    from safeground.record.users import Users

    reports = write_reports(example.records()[:2], tmp_path / "reports.geojson")
    if case == "inactive":
        db = Database.open(cli_accounts.url)
        Users(db).set_active("alice", False)
        db.close()
    user, typed = {"unknown": ("mallory", "whatever-password"), "inactive": ("alice", None),
                   "wrong": ("alice", "not-her-password"), "no-role": ("carol", None)}[case]
    r = cli_accounts.run(app, ["import", str(reports), "--no-progress"], user=user,
                         typed=typed)
    code = "FORBIDDEN" if case == "no-role" else "LOGIN_FAILED"
    assert r.exit_code == 2 and f"error {code}" in r.output and "accepted" not in r.output
    entry = _trail(cli_accounts.url, "forbidden" if case == "no-role" else "login_failed")[0]
    assert entry["user"] == user and entry["source"] == "cli"
    assert ("alice" if case != "no-role" else "carol", "submit", "cli") not in \
        _trail(cli_accounts.url)


def test_an_api_token_in_the_environment_authenticates(cli_accounts, tmp_path):
    run = functools.partial(cli_accounts.run, app)
    reports = write_reports(example.records()[:3], tmp_path / "reports.geojson")
    r = run(["import", str(reports), "--no-progress"],
            env={"SAFEGROUND_TOKEN": cli_accounts.token("alice")})
    assert r.exit_code == 0 and "3 accepted" in r.output, r.output
    r = run(["approve", "--all"], env={"SAFEGROUND_TOKEN": cli_accounts.token("alice")})
    assert r.exit_code == 2 and "FORBIDDEN" in r.output
    r = run(["approve", "--all"], env={"SAFEGROUND_TOKEN": "made-up"})
    assert r.exit_code == 2 and "TOKEN_INVALID" in r.output
    r = run(["approve", "--all"], env={"SAFEGROUND_TOKEN": cli_accounts.token("bob")})
    assert r.exit_code == 0 and "3 approved" in r.output
    # the token printed by `safeground user token` works the same way
    r = run(["user", "token"], user="bob")
    assert r.exit_code == 0, r.output
    printed = r.stdout.strip().splitlines()[-1]
    r = run(["status"], env={"SAFEGROUND_TOKEN": printed})
    assert r.exit_code == 0 and ("bob", "cli_read", "cli") in _trail(cli_accounts.url)


def test_reading_victims_personal_data_needs_the_role(cli_accounts, tmp_path):
    pytest.importorskip("pyogrio")
    run = functools.partial(cli_accounts.run, app)
    reports = write_reports(example.records(), tmp_path / "reports.geojson")
    assert run(["import", str(reports), "--no-progress"], user="alice").exit_code == 0
    assert run(["approve", "--all"], user="bob").exit_code == 0
    out = tmp_path / "all.gpkg"
    r = run(["intake", "export-gpkg", str(out), "--sensitive"])
    assert r.exit_code == 2 and "UNAUTHENTICATED" in r.output and not out.exists()
    r = run(["intake", "export-gpkg", str(out), "--sensitive"], user="carol")
    assert r.exit_code == 2 and "FORBIDDEN" in r.output and not out.exists()
    r = run(["intake", "export-gpkg", str(out), "--sensitive"], user="victor")
    assert r.exit_code == 0 and out.exists(), r.output
    read = _trail(cli_accounts.url, "cli_read")[0]
    assert read["user"] == "victor" and read["detail"]["command"] == "intake export-gpkg"


def test_user_mistakes_exit_non_zero_without_traceback(cli_accounts, tmp_path):
    run = functools.partial(cli_accounts.run, app)
    bad = tmp_path / "bad.csv"
    bad.write_text("report_type,object_id,date_of_information,organisation,author,name,kind\n"
                   "organisation,ORG-1,2021-13-45,ANAMA,a,ANAMA,ngo\n")
    r = run(["import", str(bad), "--no-progress"], user="alice")
    assert r.exit_code == 1 and "DATE_INVALID" in r.output and "bad.csv row 2" in r.output
    r = run(["as-of", "yesterday"])
    assert r.exit_code == 2 and "Traceback" not in r.output
    r = run(["import", str(tmp_path / "missing.csv"), "--no-progress"], user="alice")
    # a file refused whole is 2 (docs/cli.md); 1 is "some rows refused"
    assert r.exit_code == 2 and "FILE_UNREADABLE" in r.output
    r = run(["export", str(tmp_path / "x.geojson"), "--type", "minefield"])
    assert r.exit_code == 2


def run(*args):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_main_turns_errors_into_a_message(env, capsys):
    from safeground import cli

    with pytest.raises(SystemExit) as e:
        import sys
        sys.argv = ["safeground", "history", "HA-404"]
        cli.main()
    assert e.value.code == 2
    assert "OBJECT_NOT_FOUND" in capsys.readouterr().err


def test_demo_runs(tmp_path):
    r = run("demo", "--example", "--no-serve", "--workdir", str(tmp_path / "demo"))
    assert r.exit_code == 0, r.output
    assert "Approved 49" in r.output
    assert (tmp_path / "demo" / "hazardous_areas.geojson").exists()
    report = (tmp_path / "demo" / "programme-report.html").read_text()
    assert "Mine action programme report" in report and "<svg" in report
    assert (tmp_path / "demo" / "programme-report.xlsx").stat().st_size > 0


def test_lazy_groups_are_listed_with_their_own_help():
    """``safeground --help`` lists the groups without importing them; the short texts must be
    what each group says of itself once loaded."""
    from safeground.cli import LAZY

    for name, lazy in LAZY.items():
        loaded = (lazy.load().help or "").strip().splitlines()[0]
        assert loaded == lazy.help, name
    r = runner.invoke(app, ["--help"])
    assert r.exit_code == 0 and all(name in r.output for name in LAZY)
