"""Deciding: approving submitted reports (and folding them into the record) or rejecting them,
by someone other than their submitter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select, text, update

from safeground.errors import ConflictError, NotFoundError, SafegroundError
from safeground.record import audit
from safeground.record.ledger.deriving import Workspace, effective_dates
from safeground.record.ledger.rows import (
    TYPE_ORDER,
    bp,
    chunks,
    now_utc,
    report_from_row,
)
from safeground.record.problems import Problem
from safeground.record.reports import REPORT_SPECS
from safeground.record.storage.schema import reports
from safeground.record.vocabulary import (
    ReportStatus,
    ReportType,
)


@dataclass(slots=True)
class ApproveResult:
    approved: list[int] = field(default_factory=list)
    refused: list[tuple[int, list[dict[str, Any]]]] = field(default_factory=list)


class Deciding:
    """Approving and rejecting submitted reports (a part of ``Ledger``)."""

    def approve(self, report_ids: Sequence[int], user: str,
                note: str | None = None) -> ApproveResult:
        """Approve submitted reports and fold them into the record.

        Raises NotFoundError for an unknown id and ConflictError when a report is not
        submitted or the approver is its submitter (nothing is approved then). A report whose
        land release transition is refused stays submitted and is listed in ``refused``.
        """
        result = ApproveResult()
        with self.db.write() as conn:
            rows = self._load_for_decision(conn, report_ids, user)
            seq = conn.execute(select(func.coalesce(func.max(reports.c.seq), 0))).scalar_one()
            ws = Workspace(conn)
            ws.preload(self._keys_of(rows))
            reps = [report_from_row(r) for r in rows]
            eff = effective_dates(reps, ws)
            rows = [r for _, r in sorted(zip(reps, rows, strict=True), key=lambda x: (
                eff[x[0].id], TYPE_ORDER[x[0].type], x[0].id))]
            approved_rows: list[Any] = []
            by_id = {r.id: r for r in reps}
            for row in rows:
                rep = by_id[row.id]
                try:
                    self._fold(ws, rep, seq + 1, conn, approved_rows, eff[rep.id])
                except SafegroundError as exc:
                    result.refused.append((rep.id, exc.details or [{"code": exc.code,
                                                                    "message": exc.message}]))
                    continue
                seq += 1
                approved_rows.append((rep, seq))
                result.approved.append(rep.id)
            now = now_utc()
            if approved_rows:
                conn.execute(update(reports).where(reports.c.id == bp("rid")).values(
                    status=ReportStatus.APPROVED.value, decided_by=user, decided_at=now,
                    decision_note=note, seq=bp("rseq")),
                    [{"rid": r.id, "rseq": s} for r, s in approved_rows])
            self._write_workspace(conn, ws)
            audit.write(conn, user, "approve", None,
                        {"approved": result.approved[:1000], "refused": len(result.refused)})
        if self.db.dialect == "postgresql" and len(result.approved) >= 5000:
            # fresh planner statistics after a bulk load, or PostgreSQL keeps scanning tables
            # that it still believes are empty
            with self.db.engine.connect() as conn:
                conn.execute(text("ANALYZE"))
                conn.commit()
        return result

    @staticmethod
    def _keys_of(rows: list[Any]) -> set[tuple[ReportType, str]]:
        """Every object the reports speak of or link to."""
        keys: set[tuple[ReportType, str]] = set()
        for r in rows:
            rtype = ReportType(r.report_type)
            keys.add((rtype, r.object_id))
            if r.area_id:
                keys.add((ReportType.HAZARDOUS_AREA, r.area_id))
            for f in REPORT_SPECS[rtype].fields:
                if f.kind == "ref" and f.name in r.payload:
                    assert f.ref is not None
                    keys.add((f.ref, r.payload[f.name]))
        return keys

    def reject(self, report_ids: Sequence[int], user: str, note: str) -> int:
        """Reject submitted reports with a reason. Raises like ``approve``."""
        with self.db.write() as conn:
            rows = self._load_for_decision(conn, report_ids, user)
            if rows:
                conn.execute(update(reports).where(reports.c.id.in_([r.id for r in rows]))
                             .values(status=ReportStatus.REJECTED.value, decided_by=user,
                                     decided_at=now_utc(), decision_note=note))
            audit.write(conn, user, "reject", None, {"ids": [r.id for r in rows], "note": note})
        return len(rows)

    def _load_for_decision(self, conn: Connection, ids: Sequence[int], user: str) -> list[Any]:
        ids = list(dict.fromkeys(int(i) for i in ids))
        rows: list[Any] = []
        for chunk in chunks(ids, 5000):
            rows += conn.execute(select(reports).where(reports.c.id.in_(chunk))).all()
        found = {r.id for r in rows}
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFoundError(f"no report {missing[0]}", code="REPORT_NOT_FOUND")
        for r in rows:
            if r.status != ReportStatus.SUBMITTED.value:
                p = Problem("REPORT_NOT_SUBMITTED", f"report {r.id}", None,
                            {"value": r.id, "status": r.status})
                raise ConflictError(p.message, code=p.code, details=[p.to_dict()])
            if r.submitted_by == user:
                p = Problem("APPROVER_IS_SUBMITTER", f"report {r.id}", None,
                            {"value": r.id, "user": user})
                raise ConflictError(p.message, code=p.code, details=[p.to_dict()])
        return rows
