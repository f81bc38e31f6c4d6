"""The command line, end to end, as a user would run it (issue 2, item 7)."""

import json

import pytest
from typer.testing import CliRunner

from safeground import example
from safeground.cli import app
from safeground.record.exchange import write_reports

runner = CliRunner()


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("SAFEGROUND_DATABASE_URL", f"sqlite:///{tmp_path}/r.sqlite")
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path


def run(*args, user=None):
    argv = list(args) + (["--user", user] if user else [])
    return runner.invoke(app, argv, catch_exceptions=False)


def test_import_approve_status_history_export(env):
    reports = write_reports(example.records(), env / "reports.geojson")
    assert run("init").exit_code == 0
    r = run("import", str(reports), "--no-progress", user="alice")
    assert r.exit_code == 0 and "49 accepted" in r.output, r.output
    r = run("approve", "--all", user="alice")
    assert r.exit_code == 1 and "0 approved, 49 refused" in r.output
    assert r.output.count("APPROVER_IS_SUBMITTER") == 49
    r = run("approve", "--all", user="bob")
    assert r.exit_code == 0 and "49 approved" in r.output
    r = run("status", "--json")
    summary = json.loads(r.output)
    assert summary["areas_open"] == {"SHA": 2, "CHA": 4}
    assert summary["items"]["AP_mine"] == 3
    r = run("as-of", "2021-03-01", "--json")
    assert json.loads(r.output)["released_m2"]["cleared"] == 0
    r = run("history", "HA-002")
    assert r.exit_code == 0 and "land_release" in r.output
    out = env / "victims.geojson"
    assert run("export", str(out), "--type", "victim").exit_code == 0
    victims = json.loads(out.read_text())["features"]
    assert len(victims) == 2 and all("name" not in v["properties"] for v in victims)


def test_user_mistakes_exit_non_zero_without_traceback(env, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("report_type,object_id,date_of_information,organisation,author,name,kind\n"
                   "organisation,ORG-1,2021-13-45,ANAMA,a,ANAMA,ngo\n")
    r = runner.invoke(app, ["import", str(bad), "--no-progress"])
    assert r.exit_code == 1 and "DATE_INVALID" in r.output and "bad.csv row 2" in r.output
    r = runner.invoke(app, ["as-of", "yesterday"])
    assert r.exit_code == 2 and "Traceback" not in r.output
    r = runner.invoke(app, ["import", str(tmp_path / "missing.csv"), "--no-progress"])
    assert r.exit_code == 1 and "FILE_UNREADABLE" in r.output
    r = runner.invoke(app, ["export", str(tmp_path / "x.geojson"), "--type", "minefield"])
    assert r.exit_code == 2


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
