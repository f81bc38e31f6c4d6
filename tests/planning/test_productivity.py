"""Team rates and bases from the record: plans run at the pace the teams have shown,
from where they work."""

import datetime as dt
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from safeground import example
from safeground.cli import app
from safeground.planning.config import DEFAULT_CONFIG, load_config
from safeground.planning.model import Prepared
from safeground.planning.productivity import _union_days, measured_rates
from safeground.planning.record import instance_from_record
from safeground.record.geometry import Projector
from safeground.record.ledger import Ledger
from safeground.record.storage import Database
from safeground.settings import Settings

EVERY_ONE = load_config(overrides={"productivity": {"record_min_activities": 1}})


@pytest.fixture
def record(tmp_path):
    url = f"sqlite:///{tmp_path}/r.sqlite"
    ledger = Ledger(Database.open(url), Settings(database_url=url))
    res = ledger.submit(example.records(), user="officer")
    ledger.approve(res.accepted, user="chief")
    return url, ledger


def _m2(ledger, rtype, oid, field):
    obj = ledger.get(rtype, oid)
    return float(Projector(ledger.settings.utm_epsg).to_metric(obj[field]).area)


def test_rates_are_land_worked_per_working_day_less_set_up(record):
    _, ledger = record
    rates = measured_rates(ledger, config=EVERY_ONE)
    mob, week = EVERY_ONE.mobilisation_days, EVERY_ONE.days_per_week / 7.0
    # TS: HA-005 from 1 to 20 March, nothing released before: its whole land worked
    ts = rates["ts"]
    ha5 = ledger.get("hazardous_area", "HA-005")["original_m2"]
    assert (ts.activities, ts.teams) == (1, 1)
    assert ts.worked_m2 == pytest.approx(ha5, rel=1e-6)
    assert ts.measured_m2_per_day == pytest.approx(ha5 / (20 * week - mob), rel=1e-4)
    assert (ts.used_m2_per_day, ts.source) == (ts.measured_m2_per_day, "record")
    # clearance: the land the activity cleared (two release reports), 1 April to 20 June
    cleared = _m2(ledger, "land_release", "LR-004", "geometry") + _m2(
        ledger, "land_release", "LR-005", "geometry")
    manual = rates["manual"]
    assert manual.worked_m2 == pytest.approx(cleared, rel=1e-6)
    assert manual.measured_m2_per_day == pytest.approx(cleared / (81 * week - mob), rel=1e-4)
    # NTS: two short tasks of one team (3 + 2 days); set-up never takes more than half
    nts = rates["nts"]
    assert (nts.activities, nts.teams, nts.team_days) == (2, 1, pytest.approx(5 * week, abs=0.1))
    worked = sum(ledger.get("hazardous_area", a)["original_m2"] for a in ("HA-001", "HA-008"))
    assert nts.measured_m2_per_day == pytest.approx(worked / (0.5 * 5 * week), rel=1e-3)
    # no dog or machine activity: the config's rate
    assert rates["dog"].measured_m2_per_day is None
    assert rates["dog"].used_m2_per_day == EVERY_ONE.team_rate["dog"]


def test_too_few_activities_keep_the_config_rate(record):
    _, ledger = record
    rates = measured_rates(ledger)                   # at least 3 activities by default
    assert {r.source for r in rates.values()} == {"config"}
    assert {a: r.used_m2_per_day for a, r in rates.items()} == DEFAULT_CONFIG.team_rate
    off = load_config(overrides={"productivity": {"record_min_activities": 1,
                                                  "from_record": False}})
    assert measured_rates(ledger, config=off)["ts"].source == "config"


def test_overlapping_activities_of_a_team_count_their_days_once():
    d = dt.date
    assert _union_days([(d(2021, 3, 1), d(2021, 3, 10)), (d(2021, 3, 5), d(2021, 3, 12)),
                        (d(2021, 3, 20), d(2021, 3, 20))]) == 13
    assert _union_days([(d(2021, 3, 1), d(2021, 3, 10)), (d(2021, 3, 2), d(2021, 3, 3))]) == 10


def test_the_plan_uses_the_measured_rates_and_where_teams_work(record):
    _, ledger = record
    inst = instance_from_record(ledger, start=dt.date(2021, 7, 1), horizon_weeks=26,
                                config=EVERY_ONE)
    rates = measured_rates(ledger, config=EVERY_ONE)
    assert {t.asset: t.productivity_m2_per_day for t in inst.teams} == {
        a: rates[a].used_m2_per_day for a in ("nts", "ts", "manual", "dog")}
    proj = Projector(ledger.settings.utm_epsg)
    ts = next(t for t in inst.teams if t.asset == "ts")
    last = proj.to_metric(ledger.get("activity", "ACT-TS-001")["geometry"])
    assert (ts.base_x, ts.base_y) == pytest.approx((last.x, last.y))
    # a team with no activity sets out from the middle of the open areas, not from (0, 0):
    # every task is then within a day's relocation, not thousands of kilometres away
    dog = next(t for t in inst.teams if t.asset == "dog")
    xs = [a.x for a in inst.areas]
    assert min(xs) <= dog.base_x <= max(xs)
    prep = Prepared(inst)
    assert prep.dist_km.max() < 100
    assert prep.setup.max() < EVERY_ONE.mobilisation_days + EVERY_ONE.relocation_days + 1


def test_rates_command_prints_the_table(record):
    url, _ = record
    res = CliRunner().invoke(app, ["plan", "rates", "--db", url, "--json"])
    assert res.exit_code == 0, res.output
    rows = {r["asset"]: r for r in json.loads(res.output)}
    assert rows["ts"]["activities"] == 1 and rows["ts"]["source"] == "config"
    assert np.isclose(rows["ts"]["config_m2_per_day"], DEFAULT_CONFIG.team_rate["ts"])
    res = CliRunner().invoke(app, ["plan", "rates", "--db", url])
    assert res.exit_code == 0 and "measured" in res.output


def test_the_programme_report_shows_team_productivity(record, tmp_path):
    from openpyxl import load_workbook

    from safeground.reports import programme as programme_report

    _, ledger = record
    report = programme_report.build(ledger, dt.date(2021, 1, 1), dt.date(2021, 12, 31))
    rows = {r["asset"]: r for r in report.productivity}
    assert rows["ts"]["activities"] == 1 and rows["manual"]["activities"] == 1
    assert rows["ts"]["measured_m2_per_day"] == measured_rates(ledger)["ts"].measured_m2_per_day
    # as of an earlier end: the clearance finished in June is not counted yet
    early = programme_report.build(ledger, dt.date(2021, 1, 1), dt.date(2021, 4, 30))
    assert {r["asset"]: r["activities"] for r in early.productivity}["manual"] == 0
    html = programme_report.render_html(report)
    assert 'id="productivity"' in html and "Team productivity" in html
    wb = load_workbook(programme_report.write_workbook(report, tmp_path / "r.xlsx"))
    sheet = list(wb["productivity"].values)
    assert sheet[0][0] == "asset" and len(sheet) == 6


def test_the_defaults_agree_with_the_published_field_rates():
    """The config's clearance rates against published field figures: a deminer 10-50 m² a
    day; a dog pair 800-900 m² a day; a machine's effective rate (with its follow-up) below
    its peak of 4,000-5,000 m² an hour over a day, and above a manual team's; survey faster
    per m² than any clearance asset (it releases land without clearing it)."""
    import tomllib
    from importlib import resources

    text = resources.files("safeground.planning").joinpath("defaults.toml").read_text("utf-8")
    p = tomllib.loads(text)["productivity"]
    cfg = DEFAULT_CONFIG
    assert 10 <= p["manual_m2_per_deminer_day"] <= 50
    assert cfg.team_rate["manual"] == p["manual_m2_per_deminer_day"] * p["deminers_per_team"]
    assert 800 <= cfg.team_rate["dog"] <= 900
    assert cfg.team_rate["manual"] < cfg.team_rate["machine"] < 4000 * 8
    clearing = max(cfg.team_rate[a] for a in ("manual", "dog", "machine"))
    assert clearing < cfg.team_rate["ts"] < cfg.team_rate["nts"]

