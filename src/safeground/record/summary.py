"""The programme status summary: what government and donors ask first.

SHA / CHA count and remaining area; land cancelled, reduced and cleared; items by category;
casualties by outcome and status; settlements by return status. Computed from the derived
record now, or as known on a past date.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from safeground.record.ledger import Ledger
from safeground.record.vocabulary import HazardStatus, ReportType


@dataclass(frozen=True, slots=True)
class StatusSummary:
    as_of: dt.date | None
    areas_open: dict[str, int] = field(default_factory=dict)          # SHA / CHA count
    remaining_m2: dict[str, float] = field(default_factory=dict)      # SHA / CHA
    areas_closed: int = 0
    released_m2: dict[str, float] = field(default_factory=dict)   # cancelled, reduced, cleared
    items: dict[str, int] = field(default_factory=dict)               # by category
    casualties: dict[str, int] = field(default_factory=dict)          # killed/injured x status
    settlements: dict[str, int] = field(default_factory=dict)         # by return status
    displaced: int = 0
    returned: int = 0
    reports: dict[str, int] = field(default_factory=dict)             # by status

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["as_of"] = self.as_of.isoformat() if self.as_of else None
        return out


def status(ledger: Ledger, as_of: dt.date | None = None) -> StatusSummary:
    """Summarise the record (now, or as known on ``as_of``)."""
    areas = ledger.objects(ReportType.HAZARDOUS_AREA, as_of)
    open_count: Counter[str] = Counter()
    remaining: Counter[str] = Counter()
    released: Counter[str] = Counter()
    closed = 0
    for a in areas:
        for kind in ("cancelled", "reduced", "cleared"):
            released[kind] += a[f"{kind}_m2"]
        if a["status"] == HazardStatus.CLOSED.value:
            closed += 1
            continue
        open_count[a["classification"]] += 1
        remaining[a["classification"]] += a["remaining_m2"]
    items: Counter[str] = Counter()
    for it in ledger.objects(ReportType.ORDNANCE, as_of):
        items[it["category"]] += int(it.get("quantity") or 1)
    casualties: Counter[str] = Counter()
    for v in ledger.objects(ReportType.VICTIM, as_of):
        casualties[f"{v['outcome']}_{v['status']}"] += 1
        casualties[v["outcome"]] += 1
    settlements: Counter[str] = Counter()
    displaced = returned = 0
    for s in ledger.objects(ReportType.SETTLEMENT, as_of):
        settlements[s["return_status"]] += 1
        displaced += int(s.get("displaced_population") or 0)
        returned += int(s.get("returned_population") or 0)
    by_status = Counter(r.status.value for r in ledger.reports()) if as_of is None else Counter()
    return StatusSummary(
        as_of=as_of,
        areas_open={k: open_count.get(k, 0) for k in ("SHA", "CHA")},
        remaining_m2={k: round(remaining.get(k, 0.0), 1) for k in ("SHA", "CHA")},
        areas_closed=closed,
        released_m2={k: round(released.get(k, 0.0), 1)
                     for k in ("cancelled", "reduced", "cleared")},
        items=dict(sorted(items.items())), casualties=dict(sorted(casualties.items())),
        settlements=dict(sorted(settlements.items())), displaced=displaced, returned=returned,
        reports=dict(sorted(by_status.items())))
