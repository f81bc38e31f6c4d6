"""Priority scores reproduce ANAMA's published order (docs/domain.md §5)."""

from __future__ import annotations

from safeground.planning.instance import build_instance
from safeground.planning.priority import CRITERIA, area_scores, settlement_scores

# One area per criterion, each meeting only that criterion (plus the baseline "other").
AREAS = [
    {"id": "casualties", "casualties_nearby": 3, "land_use": "forest"},
    {"id": "socio", "road": True, "land_use": "other"},
    {"id": "resettle", "settlement_ids": ["S1"], "land_use": "built_up"},
    {"id": "rebuild", "funded_reconstruction": True, "land_use": "other"},
    {"id": "food", "land_use": "pasture"},
    {"id": "other", "land_use": "other"},
]


def _instance():
    areas = [{"classification": "SHA", "remaining_m2": 1000, "x": i * 100.0, "y": 0, **a}
             for i, a in enumerate(AREAS)]
    return build_instance(areas, [{"id": "S1", "x": 0, "y": 0, "displaced_population": 2000}],
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
