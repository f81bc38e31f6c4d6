"""Organisations and teams of the scenario; the default fleet the operations twin uses.

Productivities are planning defaults (docs/domain.md §5): a manual team of about 12 deminers at
~40 m²/day each, dogs about three times a manual team, machines ~8,000 m²/day of ground
preparation; survey teams are counted in m² of suspected land assessed per day.
"""

from __future__ import annotations

from dataclasses import dataclass

from safeground.record.vocabulary import Asset, OrganisationKind


@dataclass(frozen=True, slots=True)
class Organisation:
    id: str
    name: str
    kind: OrganisationKind
    country: str = "Azerbaijan"


@dataclass(frozen=True, slots=True)
class FleetTeam:
    id: str
    organisation_id: str
    name: str
    asset: Asset
    productivity_m2_per_day: float
    size: int


ORGANISATIONS: tuple[Organisation, ...] = (
    Organisation("ORG-ANAMA", "ANAMA", OrganisationKind.NATIONAL_AUTHORITY),
    Organisation("ORG-MOD", "MoD Engineer Troops", OrganisationKind.MILITARY),
    Organisation("ORG-MES", "MES Demining Unit", OrganisationKind.GOVERNMENT),
    Organisation("ORG-SAFEPATH", "Safe Path (NGO)", OrganisationKind.NGO, "International"),
    Organisation("ORG-DELTA", "Delta Demining LLC", OrganisationKind.COMMERCIAL),
)
ORG_NAME = {o.id: o.name for o in ORGANISATIONS}

_RATES = {Asset.NTS: 400_000.0, Asset.TS: 40_000.0, Asset.MANUAL: 500.0, Asset.DOG: 1_500.0,
          Asset.MACHINE: 8_000.0, Asset.EOD: 0.0}
_SIZES = {Asset.NTS: 4, Asset.TS: 8, Asset.MANUAL: 12, Asset.DOG: 6, Asset.MACHINE: 5,
          Asset.EOD: 4}
_ORGS = ("ORG-ANAMA", "ORG-SAFEPATH", "ORG-DELTA", "ORG-MOD")


def _teams(asset: Asset, tag: str, n: int, orgs: tuple[str, ...] = _ORGS) -> list[FleetTeam]:
    return [FleetTeam(f"TEAM-{tag}-{i + 1:02d}", orgs[i % len(orgs)], f"{tag} team {i + 1}",
                      asset, _RATES[asset], _SIZES[asset]) for i in range(n)]


#: The default fleet of the operations twin (also written to the record as team reports).
DEFAULT_FLEET: tuple[FleetTeam, ...] = tuple(
    _teams(Asset.NTS, "NTS", 4) + _teams(Asset.TS, "TS", 4) + _teams(Asset.MANUAL, "MAN", 8)
    + _teams(Asset.DOG, "DOG", 4) + _teams(Asset.MACHINE, "MAC", 4))

#: Explosive ordnance disposal teams that answer spot finds in the baseline period.
EOD_TEAMS: tuple[FleetTeam, ...] = tuple(_teams(Asset.EOD, "EOD", 3, ("ORG-MES", "ORG-MOD")))
