"""The gate's second half: a record checked against the record and its batch.

``check_record`` (validation.py) looks at a record on its own; ``LinkChecker`` looks at it
against what the database holds and what the batch has accepted so far: links to existing or
pending objects, duplicate content, submissions already taken in, and new hazardous areas that
overlap existing ones (probable duplicates, the incumbent's most common data-quality problem).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from sqlalchemy import Connection, select

from safeground.record.problems import Problem
from safeground.record.reports import REPORT_SPECS
from safeground.record.storage.schema import object_tables, reports
from safeground.record.validation import CheckedRecord, _empty
from safeground.record.vocabulary import ReportStatus, ReportType
from safeground.settings import Settings

if TYPE_CHECKING:
    from safeground.record.batch_gate import Checked, CleanGroup

_AREA = ReportType.HAZARDOUS_AREA
_ACTIVITY = ReportType.ACTIVITY
_ORDNANCE = ReportType.ORDNANCE
#: per report type, its link fields: (field, target type) — looked up once, not per record
_NO_ACTIVITY = object()
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
        waiting = reports.c.status == ReportStatus.SUBMITTED.value
        for rtype, oid in conn.execute(select(reports.c.report_type, reports.c.object_id)
                                       .where(waiting)):
            self.known[rtype].add(oid)
        # payloads only where needed: decoding every waiting report's JSON made this the
        # longest part of a write transaction once the holding area held a large import
        for oid, payload in conn.execute(select(reports.c.object_id, reports.c.payload).where(
                waiting, reports.c.report_type == ReportType.ACTIVITY.value)
                .order_by(reports.c.id)):
            self.activity_area[oid] = payload.get("hazardous_area_id")
        acts = object_tables[ReportType.ACTIVITY]
        for oid, aid in conn.execute(select(acts.c.id, acts.c.hazardous_area_id)):
            self.activity_area.setdefault(oid, aid)
        #: content hash -> id of a report holding it (-1: accepted in this batch, not stored)
        self.hashes: dict[str, int] = {}
        for h, rid in conn.execute(select(reports.c.content_hash, reports.c.id)
                                   .where(reports.c.status != "rejected")):
            self.hashes.setdefault(h, rid)
        self.submissions: dict[str, int] = dict(conn.execute(
            select(reports.c.submission_id, reports.c.id).where(
                reports.c.submission_id.is_not(None), reports.c.status != "rejected")).all())
        self._area_tree: Any = None

    def take_in_since(self, conn: Connection, last_id: int) -> None:
        """Add the reports stored since this checker was loaded (ids above ``last_id``) as
        loading it now would find them — valid when nothing but submissions changed the
        record since (a submission only adds reports): a few rows read, not the whole
        record, while the write lock is held."""
        self.conn = conn
        since = reports.c.id > last_id
        live = reports.c.status != "rejected"
        waiting = reports.c.status == ReportStatus.SUBMITTED.value
        for rid, rtype, oid, status, h, sub in conn.execute(select(
                reports.c.id, reports.c.report_type, reports.c.object_id, reports.c.status,
                reports.c.content_hash, reports.c.submission_id).where(since, live)
                .order_by(reports.c.id)):
            if status == ReportStatus.SUBMITTED.value:
                self.known[rtype].add(oid)
            self.hashes.setdefault(h, rid)
            if sub is not None:
                self.submissions[sub] = rid
        for oid, payload in conn.execute(select(reports.c.object_id, reports.c.payload).where(
                since, waiting, reports.c.report_type == ReportType.ACTIVITY.value)
                .order_by(reports.c.id)):
            self.activity_area[oid] = payload.get("hazardous_area_id")

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
        other = self.hashes.get(rec.content_hash)
        if other is not None:
            problems.append(Problem("DUPLICATE_REPORT", rec.where, None,
                                    {"other": other if other > 0 else "in this batch"}))
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
        self.hashes[rec.content_hash] = -1
        if rec.submission_id:
            self.submissions[rec.submission_id] = -1
        if rtype is _ACTIVITY:
            self.activity_area[rec.object_id] = rec.payload.get("hazardous_area_id")

    # ----------------------------------------------------------------- large batches, en bloc
    def plan(self, raws: list[dict[str, Any]], checked: Checked) -> list[Block]:
        """The clean records of a large batch that can be taken in as a block, without going
        through ``check`` one by one: for each group of ``checked``, the records ``check``
        would pass whatever else the batch holds, and their area ids (``area_of``).

        A record qualifies when its key (type, id) is new and belongs to no other record of
        the batch, its submission id is new and its own, its content is new, a hazardous area
        overlaps no area of the record (``_duplicate_area``), and each object it links to is in
        the record already or made by an earlier record of a block, and is made or changed by
        no record outside the blocks before it. Nothing another record of the batch does can
        then change its answer, nor can it change theirs except by being accepted (which
        ``accept_block`` records before each of them is checked): the outcome is that of
        ``check`` and ``accept`` record by record, in order (tests/core/test_batch_gate.py).
        """
        groups = checked.groups
        # keys and submission ids of the records that are not clean, as check_record would
        # make them (conservative: any record that could become that object)
        other_keys: set[tuple[str, str]] = set()
        other_subs: list[str] = []
        for i in checked.others:
            raw = raws[i]
            other_keys.add((str(raw.get("report_type")).strip(),
                            str(raw.get("object_id")).strip()))
            sub = raw.get("submission_id")
            if not _empty(sub):
                other_subs.append(str(sub).strip())
        every_sub = [*other_subs, *(s for g in groups for s in g.submission_ids)]
        given = len(every_sub) - every_sub.count(None)
        distinct = set(every_sub)
        distinct.discard(None)
        shared_subs = set() if len(distinct) == given else \
            {s for s, c in Counter(every_sub).items() if c > 1 and s is not None}
        taken: list[np.ndarray] = []
        for g in groups:
            t = g.rtype._value_
            ok = np.ones(len(g.index), dtype=bool)
            types = [raws[i]["report_type"].__class__ for i in g.index]
            if types.count(str) != len(types):  # exists() sees only text
                ok &= np.array([c is str for c in types], dtype=bool)
            oids = g.object_ids
            ids = set(oids)
            known = self.known[t]
            clash = len(ids) != len(oids) or not ids.isdisjoint(known) or any(
                k == t and o in ids for k, o in other_keys)
            if clash:
                many = {o for o, c in Counter(oids).items() if c > 1}
                bad = many | (ids & known) | {o for k, o in other_keys if k == t}
                ok &= np.array([o not in bad for o in oids], dtype=bool)
            subs = g.submission_ids
            if not (shared_subs.isdisjoint(subs) and self.submissions.keys().isdisjoint(subs)):
                ok &= np.array([s is None or (s not in shared_subs and s not in self.submissions)
                                for s in subs], dtype=bool)
            if not self.hashes.keys().isdisjoint(g.hashes):
                ok &= np.array([h not in self.hashes for h in g.hashes], dtype=bool)
            if g.rtype is _AREA:  # compared with the areas of the record, not of the batch
                for k in np.flatnonzero(ok).tolist():
                    if self._duplicate_area(g.record(k)) is not None:
                        ok[k] = False
            taken.append(ok)
        # links: settled in rounds, as each record left out may unsettle those linking to it
        first_other: dict[tuple[str, str], int] = {}
        for i in checked.others:  # ascending
            raw = raws[i]
            first_other.setdefault((str(raw.get("report_type")).strip(),
                                    str(raw.get("object_id")).strip()), i)
        while True:
            # where a record outside the blocks makes or changes each object first; which
            # block record makes each object
            outside = dict(first_other)
            made: dict[tuple[str, str], int] = {}
            for g, ok in zip(groups, taken, strict=True):
                t = g.rtype._value_
                for k in np.flatnonzero(~ok).tolist():
                    key = (t, g.object_ids[k])
                    outside[key] = min(outside.get(key, g.index[k]), g.index[k])
                for k in np.flatnonzero(ok).tolist():
                    made[(t, g.object_ids[k])] = g.index[k]
            changed = False
            for g, ok in zip(groups, taken, strict=True):
                for name, ref in _REFS[g.rtype]:
                    col = [p.get(name) for p in g.payloads]
                    known = self.known[ref]
                    # per target: (made or changed outside from, made by a block record at)
                    # or True when it is simply in the record; None: no link
                    verdict = {t: True if t is None or ((ref, t) not in outside and t in known)
                               else (outside.get((ref, t)), made.get((ref, t)) if t not in known
                                     else -1) for t in set(col)}
                    if all(v is True for v in verdict.values()):
                        continue
                    for k, target in enumerate(col):
                        v = verdict[target]
                        if v is True or not ok[k]:
                            continue
                        at = g.index[k]
                        limit, maker = v
                        if (limit is not None and at > limit) or maker is None or maker > at:
                            ok[k] = False
                            changed = True
            if not changed:
                break
        chosen = [np.flatnonzero(ok).tolist() for ok in taken]
        # activities made by the block: their areas, for the items found in them
        made_area = {g.object_ids[k]: g.payloads[k].get("hazardous_area_id")
                     for g, ks in zip(groups, chosen, strict=True) if g.rtype is _ACTIVITY
                     for k in ks}
        return [Block(g, ks, self._areas_of(g, ks, made_area))
                for g, ks in zip(groups, chosen, strict=True)]

    def _areas_of(self, g: CleanGroup, ks: list[int],
                  made_area: dict[str, str | None]) -> list[str | None]:
        """``area_of`` for the records ``ks`` of a group taken in as a block."""
        payloads = g.payloads
        if g.rtype is _AREA:
            return [g.object_ids[k] for k in ks]
        if g.rtype is not _ORDNANCE:
            return [payloads[k].get("hazardous_area_id") for k in ks]
        aids = [payloads[k].get("activity_id", _NO_ACTIVITY) for k in ks]
        area_of = {aid: made_area[aid] if aid in made_area else self.activity_area.get(aid)
                   for aid in set(aids)}
        out = list(map(area_of.__getitem__, aids))
        if _NO_ACTIVITY in area_of:  # an item found outside any activity names its area
            for j, k in enumerate(ks):
                if aids[j] is _NO_ACTIVITY:
                    out[j] = payloads[k].get("hazardous_area_id")
        return out

    def accept_block(self, block: Block, lo: int, hi: int, ids: list[int] | None = None,
                     new: bool = True) -> None:
        """``accept`` for the records ``block.ks[lo:hi]``, or, once they are stored, with
        their report ``ids`` (``new=False``: records accepted before, getting their ids)."""
        g = block.group
        ks = block.ks[lo:hi]
        if not ks:
            return
        whole = len(ks) == len(g.index)
        hashes = g.hashes if whole else [g.hashes[k] for k in ks]
        subs = g.submission_ids if whole else [g.submission_ids[k] for k in ks]
        rids = [-1] * len(ks) if ids is None else ids
        self.hashes.update(zip(hashes, rids, strict=True))
        if None in subs:
            self.submissions.update((s, rid) for s, rid in zip(subs, rids, strict=True) if s)
        else:
            self.submissions.update(zip(subs, rids, strict=True))
        if not new:
            return
        self.known[g.rtype._value_].update(g.object_ids if whole
                                           else [g.object_ids[k] for k in ks])
        if g.rtype is _ACTIVITY:
            self.activity_area.update(
                (g.object_ids[k], g.payloads[k].get("hazardous_area_id")) for k in ks)


@dataclass(slots=True)
class Block:
    """Clean records of one group taken in as a block: ``ks`` (ascending) and their area ids."""

    group: CleanGroup
    ks: list[int]
    areas: list[str | None]
