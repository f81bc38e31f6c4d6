"""What the operations twin lets a planner see: the record's areas and settlements, never the
truth."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import shapely


@dataclass(frozen=True, slots=True)
class ObservedArea:
    """What the record knows of a hazardous area now — never the truth.

    ``polygon`` is the remaining (unreleased) land in EPSG:32638; ``known_items`` counts items
    found in it so far; ``centroid`` is a point on the remaining land (x, y).
    """

    id: str
    name: str
    classification: str
    status: str
    remaining_m2: float
    original_m2: float
    polygon: shapely.Geometry
    centroid: tuple[float, float]
    settlement_id: str | None
    land_use: str
    contamination: tuple[str, ...]
    evidence_count: int
    direct_evidence_count: int
    known_items: int
    terrain_factor: float
    #: land an accident made hazardous again after it was released (``land_release`` on record
    #: + remaining − reopened = original)
    reopened_m2: float = 0.0


@dataclass(frozen=True, slots=True)
class ObservedSettlement:
    id: str
    name: str
    xy: tuple[float, float]
    pre_conflict_population: int
    displaced_population: int
    access_area_ids: tuple[str, ...]
    returned: bool
    return_date: dt.date | None
