"""Land already released: the dated released-share features and the post-model adjustment.

The features give the share of a cell released by the feature date, by how (cleared, reduced by
technical survey, cancelled by non-technical survey); nothing released later is seen. The
adjustment scales a cell's probability by its unreleased share plus a residual for cleared and
TS-reduced ground, in the surface and the explanations, which still add up.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.windows import Window
from scipy.special import logit
from shapely.geometry import box

from safeground.errors import ValidationError
from safeground.risk import forecast, sources, twin
from safeground.risk.areas import area_risk
from safeground.risk.features import RELEASE_KINDS, RELEASED_FEATURES, FeatureBuilder
from safeground.risk.grid import Grid
from safeground.risk.release import (
    CALIBRATION_TERM,
    RELEASED_TERM,
    ReleaseAdjustment,
    adjust,
    explain,
)
from safeground.risk.surface import compute_surface

CRS = "EPSG:32638"
STEP = 100.0
X0, Y1 = 500_000.0, 4_400_000.0


def _cell(row: int, col: int, width: float = 1.0) -> object:
    return box(X0 + col * STEP, Y1 - (row + 1) * STEP, X0 + (col + width) * STEP,
               Y1 - row * STEP)


# --- the adjustment itself --------------------------------------------------------------------

def test_adjust_keeps_unreleased_cells_and_moves_released_ones_to_the_residual():
    p = np.array([0.2, 0.2, 0.2, 0.2, 0.2])
    shares = np.array([[0, 0, 0],          # nothing released: unchanged
                       [1, 0, 0],          # all cleared: the residual
                       [0.5, 0, 0],        # half cleared: halfway
                       [0, 1, 0],          # reduced by technical survey
                       [0, 0, 1.0]])       # cancelled by NTS: not adjusted by default
    a = ReleaseAdjustment(cleared=0.001, reduced=0.002)
    out = adjust(p, shares, a)
    np.testing.assert_allclose(out, [0.2, 0.001, 0.1005, 0.002, 0.2])
    assert out[0] == p[0]
    with_cancelled = adjust(p, shares, ReleaseAdjustment(cancelled=0.01))
    assert with_cancelled[4] == pytest.approx(0.01)
    np.testing.assert_array_equal(adjust(p, shares, None), p)
    # never raises a probability already below the residual
    low = adjust(np.array([0.0005]), np.array([[1.0, 0, 0]]), a)
    assert low[0] == pytest.approx(0.0005)


def test_a_residual_outside_zero_to_one_is_refused():
    with pytest.raises(ValidationError) as e:
        ReleaseAdjustment(cleared=1.5)
    assert e.value.problems[0].code == "RISK_RELEASE_RESIDUAL"


def test_released_shares_are_disjoint_by_kind_and_dated():
    grid = Grid.from_bounds((X0, Y1 - 5 * STEP, X0 + 5 * STEP, Y1), STEP, CRS)
    released = gpd.GeoDataFrame(
        {"release": ["cancelled", "cleared", "reduced", "cleared"],
         "date": pd.to_datetime(["2021-01-01", "2021-02-01", "2021-01-15", "2021-03-01"])},
        geometry=[_cell(0, 0), _cell(0, 0, width=0.5), _cell(1, 1), _cell(2, 2)], crs=CRS)
    events = pd.DataFrame({"x": [X0 + 450.0], "y": [Y1 - 450.0],
                           "date": pd.to_datetime(["2020-06-01"]), "group": ["find"],
                           "category": ["find"], "weight": [1.0]})
    whole = Window(0, 0, grid.width, grid.height)
    b = FeatureBuilder(grid, events, "2021-02-15", released=released)
    s = b.released_shares(whole)
    assert s.shape == (grid.n_cells, len(RELEASE_KINDS))
    # cell (0, 0): cancelled, then half of it cleared: half cleared, half cancelled
    np.testing.assert_allclose(s[0], [0.5, 0.0, 0.5])
    np.testing.assert_allclose(s[1 * grid.width + 1], [0.0, 1.0, 0.0])
    # cell (2, 2) is cleared on 1 March: not seen on 15 February, seen on 1 March
    assert s[2 * grid.width + 2].sum() == 0
    later = FeatureBuilder(grid, events, "2021-03-01", released=released)
    np.testing.assert_allclose(later.released_shares(whole)[2 * grid.width + 2], [1, 0, 0])
    assert (s.sum(axis=1) <= 1 + 1e-12).all()


# --- on the small scenario --------------------------------------------------------------------

@pytest.fixture(scope="module")
def fitted(small_scenario):
    study = twin.twin_study(small_scenario, STEP, released_features=True)
    until = twin.record_end(small_scenario)
    models = forecast.fit(study, until, 0.25, ("logistic", "lightgbm"))
    return study, until, models


def test_the_released_feature_sees_only_land_released_by_the_feature_date(small_scenario):
    study = twin.twin_study(small_scenario, STEP, released_features=True)
    until = twin.record_end(small_scenario)
    rel = study.released
    assert rel is not None and {"cleared", "cancelled"} <= set(rel["release"])
    dates = rel["date"].sort_values()
    early = dates.iloc[len(dates) // 2]
    assert (rel["date"] > early).any()
    for as_of in (early, pd.Timestamp(until)):
        X = study.builder(as_of).frame()
        assert set(RELEASED_FEATURES) <= set(X.columns)
        cleared = rel[(rel["release"] == "cleared") & (rel["date"] <= as_of)]
        expected = forecast.released_share(study.grid, cleared.geometry.to_numpy())
        np.testing.assert_allclose(X["released_cleared_share"].to_numpy(), expected, atol=1e-5)
        total = X[list(RELEASED_FEATURES)].sum(axis=1).to_numpy()
        any_kind = forecast.released_share(study.grid, rel[rel["date"] <= as_of]
                                           .geometry.to_numpy())
        np.testing.assert_allclose(total, any_kind, atol=1e-5)
    X_early = study.builder(early).frame()
    X_end = study.builder(until).frame()
    assert X_early["released_cleared_share"].sum() < X_end["released_cleared_share"].sum()
    # without the option the features are not there
    plain = twin.twin_study(small_scenario, STEP, released_features=False).builder(until)
    assert not set(RELEASED_FEATURES) & set(plain.names)


def test_a_fully_cleared_cell_is_low_risk_in_the_surface(fitted, tmp_path):
    study, until, models = fitted
    model = models["lightgbm"]
    b = study.builder(until)
    shares = b.released_shares()
    full = np.flatnonzero(shares[:, 0] >= 0.999)
    assert full.size >= 5
    adj = ReleaseAdjustment()
    with_adj = compute_surface(b, model, tmp_path / "adj.tif", scheduler="sync",
                               window_size=128, adjustment=adj)
    without = compute_surface(b, model, tmp_path / "plain.tif", scheduler="sync",
                              window_size=128)
    assert with_adj.cog_valid and without.cog_valid
    with rasterio.open(with_adj.path) as src:
        p_adj = src.read(1).ravel()
    with rasterio.open(without.path) as src:
        p = src.read(1).ravel()
    # fully cleared cells show the residual, whatever the model said
    np.testing.assert_allclose(p_adj[full], adjust(p[full], shares[full], adj), rtol=1e-5)
    assert (p_adj[full] <= 2 * adj.cleared).all()
    assert p[full].mean() > 10 * adj.cleared
    # cells with no released ground are untouched
    none = shares.sum(axis=1) == 0
    np.testing.assert_array_equal(p_adj[none], p[none])


@pytest.mark.parametrize("kind", ["logistic", "lightgbm"])
def test_the_explanation_adds_up_to_the_adjusted_probability(fitted, kind):
    study, until, models = fitted
    model = models[kind]
    b = study.builder(until)
    X = b.frame(model.features)
    shares = b.released_shares()
    rows = np.flatnonzero(shares.sum(axis=1) > 0)
    rows = np.concatenate([rows, np.arange(0, study.grid.n_cells, 97)])
    adj = ReleaseAdjustment()
    terms, p = explain(model, X.iloc[rows], shares[rows], adj)
    assert {CALIBRATION_TERM, RELEASED_TERM, "bias"} <= set(terms.columns)
    np.testing.assert_allclose(terms.sum(axis=1).to_numpy(),
                               logit(np.clip(p, 1e-9, 1 - 1e-9)), atol=1e-6)
    np.testing.assert_allclose(p, adjust(model.predict(X.iloc[rows]), shares[rows], adj))
    # the released-land term is zero where nothing was released, never raises the risk, and
    # lowers the cleared cells the model put above the residual
    term = terms[RELEASED_TERM].to_numpy()
    released = shares[rows].sum(axis=1) > 0
    assert (term[~released] == 0).all() and (term <= 1e-12).all()
    cleared = (shares[rows, 0] >= 0.999) & (model.predict(X.iloc[rows]) > 2 * adj.cleared)
    assert cleared.any() and (term[cleared] < 0).all()
    # the model's own contributions still add up to its raw score
    raw = terms.drop(columns=[CALIBRATION_TERM, RELEASED_TERM]).sum(axis=1).to_numpy()
    np.testing.assert_allclose(raw, model.decision(X.iloc[rows]), atol=1e-6)


def test_an_area_of_cleared_land_ranks_low_and_says_why(fitted):
    study, until, models = fitted
    model = models["lightgbm"]
    b = study.builder(until)
    cleared = b.released["cleared"]
    part = max(cleared.geoms if hasattr(cleared, "geoms") else [cleared], key=lambda g: g.area)
    areas = gpd.GeoDataFrame({"object_id": ["cleared"]}, geometry=[part], crs=study.grid.crs)
    adj = ReleaseAdjustment()
    plain = area_risk(areas, b, model).iloc[0]
    adjusted = area_risk(areas, b, model, adjustment=adj).iloc[0]
    assert adjusted["released_share"] > 0.5
    assert adjusted["mean_probability"] < plain["mean_probability"]
    assert adjusted["mean_probability"] < 0.5 * plain["mean_probability"]
    assert any(f["feature"] == RELEASED_TERM for f in adjusted["lowering"])
    assert not any(f["feature"] == RELEASED_TERM for f in plain["lowering"])


def test_released_land_of_the_study_comes_from_the_reports(small_scenario):
    src = sources.detect(small_scenario)
    rel = sources.released_land(src)
    study = twin.twin_study(small_scenario, STEP)
    pd.testing.assert_frame_equal(rel.drop(columns="geometry"),
                                  study.released.drop(columns="geometry"))


def test_cli_fit_records_the_adjustment_and_map_applies_it(small_scenario, tmp_path):
    import json

    from typer.testing import CliRunner

    from safeground.risk.cli import app

    run = CliRunner()
    m = tmp_path / "m"
    end = twin.record_end(small_scenario)
    r = run.invoke(app, ["fit", "--events", str(small_scenario), "--as-of", end,
                         "--horizon-years", "0.25", "--step", "100", "--kind", "logistic",
                         "--released-features", "--released-residual", "0.002",
                         "--model-dir", str(m)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    meta = json.loads((m / "model.json").read_text())
    assert meta["release_adjustment"] == {"cleared": 0.002, "reduced": 0.002, "cancelled": None}
    assert meta["feature_config"]["released_features"] is True
    assert set(RELEASED_FEATURES) <= set(meta["models"]["logistic"]["config"]["features"])
    assert meta["released_land"]["records"] > 10
    assert meta["released_land"]["km2_by_as_of"]["cleared"] > 0
    out = tmp_path / "risk.tif"
    r = run.invoke(app, ["map", "--model-dir", str(m), "--out", str(out), "--resolution", "100",
                         "--kind", "logistic", "--scheduler", "sync"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    study = twin.twin_study(small_scenario, STEP)
    shares = study.builder(twin.record_end(small_scenario)).released_shares()
    with rasterio.open(out) as src:
        p = src.read(1).ravel()
    assert p.size == shares.shape[0]
    full = shares[:, 0] >= 0.999
    assert full.any() and (p[full] <= 0.002 * 1.01).all()
    # off: the fit says so, and a residual outside [0, 1) is refused
    r = run.invoke(app, ["fit", "--events", str(small_scenario), "--as-of", end,
                         "--horizon-years", "0.25", "--step", "200", "--kind", "logistic",
                         "--no-release-adjustment", "--model-dir", str(tmp_path / "off")],
                   catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "off" / "model.json").read_text())["release_adjustment"] \
        is None
    r = run.invoke(app, ["fit", "--events", str(small_scenario), "--as-of", end,
                         "--released-residual", "1.5", "--model-dir", str(tmp_path / "bad")])
    assert r.exit_code == 2 and "RISK_RELEASE_RESIDUAL" in r.output
