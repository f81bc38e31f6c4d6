"""Administrative areas and settlements with their pre-conflict, displaced and returned people."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from safeground.domain import Recorded
from safeground.vocabulary import ReturnStatus


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
