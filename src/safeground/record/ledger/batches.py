"""Batches of reports taken in together under one source label (a migration batch), and their
rollback: every report of the batch removed and the objects it made or changed derived again
from the reports that remain — refused when anything approved or waiting since builds on it.

A rollback is one transaction and one audit entry: either the whole batch goes, or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select

from safeground.errors import ConflictError, NotFoundError
from safeground.record import audit, problems
from safeground.record.ledger.deriving import Workspace, effective_dates
from safeground.record.ledger.rows import TYPE_ORDER, about, chunks, report_from_row
from safeground.record.problems import Problem
from safeground.record.reports import REPORT_SPECS, Report
from safeground.record.storage.schema import object_tables, reports
from safeground.record.vocabulary import ReportStatus, ReportType

problems.register({
    "BATCH_UNKNOWN": "no batch '{value}' in the record",
    "BATCH_BUILT_ON": "batch '{value}' cannot be rolled back: report {other} ({report_type} "
                      "'{object_id}', {status}) links to or updates its objects; "
                      "reject or roll back that first",
})

Key = tuple[ReportType, str]


@dataclass(slots=True)
class RollbackResult:
    batch: str
    reports_removed: int = 0
    objects_removed: dict[str, int] = field(default_factory=dict)
    objects_rebuilt: int = 0


def _links(rep: Report) -> set[Key]:
    out: set[Key] = {(rep.type, rep.object_id)}
    for f in REPORT_SPECS[rep.type].fields:
        if f.kind == "ref" and f.ref is not None and rep.payload.get(f.name):
            out.add((f.ref, rep.payload[f.name]))
    return out


class Batches:
    """The ledger's batch operations (mixed into ``Ledger``)."""

    def rollback_batch(self, source: str, batch: str, user: str) -> RollbackResult:
        """Remove every report stored under ``source`` (the batch's label) and derive its
        objects again from what remains. Raises NotFoundError(BATCH_UNKNOWN) and
        ConflictError(BATCH_BUILT_ON) — nothing changes then."""
        return _rollback(self, source, batch, user)


def _rollback(ledger: Any, source: str, batch: str, user: str) -> RollbackResult:
    result = RollbackResult(batch)
    with ledger.db.write() as conn:
        rows = conn.execute(select(reports).where(reports.c.source == source)).all()
        if not rows:
            p = Problem("BATCH_UNKNOWN", "", None, {"value": batch})
            raise NotFoundError(p.message, code=p.code, details=[p.to_dict()])
        mine = {r.id for r in rows}
        batch_reps = [report_from_row(r) for r in rows
                      if r.status != ReportStatus.REJECTED.value]
        keys: set[Key] = {(r.type, r.object_id) for r in batch_reps}
        areas = {r.area_id for r in rows if r.area_id and r.status != "rejected"}
        keys |= {(ReportType.HAZARDOUS_AREA, a) for a in areas}
        seqs = [r.seq for r in rows if r.seq is not None]
        first_seq = min(seqs) if seqs else None
        # anything approved after the batch, or waiting, that speaks of or links to its objects
        later = select(reports).where(reports.c.id.not_in(select(reports.c.id).where(
            reports.c.source == source)))
        later = later.where((reports.c.status == ReportStatus.SUBMITTED.value) | (
            (reports.c.status == ReportStatus.APPROVED.value) & (reports.c.seq > first_seq)
            if first_seq is not None else reports.c.status == ReportStatus.SUBMITTED.value))
        for row in conn.execute(later):
            rep = report_from_row(row)
            if not isinstance(rep.type, ReportType):
                continue
            if (row.area_id and row.area_id in areas) or (_links(rep) & keys):
                p = Problem("BATCH_BUILT_ON", "", None, {
                    "value": batch, "other": rep.id, "report_type": rep.type.value,
                    "object_id": rep.object_id, "status": rep.status.value})
                raise ConflictError(p.message, code=p.code, details=[p.to_dict()])
        # what remains about each object the batch touched, folded again in a scratch space
        remaining: dict[int, tuple[Report, int]] = {}
        for rtype, oid in keys:
            cond = about(oid) if rtype is ReportType.HAZARDOUS_AREA else \
                (reports.c.object_id == oid) & (reports.c.report_type == rtype.value)
            for row in conn.execute(select(reports).where(
                    cond, reports.c.status == ReportStatus.APPROVED.value)):
                if row.id not in mine:
                    remaining[row.id] = (report_from_row(row), row.seq)
        ws = Workspace(conn)
        scratch = Workspace(None, parent=ws, blank=keys)
        items = sorted(remaining.values(), key=lambda x: x[1])
        eff = effective_dates([r for r, _ in items], None)
        for rep, _ in sorted(items, key=lambda x: (eff[x[0].id], x[1])):
            ledger._fold(scratch, rep, 0, None, [], eff[rep.id])
        gone = [k for k in keys if scratch.objects.get(k) is None]
        for k in keys:
            new = scratch.objects.get(k)
            if new is not None:
                old = ws.get(*k)
                new.exists = old is not None
                ws.objects[k] = new
                ws.dirty.add(k)
                if k[0] is ReportType.HAZARDOUS_AREA:
                    ws.areas[k[1]] = scratch.areas.get(k[1])
        ledger._write_workspace(conn, ws)
        result.objects_rebuilt = len(keys) - len(gone)
        for k in sorted(gone, key=lambda k: -TYPE_ORDER[k[0]]):  # children before parents
            table = object_tables[k[0]]
            n = conn.execute(delete(table).where(table.c.id == k[1])).rowcount
            if n:
                result.objects_removed[k[0].value] = result.objects_removed.get(k[0].value, 0) + n
        for chunk in chunks(sorted(mine), 5000):
            conn.execute(delete(reports).where(reports.c.id.in_(chunk)))
        result.reports_removed = len(mine)
        audit.write(conn, user, "rollback", source,
                    {"batch": batch, "reports": result.reports_removed,
                     "objects_removed": result.objects_removed,
                     "objects_rebuilt": result.objects_rebuilt})
    ledger._links = None  # the cached gate checker still holds the batch's submissions
    return result
