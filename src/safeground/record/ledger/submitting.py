"""Submitting: records checked at the gate and stored as submitted reports, or as rejected
reports with their problems (never dropped); a submission id taken in before is a duplicate.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import Connection, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from safeground.record import audit
from safeground.record.batch_gate import (
    BATCH_THRESHOLD,
    CleanGroup,
    check_columns,
    meta_keys,
    meta_of,
)
from safeground.record.gate import LinkChecker
from safeground.record.ledger.bulk import Same, insert_many_sqlite, report_columns
from safeground.record.ledger.rows import (
    chunks,
    now_utc,
    record_version,
)
from safeground.record.problems import CATALOGUE, Problem
from safeground.record.reports import normal_record, normal_records
from safeground.record.storage.schema import LIVE_SUBMISSION, audit_log, reports
from safeground.record.storage.types import encode_many
from safeground.record.validation import CheckedRecord, check_record
from safeground.record.vocabulary import (
    ReportStatus,
)


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


class Submitting:
    """Taking reports in through the gate (a part of ``Ledger``)."""

    def submit(self, records: Iterable[dict[str, Any]], user: str, source: str | None = None,
               today: dt.date | None = None, *,
               audit_detail: dict[str, Any] | None = None) -> SubmitResult:
        """Check records at the gate and store them: as submitted reports, or as rejected
        reports with their problems (never dropped). Records with a submission id already
        taken in are skipped and listed in ``duplicates`` (re-import is idempotent).

        A batch of ``BATCH_THRESHOLD`` records or more is checked column by column
        (``batch_gate.check_columns``) and its clean records are checked against the record
        and stored as blocks (``LinkChecker.plan``), with the same outcome as record by
        record.

        The batch is one transaction: stored whole or, on any error, not at all.
        ``audit_detail`` is added to the batch's audit entry (an import says which part of
        its file the batch is)."""
        # names and types as Safeground writes them, before anything is checked or stored
        records = normal_records(records if isinstance(records, list) else list(records))
        with no_cyclic_gc(len(records) >= BATCH_THRESHOLD):
            return self._submit(records, user, source, today, audit_detail or {})

    def _submit(self, records: list[dict[str, Any]], user: str, source: str | None,
                today: dt.date | None, audit_detail: dict[str, Any]) -> SubmitResult:
        result = SubmitResult()
        now = now_utc()
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
        if self._links is None and self.db.dialect == "sqlite":
            # the record's ids and hashes read before the write lock is taken (WAL: reading
            # waits for no writer), so that the lock is held for what changed since only
            with self.db.read() as rc:
                self._links = (record_version(rc), LinkChecker(rc, self.settings))
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
                    found_before = problems_found_before(raw)
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
                order, columns = report_columns(records, blocks, spots, rows, n, user, now, source)
                ids, lost = self._insert_columns(conn, columns, len(order))
                if not rows and not lost:  # blocks only
                    result.accepted = list(ids)
                else:
                    for k, (pos, rid) in enumerate(zip(order, ids, strict=True)):
                        row = rows.get(pos)
                        if k in lost:  # another writer took this submission id in meanwhile
                            result.duplicates.append((wheres[pos], lost[k]))
                        elif row is None or pos in accepted_at:
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
                             "duplicates": len(result.duplicates), **audit_detail})
                after = record_version(conn)
                # cache only what this transaction alone changed (one audit row: ours)
                self._links = (after, links) if after[1] == before[1] + 1 and not lost \
                    else None
        except BaseException:
            self._links = None  # the transaction rolled back; the checker holds its records
            raise
        return result

    def _link_checker(self, conn: Connection) -> tuple[LinkChecker, tuple[int, int, int]]:
        """The checker of this ledger's last submit when the database has not changed since
        (no report, decision or other write: every one writes an audit row), else a new one."""
        version = record_version(conn)
        cached, self._links = self._links, None  # handed back by submit when still valid
        if cached is not None and cached[0] == version:
            cached[1].conn = conn
            return cached[1], version
        if cached is not None and self.db.dialect == "sqlite" and \
                _only_submitted_since(conn, cached[0], version):
            # SQLite has one writer at a time, so the reports since are those above the last
            # id then; on PostgreSQL concurrent writers may commit ids out of order
            cached[1].take_in_since(conn, cached[0][0])
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
        """A record refused at the gate is kept, raw but for its field names and type written
        as Safeground writes them (``reports.normal_record``: so that a victim's name under
        ``Name`` is known for what it is and withheld as such), with its reasons."""
        raw = normal_record(raw)
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

    def _insert_columns(self, conn: Connection, columns: dict[str, Any],
                        n: int) -> tuple[list[int], dict[int, int]]:
        """Insert ``n`` report rows given column by column (a list, or ``Same`` value for
        every row). Returns their ids in order, and the rows not stored because a live report
        holds their submission id already — taken in by another writer since the gate looked
        (the unique index, ``INSERT ... ON CONFLICT DO NOTHING``): row index -> that report's
        id."""
        if not n:
            return [], {}
        if self.db.dialect == "postgresql":
            # ids drawn first, in order, so that the rows can go in sorted by submission id:
            # two writers then wait for each other's rows in one order, never in a circle
            ids = sorted(conn.execute(text(
                "SELECT nextval(pg_get_serial_sequence('reports', 'id')) "
                "FROM generate_series(1, :n)"), {"n": n}).scalars())
            cols = {k: [v.value] * n if isinstance(v, Same) else v
                    for k, v in columns.items() if k != "payload_json"}
            cols["geometry"] = encode_many(cols["geometry"], "postgresql")
            cols["id"] = ids
            names = list(cols)
            rows = [dict(zip(names, vals, strict=True)) for vals in zip(*cols.values(),
                                                                        strict=True)]
            rows.sort(key=lambda r: (r["submission_id"] is None, r["submission_id"] or ""))
            stored = set(conn.execute(pg_insert(reports).on_conflict_do_nothing()
                                      .returning(reports.c.id), rows).scalars())
        else:
            # the only writer (BEGIN IMMEDIATE): the ids after the last are ours
            start = conn.execute(select(func.coalesce(func.max(reports.c.id), 0))).scalar_one()
            ids = list(range(start + 1, start + 1 + n))
            insert_many_sqlite(conn, columns, ids)
            span = reports.c.id.between(ids[0], ids[-1])
            if conn.execute(select(func.count()).where(span)).scalar_one() == n:
                return ids, {}
            stored = set(conn.execute(select(reports.c.id).where(span)).scalars())
        if len(stored) == n:
            return ids, {}
        subs = columns["submission_id"]
        lost = {k: subs.value if isinstance(subs, Same) else subs[k]
                for k, rid in enumerate(ids) if rid not in stored}
        holders: dict[str, int] = {}
        for part in chunks(sorted(set(lost.values())), 5000):
            holders.update(conn.execute(select(reports.c.submission_id, reports.c.id).where(
                reports.c.submission_id.in_(part), text(LIVE_SUBMISSION))).tuples().all())
        return ids, {k: holders.get(sub, 0) for k, sub in lost.items()}


def _only_submitted_since(conn: Connection, then: tuple[int, int, int],
                          now: tuple[int, int, int]) -> bool:
    """Nothing but submissions wrote to the record between two versions (every write leaves
    an audit row: none was removed, and every one since is a submission's)."""
    actions = conn.execute(select(audit_log.c.action).where(audit_log.c.id > then[2])).scalars()
    found = list(actions)
    return now[1] - then[1] == len(found) and all(a == "submit" for a in found)


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


def problems_found_before(raw: dict[str, Any]) -> list[Problem]:
    """Problems a parser found before the gate (``_problems``: Problem values or dicts)."""
    found = raw.get("_problems")
    if not isinstance(found, list):
        return []  # e.g. the text column of a rejects file being imported again
    return [p if isinstance(p, Problem) else Problem.from_dict(p) for p in found
            if isinstance(p, Problem) or (isinstance(p, dict) and p.get("code") in CATALOGUE)]
