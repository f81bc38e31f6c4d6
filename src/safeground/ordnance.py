"""Explosive ordnance items found and disposed of, and the release products of activities."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from safeground.vocabulary import (
    Disposal,
    OrdnanceCategory,
    OrdnanceCondition,
    ReleaseKind,
    ReleaseMethod,
)


@dataclass(frozen=True, slots=True)
class OrdnanceItem:
    id: str
    category: OrdnanceCategory
    disposal: Disposal
    activity_id: str | None = None
    model: str | None = None
    condition: OrdnanceCondition | None = None
    depth_cm: int | None = None
    quantity: int | None = None
    geometry: Any = None
    organisation: str | None = None
    first_date: dt.date | None = None
    last_date: dt.date | None = None
    last_report_id: int | None = None


@dataclass(frozen=True, slots=True)
class ReleaseProduct:
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
    organisation: str | None = None
    first_date: dt.date | None = None
    last_date: dt.date | None = None
    last_report_id: int | None = None
