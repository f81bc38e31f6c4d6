"""The ledger: submit, approve and reject field reports, and derive the record from them.

Every change arrives as a dated report (``reports.py``). Approved reports are folded, in order
of date of information (then approval order), into the derived state: one row per object,
attribute by attribute, and for hazardous areas the land release engine's figures. A report
dated before what the record already knows of its object is not laid on top: the object is
rebuilt from all its approved reports in date order, so late entry of old paper is safe.
``as_of`` replays the approved reports up to a date, in memory, to answer "what did we know on
date X?".
"""

from __future__ import annotations

import datetime as dt
import gc
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from sqlalchemy import Connection, and_, func, insert, select, text, union, update

from safeground.record import audit
from safeground.record import geometry as geo
from safeground.record import land_release as engine
from safeground.record.batch_gate import BATCH_THRESHOLD, CleanGroup, check_columns, meta_keys, meta_of
from safeground.errors import ConflictError, NotFoundError, SafegroundError, ValidationError
from safeground.record.gate import Block, LinkChecker
from safeground.record.problems import CATALOGUE, Problem
from safeground.record.reports import REPORT_SPECS, Report
from safeground.settings import Settings
from safeground.record.storage import Database
from safeground.record.storage.schema import audit_log, object_tables, reports
from safeground.record.storage.types import encode_many
from safeground.record.validation import CheckedRecord, check_record
from safeground.record.vocabulary import (
    ActivityStatus,
    ActivityType,
    EvidenceCategory,
    HazardClass,
    ReleaseKind,
    ReportStatus,
    ReportType,
)

#: reports of one date are applied in this order (a hazardous area before its evidence...)
TYPE_ORDER = {t: i for i, t in enumerate(ReportType)}
_AREA_EVENTS = {ReportType.EVIDENCE, ReportType.ACTIVITY, ReportType.LAND_RELEASE,
                ReportType.ACCIDENT}


@dataclass(frozen=True, slots=True)
class Rejection:
    where: str
    problems: list[Problem]
    report_id: int | None = None


@dataclass(slots=True)
class SubmitResult:
    accepted: list[int] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    #: (where, existing report id) of records already taken in under the same submission id
    duplicates: list[tuple[str, int]] = field(default_factory=list)


@dataclass(slots=True)
class ApproveResult:
    approved: list[int] = field(default_factory=list)
    refused: list[tuple[int, list[dict[str, Any]]]] = field(default_factory=list)


@dataclass(slots=True)
class _Obj:
    """One object's derived state while reports are folded in."""

    attrs: dict[str, Any]
    geometry: Any
    organisation: str
    first_date: dt.date
    last_date: dt.date
    last_report_id: int
    exists: bool = False  # already a row in the database


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _report_from_row(row: Any) -> Report:
    return Report(
        id=row.id, type=ReportType(row.report_type) if row.report_type in
        ReportType._value2member_map_ else row.report_type,  # type: ignore[arg-type]
        object_id=row.object_id, organisation=row.organisation, author=row.author,
        date_of_information=row.date_of_information, payload=row.payload,
        geometry=row.geometry,
        status=ReportStatus(row.status), submitted_by=row.submitted_by,
        submitted_at=row.submitted_at, decided_by=row.decided_by, decided_at=row.decided_at,
        decision_note=row.decision_note, problems=row.problems or [], source=row.source,
        submission_id=row.submission_id, meta=row.meta or {})


class _Workspace:
    """Derived objects and area engine states, loaded lazily from the database (or, for an
    as-of replay, built from nothing)."""

    def __init__(self, conn: Connection | None, parent: _Workspace | None = None,
                 blank: set[tuple[ReportType, str]] | None = None) -> None:
        self.conn = conn
        self.parent = parent
        self.objects: dict[tuple[ReportType, str], _Obj | None] = {k: None for k in blank or ()}
        self.areas: dict[str, engine.AreaState | None] = {
            oid: None for t, oid in blank or () if t is ReportType.HAZARDOUS_AREA}
        self.dirty: set[tuple[ReportType, str]] = set()

    def get(self, rtype: ReportType, oid: str) -> _Obj | None:
        key = (rtype, oid)
        if key not in self.objects:
            if self.parent is not None:
                return self.parent.get(rtype, oid)
            self.objects[key] = self._load(rtype, oid)
        return self.objects[key]

    def preload(self, keys: Iterable[tuple[ReportType, str]]) -> None:
        """Load many objects in a few queries (one per type and 2,000 ids)."""
        if self.conn is None:
            return
        by_type: dict[ReportType, list[str]] = defaultdict(list)
        for rtype, oid in keys:
            if (rtype, oid) not in self.objects:
                by_type[rtype].append(oid)
        for rtype, ids in by_type.items():
            table = object_tables[rtype]
            for chunk in _chunks(sorted(set(ids)), 2000):
                for row in self.conn.execute(select(table).where(table.c.id.in_(chunk)))\
                        .mappings():
                    self.objects[(rtype, row["id"])] = self._from_row(rtype, row)
                for oid in chunk:
                    self.objects.setdefault((rtype, oid), None)

    def _load(self, rtype: ReportType, oid: str) -> _Obj | None:
        if self.conn is None:
            return None
        table = object_tables[rtype]
        row = self.conn.execute(select(table).where(table.c.id == oid)).mappings().first()
        return None if row is None else self._from_row(rtype, row)

    def _from_row(self, rtype: ReportType, row: Any) -> _Obj:
        oid = row["id"]
        spec = REPORT_SPECS[rtype]
        attrs = {f.name: row[f.name] for f in spec.fields if row[f.name] is not None}
        for f in spec.fields:
            if f.kind == "date" and f.name in attrs:
                attrs[f.name] = attrs[f.name].isoformat()
        if rtype is ReportType.HAZARDOUS_AREA and row["engine_state"] is not None:
            self.areas[oid] = engine.AreaState.loads(row["engine_state"])
        return _Obj(attrs, row.get("geometry"), row["organisation"], row["first_date"],
                    row["last_date"], row["last_report_id"], exists=True)

    def area(self, oid: str) -> engine.AreaState | None:
        if oid not in self.areas and self.parent is not None:
            return self.parent.area(oid)
        self.get(ReportType.HAZARDOUS_AREA, oid)
        return self.areas.get(oid)


class Ledger:
    """The national record: the one entry point for reports and the state derived from them."""

    def __init__(self, db: Database, settings: Settings | None = None) -> None:
        self.db = db
        self.settings = settings or Settings()
        self.projector = geo.Projector(self.settings.utm_epsg)
        #: (record version, LinkChecker) after this ledger's last submit: see _link_checker
        self._links: tuple[tuple[int, int, int], LinkChecker] | None = None

    # ------------------------------------------------------------------ submission (the gate)
    def submit(self, records: Iterable[dict[str, Any]], user: str, source: str | None = None,
               today: dt.date | None = None) -> SubmitResult:
        """Check records at the gate and store them: as submitted reports, or as rejected
        reports with their problems (never dropped). Records with a submission id already
        taken in are skipped and listed in ``duplicates`` (re-import is idempotent).

        A batch of ``BATCH_THRESHOLD`` records or more is checked column by column
        (``batch_gate.check_columns``) and its clean records are checked against the record
        and stored as blocks (``LinkChecker.plan``), with the same outcome as record by
        record."""
        records = records if isinstance(records, list) else list(records)
        with no_cyclic_gc(len(records) >= BATCH_THRESHOLD):
            return self._submit(records, user, source, today)

    def _submit(self, records: list[dict[str, Any]], user: str, source: str | None,
                today: dt.date | None) -> SubmitResult:
        result = SubmitResult()
        now = _now()
        n = len(records)
        wheres = [raw.get("_where") for raw in records]
        if wheres.count(None) or set(map(type, wheres)) != {str} or wheres.count(""):
            wheres = [str(w or (f"{source} record {i}" if source else f"record {i}"))
                      for i, w in enumerate(wheres, start=1)]
        # the checks of records on their own need no transaction: done before it begins
        checked = check_columns(records, self.settings, self.projector, wheres, today) \
            if n >= BATCH_THRESHOLD else None
        meta_of = _MetaKeys()
        submitted = ReportStatus.SUBMITTED
        try:
            with self.db.write() as conn:
                links, before = self._link_checker(conn)
                # clean records nothing else in the batch can change go in as blocks; the
                # others one by one, in order, each after the blocks' records before it
                blocks = links.plan(records, checked) if checked is not None else []
                spots = [np.asarray([b.group.index[k] for k in b.ks], dtype=np.int64)
                         for b in blocks]
                done = [0] * len(blocks)
                single: Iterable[int] = range(n)
                clean_left: dict[int, tuple[CleanGroup, int]] = {}
                if checked is not None:
                    in_block = np.zeros(n, dtype=bool)
                    for spot in spots:
                        in_block[spot] = True
                    single = np.flatnonzero(~in_block).tolist()
                    for g in checked.groups:
                        clean_left.update((i, (g, k)) for k, i in enumerate(g.index)
                                          if not in_block[i])
                rows: dict[int, dict[str, Any]] = {}  # position -> row of a single record
                accepted_at: set[int] = set()
                waiting = [bi for bi, spot in enumerate(spots) if len(spot)]
                for i in single:
                    for bi in waiting:  # the blocks' records before this one
                        upto = int(np.searchsorted(spots[bi], i))
                        if upto > done[bi]:
                            links.accept_block(blocks[bi], done[bi], upto)
                            done[bi] = upto
                    raw = records[i]
                    where = wheres[i]
                    update = links.exists(raw.get("report_type"), raw.get("object_id"))
                    if i in clean_left:
                        # clean as a new object, so clean as an update too (an update only
                        # waives required fields), with the same record
                        g, k = clean_left[i]
                        sub = g.submission_ids[k]  # taken in before: nothing to build
                        if sub and (other := links.submission(sub)):
                            result.duplicates.append((where, other))
                            continue
                        rec, problems = g.record(k), []
                    elif checked is not None and not update:
                        rec, problems = checked.others[i]
                    else:
                        rec, problems = check_record(raw, self.settings, self.projector, where,
                                                     today, update=update)
                    found_before = _problems_found_before(raw)
                    if found_before:  # e.g. by an intake parser, before the gate
                        rec, problems = None, found_before + problems
                    if rec is not None:
                        if rec.submission_id and (other := links.submission(rec.submission_id)):
                            result.duplicates.append((where, other))
                            continue
                        problems = links.check(rec)
                    if rec is not None and not problems:
                        rows[i] = self._row(rec, user, now, source, submitted, [],
                                            links.area_of(rec), meta_of(raw))
                        links.accept(rec)
                        accepted_at.add(i)
                    else:
                        rows[i] = self._rejected_row(rec, raw, problems, user, now, source,
                                                     where)
                order, columns = _columns(records, blocks, spots, rows, n, user, now, source)
                ids = self._insert_columns(conn, columns, len(order))
                if not rows:  # blocks only
                    result.accepted = list(ids)
                else:
                    for pos, rid in zip(order, ids, strict=True):
                        row = rows.get(pos)
                        if row is None or pos in accepted_at:
                            result.accepted.append(rid)
                        else:
                            result.rejected.append(Rejection(wheres[pos], [
                                Problem.from_dict(p) for p in row["problems"]], rid))
                        if pos in accepted_at:  # its ids, for the duplicates of later batches
                            links.hashes[row["content_hash"]] = rid
                            if row["submission_id"]:
                                links.submissions[row["submission_id"]] = rid
                # the blocks' records not yet accepted, and the ids of all, for the duplicates
                # of later batches
                if blocks:
                    id_at = np.zeros(n, dtype=np.int64)
                    id_at[np.asarray(order, dtype=np.int64)] = ids
                    for bi, (block, spot) in enumerate(zip(blocks, spots, strict=True)):
                        rids = id_at[spot].tolist()
                        links.accept_block(block, 0, done[bi], rids[:done[bi]], new=False)
                        links.accept_block(block, done[bi], len(block.ks), rids[done[bi]:])
                audit.write(conn, user, "submit", source,
                            {"accepted": len(result.accepted), "rejected": len(result.rejected),
                             "duplicates": len(result.duplicates)})
                after = _record_version(conn)
                # cache only what this transaction alone changed (one audit row: ours)
                self._links = (after, links) if after[1] == before[1] + 1 else None
        except BaseException:
            self._links = None  # the transaction rolled back; the checker holds its records
            raise
        return result

    def _link_checker(self, conn: Connection) -> tuple[LinkChecker, tuple[int, int, int]]:
        """The checker of this ledger's last submit when the database has not changed since
        (no report, decision or other write: every one writes an audit row), else a new one."""
        version = _record_version(conn)
        cached, self._links = self._links, None  # handed back by submit when still valid
        if cached is not None and cached[0] == version:
            cached[1].conn = conn
            return cached[1], version
        return LinkChecker(conn, self.settings), version

    def _row(self, rec: CheckedRecord, user: str, now: dt.datetime, source: str | None,
             status: ReportStatus, problems: list[dict[str, Any]],
             area_id: str | None, meta: dict[str, Any] | None = None) -> dict[str, Any]:
        # ``_value_``: the plain attribute behind ``.value`` (a slow descriptor, per record)
        return {"report_type": rec.report_type._value_, "object_id": rec.object_id,
                "area_id": area_id, "organisation": rec.organisation, "author": rec.author,
                "date_of_information": rec.date_of_information, "payload": rec.payload,
                "geometry": rec.geometry, "status": status._value_, "submitted_by": user,
                "submitted_at": now, "problems": problems, "source": source,
                "submission_id": rec.submission_id, "content_hash": rec.content_hash,
                "decided_by": None, "decided_at": None, "decision_note": None,
                "meta": meta or None, "payload_json": rec.payload_json}

    def _rejected_row(self, rec: CheckedRecord | None, raw: dict[str, Any],
                      problems: list[Problem], user: str, now: dt.datetime,
                      source: str | None, where: str) -> dict[str, Any]:
        """A record refused at the gate is kept, raw, with its reasons."""
        safe = {k: (v if isinstance(v, str | int | float | bool | list | dict) or v is None
                    else str(v)) for k, v in raw.items() if k not in ("geometry", "_problems")}
        geom_text = raw.get("geometry")
        if geom_text is not None and not isinstance(geom_text, str | dict):
            geom_text = getattr(geom_text, "wkt", str(geom_text))
        safe["_geometry"] = geom_text
        try:
            date = rec.date_of_information if rec else \
                dt.date.fromisoformat(str(raw.get("date_of_information"))[:10])
        except ValueError:
            date = now.date()
        return {"report_type": str(raw.get("report_type") or "unknown")[:32],
                "object_id": str(raw.get("object_id") or "")[:64], "area_id": None,
                "organisation": str(raw.get("organisation") or "")[:200],
                "author": str(raw.get("author") or "")[:200], "date_of_information": date,
                "payload": safe, "geometry": None, "status": ReportStatus.REJECTED.value,
                "submitted_by": user, "submitted_at": now, "decided_by": "gate",
                "decided_at": now, "decision_note": "failed the gate checks",
                "problems": [p.to_dict() for p in problems], "source": source,
                "submission_id": None, "content_hash": "rejected", "meta": None}

    def _insert_columns(self, conn: Connection, columns: dict[str, Any], n: int) -> list[int]:
        """Insert ``n`` report rows given column by column (a list, or ``_Same`` value for
        every row); return their ids in order."""
        if not n:
            return []
        if self.db.dialect == "postgresql":
            cols = {k: [v.value] * n if isinstance(v, _Same) else v
                    for k, v in columns.items() if k != "payload_json"}
            cols["geometry"] = encode_many(cols["geometry"], "postgresql")
            names = list(cols)
            rows = [dict(zip(names, vals, strict=True)) for vals in zip(*cols.values(),
                                                                        strict=True)]
            return list(conn.execute(insert(reports).returning(reports.c.id), rows).scalars())
        start = conn.execute(select(func.coalesce(func.max(reports.c.id), 0))).scalar_one()
        ids = list(range(start + 1, start + 1 + n))
        _insert_many_sqlite(conn, columns, ids)
        return ids

    # ---------------------------------------------------------------------------- decisions
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
            ws = _Workspace(conn)
            ws.preload(self._keys_of(rows))
            reps = [_report_from_row(r) for r in rows]
            eff = _effective_dates(reps, ws)
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
            now = _now()
            if approved_rows:
                conn.execute(update(reports).where(reports.c.id == _bp("rid")).values(
                    status=ReportStatus.APPROVED.value, decided_by=user, decided_at=now,
                    decision_note=note, seq=_bp("rseq")),
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
                                     decided_at=_now(), decision_note=note))
            audit.write(conn, user, "reject", None, {"ids": [r.id for r in rows], "note": note})
        return len(rows)

    def _load_for_decision(self, conn: Connection, ids: Sequence[int], user: str) -> list[Any]:
        ids = list(dict.fromkeys(int(i) for i in ids))
        rows: list[Any] = []
        for chunk in _chunks(ids, 5000):
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

    # ---------------------------------------------------------------- folding into the record
    def _fold(self, ws: _Workspace, rep: Report, seq: int, conn: Connection | None,
              batch: list[tuple[Report, int]], eff: dt.date | None = None) -> None:
        """Fold one approved report into the workspace, atomically: on a refused transition
        the workspace is left as it was. A late report rebuilds its object (and area).

        ``eff`` is the report's effective date: its date of information, or the date the
        objects it links to came into the record if that is later (an accident reported on the
        day before the survey that drew its hazardous area acts on the area once it exists)."""
        eff = eff or rep.date_of_information
        key = (rep.type, rep.object_id)
        obj = ws.get(*key)
        area_id = self._area_id(ws, rep)
        area = ws.area(area_id) if area_id else None
        late = (obj is not None and rep.date_of_information < obj.last_date) or \
            (area is not None and eff < area.last_event)
        if conn is not None:
            self._check_refs(ws, rep)  # a replay of the past may hold links to the future
        if conn is not None and late:
            self._rebuild(ws, rep, seq, conn, batch, area_id)
            return
        new_obj = self._merge(obj, rep)
        new_area = None
        if rep.type is ReportType.HAZARDOUS_AREA:
            new_area = self._own_area(area, rep)
        elif area_id:
            new_area = self._event(ws, rep, area)
        ws.objects[key] = new_obj
        ws.dirty.add(key)
        if area_id and new_area is not None:
            ws.areas[area_id] = replace(new_area, last_event=max(new_area.last_event, eff))
            ws.dirty.add((ReportType.HAZARDOUS_AREA, area_id))

    def _rebuild(self, ws: _Workspace, rep: Report, seq: int, conn: Connection,
                 batch: list[tuple[Report, int]], area_id: str | None) -> None:
        """Replay the object's (and its area's) approved reports with ``rep``, in date order,
        in a scratch workspace over ``ws``; copy the rebuilt object and area back on success."""
        own = select(reports.c.id).where(reports.c.report_type == rep.type.value,
                                         reports.c.object_id == rep.object_id)
        cond = reports.c.id.in_(union(own, select(reports.c.id).where(
            reports.c.area_id == area_id)) if area_id else own)
        rows = conn.execute(select(reports).where(
            reports.c.status == ReportStatus.APPROVED.value, cond)).all()
        history = {r.id: (_report_from_row(r), r.seq) for r in rows}
        for r, s in batch:
            if (r.type, r.object_id) == (rep.type, rep.object_id) or \
                    (area_id and self._area_id(ws, r) == area_id):
                history[r.id] = (r, s)
        history[rep.id] = (rep, seq)
        keys = {(rep.type, rep.object_id)}
        if area_id:
            keys.add((ReportType.HAZARDOUS_AREA, area_id))
        scratch = _Workspace(None, parent=ws, blank=keys)
        items = list(history.values())
        eff = _effective_dates([r for r, _ in items], None)
        for r, _ in sorted(items, key=lambda x: (eff[x[0].id], x[1])):
            self._fold(scratch, r, 0, None, [], eff[r.id])
        for k in keys:
            old = ws.get(*k)
            new = scratch.objects.get(k)
            if new is not None and old is not None:
                new.exists = old.exists
            ws.objects[k] = new
            ws.dirty.add(k)
        if area_id:
            ws.areas[area_id] = scratch.areas.get(area_id)

    def _check_refs(self, ws: _Workspace, rep: Report) -> None:
        for f in REPORT_SPECS[rep.type].fields:
            if f.kind == "ref" and f.name in rep.payload:
                assert f.ref is not None
                if ws.get(f.ref, rep.payload[f.name]) is None:
                    p = Problem("REF_UNKNOWN", f"report {rep.id}", f.name,
                                {"value": rep.payload[f.name], "target": f.ref.value})
                    raise ValidationError([p])

    def _area_id(self, ws: _Workspace, rep: Report) -> str | None:
        if rep.type is ReportType.HAZARDOUS_AREA:
            return rep.object_id
        if rep.type in _AREA_EVENTS:
            return rep.payload.get("hazardous_area_id")
        if rep.type is ReportType.ORDNANCE and "activity_id" in rep.payload:
            act = ws.get(ReportType.ACTIVITY, rep.payload["activity_id"])
            return act.attrs.get("hazardous_area_id") if act else None
        return None

    @staticmethod
    def _merge(obj: _Obj | None, rep: Report) -> _Obj:
        """Attribute by attribute: what this report says replaces what was known."""
        geom = rep.geometry
        if obj is None:
            return _Obj(dict(rep.payload), geom, rep.organisation, rep.date_of_information,
                        rep.date_of_information, rep.id)
        return _Obj({**obj.attrs, **rep.payload}, geom if geom is not None else obj.geometry,
                    rep.organisation, min(obj.first_date, rep.date_of_information),
                    max(obj.last_date, rep.date_of_information), rep.id, obj.exists)

    def _own_area(self, area: engine.AreaState | None, rep: Report) -> engine.AreaState:
        cls = HazardClass(rep.payload["classification"]) if "classification" in rep.payload \
            else None
        perimeter = self.projector.to_metric(rep.geometry) if rep.geometry is not None else None
        if area is None:
            if perimeter is None or cls is None:
                raise ValidationError([Problem("GEOM_MISSING", f"report {rep.id}", "geometry",
                                               {"report_type": "hazardous_area"})])
            return engine.open_area(rep.object_id, cls, perimeter)
        return engine.revise(area, classification=cls, perimeter=perimeter)

    def _event(self, ws: _Workspace, rep: Report,
               area: engine.AreaState | None) -> engine.AreaState | None:
        """Apply a linked report (evidence, activity, release, item, accident) to its area."""
        if area is None:
            return None
        p = rep.payload
        if rep.type is ReportType.EVIDENCE:
            return engine.add_evidence(area, rep.object_id, EvidenceCategory(p["category"]),
                                       self.projector.to_metric(rep.geometry), self.settings)
        if rep.type is ReportType.ACCIDENT:
            return engine.add_evidence(area, rep.object_id, EvidenceCategory.ACCIDENT,
                                       self.projector.to_metric(rep.geometry), self.settings)
        if rep.type is ReportType.ACTIVITY:
            act = ws.get(ReportType.ACTIVITY, rep.object_id)
            merged = {**(act.attrs if act else {}), **p}
            return engine.activity(area, rep.object_id, ActivityType(merged["activity_type"]),
                                   ActivityStatus(merged["status"]))
        if rep.type is ReportType.ORDNANCE:
            return engine.item_found(area)
        if rep.type is ReportType.LAND_RELEASE:
            act = ws.get(ReportType.ACTIVITY, p["activity_id"])
            assert act is not None  # _check_refs ran first
            return engine.release(area, kind=ReleaseKind(p["release"]),
                                  activity_type=ActivityType(act.attrs["activity_type"]),
                                  geometry=self.projector.to_metric(rep.geometry),
                                  date=rep.date_of_information, report_id=rep.id,
                                  depth_cm=p.get("depth_cm"), qa_passed=p.get("qa_passed"),
                                  settings=self.settings)
        return area

    def _write_workspace(self, conn: Connection, ws: _Workspace) -> None:
        """Write every changed object (inserts and updates in batches, parents first)."""
        by_type: dict[ReportType, list[tuple[str, _Obj]]] = defaultdict(list)
        for rtype, oid in ws.dirty:
            obj = ws.objects.get((rtype, oid))
            if obj is not None:
                by_type[rtype].append((oid, obj))
        for rtype in sorted(by_type, key=TYPE_ORDER.__getitem__):
            table = object_tables[rtype]
            new, old = [], []
            for oid, obj in by_type[rtype]:
                row = self._object_row(rtype, oid, obj, ws.areas.get(oid))
                (old if obj.exists else new).append(row)
                obj.exists = True
            for col in ("geometry", "remaining_geometry"):
                if col in table.c:
                    both = new + old
                    for row, enc in zip(both, encode_many([r[col] for r in both],
                                                          self.db.dialect), strict=True):
                        row[col] = enc
            if new:
                conn.execute(insert(table), new)
            if old:
                cols = [c for c in old[0] if c != "id"]
                conn.execute(update(table).where(table.c.id == _bp("_id")).values(
                    {c: _bp("_" + c) for c in cols}),
                    [{"_" + k: v for k, v in r.items()} for r in old])
        ws.dirty.clear()

    def _object_row(self, rtype: ReportType, oid: str, obj: _Obj,
                    area: engine.AreaState | None) -> dict[str, Any]:
        spec = REPORT_SPECS[rtype]
        row: dict[str, Any] = {"id": oid}
        for f in spec.fields:
            value = obj.attrs.get(f.name)
            if f.kind == "date" and value is not None:
                value = dt.date.fromisoformat(value)
            row[f.name] = value
        if spec.geometry:
            row["geometry"] = obj.geometry
        row.update(organisation=obj.organisation, first_date=obj.first_date,
                   last_date=obj.last_date, last_report_id=obj.last_report_id)
        if rtype is ReportType.HAZARDOUS_AREA:
            assert area is not None
            row.update(self._area_columns(area))
        return row

    def _area_columns(self, area: engine.AreaState) -> dict[str, Any]:
        return {"classification": area.classification.value, "status": area.status.value,
                "original_m2": area.original_m2, "cancelled_m2": area.cancelled_m2,
                "reduced_m2": area.reduced_m2, "cleared_m2": area.cleared_m2,
                "reopened_m2": area.reopened_m2, "remaining_m2": area.remaining_m2,
                "remaining_geometry": None if area.remaining.is_empty
                else self.projector.to_lonlat(area.remaining),
                "engine_state": area.dumps()}

    # ------------------------------------------------------------------------------ reading
    def report(self, report_id: int) -> Report:
        with self.db.read() as conn:
            row = conn.execute(select(reports).where(reports.c.id == report_id)).first()
        if row is None:
            raise NotFoundError(f"no report {report_id}", code="REPORT_NOT_FOUND")
        return _report_from_row(row)

    def newest_date(self, report_ids: Sequence[int]) -> dt.date | None:
        """The latest date of information among the given reports (None for none)."""
        newest = None
        ids = list(report_ids)
        with self.db.read() as conn:
            for i in range(0, len(ids), 1000):          # bound parameters, in chunks
                day = conn.execute(select(func.max(reports.c.date_of_information))
                                   .where(reports.c.id.in_(ids[i:i + 1000]))).scalar()
                if day is not None:
                    day = day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day))
                    newest = day if newest is None else max(newest, day)
        return newest

    def reports(self, status: ReportStatus | str | None = None,
                report_type: ReportType | str | None = None,
                limit: int | None = None) -> list[Report]:
        q = select(reports).order_by(reports.c.id)
        if status is not None:
            q = q.where(reports.c.status == str(status))
        if report_type is not None:
            q = q.where(reports.c.report_type == str(report_type))
        if limit:
            q = q.limit(limit)
        with self.db.read() as conn:
            return [_report_from_row(r) for r in conn.execute(q)]

    def history(self, object_id: str) -> list[Report]:
        """Every report that speaks of the object (or, for an area, links to it), in date order.
        Raises NotFoundError when there is none."""
        q = select(reports).where(_about(object_id)) \
            .order_by(reports.c.date_of_information, reports.c.seq, reports.c.id)
        with self.db.read() as conn:
            out = [_report_from_row(r) for r in conn.execute(q)]
        if not out:
            raise NotFoundError(f"nothing is recorded about '{object_id}'", code="OBJECT_NOT_FOUND")
        return out

    def objects(self, report_type: ReportType | str, as_of: dt.date | None = None,
                where: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """The derived state of every object of a type (now, or as known on ``as_of``); with
        ``where``, only those whose fields equal the values given (e.g. the victims of one
        accident: ``{"accident_id": "ACC-001"}``; bound parameters, indexed for links)."""
        rtype = ReportType(report_type)
        where = where or {}
        if as_of is not None:
            return [r for r in self._replay(as_of).get(rtype, [])
                    if all(r.get(k) == v for k, v in where.items())]
        table = object_tables[rtype]
        q = select(table).order_by(table.c.id)
        for k, v in where.items():
            if k not in table.c:
                raise ValueError(f"{rtype.value} has no field '{k}'")
            q = q.where(table.c[k] == v)
        with self.db.read() as conn:
            rows = conn.execute(q).mappings().all()
        return [self._public(rtype, dict(r)) for r in rows]

    def values(self, report_type: ReportType | str, as_of: dt.date | None = None) -> list[Any]:
        """The derived objects of a type as typed, immutable domain values."""
        from safeground.record.domain import from_row, value_types

        cls = value_types()[ReportType(report_type)]
        return [from_row(cls, row) for row in self.objects(report_type, as_of)]

    def get(self, report_type: ReportType | str, object_id: str,
            as_of: dt.date | None = None) -> dict[str, Any]:
        """One object's derived state. Raises NotFoundError."""
        rtype = ReportType(report_type)
        if as_of is not None:
            found = self._replay_one(rtype, object_id, as_of)
        else:
            table = object_tables[rtype]
            with self.db.read() as conn:
                row = conn.execute(select(table).where(table.c.id == object_id)).mappings().first()
            found = self._public(rtype, dict(row)) if row else None
        if found is None:
            raise NotFoundError(f"no {rtype.value} '{object_id}'"
                                + (f" known on {as_of}" if as_of else ""),
                                code="OBJECT_NOT_FOUND")
        return found

    @staticmethod
    def _public(rtype: ReportType, row: dict[str, Any]) -> dict[str, Any]:
        row.pop("engine_state", None)
        return row

    def _approved(self, cond: Any) -> list[tuple[Report, int]]:
        """Approved reports matching ``cond``, with their approval sequence, in that order."""
        q = select(reports).where(reports.c.status == ReportStatus.APPROVED.value, cond) \
            .order_by(reports.c.seq)
        with self.db.read() as conn:
            return [(_report_from_row(row), row.seq) for row in conn.execute(q)]

    def _replay_into(self, ws: _Workspace, reps: Iterable[Report]) -> None:
        """Fold approved reports (given in approval order) in order of effective date."""
        reps = list(reps)
        order = {r.id: i for i, r in enumerate(reps)}
        eff = _effective_dates(reps, None)
        for rep in sorted(reps, key=lambda r: (eff[r.id], order[r.id])):
            self._fold(ws, rep, 0, None, [], eff[rep.id])

    def _rows_of(self, ws: _Workspace) -> dict[ReportType, list[dict[str, Any]]]:
        out: dict[ReportType, list[dict[str, Any]]] = defaultdict(list)
        for (rtype, oid), obj in sorted(ws.objects.items(), key=lambda kv: kv[0][1]):
            if obj is not None:
                row = self._object_row(rtype, oid, obj, ws.areas.get(oid))
                out[rtype].append(self._public(rtype, row))
        return out

    def _replay(self, as_of: dt.date) -> dict[ReportType, list[dict[str, Any]]]:
        ws = _Workspace(None)
        self._replay_into(ws, [r for r, _ in
                               self._approved(reports.c.date_of_information <= as_of)])
        return self._rows_of(ws)

    def _replay_one(self, rtype: ReportType, oid: str, as_of: dt.date) -> dict[str, Any] | None:
        """One object as known on ``as_of``: its own reports, its area's events and the
        objects those link to."""
        cond = and_(reports.c.date_of_information <= as_of, _about(oid))
        found = self._approved(cond)
        needed = {r.payload.get("activity_id") for r, _ in found} - {None}
        if needed:
            found += self._approved(and_(reports.c.date_of_information <= as_of,
                                         reports.c.report_type == "activity",
                                         reports.c.object_id.in_(needed)))
        by_id = {r.id: (r, seq) for r, seq in found}
        ws = _Workspace(None)
        self._replay_into(ws, [r for r, _ in sorted(by_id.values(), key=lambda x: x[1])])
        rows = self._rows_of(ws).get(rtype, [])
        return next((r for r in rows if r["id"] == oid), None)


def _meta(raw: dict[str, Any]) -> dict[str, Any]:
    """The ``_``-prefixed keys of a record that are kept with the report (JSON-able only)."""
    return meta_of(raw, meta_keys(tuple(raw))) or {}


@contextmanager
def no_cyclic_gc(large: bool = True) -> Iterator[None]:
    """No cyclic garbage collection during a large batch (or a whole import): records make few
    cycles, and each full collection would walk every record held so far again (several
    seconds per 10^6)."""
    enabled = large and gc.isenabled()
    if enabled:
        gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _MetaKeys:
    """``_meta`` with the meta keys found once per distinct key set of a batch."""

    def __init__(self) -> None:
        self.keys_of: dict[tuple[Any, ...], tuple[str, ...]] = {}

    def __call__(self, raw: dict[str, Any]) -> dict[str, Any]:
        keys = tuple(raw)
        found = self.keys_of.get(keys)
        if found is None:
            found = self.keys_of[keys] = meta_keys(keys)
        return meta_of(raw, found) or {}


def _record_version(conn: Connection) -> tuple[int, int, int]:
    """(last report id, audit rows, last audit row id): every write to the record — a
    submission, an approval, a rejection, by any process — changes it."""
    return tuple(conn.execute(select(  # type: ignore[return-value]
        select(func.coalesce(func.max(reports.c.id), 0)).scalar_subquery(),
        select(func.count()).select_from(audit_log).scalar_subquery(),
        select(func.coalesce(func.max(audit_log.c.id), 0)).scalar_subquery())).one())


_BIG_INSERT = 10_000  # rows: an insert this large gets a larger page cache for its duration
_BIG_INSERT_CACHE_KIB = 512 * 1024


def _insert_many_sqlite(conn: Connection, columns: dict[str, Any], ids: list[int]) -> None:
    """One driver ``executemany`` for many report rows, bypassing SQLAlchemy's per-row
    parameter handling. Each value goes through its column type's bind processor — once for a
    value all rows share, once per distinct value where hashable — so what is stored is what
    ``insert(reports)`` would store; payload text made by the gate (``payload_json``) is used
    as it is. A value every row shares is written into the statement as a literal, so the
    driver binds only the columns that differ."""
    dialect = conn.dialect
    n = len(ids)
    names = [c.name for c in reports.c if c.name != "id"]
    given: list[Any] = [ids]
    slots = ["?"]
    for name in names:
        proc = reports.c[name].type._cached_bind_processor(dialect)
        values = columns.get(name, _NOTHING)
        if isinstance(values, list) and values and _all_same(values):
            values = _Same(values[0])  # e.g. the submission time, an empty problem list
        if name == "payload":
            texts = columns.get("payload_json")
            if isinstance(values, _Same):
                values = [values.value] * n
            if isinstance(texts, _Same):
                texts = [texts.value] * n
            texts = texts if texts is not None else [None] * n
            values = [t if t is not None else proc(v) for t, v in zip(texts, values, strict=True)]
        elif name == "geometry":  # WKB, as GeometryType writes it, in one vectorised call
            if isinstance(values, _Same):
                values = [values.value] * n
            values = encode_many(values, "sqlite", marked=False)
        elif isinstance(values, _Same):
            value = values.value if proc is None else proc(values.value)
            literal = _sql_literal(value)
            if literal is not None:
                slots.append(literal)
                continue
            values = [value] * n
        elif proc is not None:
            values = _processed(values, proc)
        given.append(values)
        slots.append("?")
    quote = dialect.identifier_preparer.quote
    sql = (f"INSERT INTO {quote(reports.name)} ({', '.join(quote(n) for n in ['id', *names])}) "
           f"VALUES ({', '.join(slots)})")
    params = list(zip(*given, strict=True))
    # the object index takes keys in random order: with SQLite's default 2 MB page cache a
    # large insert reads its pages again and again
    cache = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    big = n >= _BIG_INSERT
    if big:
        conn.exec_driver_sql(f"PRAGMA cache_size = {-_BIG_INSERT_CACHE_KIB:d}")
    try:
        conn.exec_driver_sql(sql, params)
    finally:
        if big:
            conn.exec_driver_sql(f"PRAGMA cache_size = {int(cache):d}")


def _all_same(values: list[Any]) -> bool:
    """Every value is the first (or, for text and dates, equal to it)."""
    first = values[0]
    if first is None or first.__class__ in (str, dt.date):
        # == for these: the same text once stored
        return values.count(first) == len(values)
    return all(v is first for v in values)


@dataclass(frozen=True, slots=True)
class _Same:
    """A column holding one value for every row."""

    value: Any


_NOTHING = _Same(None)


def _sql_literal(value: Any) -> str | None:
    """``value`` as an SQLite literal when it is stored exactly as a bound value would be
    (text, whole numbers, NULL), else None."""
    if value is None:
        return "NULL"
    if value.__class__ is str and "\x00" not in value:
        return "'" + value.replace("'", "''") + "'"
    if value.__class__ is int:
        return str(value)
    return None


def _columns(records: list[dict[str, Any]], blocks: list[Block], spots: list[np.ndarray],
             rows: dict[int, dict[str, Any]], n: int, user: str, now: dt.datetime,
             source: str | None) -> tuple[list[int], dict[str, Any]]:
    """The report rows to store, column by column in batch order: the blocks' records and the
    single records' rows (``_row`` / ``_rejected_row``). Returns their positions too."""
    if not blocks or not any(b.ks for b in blocks):
        order = sorted(rows)
        names = list(rows[order[0]]) if order else []
        if "payload_json" not in names and order:
            names.append("payload_json")  # made for accepted rows only
        return order, {k: [rows[i].get(k) for i in order] for k in names}
    stored = np.zeros(n, dtype=bool)
    for spot in spots:
        stored[spot] = True
    single = np.fromiter(rows, dtype=np.int64, count=len(rows))
    stored[single] = True
    order_arr = np.flatnonzero(stored)
    order = order_arr.tolist()
    m = len(order)
    slot = np.zeros(n, dtype=np.int64)
    slot[order_arr] = np.arange(m)
    same: dict[str, Any] = {
        "status": ReportStatus.SUBMITTED._value_, "submitted_by": user, "submitted_at": now,
        "problems": [], "source": source, "decided_by": None, "decided_at": None,
        "decision_note": None}
    columns: dict[str, Any] = {}
    names = ["report_type", "object_id", "area_id", "organisation", "author",
             "date_of_information", "payload", "geometry", *same, "submission_id",
             "content_hash", "meta", "payload_json"]
    for name in names:
        if not rows and name in same:
            columns[name] = _Same(same[name])
            continue
        col = np.empty(m, dtype=object)
        for block, spot in zip(blocks, spots, strict=True):
            if not block.ks:
                continue
            at = slot[spot]
            if name in same:  # one object for every row (an empty list: stored once as "[]")
                col[at] = _objects([same[name]] * len(at))
                continue
            col[at] = _objects(_block_column(records, block, name))
        if rows:
            at = slot[single]
            col[at] = _objects([r.get(name) for r in rows.values()])
        columns[name] = col.tolist()
    return order, columns


def _block_column(records: list[dict[str, Any]], block: Block, name: str) -> list[Any]:
    g, ks = block.group, block.ks
    whole = len(ks) == len(g.index)
    if name == "report_type":
        return [g.rtype._value_] * len(ks)
    if name == "area_id":
        return block.areas
    if name == "meta":
        return [meta_of(records[g.index[k]], g.meta_keys[k]) if g.meta_keys[k] else None
                for k in ks]
    col = {"object_id": g.object_ids, "organisation": g.organisations, "author": g.authors,
           "date_of_information": g.dates, "payload": g.payloads, "geometry": g.geometries,
           "submission_id": g.submission_ids, "content_hash": g.hashes,
           "payload_json": g.payload_texts}[name]
    return col if whole else [col[k] for k in ks]


def _objects(values: list[Any]) -> np.ndarray:
    """An object array of ``values`` (lists stay elements, not rows)."""
    return np.fromiter(values, dtype=object, count=len(values))


def _processed(values: list[Any], proc: Any) -> list[Any]:
    first = values[0]
    if all(v is first for v in values):  # e.g. the submission time, an empty problem list
        return [proc(first)] * len(values)
    if set(map(type, values)) <= {dt.date, str, type(None)}:
        # values equal only when written alike: one processor call per distinct value
        table = {v: proc(v) for v in set(values)}
        return list(map(table.__getitem__, values))
    seen: dict[Any, Any] = {}
    out = []
    for v in values:
        if isinstance(v, dt.datetime) and v.tzinfo is not None:
            out.append(proc(v))  # equal instants in other zones are written differently
            continue
        try:
            p = seen[(v.__class__, v)]
        except KeyError:
            p = seen[(v.__class__, v)] = proc(v)
        except TypeError:  # a dict or list: JSON text of its own, bar the empty ones
            p = proc(v) if v else seen.get((v.__class__, None)) or \
                seen.setdefault((v.__class__, None), proc(v))
        out.append(p)
    return out


def _problems_found_before(raw: dict[str, Any]) -> list[Problem]:
    """Problems a parser found before the gate (``_problems``: Problem values or dicts)."""
    found = raw.get("_problems")
    if not isinstance(found, list):
        return []  # e.g. the text column of a rejects file being imported again
    return [p if isinstance(p, Problem) else Problem.from_dict(p) for p in found
            if isinstance(p, Problem) or (isinstance(p, dict) and p.get("code") in CATALOGUE)]


def _about(object_id: str) -> Any:
    """Reports about an object or linked to it as an area: a union of two indexed look-ups
    (an OR of the two columns makes PostgreSQL scan the whole table)."""
    return reports.c.id.in_(union(select(reports.c.id).where(reports.c.object_id == object_id),
                                  select(reports.c.id).where(reports.c.area_id == object_id)))


def _effective_dates(reps: list[Report], ws: _Workspace | None) -> dict[int, dt.date]:
    """Each report's effective date: its date of information, or — when later — the date on
    which the objects it links to (and its hazardous area) came into the record, from these
    reports or from ``ws``. Types are visited in dependency order, so a settlement drawn after
    its district pushes the areas that link to it along."""
    created: dict[tuple[ReportType, str], dt.date] = {}
    out: dict[int, dt.date] = {}

    def start_of(key: tuple[ReportType, str]) -> dt.date | None:
        start = created.get(key)
        if ws is not None:
            obj = ws.get(*key)
            if obj is not None:
                start = min(start, obj.first_date) if start else obj.first_date
        return start

    for r in sorted(reps, key=lambda r: (TYPE_ORDER[r.type], r.date_of_information)):
        eff = r.date_of_information
        links = [(f.ref, r.payload[f.name]) for f in REPORT_SPECS[r.type].fields
                 if f.kind == "ref" and f.name in r.payload]
        for ref_type, target in links:
            if (ref_type, target) == (r.type, r.object_id):
                continue
            start = start_of((ref_type, target))  # type: ignore[arg-type]
            if start and start > eff:
                eff = start
        out[r.id] = eff
        key = (r.type, r.object_id)
        created[key] = min(created.get(key, eff), eff)
    return out


def _bp(name: str) -> Any:
    from sqlalchemy import bindparam

    return bindparam(name)


def _chunks(items: list[int], n: int) -> Iterator[list[int]]:
    for i in range(0, len(items), n):
        yield items[i:i + n]
