"""Deciding: approving submitted reports (and folding them into the record) or rejecting them,
by someone other than their submitter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
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
    """What became of each report an approval named."""

    approved: list[int] = field(default_factory=list)
    #: (report id, problems): refused by the land release rules, or because the approver
    #: submitted it (``APPROVER_IS_SUBMITTER``); it stays submitted
    refused: list[tuple[int, list[dict[str, Any]]]] = field(default_factory=list)
    #: (report id, status, decided by): decided by someone else before this approval got to it
    already_decided: list[tuple[int, str, str | None]] = field(default_factory=list)
    #: ids of no report
    not_found: list[int] = field(default_factory=list)

    def outcomes(self, ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
        """One entry per report (in the order of ``ids`` when given): ``report_id``,
        ``outcome`` (approved, refused, already_decided, not_found) and, but for the approved,
        the coded ``problems``; an already decided report also says ``status`` and
        ``decided_by``."""
        out: dict[int, dict[str, Any]] = {}
        for rid in self.approved:
            out[rid] = {"report_id": rid, "outcome": "approved"}
        for rid, problems in self.refused:
            out[rid] = {"report_id": rid, "outcome": "refused", "problems": problems}
        for rid, status, by in self.already_decided:
            p = Problem("REPORT_ALREADY_DECIDED", f"report {rid}", None,
                        {"value": rid, "status": status, "user": by or ""})
            out[rid] = {"report_id": rid, "outcome": "already_decided", "status": status,
                        "decided_by": by, "problems": [p.to_dict()]}
        for rid in self.not_found:
            p = Problem("REPORT_NOT_FOUND", f"report {rid}", None, {"value": rid})
            out[rid] = {"report_id": rid, "outcome": "not_found", "problems": [p.to_dict()]}
        order = list(dict.fromkeys(int(i) for i in ids)) if ids is not None else sorted(out)
        return [out[i] for i in order if i in out]


class Deciding:
    """Approving and rejecting submitted reports (a part of ``Ledger``)."""

    def approve(self, report_ids: Sequence[int], user: str,
                note: str | None = None,
                links: Mapping[int, str] | None = None) -> ApproveResult:
        """Approve submitted reports and fold them into the record, deciding report by report.

        A report is approved, or refused and left submitted (its land release transition is
        refused, or the approver is its submitter: two people see every report), or found
        already decided (by another approver, perhaps a moment ago), or not found; the
        result lists each. Approvals in any number of processes run one at a time (on
        PostgreSQL a transaction-scoped advisory lock), so each report is approved once and
        approval sequence numbers stay unique. Raises DatabaseBusyError when another
        decision holds the record longer than the database's ``busy_wait``.

        ``links``: report id -> hazardous area id, the links the approver accepts (the review
        queue's ``link`` proposals): an evidence or accident report that names no hazardous
        area is approved as linked to that area — its ``hazardous_area_id`` set, so it acts on
        the area (an accident turns a suspected area confirmed) and is in the area's history.
        The report keeps what the approver added (``meta.accepted_link``: field, area, who);
        a link that does not apply (another type, a report that names an area already, an
        unknown area) refuses that report (``LINK_NOT_APPLICABLE``, ``REF_UNKNOWN``).
        """
        result = ApproveResult()
        with self.db.write() as conn:
            self.db.serialise(conn, "decide")
            rows, missing, decided, own = self._sort_for_decision(conn, report_ids, user)
            linked: dict[int, Any] = {}
            if links:
                rows = self._link(conn, rows, links, user, result, linked)
            result.not_found = missing
            result.already_decided = [(r.id, r.status, r.decided_by) for r in decided]
            for r in own:
                p = Problem("APPROVER_IS_SUBMITTER", f"report {r.id}", None,
                            {"value": r.id, "user": user})
                result.refused.append((r.id, [p.to_dict()]))
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
            for rep, _ in approved_rows:
                if rep.id in linked:     # the link accepted is stored with the approval
                    row = linked[rep.id]
                    conn.execute(update(reports).where(reports.c.id == rep.id).values(
                        payload=row.payload, area_id=row.area_id, meta=row.meta))
                    audit.write(conn, user, "link", f"report {rep.id}",
                                {"hazardous_area_id": row.area_id})
            if approved_rows:
                conn.execute(update(reports).where(reports.c.id == bp("rid")).values(
                    status=ReportStatus.APPROVED.value, decided_by=user, decided_at=now,
                    decision_note=note, seq=bp("rseq")),
                    [{"rid": r.id, "rseq": s} for r, s in approved_rows])
            self._write_workspace(conn, ws)
            audit.write(conn, user, "approve", None,
                        {"approved": result.approved[:1000], "refused": len(result.refused),
                         "already_decided": len(result.already_decided),
                         "not_found": len(result.not_found)})
        if self.db.dialect == "postgresql" and len(result.approved) >= 5000:
            # fresh planner statistics after a bulk load, or PostgreSQL keeps scanning tables
            # that it still believes are empty
            with self.db.engine.connect() as conn:
                conn.execute(text("ANALYZE"))
                conn.commit()
        return result

    @staticmethod
    def _link(conn: Connection, rows: list[Any], links: Mapping[int, str], user: str,
              result: ApproveResult, linked: dict[int, Any]) -> list[Any]:
        """The rows to approve with the links the approver accepts applied (its payload's
        ``hazardous_area_id``, its ``area_id``, ``meta.accepted_link``; put in ``linked``, by
        id, to be stored if the report is approved). A link that does not apply refuses its
        report."""
        from safeground.record.storage.schema import object_tables

        areas = object_tables[ReportType.HAZARDOUS_AREA]
        wanted = {int(k): str(v) for k, v in links.items()}
        known = set(conn.execute(select(areas.c.id).where(
            areas.c.id.in_(sorted(set(wanted.values()))))).scalars()) if wanted else set()
        out = []
        for r in rows:
            target = wanted.get(r.id)
            if target is None:
                out.append(r)
                continue
            reason = None
            if r.report_type not in (ReportType.EVIDENCE.value, ReportType.ACCIDENT.value):
                reason = f"a {r.report_type} report takes no hazardous area link"
            elif (r.payload or {}).get("hazardous_area_id") not in (None, "", target):
                reason = f"it names hazardous area '{r.payload['hazardous_area_id']}' already"
            if reason is None and target not in known:
                p = Problem("REF_UNKNOWN", f"report {r.id}", "hazardous_area_id",
                            {"value": target, "target": ReportType.HAZARDOUS_AREA.value})
                result.refused.append((r.id, [p.to_dict()]))
                continue
            if reason is not None:
                p = Problem("LINK_NOT_APPLICABLE", f"report {r.id}", "hazardous_area_id",
                            {"value": r.id, "target": target, "reason": reason})
                result.refused.append((r.id, [p.to_dict()]))
                continue
            row = SimpleNamespace(**r._mapping)
            row.payload = {**(r.payload or {}), "hazardous_area_id": target}
            row.area_id = target
            row.meta = {**(r.meta or {}), "accepted_link": {
                "field": "hazardous_area_id", "value": target, "by": user,
                "at": now_utc().isoformat(timespec="seconds")}}
            linked[r.id] = row
            out.append(row)
        return out

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
        """Reject submitted reports with a reason: all of them or none. Raises NotFoundError
        for an unknown id, ConflictError when a report is no longer submitted
        (``REPORT_NOT_SUBMITTED``) or the approver is its submitter."""
        with self.db.write() as conn:
            self.db.serialise(conn, "decide")
            rows, missing, decided, own = self._sort_for_decision(conn, report_ids, user)
            if missing:
                raise NotFoundError(f"no report {missing[0]}", code="REPORT_NOT_FOUND")
            first = min([*decided, *own], key=lambda r: r.id, default=None)
            if first is not None and first in decided:
                p = Problem("REPORT_NOT_SUBMITTED", f"report {first.id}", None,
                            {"value": first.id, "status": first.status})
                raise ConflictError(p.message, code=p.code, details=[p.to_dict()])
            if first is not None:
                p = Problem("APPROVER_IS_SUBMITTER", f"report {first.id}", None,
                            {"value": first.id, "user": user})
                raise ConflictError(p.message, code=p.code, details=[p.to_dict()])
            if rows:
                conn.execute(update(reports).where(reports.c.id.in_([r.id for r in rows]))
                             .values(status=ReportStatus.REJECTED.value, decided_by=user,
                                     decided_at=now_utc(), decision_note=note))
            audit.write(conn, user, "reject", None, {"ids": [r.id for r in rows], "note": note})
        return len(rows)

    def _sort_for_decision(self, conn: Connection, ids: Sequence[int], user: str
                           ) -> tuple[list[Any], list[int], list[Any], list[Any]]:
        """The rows of ``ids`` as they are now, sorted: (submitted and not the user's,
        ids of no report, already decided, submitted by the user)."""
        ids = list(dict.fromkeys(int(i) for i in ids))
        found: list[Any] = []
        for chunk in chunks(ids, 5000):
            found += conn.execute(select(reports).where(reports.c.id.in_(chunk))).all()
        by_id = {r.id: r for r in found}
        rows, missing, decided, own = [], [], [], []
        for i in ids:
            r = by_id.get(i)
            if r is None:
                missing.append(i)
            elif r.status != ReportStatus.SUBMITTED.value:
                decided.append(r)
            elif r.submitted_by == user:
                own.append(r)
            else:
                rows.append(r)
        return rows, missing, decided, own
