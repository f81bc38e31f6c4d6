"""Organisations (operators, authorities) and their teams, by main asset."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from safeground.vocabulary import Asset, OrganisationKind


@dataclass(frozen=True, slots=True)
class Organisation:
    id: str
    name: str
    kind: OrganisationKind
    country: str | None = None
    organisation: str | None = None
    first_date: dt.date | None = None
    last_date: dt.date | None = None
    last_report_id: int | None = None


@dataclass(frozen=True, slots=True)
class Team:
    id: str
    organisation_id: str
    name: str
    asset: Asset
    size: int | None = None
    organisation: str | None = None
    first_date: dt.date | None = None
    last_date: dt.date | None = None
    last_report_id: int | None = None
