"""Explosive ordnance items found and disposed of, and the release products of activities."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from safeground.record.domain.values import Recorded
from safeground.record.vocabulary import (
    Disposal,
    OrdnanceCategory,
    OrdnanceCondition,
    ReleaseKind,
    ReleaseMethod,
)


@dataclass(frozen=True, slots=True)
class OrdnanceItem(Recorded):
    id: str
    category: OrdnanceCategory
    disposal: Disposal
    activity_id: str | None = None
    model: str | None = None
    condition: OrdnanceCondition | None = None
    depth_cm: int | None = None
    quantity: int | None = None
    geometry: Any = None


@dataclass(frozen=True, slots=True)
class ReleaseProduct(Recorded):
    """Land cancelled, reduced or cleared by one activity, as reported (the polygon submitted;
    the part actually subtracted from the area is in the area's engine state)."""

    id: str
    activity_id: str
    hazardous_area_id: str
    release: ReleaseKind
    method: ReleaseMethod
    depth_cm: int | None = None
    qa_passed: bool | None = None
    geometry: Any = None
