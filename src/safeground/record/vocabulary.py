"""The IMAS words Safeground speaks, as closed choice lists (docs/domain.md §2, IMAS 04.10).

Each enum's values are what files, forms and the API carry. ``choices(Enum)`` gives the list
used in validation messages and in the XLSForm choice sheets.
"""

from __future__ import annotations

from enum import StrEnum


class ReportType(StrEnum):
    ORGANISATION = "organisation"
    TEAM = "team"
    ADMIN_AREA = "admin_area"
    SETTLEMENT = "settlement"
    HAZARDOUS_AREA = "hazardous_area"
    EVIDENCE = "evidence"
    ACTIVITY = "activity"
    LAND_RELEASE = "land_release"
    ORDNANCE = "ordnance"
    ACCIDENT = "accident"
    VICTIM = "victim"
    RISK_EDUCATION = "risk_education"
    REFERRAL = "referral"
    QA_VISIT = "qa_visit"


class ReportStatus(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"


class OrganisationKind(StrEnum):
    NATIONAL_AUTHORITY = "national_authority"
    NGO = "ngo"
    COMMERCIAL = "commercial"
    MILITARY = "military"
    UN = "un"
    GOVERNMENT = "government"


class Asset(StrEnum):
    """What a team works with (IMAS 09.10 / 09.40 / 09.50)."""

    NTS = "nts"
    TS = "ts"
    MANUAL = "manual"
    DOG = "dog"
    MACHINE = "machine"
    EOD = "eod"
    EORE = "eore"


class ReturnStatus(StrEnum):
    NOT_RETURNED = "not_returned"
    PARTIAL = "partial"
    RETURNED = "returned"


class HazardClass(StrEnum):
    """SHA: indirect evidence only. CHA: direct evidence (IMAS 04.10)."""

    SHA = "SHA"
    CHA = "CHA"


class HazardStatus(StrEnum):
    OPEN = "open"
    WORKED_ON = "worked_on"
    CLOSED = "closed"


class Contamination(StrEnum):
    AP = "AP"          # anti-personnel mines
    AT = "AT"          # anti-tank mines
    ERW = "ERW"        # unexploded / abandoned ordnance
    CLUSTER = "cluster"
    IED = "IED"


class EvidenceKind(StrEnum):
    DIRECT = "direct"
    INDIRECT = "indirect"


class EvidenceCategory(StrEnum):
    """What was seen or said. The first six are direct evidence, the rest indirect."""

    ACCIDENT = "accident"
    EO_OBSERVED = "eo_observed"
    DETONATION = "detonation"
    MARKING = "marking"
    RECORDS_RELIABLE = "records_reliable"
    FIND = "find"
    COMBAT_ZONE = "combat_zone"
    MILITARY_POSITION = "military_position"
    UNUSED_LAND = "unused_land"
    VERBAL = "verbal"
    RECORDS_UNRELIABLE = "records_unreliable"
    IMAGERY = "imagery"


DIRECT_CATEGORIES = frozenset({
    EvidenceCategory.ACCIDENT, EvidenceCategory.EO_OBSERVED, EvidenceCategory.DETONATION,
    EvidenceCategory.MARKING, EvidenceCategory.RECORDS_RELIABLE, EvidenceCategory.FIND,
})


class EvidenceSource(StrEnum):
    OBSERVED = "observed"
    VERBAL = "verbal"
    RECORDS = "records"


class Reliability(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class ActivityType(StrEnum):
    NTS = "nts"
    TS = "ts"
    CLEARANCE = "clearance"
    BAC = "bac"                  # battle area clearance
    EOD_SPOT = "eod_spot"
    POST_CLEARANCE = "post_clearance"


class ActivityStatus(StrEnum):
    PLANNED = "planned"
    ONGOING = "ongoing"
    SUSPENDED = "suspended"
    COMPLETED = "completed"


class ReleaseKind(StrEnum):
    CANCELLED = "cancelled"
    REDUCED = "reduced"
    CLEARED = "cleared"


class ReleaseMethod(StrEnum):
    NTS = "nts"
    DESK = "desk"
    TS = "ts"
    MANUAL = "manual"
    DOG = "dog"
    MACHINE = "machine"
    MIXED = "mixed"


#: Which activity may produce which release (docs/domain.md §2 transitions).
RELEASE_BY_ACTIVITY: dict[ReleaseKind, frozenset[ActivityType]] = {
    ReleaseKind.CANCELLED: frozenset({ActivityType.NTS}),
    ReleaseKind.REDUCED: frozenset({ActivityType.TS}),
    ReleaseKind.CLEARED: frozenset({ActivityType.CLEARANCE, ActivityType.BAC}),
}


class OrdnanceCategory(StrEnum):
    AP_MINE = "AP_mine"
    AT_MINE = "AT_mine"
    UXO = "UXO"
    AXO = "AXO"
    SUBMUNITION = "submunition"
    IED = "IED"
    SMALL_ARMS = "small_arms"
    OTHER = "other"


class OrdnanceCondition(StrEnum):
    ARMED = "armed"
    UNARMED = "unarmed"
    DAMAGED = "damaged"
    UNKNOWN = "unknown"


class Disposal(StrEnum):
    DESTROYED_IN_SITU = "destroyed_in_situ"
    REMOVED_AND_DESTROYED = "removed_and_destroyed"
    RENDERED_SAFE = "rendered_safe"
    NOT_DISPOSED = "not_disposed"


class AccidentContext(StrEnum):
    CIVILIAN = "civilian"
    DEMINING = "demining"
    MILITARY = "military"


class VictimOutcome(StrEnum):
    KILLED = "killed"
    INJURED = "injured"


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    UNKNOWN = "unknown"


class VictimStatus(StrEnum):
    CIVILIAN = "civilian"
    DEMINER = "deminer"
    MILITARY = "military"


class EoreMethod(StrEnum):
    SESSION = "session"
    HOUSE_TO_HOUSE = "house_to_house"
    SCHOOL = "school"
    MEDIA = "media"
    DIGITAL = "digital"


class ReferralService(StrEnum):
    MEDICAL = "medical"
    REHABILITATION = "rehabilitation"
    PSYCHOSOCIAL = "psychosocial"
    ECONOMIC = "economic"
    SOCIAL = "social"
    EDUCATION = "education"


class ReferralStatus(StrEnum):
    REFERRED = "referred"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    DECLINED = "declined"


class QaKind(StrEnum):
    QA = "QA"
    QC = "QC"


class QaResult(StrEnum):
    PASS = "pass"
    FAIL = "fail"


class LandUse(StrEnum):
    BUILT_UP = "built_up"
    FARMLAND = "farmland"
    PASTURE = "pasture"
    FOREST = "forest"
    ROAD = "road"
    WATER = "water"
    INFRASTRUCTURE = "infrastructure"
    OTHER = "other"


def choices(enum: type[StrEnum]) -> list[str]:
    return [m.value for m in enum]


#: how a code reads to a person where the code itself does not (abbreviations, compounds);
#: every other code reads as itself with its underscores as spaces (``label``)
LABELS: dict[str, str] = {
    "AP_mine": "anti-personnel mine",
    "AT_mine": "anti-tank mine",
    "UXO": "unexploded ordnance",
    "AXO": "abandoned explosive ordnance",
    "IED": "improvised explosive device",
    "small_arms": "small arms ammunition",
    "submunition": "submunition",
    "not_returned": "not yet returned",
    "partial": "partly returned",
    "SHA": "suspected hazardous area",
    "CHA": "confirmed hazardous area",
    "nts": "non-technical survey",
    "ts": "technical survey",
    "bac": "battle area clearance",
    "eod_spot": "EOD spot task",
    "worked_on": "worked on",
    "built_up": "built-up",
}


def label(code: object) -> str:
    """The human label of a vocabulary code (``AP_mine`` → "anti-personnel mine"); a code
    without one reads with its underscores as spaces. Not a code (None, a number): as text."""
    text = "" if code is None else str(code)
    return LABELS.get(text, text.replace("_", " "))
