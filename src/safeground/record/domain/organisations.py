"""Organisations (operators, authorities) and their teams, by main asset."""

from __future__ import annotations

from dataclasses import dataclass

from safeground.record.domain.values import Recorded
from safeground.record.vocabulary import Asset, OrganisationKind


@dataclass(frozen=True, slots=True)
class Organisation(Recorded):
    id: str
    name: str
    kind: OrganisationKind
    country: str | None = None


@dataclass(frozen=True, slots=True)
class Team(Recorded):
    id: str
    organisation_id: str
    name: str
    asset: Asset
    size: int | None = None
