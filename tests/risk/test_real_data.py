"""Real data, read in place from the shared data (tests/harness/shared.py), on small subsets.

Spatial hold-out on six RELand municipalities; forward in time on Colombia's event records at a
coarse 4 km step. Both assert what the model must do: it beats the baselines.
"""

from __future__ import annotations

from harness.shared import SHARED_DATA, skip_unless
from safeground.risk import colombia, forecast, reland

MUSE = SHARED_DATA / "colombia-map-muse-events"
needs_muse = skip_unless("colombia-map-muse-events")

DISTANCE = "baseline: distance to front-line proxy (coca)"
DENSITY = "baseline: density of past events"


def test_reland_models_beat_the_distance_baseline_leaving_one_municipality_out(reland_small):
    board = reland.evaluate_leave_one_group_out(reland_small, seed=0)
    s = board.summary()
    assert s.loc["logistic", "folds"] == 6
    for model in ("logistic", "lightgbm"):
        assert s.loc[model, "roc_auc"] > s.loc[DISTANCE, "roc_auc"]
        assert s.loc[model, "top20"] > s.loc[DISTANCE, "top20"]


def test_reland_known_density_never_uses_the_held_out_municipality(reland_small):
    train = reland_small[reland_small[reland.GROUP] != "SAN CARLOS"]
    test = reland_small[reland_small[reland.GROUP] == "SAN CARLOS"]
    _, a = reland.with_known_density(train, test)
    flipped = test.assign(**{reland.LABEL: 1 - test[reland.LABEL].clip(0, 1)})
    _, b = reland.with_known_density(train, flipped)
    assert (a[reland.KNOWN_DENSITY] == b[reland.KNOWN_DENSITY]).all()


@needs_muse
def test_colombia_forward_in_time_model_beats_the_baselines():
    study = colombia.build_study(MUSE, "2005-12-31", step_m=4000, until_year=2008)
    board, _ = forecast.evaluate(study, "2005-12-31", "2008-12-31", horizon_years=3,
                                 kinds=("lightgbm",))
    s = board.summary()
    assert s.loc["lightgbm", "roc_auc"] > 0.6
    for baseline in ("baseline: distance to front-line proxy (dist_find_km)", DENSITY):
        assert s.loc["lightgbm", "top10"] > s.loc[baseline, "top10"]


@needs_muse
def test_colombia_events_are_dated_grouped_and_in_metres():
    events, _raw = colombia.load_events(colombia.event_files(MUSE, until_year=1992))
    assert set(events["group"]) <= {"accident", "find", "evidence", "indirect"}
    assert events["date"].dt.year.between(1990, 1992).all()
    assert events["x"].between(3.9e6, 5.9e6).all()     # EPSG:9377 eastings, no sign errors
