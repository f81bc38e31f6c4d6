"""Administrative areas and settlements with their pre-conflict, displaced and returned people,
and the access rule: which hazardous areas stand between a settlement and its people's return.

A settlement can be safely returned to when its built-up area, the land around it and its
access roads are released (docs/domain.md §5). One rule says which areas those are, for the
operations twin and for plans made from the record alike (``access_areas``):

* every area within the settlement's built-up radius + ``margin_m`` of its centre (its built-up
  footprint, its nearby fields and water);
* every area within ``road_corridor_m`` of a road that touches the built-up area (within its
  radius + ``road_touch_m``), followed out to ``road_reach_m`` from the centre.

The distances are the authority's to set (``[access]`` in the planning config). Geometries are
metric (the programme's UTM zone).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import shapely

from safeground.record.domain.values import Recorded
from safeground.record.vocabulary import ReturnStatus


@dataclass(frozen=True, slots=True)
class AdminArea(Recorded):
    id: str
    name: str
    level: int
    parent_id: str | None = None
    pcode: str | None = None
    geometry: Any = None


@dataclass(frozen=True, slots=True)
class Settlement(Recorded):
    id: str
    name: str
    pre_conflict_population: int
    return_status: ReturnStatus
    admin_area_id: str | None = None
    displaced_population: int | None = None
    returned_population: int | None = None
    geometry: Any = None

    @property
    def still_displaced(self) -> int:
        return max(0, (self.displaced_population or 0) - (self.returned_population or 0))


@dataclass(frozen=True, slots=True)
class AccessRule:
    """The distances of the access rule, in metres (``[access]`` of the planning config)."""

    margin_m: float = 1000.0
    default_radius_m: float = 400.0
    road_touch_m: float = 50.0
    road_reach_m: float = 4000.0
    road_corridor_m: float = 30.0


def access_areas(rule: AccessRule, areas: shapely.STRtree, x: float, y: float,
                 radius_m: float | None = None,
                 roads: shapely.STRtree | None = None) -> list[int]:
    """Indices (into the tree's geometries) of the areas a settlement at (x, y) waits on.

    ``radius_m`` is its built-up radius (the rule's default when unknown); ``roads`` a tree of
    road lines, if the programme has them."""
    r = rule.default_radius_m if radius_m is None else float(radius_m)
    centre = shapely.Point(x, y)
    hits = set(areas.query(centre.buffer(r + rule.margin_m, quad_segs=8),
                           predicate="intersects").tolist())
    if roads is not None:
        near = centre.buffer(r + rule.road_touch_m)
        reach = centre.buffer(rule.road_reach_m, quad_segs=8)
        lines: Sequence[Any] = roads.geometries
        access = [shapely.intersection(lines[i], reach)
                  for i in roads.query(near, predicate="intersects")]
        if access:
            corridor = shapely.buffer(shapely.union_all(access), rule.road_corridor_m)
            hits |= set(areas.query(corridor, predicate="intersects").tolist())
    return sorted(hits)


def within_reach(rule: AccessRule, x: float, y: float, radius_m: float | None,
                 px: float, py: float) -> bool:
    """Whether a point (a new area's centre) lies within the settlement's built-up radius +
    margin: how the twin links an area that appears later (an accident site)."""
    r = rule.default_radius_m if radius_m is None else float(radius_m)
    return math.hypot(x - px, y - py) < r + rule.margin_m
