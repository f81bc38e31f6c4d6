"""The access rule: which hazardous areas a settlement's return waits on."""

import shapely

from safeground.record.domain.settlements import AccessRule, access_areas, within_reach


def _square(x, y, half=50.0):
    return shapely.box(x - half, y - half, x + half, y + half)


def test_areas_near_the_settlement_and_along_roads_touching_it():
    rule = AccessRule()                       # margin 1 km, roads followed 4 km, corridor 30 m
    areas = shapely.STRtree([
        _square(1_200, 0),                    # 0: within radius 300 + 1,000 m
        _square(1_500, 0),                    # 1: beyond it
        _square(0, 3_000),                    # 2: on the road leaving the settlement
        _square(-3_000, 3_000),               # 3: on a road that passes 2 km away
        _square(0, 4_500),                    # 4: on the road, beyond the 4 km reach
    ])
    road_in = shapely.LineString([(0, 0), (0, 6_000)])
    road_by = shapely.LineString([(-3_000, -6_000), (-3_000, 6_000)])
    assert access_areas(rule, areas, 0, 0, 300) == [0]
    assert access_areas(rule, areas, 0, 0, 300, shapely.STRtree([road_in, road_by])) == [0, 2]
    # without a radius of its own, the rule's default (400 m) is the built-up radius
    assert access_areas(AccessRule(default_radius_m=600), areas, 0, 0) == [0, 1]
    assert within_reach(rule, 0, 0, 300, 1_299, 0) and not within_reach(rule, 0, 0, 300, 1_301, 0)
