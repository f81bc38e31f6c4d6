"""Explosive ordnance risk education (EORE) sessions, audience by sex and age band."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from safeground.record.domain.values import Recorded
from safeground.record.vocabulary import EoreMethod


@dataclass(frozen=True, slots=True)
class RiskEducationSession(Recorded):
    id: str
    organisation_id: str
    method: EoreMethod
    settlement_id: str | None = None
    girls: int | None = None
    boys: int | None = None
    women: int | None = None
    men: int | None = None
    geometry: Any = None

    @property
    def audience(self) -> int:
        return sum(x or 0 for x in (self.girls, self.boys, self.women, self.men))
