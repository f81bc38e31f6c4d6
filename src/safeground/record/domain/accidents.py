"""Accidents, their victims, and victim-assistance referrals.

Victims' names, birth dates and addresses are sensitive: exports and public views leave them out
(``reports.sensitive_fields``), and ``Victim.public()`` drops them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from safeground.record.domain.values import Recorded
from safeground.record.vocabulary import (
    AccidentContext,
    OrdnanceCategory,
    ReferralService,
    ReferralStatus,
    Sex,
    VictimOutcome,
    VictimStatus,
)


@dataclass(frozen=True, slots=True)
class Accident(Recorded):
    id: str
    device_category: OrdnanceCategory
    context: AccidentContext
    hazardous_area_id: str | None = None
    activity_at_time: str | None = None
    description: str | None = None
    geometry: Any = None


@dataclass(frozen=True, slots=True)
class Victim(Recorded):
    id: str
    accident_id: str
    outcome: VictimOutcome
    sex: Sex
    status: VictimStatus
    age: int | None = None
    activity_at_time: str | None = None
    name: str | None = None
    date_of_birth: dt.date | None = None
    address: str | None = None

    def public(self) -> Victim:
        """The victim without personal data."""
        return replace(self, name=None, date_of_birth=None, address=None)


@dataclass(frozen=True, slots=True)
class Referral(Recorded):
    id: str
    victim_id: str
    provider: str
    service: ReferralService
    status: ReferralStatus
