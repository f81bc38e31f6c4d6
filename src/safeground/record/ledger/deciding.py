"""Deciding: approving submitted reports (and folding them into the record) or rejecting them,
by someone other than their submitter.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import (
    Connection,
    Date,
    LargeBinary,
    cast,
    func,
    insert,
    select,
    text,
    type_coerce,
    update,
)

from safeground.errors import ConflictError, NotFoundError, SafegroundError
from safeground.record import audit
from safeground.record import land_release as engine
from safeground.record.ledger.bulk import big_cache
from safeground.record.ledger.deriving import Workspace, effective_dates
from safeground.record.ledger.rows import (
    AREA_EVENTS,
    TYPE_ORDER,
    chunks,
    now_utc,
    report_from_row,
)
from safeground.record.problems import Problem
from safeground.record.reports import REPORT_SPECS
from safeground.record.storage import spatial
from safeground.record.storage.schema import object_tables, reports
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

    def outcomes(self, ids: Sequence[int] | None = None, *,
                 approved: bool = True) -> list[dict[str, Any]]:
        """One entry per report (in the order of ``ids`` when given, else of id): ``report_id``,
        ``outcome`` (approved, refused, already_decided, not_found) and, but for the approved,
        the coded ``problems``; an already decided report also says ``status`` and
        ``decided_by``. ``approved=False``: the others only."""
        out: dict[int, dict[str, Any]] = {}
        for rid in self.approved if approved else ():
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


class Light:
    """What deciding needs of a report before its turn comes: no payload but its links, no
    geometry (about 10 % of a whole report in memory)."""

    __slots__ = ("area_id", "date_of_information", "id", "object_id", "payload", "type")

    def __init__(self, id: int, type: ReportType, object_id: str,
                 date_of_information: dt.date, area_id: str | None,
                 payload: dict[str, str]) -> None:
        self.id = id
        self.type = type
        self.object_id = object_id
        self.date_of_information = date_of_information
        self.area_id = area_id
        self.payload = payload  # the report's links only: field name -> object id


#: reports are approved this many at a time (in order), within the one transaction
APPROVE_CHUNK = 20_000
_IN = 5000  # ids per IN (...) list: well within every database's parameter limit
_REF_NAMES = sorted({f.name for s in REPORT_SPECS.values() for f in s.fields if f.kind == "ref"})
_REFS = {t: {f.name: f.ref for f in s.fields if f.kind == "ref"} for t, s in REPORT_SPECS.items()}
_LINKED = {ref for refs in _REFS.values() for ref in refs.values()}
#: types whose new objects are written straight from their reports, in the database: nothing
#: links to them and they are no area's event (an explosive item only confirms its area)
SET_WISE_TYPES = frozenset(t for t in ReportType if t not in _LINKED
                           and t is not ReportType.HAZARDOUS_AREA and t not in AREA_EVENTS)


class Deciding:
    """Approving and rejecting submitted reports (a part of ``Ledger``)."""

    #: see APPROVE_CHUNK (an attribute, so that a test can take small steps)
    approve_chunk = APPROVE_CHUNK
    #: new objects of ``SET_WISE_TYPES`` written in the database (False: every report through
    #: the fold; the outcome is the same)
    set_wise = True

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

        The reports are taken in order of effective date (then type, then id) and folded
        ``approve_chunk`` at a time, in one transaction: memory stays bounded whatever the
        number. A new object of a type nothing links to (an explosive item, a QA visit...)
        whose report is the only one about it, whose links were in the record before and
        whose area no other report of the approval touches is written in the database
        straight from its report, with the same outcome as report by report.

        ``links``: report id -> hazardous area id, the links the approver accepts (the review
        queue's ``link`` proposals): an evidence or accident report that names no hazardous
        area is approved as linked to that area — its ``hazardous_area_id`` set, so it acts on
        the area (an accident turns a suspected area confirmed) and is in the area's history.
        The report keeps what the approver added (``meta.accepted_link``: field, area, who);
        a link that does not apply (another type, a report that names an area already, an
        unknown area) refuses that report (``LINK_NOT_APPLICABLE``, ``REF_UNKNOWN``), and a
        linked report refused for another reason is left as it was submitted.
        """
        return self._approve(report_ids, user, note, links)

    def approve_all(self, user: str, note: str | None = None,
                    links: Mapping[int, str] | None = None) -> ApproveResult:
        """Approve every submitted report, as ``approve`` does (the ids are chosen in the
        database, never loaded as reports first)."""
        return self._approve(None, user, note, links)

    def _approve(self, report_ids: Sequence[int] | None, user: str,
                 note: str | None, links: Mapping[int, str] | None = None) -> ApproveResult:
        result = ApproveResult()
        with self.db.write() as conn:
            self.db.serialise(conn, "decide")
            with big_cache(conn):
                kept: dict[int, tuple[Any, str]] = {}
                if links:
                    kept, refused = self._link(conn, links, user, result)
                    if refused:
                        if report_ids is None:
                            report_ids = list(conn.execute(select(reports.c.id).where(
                                reports.c.status == ReportStatus.SUBMITTED.value)).scalars())
                        report_ids = [i for i in report_ids if int(i) not in refused]
                self._approve_in(conn, report_ids, user, note, result)
                self._settle_links(conn, kept, user, result)
        if self.db.dialect == "postgresql" and len(result.approved) >= 5000:
            # fresh planner statistics after a bulk load, or PostgreSQL keeps scanning tables
            # that it still believes are empty
            with self.db.engine.connect() as conn:
                conn.execute(text("ANALYZE"))
                conn.commit()
        return result

    def _approve_in(self, conn: Connection, report_ids: Sequence[int] | None, user: str,
                    note: str | None, result: ApproveResult) -> None:
        todo, own = self._to_decide(conn, report_ids, user, result)
        for rid in own:
            p = Problem("APPROVER_IS_SUBMITTER", f"report {rid}", None,
                        {"value": rid, "user": user})
            result.refused.append((rid, [p.to_dict()]))
        seq = conn.execute(select(func.coalesce(func.max(reports.c.seq), 0))).scalar_one()
        links = Workspace(conn)
        links.preload({(_REFS[r.type][n], v) for r in todo for n, v in r.payload.items()})
        eff = effective_dates(todo, links)  # type: ignore[arg-type]
        todo.sort(key=lambda r: (eff[r.id], TYPE_ORDER[r.type], r.id))
        fast, areas = self._set_wise(conn, todo, eff, links)
        del links
        now = now_utc()
        later: list[tuple[int, int, ReportType]] = []  # set-wise: (id, seq, type)
        for part in chunks(todo, self.approve_chunk):  # type: ignore[arg-type]
            seq = self._approve_part(conn, part, fast, eff, seq, user, note, now, result,
                                     later)
        # the set-wise reports in id order, the order of the report table: each page read and
        # written once, not once per run
        later.sort()
        for part in chunks(later, self.approve_chunk):  # type: ignore[arg-type]
            new: dict[ReportType, list[int]] = defaultdict(list)
            for rid, _, rtype in part:
                new[rtype].append(rid)
            for rtype, ids in new.items():
                for part_ids in chunks(ids, _IN):
                    self._insert_new_objects(conn, rtype, part_ids)
            self._mark_approved(conn, [(rid, s) for rid, s, _ in part], user, now, note)
        self._items_found(conn, areas)
        audit.write(conn, user, "approve", None,
                    {"approved": result.approved[:1000], "refused": len(result.refused),
                     "already_decided": len(result.already_decided),
                     "not_found": len(result.not_found)})

    def _approve_part(self, conn: Connection, part: list[Light], fast: set[int],
                      eff: dict[int, dt.date], seq: int, user: str, note: str | None,
                      now: dt.datetime, result: ApproveResult,
                      later: list[tuple[int, int, ReportType]]) -> int:
        """Approve one run of the ordered reports: the set-wise ones get their approval
        number and are left for ``later`` (nothing else reads them); the others go one by one
        through the fold, and their status is written before the next run, where a late
        report's rebuild finds them."""
        slow = [r.id for r in part if r.id not in fast]
        rows: list[Any] = []
        for ids in chunks(slow, _IN):
            rows += conn.execute(select(reports).where(reports.c.id.in_(ids))).all()
        ws = Workspace(conn)
        ws.preload(self._keys_of(rows))
        reps = {row.id: report_from_row(row) for row in rows}
        del rows
        batch: list[tuple[Any, int]] = []
        done: list[tuple[int, int]] = []
        for light in part:
            rep = reps.get(light.id)
            if rep is None:  # written set-wise, later
                seq += 1
                later.append((light.id, seq, light.type))
                result.approved.append(light.id)
                continue
            try:
                self._fold(ws, rep, seq + 1, conn, batch, eff[rep.id])
            except SafegroundError as exc:
                result.refused.append((rep.id, exc.details or [{"code": exc.code,
                                                                "message": exc.message}]))
                continue
            seq += 1
            batch.append((rep, seq))
            done.append((light.id, seq))
            result.approved.append(light.id)
        self._write_workspace(conn, ws)
        self._mark_approved(conn, done, user, now, note)
        return seq

    def _to_decide(self, conn: Connection, ids: Sequence[int] | None, user: str,
                   result: ApproveResult) -> tuple[list[Light], list[int]]:
        """The submitted reports of ``ids`` (all submitted reports when None) that ``user``
        may decide, light, and the ids of those ``user`` submitted; the others go into
        ``result`` (not found, already decided)."""
        cols = [reports.c.id, reports.c.status, reports.c.submitted_by, reports.c.decided_by,
                reports.c.report_type, reports.c.object_id, reports.c.area_id,
                reports.c.date_of_information,
                *[reports.c.payload[n].as_string().label(n) for n in _REF_NAMES]]
        found: dict[int, Any] = {}
        rows: Iterable[Any]
        if ids is None:  # streamed: never every row at once
            q = select(*cols).where(reports.c.status == ReportStatus.SUBMITTED.value)
            rows = conn.execute(q.order_by(reports.c.id))
        else:
            wanted = list(dict.fromkeys(int(i) for i in ids))
            for part in chunks(sorted(wanted), _IN):
                found.update((r.id, r) for r in conn.execute(
                    select(*cols).where(reports.c.id.in_(part))))
            rows = (found.pop(i, i) for i in wanted)  # an id alone: no such report
        todo: list[Light] = []
        own: list[int] = []
        shared: dict[tuple[Any, ...], dict[str, str]] = {}  # one dict per distinct set of links
        submitted = ReportStatus.SUBMITTED.value
        for r in rows:
            if isinstance(r, int):
                result.not_found.append(r)
            elif r.status != submitted:
                result.already_decided.append((r.id, r.status, r.decided_by))
            elif r.submitted_by == user:
                own.append(r.id)
            else:
                rtype = ReportType(r.report_type)
                key = tuple((n, r._mapping[n]) for n in _REFS[rtype]
                            if r._mapping[n] is not None)
                links = shared.get(key)
                if links is None:
                    links = shared[key] = dict(key)
                todo.append(Light(r.id, rtype, r.object_id, r.date_of_information, r.area_id,
                                  links))
        return todo, own

    def _set_wise(self, conn: Connection, todo: list[Light], eff: dict[int, dt.date],
                  links: Workspace) -> tuple[set[int], dict[str, dt.date]]:
        """The reports whose new objects can be written in the database straight from the
        report (``SET_WISE_TYPES``), and the areas their explosive items confirm, with the
        effective date of the newest item of each: what the fold would do, as the fold would
        do it."""
        if not self.set_wise:
            return set(), {}
        counts = Counter((r.type, r.object_id) for r in todo)
        candidates = [r for r in todo if r.type in SET_WISE_TYPES
                      and counts[(r.type, r.object_id)] == 1
                      and all((_REFS[r.type][n], v) not in counts
                              and links.get(_REFS[r.type][n], v) is not None
                              for n, v in r.payload.items())]
        existing: set[tuple[ReportType, str]] = set()
        by_type: dict[ReportType, list[str]] = defaultdict(list)
        for r in candidates:
            by_type[r.type].append(r.object_id)
        for rtype, oids in by_type.items():
            table = object_tables[rtype]
            for part in chunks(oids, _IN):  # type: ignore[arg-type]
                existing.update((rtype, oid) for oid in conn.execute(
                    select(table.c.id).where(table.c.id.in_(part))).scalars())
        candidates = [r for r in candidates if (r.type, r.object_id) not in existing]
        chosen = {r.id for r in candidates}
        # the areas the other reports touch: there the order of events is the fold's to keep
        touched: set[str | None] = set()
        for r in todo:
            if r.id not in chosen:
                touched.update((r.area_id, r.payload.get("hazardous_area_id"),
                                self._area_id(links, r)))  # type: ignore[arg-type]
        area_of: dict[int, str] = {}
        newest: dict[str, dt.date] = {}
        oldest: dict[str, dt.date] = {}
        for r in candidates:
            aid = self._area_id(links, r)  # type: ignore[arg-type]
            if aid is None and r.area_id is None:
                continue
            if aid is None or aid != r.area_id or aid in touched:
                chosen.discard(r.id)
                continue
            area_of[r.id] = aid
            e = eff[r.id]
            newest[aid] = max(newest.get(aid, e), e)
            oldest[aid] = min(oldest.get(aid, e), e)
        # an item dated before its area's last event is late: the fold rebuilds the area
        late: set[str] = set()
        has_state: set[str] = set()
        table = object_tables[ReportType.HAZARDOUS_AREA]
        for part in chunks(sorted(newest), _IN):  # type: ignore[arg-type]
            for aid, state in conn.execute(select(table.c.id, table.c.engine_state)
                                           .where(table.c.id.in_(part))):
                if state is None:
                    continue
                has_state.add(aid)
                if oldest[aid] < dt.date.fromisoformat(json.loads(state)["last_event"]):
                    late.add(aid)
        for rid, aid in area_of.items():
            if aid in late:
                chosen.discard(rid)
        return chosen, {a: d for a, d in newest.items() if a in has_state and a not in late}

    def _items_found(self, conn: Connection, areas: dict[str, dt.date]) -> None:
        """The areas confirmed by set-wise explosive items: as the fold leaves them after the
        items (``item_found`` is the same after one item or many)."""
        for part in chunks(sorted(areas), 2000):  # type: ignore[arg-type]
            ws = Workspace(conn)
            ws.preload((ReportType.HAZARDOUS_AREA, a) for a in part)
            for aid in part:
                state = ws.area(aid)
                assert state is not None
                ws.areas[aid] = replace(engine.item_found(state),
                                        last_event=max(state.last_event, areas[aid]))
                ws.dirty.add((ReportType.HAZARDOUS_AREA, aid))
            self._write_workspace(conn, ws)

    def _insert_new_objects(self, conn: Connection, rtype: ReportType, ids: list[int]) -> None:
        """New objects written in the database from their reports: what ``_merge`` and
        ``_object_row`` make of a report about a new object (its fields, geometry,
        organisation and date)."""
        table = object_tables[rtype]
        pg = self.db.dialect == "postgresql"
        cols: dict[str, Any] = {"id": reports.c.object_id}
        for f in REPORT_SPECS[rtype].fields:
            value = reports.c.payload[f.name]
            if f.kind == "int":
                cols[f.name] = value.as_integer()
            elif f.kind == "float":
                cols[f.name] = value.as_float()
            elif f.kind == "bool":
                cols[f.name] = value.as_boolean()
            elif f.kind == "choices":
                cols[f.name] = value.as_json()
            elif f.kind == "date" and pg:
                cols[f.name] = cast(value.as_string(), Date)
            else:  # text, a choice, a link, a date on SQLite (ISO text, as stored)
                cols[f.name] = value.as_string()
        if "geometry" in table.c:
            cols["geometry"] = reports.c.geometry
        cols.update(organisation=reports.c.organisation,
                    first_date=reports.c.date_of_information,
                    last_date=reports.c.date_of_information, last_report_id=reports.c.id)
        conn.execute(insert(table).from_select(
            list(cols), select(*cols.values()).where(reports.c.id.in_(ids))))
        if "geometry" in table.c and conn.dialect.name == "sqlite":
            boxes = conn.execute(select(reports.c.object_id,
                                        type_coerce(reports.c.geometry, LargeBinary))
                                 .where(reports.c.id.in_(ids))).all()
            spatial.write_boxes(conn, rtype, [b[0] for b in boxes], [b[1] for b in boxes])

    def _mark_approved(self, conn: Connection, done: list[tuple[int, int]], user: str,
                       now: dt.datetime, note: str | None) -> None:
        """Approved, with their approval sequence numbers: (report id, seq)."""
        if not done:
            return
        status = ReportStatus.APPROVED.value
        if conn.dialect.name == "postgresql":
            ids, seqs = zip(*done, strict=True)
            conn.execute(text(
                "UPDATE reports SET status = :status, decided_by = :user, decided_at = :at, "
                "decision_note = :note, seq = v.seq FROM unnest(CAST(:ids AS integer[]), "
                "CAST(:seqs AS integer[])) AS v(id, seq) WHERE reports.id = v.id"),
                {"status": status, "user": user, "at": now, "note": note, "ids": list(ids),
                 "seqs": list(seqs)})
            return
        # SQLite: one driver executemany, each value as the column type writes it
        dialect = conn.dialect
        at = reports.c.decided_at.type._cached_bind_processor(dialect)
        conn.exec_driver_sql(
            "UPDATE reports SET status = ?, decided_by = ?, decided_at = ?, decision_note = ?, "
            "seq = ? WHERE id = ?",
            [(status, user, at(now) if at else now, note, s, i) for i, s in sorted(done)])

    @staticmethod
    def _link(conn: Connection, links: Mapping[int, str], user: str,
              result: ApproveResult) -> tuple[dict[int, tuple[Any, str]], set[int]]:
        """Store the links the approver accepts on their submitted reports (the payload's
        ``hazardous_area_id``, ``area_id``, ``meta.accepted_link``) before they are approved.
        Returns each linked report's row as it was with its area (to restore the row if the
        report is not approved) and the ids refused because their link does not apply."""
        areas = object_tables[ReportType.HAZARDOUS_AREA]
        wanted = {int(k): str(v) for k, v in links.items()}
        known: set[str] = set()
        for part in chunks(sorted(set(wanted.values())), _IN):
            known.update(conn.execute(select(areas.c.id).where(areas.c.id.in_(part))).scalars())
        rows: list[Any] = []
        for part in chunks(sorted(wanted), _IN):
            rows += conn.execute(select(reports.c.id, reports.c.report_type, reports.c.payload,
                                        reports.c.area_id, reports.c.meta, reports.c.status)
                                 .where(reports.c.id.in_(part))).all()
        kept: dict[int, tuple[Any, str]] = {}
        refused: set[int] = set()
        at = now_utc().isoformat(timespec="seconds")
        for r in rows:
            if r.status != ReportStatus.SUBMITTED.value:
                continue                  # already decided: the approval itself says so
            target = wanted[r.id]
            payload = dict(r.payload or {})
            reason = None
            if r.report_type not in (ReportType.EVIDENCE.value, ReportType.ACCIDENT.value):
                reason = f"a {r.report_type} report takes no hazardous area link"
            elif payload.get("hazardous_area_id") not in (None, "", target):
                reason = f"it names hazardous area '{payload['hazardous_area_id']}' already"
            if reason is not None:
                p = Problem("LINK_NOT_APPLICABLE", f"report {r.id}", "hazardous_area_id",
                            {"value": r.id, "target": target, "reason": reason})
            elif target not in known:
                p = Problem("REF_UNKNOWN", f"report {r.id}", "hazardous_area_id",
                            {"value": target, "target": ReportType.HAZARDOUS_AREA.value})
            else:
                kept[r.id] = (r, target)
                conn.execute(update(reports).where(reports.c.id == r.id).values(
                    payload={**payload, "hazardous_area_id": target}, area_id=target,
                    meta={**(r.meta or {}), "accepted_link": {
                        "field": "hazardous_area_id", "value": target, "by": user, "at": at}}))
                continue
            result.refused.append((r.id, [p.to_dict()]))
            refused.add(r.id)
        return kept, refused

    @staticmethod
    def _settle_links(conn: Connection, kept: dict[int, tuple[Any, str]], user: str,
                      result: ApproveResult) -> None:
        """Each approved link in the audit trail; a linked report that was not approved (the
        rules refused it) back as it was submitted."""
        approved = set(result.approved) if kept else set()
        for rid, (row, target) in kept.items():
            if rid in approved:
                audit.write(conn, user, "link", f"report {rid}", {"hazardous_area_id": target})
            else:
                conn.execute(update(reports).where(reports.c.id == rid).values(
                    payload=row.payload, area_id=row.area_id, meta=row.meta))

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
            now = now_utc()
            for part in chunks([r.id for r in rows], _IN):  # within the parameter limit
                conn.execute(update(reports).where(reports.c.id.in_(part))
                             .values(status=ReportStatus.REJECTED.value, decided_by=user,
                                     decided_at=now, decision_note=note))
            audit.write(conn, user, "reject", None, {"ids": [r.id for r in rows], "note": note})
        return len(rows)

    def _sort_for_decision(self, conn: Connection, ids: Sequence[int], user: str
                           ) -> tuple[list[Any], list[int], list[Any], list[Any]]:
        """The rows of ``ids`` as they are now, sorted: (submitted and not the user's,
        ids of no report, already decided, submitted by the user)."""
        ids = list(dict.fromkeys(int(i) for i in ids))
        found: list[Any] = []
        for chunk in chunks(ids, _IN):
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
