"""Activities (NTS, TS, clearance, BAC, EOD spot tasks) and the quality checks of them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from safeground.record.domain.values import Recorded
from safeground.record.vocabulary import ActivityStatus, ActivityType, Asset, QaKind, QaResult


@dataclass(frozen=True, slots=True)
class Activity(Recorded):
    id: str
    activity_type: ActivityType
    organisation_id: str
    start_date: dt.date
    status: ActivityStatus
    team_id: str | None = None
    hazardous_area_id: str | None = None
    asset: Asset | None = None
    end_date: dt.date | None = None
    geometry: Any = None


@dataclass(frozen=True, slots=True)
class QaVisit(Recorded):
    """A quality assurance visit or quality control sample (IMAS 07.12)."""

    id: str
    activity_id: str
    kind: QaKind
    result: QaResult
    nonconformities: int | None = None
    notes: str | None = None
