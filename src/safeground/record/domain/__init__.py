"""Typed, immutable domain values and their conversion from derived rows.

Each IMAS object is a frozen dataclass in the module named after it (``hazardous_areas.py``,
``ordnance.py``, ``accidents.py`` …). ``from_row`` builds one from a row of the derived record
(``Ledger.objects``), turning choice values into their enums; ``Ledger.values`` returns them.
A test checks that every class has exactly the fields of its report type.
"""

from __future__ import annotations

from typing import Any

from safeground.record.domain.accidents import Accident, Referral, Victim
from safeground.record.domain.activities import Activity, QaVisit
from safeground.record.domain.hazardous_areas import Evidence, HazardousArea
from safeground.record.domain.ordnance import OrdnanceItem, ReleaseProduct
from safeground.record.domain.organisations import Organisation, Team
from safeground.record.domain.risk_education import RiskEducationSession
from safeground.record.domain.settlements import AdminArea, Settlement
from safeground.record.domain.values import COMMON, Recorded, from_row
from safeground.record.vocabulary import ReportType as R

__all__ = ["COMMON", "Recorded", "from_row", "value_types"]


def value_types() -> dict[Any, type]:
    """The domain class of each report type."""
    return {R.ORGANISATION: Organisation, R.TEAM: Team, R.ADMIN_AREA: AdminArea,
            R.SETTLEMENT: Settlement, R.HAZARDOUS_AREA: HazardousArea, R.EVIDENCE: Evidence,
            R.ACTIVITY: Activity, R.LAND_RELEASE: ReleaseProduct, R.ORDNANCE: OrdnanceItem,
            R.ACCIDENT: Accident, R.VICTIM: Victim, R.RISK_EDUCATION: RiskEducationSession,
            R.REFERRAL: Referral, R.QA_VISIT: QaVisit}
