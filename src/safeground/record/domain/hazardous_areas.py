"""Hazardous areas (SHA / CHA) and the evidence behind them (IMAS 04.10, 07.11)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from safeground.record.domain.values import Recorded
from safeground.record.vocabulary import (
    DIRECT_CATEGORIES,
    Contamination,
    EvidenceCategory,
    EvidenceKind,
    EvidenceSource,
    HazardClass,
    HazardStatus,
    LandUse,
    Reliability,
)


@dataclass(frozen=True, slots=True)
class HazardousArea(Recorded):
    """A hazardous area as the record knows it, with its land release figures (m², UTM)."""

    id: str
    classification: HazardClass
    contamination: tuple[Contamination, ...]
    status: HazardStatus
    original_m2: float
    cancelled_m2: float
    reduced_m2: float
    cleared_m2: float
    reopened_m2: float
    remaining_m2: float
    name: str | None = None
    settlement_id: str | None = None
    admin_area_id: str | None = None
    land_use: LandUse | None = None
    estimated_area_m2: float | None = None
    beneficiaries: int | None = None
    benchmark: str | None = None
    geometry: Any = None
    remaining_geometry: Any = None

    @property
    def released_m2(self) -> float:
        return self.cancelled_m2 + self.reduced_m2 + self.cleared_m2


@dataclass(frozen=True, slots=True)
class Evidence(Recorded):
    id: str
    category: EvidenceCategory
    source: EvidenceSource
    reliability: Reliability
    hazardous_area_id: str | None = None
    description: str | None = None
    geometry: Any = None

    @property
    def kind(self) -> EvidenceKind:
        """Direct or indirect, from the category (IMAS 04.10)."""
        return EvidenceKind.DIRECT if self.category in DIRECT_CATEGORIES \
            else EvidenceKind.INDIRECT
