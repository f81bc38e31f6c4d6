"""Administrative areas and settlements with their pre-conflict, displaced and returned people."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from safeground.vocabulary import ReturnStatus


@dataclass(frozen=True, slots=True)
class AdminArea:
    id: str
    name: str
    level: int
    parent_id: str | None = None
    pcode: str | None = None
    geometry: Any = None
    organisation: str | None = None
    first_date: dt.date | None = None
    last_date: dt.date | None = None
    last_report_id: int | None = None


@dataclass(frozen=True, slots=True)
class Settlement:
    id: str
    name: str
    pre_conflict_population: int
    return_status: ReturnStatus
    admin_area_id: str | None = None
    displaced_population: int | None = None
    returned_population: int | None = None
    geometry: Any = None
    organisation: str | None = None
    first_date: dt.date | None = None
    last_date: dt.date | None = None
    last_report_id: int | None = None

    @property
    def still_displaced(self) -> int:
        return max(0, (self.displaced_population or 0) - (self.returned_population or 0))
