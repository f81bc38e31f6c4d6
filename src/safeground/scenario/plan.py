"""Work plans for the operations twin: teams, the orders they work, and invalid orders."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from safeground.errors import SafegroundError

ASSETS = ("nts", "ts", "manual", "dog", "machine")
ACTIVITIES = ("nts", "ts", "clearance")
#: Which activities each asset may be ordered to do.
ALLOWED = {"nts": {"nts"}, "ts": {"ts"}, "manual": {"ts", "clearance"},
           "dog": {"ts", "clearance"}, "machine": {"ts", "clearance"}}


class TwinOrderError(SafegroundError, ValueError):
    """A work order names an unknown team or area, or an activity the team cannot do."""

    code = "TWIN_ORDER_INVALID"
    http_status = 422


@dataclass(frozen=True, slots=True)
class TwinTeam:
    """A team the twin can task. ``asset`` is one of nts, ts, manual, dog, machine."""

    id: str
    asset: str
    productivity_m2_per_day: float
    organisation_id: str = "ORG-ANAMA"

    def __post_init__(self) -> None:
        if self.asset not in ASSETS:
            raise TwinOrderError(f"team {self.id}: asset {self.asset!r} not one of {ASSETS}")
        if self.productivity_m2_per_day <= 0:
            raise TwinOrderError(f"team {self.id}: productivity must be positive")


@dataclass(frozen=True, slots=True)
class WorkOrder:
    """Team ``team_id`` does ``activity`` (nts, ts, clearance) on ``area_id`` from ``start``."""

    team_id: str
    area_id: str
    activity: str
    start: dt.date
