"""Classification proposals into the review queue: the risk ranking's SHA / CHA proposals as
draft reports for an approver.

``safeground risk rank`` writes ``area-risk.csv``: per hazardous area the classification its
weighted evidence (the evidence rules) and the model's mean probability propose
(``classification.classify``). A proposal is advice, never a change of the record; here each
proposal that differs from the area's classification in the record becomes a submitted
``hazardous_area`` report — the area's id, the proposed classification, dated the day it is
brought in — submitted as ``PROPOSER``, so that any approver may accept it (approve) or turn
it down (reject with a note) in the review queue. The score, the mean probability and the
evidence that drove it travel with the report (its ``meta``), and the queue shows the change
(``classification: SHA -> CHA``).

A proposal is brought in once per ranking: its submission id names the area, the proposal
and the ranking file's content, so bringing the same ranking in again adds nothing, and a
proposal an approver rejected does not come back until a new ranking proposes it again.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from safeground.record.ledger import Ledger
from safeground.record.storage.schema import reports
from safeground.record.vocabulary import HazardClass, ReportType

#: who submits the proposals (not a user who can sign in): any approver may decide them
PROPOSER = "risk-model"
SOURCE = "classification proposal (risk ranking)"
AUTHOR = "risk model and evidence rules"


@dataclass(slots=True)
class Brought:
    """What bringing a ranking's proposals into the queue did."""

    submitted: list[int] = field(default_factory=list)
    #: proposals the record agrees with already, for closed or unknown areas, or brought in
    skipped: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"submitted": self.submitted, "skipped": self.skipped,
                "rejected": self.rejected}


def _drivers(text: str) -> str:
    try:
        items = json.loads(text or "[]")
    except ValueError:
        return ""
    return "; ".join(f"{d.get('evidence')} {d.get('category')} ({d.get('points')})"
                     for d in items[:5] if isinstance(d, dict))


def bring_in(ledger: Ledger, ranking: str | Path, today: dt.date | None = None) -> Brought:
    """Submit the ranking's proposals that differ from the record as draft reports (see the
    module). Raises OSError when the file cannot be read."""
    path = Path(ranking)
    data = path.read_bytes()
    stamp = hashlib.sha1(data, usedforsecurity=False).hexdigest()[:12]
    rows = list(csv.DictReader(data.decode("utf-8-sig").splitlines()))
    areas = {a["id"]: a for a in ledger.objects(ReportType.HAZARDOUS_AREA)}
    with ledger.db.read() as conn:
        seen = set(conn.execute(select(reports.c.submission_id).where(
            reports.c.source == SOURCE)).scalars())
    out = Brought()
    records = []
    day = (today or dt.date.today()).isoformat()
    classes = {c.value for c in HazardClass}
    for row in rows:
        oid, proposed = row.get("object_id", ""), row.get("proposed", "")
        area = areas.get(oid)
        sid = f"risk:{oid}:{proposed}:{stamp}"
        # a confirmed area goes back to suspected only without direct evidence: the record
        # keeps a CHA its evidence confirms (``land_release.revise``), so such a proposal is
        # brought in only when the ranking found no direct evidence either
        downgrade = proposed == HazardClass.SHA.value and \
            str(row.get("direct_evidence", "")).strip().lower() in ("true", "1")
        if proposed not in classes or area is None or area.get("status") == "closed" \
                or area.get("classification") == proposed or sid in seen or downgrade:
            out.skipped += 1
            continue
        records.append({
            "report_type": ReportType.HAZARDOUS_AREA.value, "object_id": oid,
            "date_of_information": day, "organisation": area.get("organisation") or "",
            "author": AUTHOR, "classification": proposed, "submission_id": sid,
            "_proposal_score": row.get("score"),
            "_mean_probability": row.get("mean_probability"),
            "_direct_evidence": row.get("direct_evidence"),
            "_drivers": _drivers(row.get("drivers", "")),
            "_where": f"{path.name} {oid}"})
    if records:
        res = ledger.submit(records, user=PROPOSER, source=SOURCE)
        out.submitted = list(res.accepted)
        out.skipped += len(res.duplicates)
        out.rejected = [{"where": r.where, "problems": [p.to_dict() for p in r.problems]}
                        for r in res.rejected]
    return out
