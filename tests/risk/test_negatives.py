"""Negatives from released land: searched ground without evidence, dated, never a cell with a find.

Positives are cells with an accident, a find or direct evidence in the training horizon. Land
released by the fit date (cleared, or reduced by technical survey; in ``released`` mode also
cancelled by non-technical survey, at a lower weight) gives label 0 to the cells most of whose
area it covers, unless the cell holds a target event known at the fit date.
"""

from __future__ import annotations

from dataclasses import replace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box
from typer.testing import CliRunner

from safeground.errors import ValidationError
from safeground.risk import events as ev
from safeground.risk import forecast, sources, twin
from safeground.risk.grid import Grid

CRS = "EPSG:32638"
STEP = 100.0
X0, Y1 = 500_000.0, 4_400_000.0


def _cell(row: int, col: int, shrink: float = 0.0) -> object:
    """The square of cell (row, col) of the test grid, optionally shrunk on the east side."""
    return box(X0 + col * STEP, Y1 - (row + 1) * STEP, X0 + (col + 1 - shrink) * STEP,
               Y1 - row * STEP)


def _event(row: int, col: int, date: str, group: str = "find") -> dict:
    return {"x": X0 + (col + 0.5) * STEP, "y": Y1 - (row + 0.5) * STEP,
            "date": pd.Timestamp(date), "group": group, "category": group, "weight": 1.0}


@pytest.fixture()
def study() -> forecast.Study:
    """A 10 x 10 grid of 100 m cells; released land in a few cells, finds in some."""
    grid = Grid.from_bounds((X0, Y1 - 10 * STEP, X0 + 10 * STEP, Y1), STEP, CRS)
    released = gpd.GeoDataFrame(
        {"release": ["cleared", "cleared", "reduced", "cancelled", "cleared", "cleared"],
         "date": pd.to_datetime(["2021-01-10", "2021-01-10", "2021-02-01", "2021-02-01",
                                 "2021-03-20", "2021-01-10"])},
        geometry=[_cell(1, 1), _cell(1, 2), _cell(2, 2), _cell(3, 3), _cell(4, 4),
                  _cell(5, 5, shrink=0.5)],        # the last covers half its cell only
        crs=CRS)
    events = pd.DataFrame([_event(1, 2, "2021-01-05"),                      # find, cleared cell
                           _event(8, 8, "2021-02-15"),                      # find elsewhere
                           _event(7, 1, "2021-02-20", "accident")])
    events["date"] = pd.to_datetime(events["date"])
    return forecast.Study(grid=grid, events=events, released=released, negatives="searched")


def _at(grid: Grid, row: int, col: int) -> int:
    return row * grid.width + col


def test_released_share_is_the_covered_share_of_each_cell(study):
    g = study.grid
    share = forecast.released_share(g, [_cell(5, 5, shrink=0.5), _cell(1, 1), _cell(1, 1)])
    assert share[_at(g, 5, 5)] == pytest.approx(0.5)
    assert share[_at(g, 1, 1)] == pytest.approx(1.0)          # overlaps count once
    assert share.sum() == pytest.approx(1.5)


def test_negatives_are_searched_land_without_events_up_to_the_cut_off(study):
    g = study.grid
    w = forecast.negative_weights(study, "2021-03-01")
    assert w[_at(g, 1, 1)] == 1.0                  # cleared, nothing found
    assert w[_at(g, 2, 2)] == 1.0                  # reduced by technical survey
    assert w[_at(g, 1, 2)] == 0.0                  # cleared, but an item was found there
    assert w[_at(g, 3, 3)] == 0.0                  # cancelled by NTS: not searched ground
    assert w[_at(g, 4, 4)] == 0.0                  # cleared after the cut-off: not seen yet
    assert w[_at(g, 5, 5)] == 0.0                  # only half the cell released
    assert np.count_nonzero(w) == 2
    # before the reduction, only the first clearance counts; after the late clearance, it too
    assert np.flatnonzero(forecast.negative_weights(study, "2021-01-20")).tolist() == \
        [_at(g, 1, 1)]
    assert forecast.negative_weights(study, "2021-04-01")[_at(g, 4, 4)] == 1.0
    # 'released' adds land cancelled by NTS, at a lower weight; 'none' gives none
    r = forecast.negative_weights(replace(study, negatives="released"), "2021-03-01")
    assert r[_at(g, 3, 3)] == forecast.CANCELLED_WEIGHT < 1.0
    assert not forecast.negative_weights(replace(study, negatives="none"), "2021-03-01").any()
    with pytest.raises(ValidationError) as exc:
        forecast.negative_weights(replace(study, negatives="all"), "2021-03-01")
    assert exc.value.problems[0].code == "RISK_NEGATIVES"


def test_a_cell_with_a_find_is_never_a_negative(study):
    g = study.grid
    # a find dated after the clearance, in the horizon: the cell is a positive, not a negative
    late = pd.DataFrame([_event(1, 1, "2021-02-10")])
    s = replace(study, events=pd.concat([study.events, late], ignore_index=True))
    assert forecast.negative_weights(s, "2021-03-01")[_at(g, 1, 1)] == 0.0
    counts = s.counts("2021-01-15", "2021-03-01")
    neg = forecast.negative_weights(s, "2021-03-01")
    assert not (neg[counts > 0]).any()


def test_the_training_table_labels_negatives_zero_and_positives_one(study):
    g = study.grid
    start = (pd.Timestamp("2021-03-01") - pd.Timedelta(days=round(365.25 * 0.25))).date()
    counts = study.counts(start, "2021-03-01")
    labels = np.where(counts > 0, 1, -1)
    neg = forecast.negative_weights(study, "2021-03-01")
    labels[(neg > 0) & (labels == -1)] = 0
    assert set(np.flatnonzero(labels == 0)) == {_at(g, 1, 1), _at(g, 2, 2)}
    assert labels[_at(g, 8, 8)] == 1 and labels[_at(g, 7, 1)] == 1


def test_released_land_from_one_report_file_of_mixed_types(tmp_path):
    """A single exported report file (every report type, ``report_type`` per feature)."""
    from safeground import example
    from safeground.record.exchange import write_reports

    path = write_reports(example.records(), tmp_path / "example-reports.geojson")
    expected = [r for r in example.records() if r["report_type"] == "land_release"]
    rel = sources.released_land(sources.detect(path))
    assert rel is not None and len(rel) == len(expected) > 0
    assert sorted(rel["release"]) == sorted(r["release"] for r in expected)
    assert sorted(rel["date"].dt.date.astype(str)) == \
        sorted(str(r["date_of_information"]) for r in expected)
    assert (rel.area > 0).all()


# --- the scenario: report files and its record give the same negatives ------------------------

@pytest.fixture(scope="module")
def scenario_record(small_scenario, tmp_path_factory):
    from rich.console import Console

    from safeground.demo import take_in
    from safeground.record.ledger import Ledger
    from safeground.record.storage import Database
    from safeground.record.vocabulary import ReportStatus
    from safeground.settings import Settings

    url = f"sqlite:///{tmp_path_factory.mktemp('record-neg')}/record.sqlite"
    led = Ledger(Database.open(url), Settings.from_env(database_url=url))
    _, rejected = take_in(led, sorted((small_scenario / "reports").glob("*.geojson")), "clerk",
                          Console(quiet=True))
    assert rejected == 0
    done = led.approve([r.id for r in led.reports(status=ReportStatus.SUBMITTED)], user="chief")
    assert not done.refused
    return url


def test_the_scenario_reports_and_its_record_give_the_same_released_land(small_scenario,
                                                                       scenario_record):
    files = sources.detect(small_scenario)
    record = sources.detect(scenario_record, small_scenario / "context")
    a, b = sources.released_land(files), sources.released_land(record)
    assert a is not None and b is not None and len(a) == len(b) > 10
    assert set(a["release"]) >= {"cleared", "cancelled"}
    key = ["release", "date", "area"]
    a, b = (d.assign(area=d.area.round(0))[key].sort_values(key).reset_index(drop=True)
            for d in (a, b))
    pd.testing.assert_frame_equal(a, b)
    until = twin.record_end(small_scenario)
    sa = replace(sources.build_study(files, until, STEP), negatives="searched")
    sb = replace(sources.build_study(record, until, STEP), negatives="searched")
    wa = forecast.negative_weights(sa, until)
    assert np.count_nonzero(wa) >= 5
    np.testing.assert_array_equal(wa, forecast.negative_weights(sb, until))


def test_scenario_negatives_are_released_land_without_finds_known_by_the_cut_off(small_scenario):
    src = sources.detect(small_scenario)
    until = twin.record_end(small_scenario)
    study = replace(sources.build_study(src, until, STEP), negatives="searched")
    neg = forecast.negative_weights(study, until) > 0
    assert neg.sum() >= 5
    # every negative is mostly searched land released by the cut-off ...
    rel = study.released
    searched = rel[rel["release"].isin(forecast.SEARCHED)
                   & (rel["date"] <= pd.Timestamp(until))]
    share = forecast.released_share(study.grid, searched.geometry.to_numpy())
    assert (share[neg] >= forecast.NEGATIVE_MIN_SHARE).all()
    # ... holding no accident, find or direct evidence known then
    known = ev.known_at(study.events, until)
    known = known[known["group"].isin(forecast.TARGET_GROUPS)]
    row, col, inside = study.grid.index_of(known["x"].to_numpy(), known["y"].to_numpy())
    with_events = np.zeros(study.grid.n_cells, bool)
    with_events[row[inside] * study.grid.width + col[inside]] = True
    assert not (neg & with_events).any()
    # an earlier cut-off sees only the land released by then
    early = "2021-02-01"
    neg_early = forecast.negative_weights(study, early) > 0
    assert neg_early.sum() < neg.sum()
    later = rel[rel["date"] > pd.Timestamp(early)]
    late_share = forecast.released_share(study.grid, later.geometry.to_numpy())
    only_late = (late_share >= forecast.NEGATIVE_MIN_SHARE) & ~(neg_early | with_events)
    assert only_late.any() and not (neg_early & only_late).any()


def test_a_fit_with_negatives_keeps_the_prior_calibration(small_scenario):
    src = sources.detect(small_scenario)
    until = twin.record_end(small_scenario)
    plain = sources.build_study(src, until, STEP)
    assert plain.negatives == forecast.DEFAULT_NEGATIVES == "none"
    study = replace(plain, negatives="searched")
    m = forecast.fit(study, until, 0.25, ("logistic",))["logistic"]
    assert m.train_summary_["surveyed_negatives"] >= 5
    assert m.calibrated_on_ == "pu-prior"           # the level stays the prior's
    none = forecast.fit(replace(study, negatives="none"), until, 0.25, ("logistic",))
    assert none["logistic"].train_summary_["surveyed_negatives"] == 0
    # calibrating positives against negatives (1 vs 0) is the other design, on request
    vs = forecast.fit(replace(study, calibration_target="auto"), until, 0.25, ("logistic",))
    assert vs["logistic"].calibrated_on_ == "surveyed"
    # on the features the fit learnt from (three months before the cut-off), the negatives move
    # the searched cells they came from down the ranking
    cells = forecast.negative_weights(study, until) > 0
    X = forecast.training_table(study, until, 0.25)[0]

    def mean_rank(model) -> float:
        return float(pd.Series(model.decision(X)).rank(pct=True)[cells].mean())

    assert mean_rank(m) < mean_rank(none["logistic"])


def test_cli_refuses_an_unknown_negatives_mode(programme, tmp_path):
    from safeground.risk.cli import app

    r = CliRunner().invoke(app, ["fit", "--events", str(programme), "--as-of", "2021-12-31",
                                 "--negatives", "cancelled", "--model-dir", str(tmp_path / "m")])
    assert r.exit_code == 2 and "RISK_NEGATIVES" in r.output


def test_cli_fit_from_the_record_and_from_its_files_with_searched_negatives(
        small_scenario, scenario_record, tmp_path):
    """The record and the report files it was taken in from give the same negatives and fit."""
    import json

    from safeground.risk.cli import app

    common = ["--as-of", twin.record_end(small_scenario), "--horizon-years", "0.25",
              "--step", "100", "--kind", "logistic", "--negatives", "searched"]
    run = CliRunner()
    r = run.invoke(app, ["fit", "--db", scenario_record, "--context",
                         str(small_scenario / "context"), "--model-dir", str(tmp_path / "db"),
                         *common], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    r = run.invoke(app, ["fit", "--events", str(small_scenario), "--model-dir",
                         str(tmp_path / "files"), *common], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    db, files = (json.loads((tmp_path / d / "model.json").read_text()) for d in ("db", "files"))
    assert db["negatives"] == files["negatives"] == "searched"
    train = db["models"]["logistic"]["train"]
    assert train["surveyed_negatives"] >= 5 and db["models"]["logistic"]["calibrated_on"] == \
        "pu-prior"
    assert train == files["models"]["logistic"]["train"]
