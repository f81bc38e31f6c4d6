"""Running a migration: the planned reports through the gate (``Ledger.submit``) by the person
running it, approved as one batch by a second person; and the rollback of a batch."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

import safeground.migrate.catalogue  # noqa: F401 - registers the migration codes
from safeground.errors import ConflictError
from safeground.migrate.check import known_ids
from safeground.migrate.mapping import Mapping
from safeground.migrate.source import Source
from safeground.migrate.transform import Plan, plan
from safeground.record.ledger import RollbackResult
from safeground.record.problems import Problem
from safeground.record.storage.schema import reports
from safeground.record.vocabulary import ReportStatus

SOURCE_PREFIX = "migration "


def batch_source(batch: str) -> str:
    """The ``source`` label every report of a migration batch is stored under."""
    return SOURCE_PREFIX + batch


@dataclass(slots=True)
class RunResult:
    batch: str | None
    plan: Plan
    submitted: int = 0
    rejected: list[Any] = field(default_factory=list)
    duplicates: int = 0
    approved: int = 0
    refused: list[tuple[int, list[dict[str, Any]]]] = field(default_factory=list)
    skipped_rejected_before: int = 0


def _seen_before(ledger: Any) -> tuple[set[str], set[str]]:
    """Submission ids of migrated records taken in by an earlier run, and of those the gate
    refused then: a re-run skips both (a refusal is kept once, with its reasons), without
    checking them at the gate again."""
    taken, refused = set(), set()
    with ledger.db.read() as conn:
        q = select(reports.c.status, reports.c.submission_id).where(
            reports.c.source.like(SOURCE_PREFIX + "%"),
            reports.c.status != ReportStatus.REJECTED.value)
        taken = {sub for _, sub in conn.execute(q) if sub}
        q = select(reports.c.payload).where(reports.c.status == ReportStatus.REJECTED.value,
                                            reports.c.source.like(SOURCE_PREFIX + "%"))
        for (payload,) in conn.execute(q):
            sub = (payload or {}).get("submission_id")
            if sub:
                refused.add(str(sub))
    return taken, refused


def run(ledger: Any, source: Source, mapping: Mapping, user: str, approver: str,
        today: dt.date | None = None) -> RunResult:
    """Submit the mapped reports as ``user`` and approve them as ``approver`` in one batch.

    Idempotent: records taken in before (same source file, layer, original id) are skipped,
    so a second run changes nothing. Raises ConflictError(MIGRATE_APPROVER_IS_RUNNER)."""
    if approver.strip() == user.strip():
        p = Problem("MIGRATE_APPROVER_IS_RUNNER", "", None, {"value": user})
        raise ConflictError(p.message, code=p.code, details=[p.to_dict()])
    p = plan(source, mapping, ledger.settings, known_ids(ledger))
    taken, refused = _seen_before(ledger)
    records = [r for r in p.records if r["submission_id"] not in taken
               and r["submission_id"] not in refused]
    stamp = dt.datetime.now(dt.UTC)
    digest = hashlib.sha256(f"{source.name}|{mapping.label}|{stamp.isoformat()}".encode())
    batch = f"M{stamp:%Y%m%d-%H%M%S}-{digest.hexdigest()[:6]}"
    for r in records:
        r["_migration_batch"] = batch
    out = RunResult(None, p, duplicates=sum(r["submission_id"] in taken for r in p.records),
                    skipped_rejected_before=sum(r["submission_id"] in refused
                                                for r in p.records))
    if not records:
        return out
    res = ledger.submit(records, user, source=batch_source(batch), today=today)
    out.submitted, out.rejected = len(res.accepted), res.rejected
    out.duplicates += len(res.duplicates)
    if res.accepted or res.rejected:
        out.batch = batch
    if res.accepted:
        dec = ledger.approve(res.accepted, approver,
                             note=f"migration batch {batch} ({mapping.label}, {source.name})")
        out.approved, out.refused = len(dec.approved), dec.refused
    return out


def rollback(ledger: Any, batch: str, user: str) -> RollbackResult:
    """Remove a migration batch whole (see ``Ledger.rollback_batch``)."""
    return ledger.rollback_batch(batch_source(batch), batch, user)
