"""The gate's second half: a record checked against the record and its batch.

``check_record`` (validation.py) looks at a record on its own; ``LinkChecker`` looks at it
against what the database holds and what the batch has accepted so far: links to existing or
pending objects, duplicate content, submissions already taken in, and new hazardous areas that
overlap existing ones (probable duplicates, the incumbent's most common data-quality problem).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import shapely
from sqlalchemy import Connection, select

from safeground.problems import Problem
from safeground.reports import REPORT_SPECS
from safeground.settings import Settings
from safeground.storage.schema import object_tables, reports
from safeground.validation import CheckedRecord
from safeground.vocabulary import ReportStatus, ReportType

_AREA = ReportType.HAZARDOUS_AREA
_ACTIVITY = ReportType.ACTIVITY
_ORDNANCE = ReportType.ORDNANCE
#: per report type, its link fields: (field, target type) — looked up once, not per record
_REFS: dict[ReportType, tuple[tuple[str, str], ...]] = {
    t: tuple((f.name, f.ref.value) for f in spec.fields if f.kind == "ref" and f.ref)
    for t, spec in REPORT_SPECS.items()}


class LinkChecker:
    """Checks records against the record and the batch: links, duplicates.

    ``Ledger`` keeps one across its ``submit`` calls while the database does not change
    underneath (see ``Ledger._link_checker``); ``conn`` is then the current transaction's."""

    def __init__(self, conn: Connection, settings: Settings) -> None:
        self.conn = conn
        self.settings = settings
        self.known: dict[str, set[str]] = defaultdict(set)
        self.activity_area: dict[str, str | None] = {}
        for rtype, table in object_tables.items():
            self.known[rtype.value] = set(conn.execute(select(table.c.id)).scalars())
        pending = conn.execute(select(reports.c.report_type, reports.c.object_id,
                                      reports.c.payload)
                               .where(reports.c.status == ReportStatus.SUBMITTED.value)).all()
        for rtype, oid, payload in pending:
            self.known[rtype].add(oid)
            if rtype == ReportType.ACTIVITY.value:
                self.activity_area[oid] = payload.get("hazardous_area_id")
        acts = object_tables[ReportType.ACTIVITY]
        for oid, aid in conn.execute(select(acts.c.id, acts.c.hazardous_area_id)):
            self.activity_area.setdefault(oid, aid)
        self.hashes: set[str] = set(conn.execute(
            select(reports.c.content_hash).where(reports.c.status != "rejected")).scalars())
        self.submissions: dict[str, int] = dict(conn.execute(
            select(reports.c.submission_id, reports.c.id).where(
                reports.c.submission_id.is_not(None), reports.c.status != "rejected")).all())
        self._area_tree: Any = None

    def exists(self, rtype: Any, oid: Any) -> bool:
        return isinstance(rtype, str) and isinstance(oid, str) and oid.strip() in \
            self.known.get(rtype.strip(), ())

    def submission(self, sub_id: str) -> int | None:
        return self.submissions.get(sub_id)

    def area_of(self, rec: CheckedRecord) -> str | None:
        rtype = rec.report_type
        if rtype is _AREA:
            return rec.object_id
        if rtype is _ORDNANCE and "activity_id" in rec.payload:
            return self.activity_area.get(rec.payload["activity_id"])
        return rec.payload.get("hazardous_area_id")

    def check(self, rec: CheckedRecord) -> list[Problem]:
        problems = []
        payload = rec.payload
        for name, ref in _REFS[rec.report_type]:
            if name in payload:
                target = payload[name]
                if target not in self.known[ref]:
                    others = [t for t, ids in self.known.items() if target in ids]
                    code = "OBJECT_TYPE_MISMATCH" if others else "REF_UNKNOWN"
                    problems.append(Problem(code, rec.where, name, {
                        "value": target, "target": ref, "expected": ref,
                        "actual": others[0] if others else ""}))
        if rec.content_hash in self.hashes:
            other = self.conn.execute(select(reports.c.id).where(
                reports.c.content_hash == rec.content_hash)).scalar()
            problems.append(Problem("DUPLICATE_REPORT", rec.where, None,
                                    {"other": other if other else "in this batch"}))
        if rec.report_type is _AREA and rec.object_id not in self.known[_AREA.value]:
            dup = self._duplicate_area(rec)
            if dup:
                problems.append(dup)
        return problems

    def _duplicate_area(self, rec: CheckedRecord) -> Problem | None:
        if rec.geometry is None:
            return None
        if self._area_tree is None:
            table = object_tables[ReportType.HAZARDOUS_AREA]
            rows = self.conn.execute(select(table.c.id, table.c.geometry)).all()
            self._area_ids = [r[0] for r in rows]
            self._area_geoms = [r[1] for r in rows]
            self._area_tree = shapely.STRtree(self._area_geoms)
        for i in self._area_tree.query(rec.geometry, predicate="intersects"):
            other = self._area_geoms[i]
            inter = rec.geometry.intersection(other).area
            share = max(inter / rec.geometry.area if rec.geometry.area else 0,
                        inter / other.area if other.area else 0)
            if share >= self.settings.duplicate_overlap:
                return Problem("DUPLICATE_AREA", rec.where, "geometry",
                               {"overlap": share, "other": self._area_ids[i]})
        return None

    def accept(self, rec: CheckedRecord) -> None:
        rtype = rec.report_type
        self.known[rtype.value].add(rec.object_id)
        self.hashes.add(rec.content_hash)
        if rec.submission_id:
            self.submissions[rec.submission_id] = -1
        if rtype is _ACTIVITY:
            self.activity_area[rec.object_id] = rec.payload.get("hazardous_area_id")
