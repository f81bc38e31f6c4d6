"""Planning settings and instances (docs/domain.md §5 defaults)."""

from __future__ import annotations

import geopandas as gpd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon

from safeground.errors import ConfigError, ValidationError
from safeground.planning.config import DEFAULT_CONFIG, load_config
from safeground.planning.instance import build_instance, contamination_probability
from safeground.planning.model import Prepared, expected_shares


def test_defaults_follow_domain_figures():
    c = DEFAULT_CONFIG
    # 8 deminers x 30 m²/day (HALO: 10-50 per deminer); a dog pair 800-900 m²/day, 3.5x manual
    assert c.team_rate["manual"] == 240
    assert c.team_rate["dog"] == pytest.approx(3.5 * c.team_rate["manual"]) == 840
    assert c.terrain_factor("forest", "machine") == 0   # machines cannot work forest
    assert sum(c.priority_weights.values()) > 0


def test_override_file_changes_only_given_keys(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text("[productivity]\ndog_multiplier = 2.0\n[priorities.weights]\ncasualties = 10\n")
    c = load_config(f)
    assert c.team_rate["dog"] == pytest.approx(2 * c.team_rate["manual"])
    assert c.priority_weights["casualties"] == 10
    assert c.priority_weights["other"] == DEFAULT_CONFIG.priority_weights["other"]


@pytest.mark.parametrize("override", [
    {"productivity": {"no_such_key": 1}},
    {"productivity": {"dog_multiplier": -1}},
    {"stages": {"SHA": {"max_cancel": 1.5}}},
    {"capabilities": {"ts": ["robot"]}},
])
def test_bad_settings_are_refused_with_a_code(override):
    with pytest.raises(ConfigError) as exc:
        load_config(overrides=override)
    assert exc.value.code == "PLAN_CONFIG_INVALID"


def test_cambodia_shares_for_a_default_sha():
    # docs/domain.md §5, Cambodia 2015: 48 % cancelled, 20 % reduced, 32 % cleared
    inst = build_instance([{"id": "A", "classification": "SHA", "remaining_m2": 10000,
                            "x": 0, "y": 0}], [], [{"id": "T", "asset": "manual"}],
                          horizon_weeks=4)
    prep = Prepared(inst)
    released = prep.task_released
    assert released.sum() == pytest.approx(10000)          # area is conserved
    assert released / 10000 == pytest.approx([0.48, 0.20, 0.32], abs=0.015)


def test_cha_skips_nts_and_evidence_raises_probability():
    assert contamination_probability("SHA", 0) == pytest.approx(0.2)
    assert contamination_probability("SHA", 3) > contamination_probability("SHA", 0)
    inst = build_instance([{"id": "A", "classification": "CHA", "remaining_m2": 500,
                            "x": 0, "y": 0}], [], [{"id": "T", "asset": "dog"}],
                          horizon_weeks=4)
    prep = Prepared(inst)
    assert [int(s) for s in prep.task_stage] == [1, 2]          # TS then clearance
    assert expected_shares(inst).cancel[0] == 0


def test_build_from_geodataframe_uses_metric_geometry():
    gdf = gpd.GeoDataFrame({"id": ["A1"], "classification": ["CHA"], "land_use": ["farmland"],
                            "settlement_ids": ["S1"]},
                           geometry=[Polygon([(0, 0), (100, 0), (100, 50), (0, 50)])],
                           crs="EPSG:32638")
    inst = build_instance(gdf, [{"id": "S1", "x": 10, "y": 10, "displaced_population": 300}],
                          [{"id": "T1", "asset": "manual", "base_x": 0, "base_y": 0}],
                          horizon_weeks=10)
    a = inst.areas[0]
    assert a.remaining_m2 == pytest.approx(5000)
    assert (a.x, a.y) == pytest.approx((50, 25))
    assert inst.settlements[0].access_area_ids == ("A1",)   # derived from the area's link


def test_invalid_records_list_every_problem():
    with pytest.raises(ValidationError) as exc:
        build_instance([{"id": "A", "classification": "XHA", "remaining_m2": 5, "x": 0, "y": 0},
                        {"classification": "SHA", "remaining_m2": 5}],
                       [], [{"id": "T", "asset": "robot"}], horizon_weeks=0)
    codes = {p.code for p in exc.value.problems}
    assert codes == {"PLAN_INSTANCE_INVALID"}
    fields = {p.field for p in exc.value.problems}
    assert {"classification", "id", "x", "asset", "horizon_weeks"} <= fields


@settings(max_examples=40, deadline=None)
@given(cls=st.sampled_from(["SHA", "CHA"]), m2=st.floats(1, 1e7), p=st.floats(0, 1),
       done=st.integers(0, 2))
def test_expected_stages_conserve_the_area(cls, m2, p, done):
    # original = cancelled + reduced + cleared (docs/domain.md §2 invariant), in expectation
    inst = build_instance([{"id": "A", "classification": cls, "remaining_m2": m2, "x": 0,
                            "y": 0, "contamination_probability": p, "stages_done": done}],
                          [], [{"id": "T", "asset": "manual"}], horizon_weeks=4)
    prep = Prepared(inst)
    assert prep.task_released.sum() == pytest.approx(m2, rel=1e-9)
    assert (prep.task_work >= 0).all()
    assert prep.task_stage.tolist() == sorted(prep.task_stage.tolist())
