"""Priority scores reproduce ANAMA's published order (docs/domain.md §5)."""

from __future__ import annotations

import pytest

from safeground.errors import ConfigError
from safeground.planning.config import DEFAULT_CONFIG, load_config
from safeground.planning.instance import build_instance
from safeground.planning.priority import (
    CRITERIA,
    area_scores,
    count_scale,
    settlement_scores,
    tuned_config,
    tuned_priorities,
    with_priorities,
)

# One area per criterion, each meeting only that criterion in full (plus the baseline "other").
AREAS = [
    {"id": "casualties", "casualties_nearby": DEFAULT_CONFIG.casualties_full,
     "land_use": "forest"},
    {"id": "socio", "road": True, "land_use": "other"},
    {"id": "resettle", "settlement_ids": ["S1"], "land_use": "built_up"},
    {"id": "rebuild", "funded_reconstruction": True, "land_use": "other"},
    {"id": "food", "land_use": "pasture"},
    {"id": "other", "land_use": "other"},
]


def _instance():
    areas = [{"classification": "SHA", "remaining_m2": 1000, "x": i * 100.0, "y": 0, **a}
             for i, a in enumerate(AREAS)]
    return build_instance(areas, [{"id": "S1", "x": 0, "y": 0,
                                   "displaced_population": DEFAULT_CONFIG.displaced_full}],
                          [{"id": "T", "asset": "manual"}], horizon_weeks=4)


def test_ranks_follow_the_published_order():
    ranked = [s.id for s in area_scores(_instance())]
    assert ranked == ["casualties", "socio", "resettle", "rebuild", "food", "other"]


def test_breakdown_adds_up_and_names_every_criterion():
    for s in area_scores(_instance()):
        assert set(s.breakdown) == set(CRITERIA)
        assert abs(sum(s.breakdown.values()) - s.score) < 1e-2


def test_settlement_score_counts_people_and_access_areas():
    (s,) = settlement_scores(_instance())
    assert s.id == "S1" and s.rank == 1
    assert s.breakdown["access_area_count"] == 1
    assert s.breakdown["displaced_people"] > 0


def _people_instance(populations, config=DEFAULT_CONFIG):
    """One built-up area per settlement, each settlement with the given displaced people."""
    areas = [{"id": f"A{i}", "classification": "SHA", "remaining_m2": 1000, "x": i * 100.0,
              "y": 0, "land_use": "built_up", "settlement_ids": [f"S{i}"]}
             for i in range(len(populations))]
    setts = [{"id": f"S{i}", "x": i * 100.0, "y": 0, "displaced_population": n}
             for i, n in enumerate(populations)]
    return build_instance(areas, setts, [{"id": "T", "asset": "manual"}], horizon_weeks=4,
                          config=config)


@pytest.mark.parametrize("scale", ["log", "linear", "rank"])
def test_more_people_waiting_always_score_more(scale):
    # the populations of Aghdam, Talagishlag and smaller villages: no cap flattens them
    cfg = load_config(overrides={"priorities": {"scales": {"displaced": scale}}})
    pops = [54_665, 2_204, 1_156, 300, 30]
    pts = {s.id: s.breakdown["resettlement"] for s in area_scores(_people_instance(pops, cfg))}
    got = [pts[f"A{i}"] for i in range(len(pops))]
    assert got == sorted(got, reverse=True) and len(set(got)) == len(got)
    ranked = [s.id for s in settlement_scores(_people_instance(pops, cfg))]
    assert ranked == [f"S{i}" for i in range(len(pops))]


def test_scales_of_a_count():
    log = count_scale("log", 100_000)
    assert log(0) == 0.0 and log(100_000) == pytest.approx(1.0) and log(1e9) == 1.0
    assert log(54_665) == pytest.approx(0.9476, abs=1e-3)
    assert count_scale("linear", 10)(5) == 0.5
    rank = count_scale("rank", 1, [0, 10, 20, 20, 40])
    assert [rank(n) for n in (0, 10, 20, 40)] == [0.0, 0.25, 0.75, 1.0]


def test_more_casualties_score_more_than_three():
    cfg = DEFAULT_CONFIG
    areas = [{"id": f"A{n}", "classification": "CHA", "remaining_m2": 1000, "x": n, "y": 0,
              "casualties_nearby": n} for n in (1, 3, 10)]
    inst = build_instance(areas, [], [{"id": "T", "asset": "manual"}], horizon_weeks=4,
                          config=cfg)
    pts = {s.id: s.breakdown["casualties"] for s in area_scores(inst)}
    assert pts["A1"] < pts["A3"] < pts["A10"]


def test_an_unknown_scale_is_refused():
    with pytest.raises(ConfigError) as err:
        load_config(overrides={"priorities": {"scales": {"displaced": "capped"}}})
    assert err.value.code == "PLAN_CONFIG_INVALID"


def test_other_weights_change_the_ranking_and_the_tuned_ones_are_complete():
    inst = _instance()
    cfg = with_priorities(inst.config, {c: (10.0 if c == "food_security" else 1.0)
                                        for c in CRITERIA})
    assert area_scores(inst, cfg)[0].id == "food"
    assert area_scores(inst)[0].id == "casualties"
    tuned = tuned_priorities()
    assert set(tuned["weights"]) == set(CRITERIA)
    assert tuned_config(inst.config).priority_weights == {
        c: float(v) for c, v in tuned["weights"].items()}


@pytest.fixture(scope="module")
def default_twin_instance():
    """What the record knows on the default scenario's twin start (seed 0): the region the
    demo shows, with Aghdam (54,665 displaced) and the village of Talagishlag."""
    import datetime as dt

    from safeground.planning.evaluation import instance_from_twin, stages_before
    from safeground.scenario import ScenarioConfig, generate
    from safeground.scenario.twin import OperationsTwin

    sc = generate(ScenarioConfig(seed=0))
    start = dt.date(2021, 4, 1)
    twin = OperationsTwin(sc, seed=0, start=start)
    return instance_from_twin(twin, start, stages_before(sc, start), set())


def test_aghdam_and_talagishlag_differ_on_the_displaced_people_criterion(default_twin_instance):
    inst = default_twin_instance
    by_name = {s.name: s for s in inst.settlements}
    aghdam, village = by_name["Aghdam"], by_name["Talagishlag"]
    assert aghdam.displaced_population == 54_665
    assert aghdam.displaced_population > 10 * village.displaced_population > 0
    pts = {s.id: s.breakdown["resettlement"] for s in area_scores(inst)}
    area = {a.id: a for a in inst.areas}

    people = {s.id: s.displaced_population for s in inst.settlements}

    def points(sett):   # the resettlement points of its access areas that score on it
        return {a: pts[a] for a in sett.access_area_ids if a in area and pts[a] > 0}

    assert points(aghdam) and points(village)
    assert min(points(aghdam).values()) > max(points(village).values())
    # both sides wait on more than 2,000 people: capped there, they used to score the same
    waiting = [sum(people[s] for s in area[a].settlement_ids) for a in points(village)]
    assert min(waiting) > 2000
    sett = {s.id: s for s in settlement_scores(inst)}
    assert (sett[aghdam.id].breakdown["displaced_people"]
            > sett[village.id].breakdown["displaced_people"])
