"""The planner's casualty term (``[benefit] casualty_model``) and the twin harness's guard."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from safeground.errors import ConfigError, ValidationError
from safeground.planning import evaluation
from safeground.planning.config import load_config
from safeground.planning.evaluation import (
    TWIN_OVERRIDES,
    instance_from_twin,
    twin_config,
)
from safeground.planning.instance import ExposureSource, build_instance
from safeground.planning.model import Prepared, casualty_risk, evaluate, exposure_density

DENSITY = load_config(overrides={"benefit": {"casualty_model": "density"}})


def _areas(**extra):
    # two CHAs on a line, 500 m and 3 km east of a settlement at the origin
    base = {"classification": "CHA", "remaining_m2": 500, "y": 0.0, "stages_done": 2,
            "contamination_probability": 0.5}
    return [dict(base, id="near", x=500.0, **extra), dict(base, id="far", x=3000.0, **extra)]


def _settlement(pre=2000, displaced=1000):
    return [{"id": "S", "x": 0.0, "y": 0.0, "pre_conflict_population": pre,
             "displaced_population": displaced}]


def _team():
    return [{"id": "T", "asset": "manual", "base_x": 0.0, "base_y": 0.0}]


def test_density_from_the_settlements_follows_the_kernel():
    inst = build_instance(_areas(), _settlement(), _team(), horizon_weeks=10, config=DENSITY)
    d = exposure_density(inst)
    trips = 0.03 * 1000 + 0.02 * 1000      # 1,000 living there, 1,000 displaced visiting
    s = DENSITY.exposure_scale_m
    expected = [trips * math.exp(-x / s) / (2 * math.pi * s * s) * 1e6 for x in (500, 3000)]
    assert d == pytest.approx(expected)
    risk = casualty_risk(inst)
    assert risk == pytest.approx(DENSITY.density_casualty_rate * 0.5 * d)
    assert risk[0] > 10 * risk[1]          # the area people walk on weighs more


def test_density_risk_scales_with_evidence_probability_and_people():
    base = build_instance(_areas(), _settlement(), _team(), horizon_weeks=10, config=DENSITY)
    hit = build_instance(_areas(casualties_nearby=3), _settlement(), _team(), horizon_weeks=10,
                         config=DENSITY)
    assert casualty_risk(hit) == pytest.approx(4 * casualty_risk(base))   # 1 + 3 casualties
    areas = _areas()
    areas[0]["contamination_probability"] = 1.0
    surer = build_instance(areas, _settlement(), _team(), horizon_weeks=10, config=DENSITY)
    assert casualty_risk(surer)[0] == pytest.approx(2 * casualty_risk(base)[0])
    crowded = build_instance(_areas(), _settlement(pre=4000, displaced=2000), _team(),
                             horizon_weeks=10, config=DENSITY)
    assert casualty_risk(crowded) == pytest.approx(2 * casualty_risk(base))
    # the "exposure" model weighs the people waiting on an area, not where people walk
    exposure = build_instance(_areas(), _settlement(), _team(), horizon_weeks=10)
    assert casualty_risk(exposure)[0] == pytest.approx(casualty_risk(exposure)[1])


def test_given_exposure_sources_replace_the_settlements():
    soldiers = [{"x": 3000.0, "y": 0.0, "trips_per_day": 50.0, "scale_m": 125.0,
                 "military": True}]
    inst = build_instance(_areas(), _settlement(), _team(), horizon_weeks=10, config=DENSITY,
                          exposure_sources=soldiers)
    assert inst.exposure_sources == (ExposureSource(3000.0, 0.0, 50.0, 125.0, True),)
    risk = casualty_risk(inst)
    assert risk[1] > risk[0] > 0           # now the far area is where people (soldiers) are
    with pytest.raises(ValidationError):
        build_instance(_areas(), _settlement(), _team(), horizon_weeks=10,
                       exposure_sources=[{"x": 0, "y": 0, "trips_per_day": 1, "scale_m": 0}])


def test_the_value_every_planner_optimises_carries_the_term():
    inst = build_instance(_areas(), _settlement(), _team(), horizon_weeks=10, config=DENSITY)
    prep = Prepared(inst)
    assert prep.area_risk_value == pytest.approx(casualty_risk(inst) * DENSITY.casualty_value)
    k = prep.area_last[0]
    out = evaluate(prep, np.array([0]), np.array([k]), np.array([0]), np.array([5.0]))
    assert out.area_release_week[0] == 0
    assert out.risk == pytest.approx(prep.area_risk_value[0] * inst.horizon_weeks)
    assert out.expected_casualties_avoided == pytest.approx(
        casualty_risk(inst)[0] * inst.horizon_weeks)


def test_casualty_model_config_round_trip(tmp_path):
    assert load_config().casualty_model == "exposure"
    assert twin_config().casualty_model == "density"
    assert TWIN_OVERRIDES["benefit"] == {"casualty_model": "density"}
    f = tmp_path / "mine.toml"
    f.write_text('[benefit]\ncasualty_model = "density"\ndensity_casualty_rate = 0.001\n'
                 'resident_trips_per_day = 0.05\nvisitor_trips_per_day = 0.01\n'
                 'exposure_scale_m = 500\n', encoding="utf-8")
    cfg = load_config(f)
    assert (cfg.casualty_model, cfg.density_casualty_rate, cfg.resident_trips_per_day,
            cfg.visitor_trips_per_day, cfg.exposure_scale_m) == ("density", 0.001, 0.05,
                                                                 0.01, 500.0)
    for bad in ({"casualty_model": "items"}, {"exposure_scale_m": 0},
                {"density_casualty_rate": -1}):
        with pytest.raises(ConfigError) as err:
            load_config(overrides={"benefit": bad})
        assert err.value.code == "PLAN_CONFIG_INVALID"


@pytest.fixture(scope="module")
def small_scenario():
    from safeground.scenario import ScenarioConfig, generate

    return generate(ScenarioConfig.small(seed=0))


def test_twin_term_is_computed_from_observables_only(small_scenario):
    from safeground.scenario.twin import OperationsTwin

    start = dt.date(2021, 4, 1)
    twin = OperationsTwin(small_scenario, seed=0, start=start)
    first = casualty_risk(instance_from_twin(twin, start, {}, set(), 104))
    assert first.sum() > 0
    # take the truth away: the instance, and so the term, must not change
    twin.truth = twin.state = twin.index = twin.owner = None
    for a in twin.areas:
        a.items = None
    again = instance_from_twin(twin, start, {}, set(), 104)
    assert casualty_risk(again) == pytest.approx(first)
    sources = again.exposure_sources
    assert any(s.military for s in sources) and any(not s.military for s in sources)
    # soldiers fade: a plan made two years later weighs them less
    later = evaluation.twin_exposure_sources(twin, start + dt.timedelta(days=730), 104,
                                             twin_config())
    mil = sum(s.trips_per_day for s in sources if s.military)
    assert sum(s["trips_per_day"] for s in later if s["military"]) < 0.5 * mil
