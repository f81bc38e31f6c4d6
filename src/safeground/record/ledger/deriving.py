"""Deriving: approved reports folded, in order of their effective date, into one row per object
and, for hazardous areas, the land release engine's figures; and the replay of the approved
reports up to a date, in memory, for "what did we know on date X?".
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, and_, insert, select, union, update

from safeground.errors import ValidationError
from safeground.record import land_release as engine
from safeground.record.ledger.rows import (
    AREA_EVENTS,
    TYPE_ORDER,
    about,
    bp,
    chunks,
    report_from_row,
)
from safeground.record.problems import Problem
from safeground.record.reports import REPORT_SPECS, Report
from safeground.record.storage import spatial
from safeground.record.storage.schema import object_tables, reports
from safeground.record.storage.types import encode_many
from safeground.record.vocabulary import (
    ActivityStatus,
    ActivityType,
    EvidenceCategory,
    HazardClass,
    ReleaseKind,
    ReportStatus,
    ReportType,
)


@dataclass(slots=True)
class DerivedObject:
    """One object's derived state while reports are folded in."""

    attrs: dict[str, Any]
    geometry: Any
    organisation: str
    first_date: dt.date
    last_date: dt.date
    last_report_id: int
    exists: bool = False  # already a row in the database


class Workspace:
    """Derived objects and area engine states, loaded lazily from the database (or, for an
    as-of replay, built from nothing)."""

    def __init__(self, conn: Connection | None, parent: Workspace | None = None,
                 blank: set[tuple[ReportType, str]] | None = None) -> None:
        self.conn = conn
        self.parent = parent
        self.objects: dict[tuple[ReportType, str], DerivedObject | None] = {
            k: None for k in blank or ()}
        self.areas: dict[str, engine.AreaState | None] = {
            oid: None for t, oid in blank or () if t is ReportType.HAZARDOUS_AREA}
        self.dirty: set[tuple[ReportType, str]] = set()

    def get(self, rtype: ReportType, oid: str) -> DerivedObject | None:
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
            for chunk in chunks(sorted(set(ids)), 2000):
                for row in self.conn.execute(select(table).where(table.c.id.in_(chunk)))\
                        .mappings():
                    self.objects[(rtype, row["id"])] = self._from_row(rtype, row)
                for oid in chunk:
                    self.objects.setdefault((rtype, oid), None)

    def _load(self, rtype: ReportType, oid: str) -> DerivedObject | None:
        if self.conn is None:
            return None
        table = object_tables[rtype]
        row = self.conn.execute(select(table).where(table.c.id == oid)).mappings().first()
        return None if row is None else self._from_row(rtype, row)

    def _from_row(self, rtype: ReportType, row: Any) -> DerivedObject:
        oid = row["id"]
        spec = REPORT_SPECS[rtype]
        attrs = {f.name: row[f.name] for f in spec.fields if row[f.name] is not None}
        for f in spec.fields:
            if f.kind == "date" and f.name in attrs:
                attrs[f.name] = attrs[f.name].isoformat()
        if rtype is ReportType.HAZARDOUS_AREA and row["engine_state"] is not None:
            self.areas[oid] = engine.AreaState.loads(row["engine_state"])
        return DerivedObject(attrs, row.get("geometry"), row["organisation"], row["first_date"],
                    row["last_date"], row["last_report_id"], exists=True)

    def area(self, oid: str) -> engine.AreaState | None:
        if oid not in self.areas and self.parent is not None:
            return self.parent.area(oid)
        self.get(ReportType.HAZARDOUS_AREA, oid)
        return self.areas.get(oid)


class Deriving:
    """Folding approved reports into the derived record, and replaying them up to a date
    (a part of ``Ledger``)."""

    def _fold(self, ws: Workspace, rep: Report, seq: int, conn: Connection | None,
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

    def _rebuild(self, ws: Workspace, rep: Report, seq: int, conn: Connection,
                 batch: list[tuple[Report, int]], area_id: str | None) -> None:
        """Replay the object's (and its area's) approved reports with ``rep``, in date order,
        in a scratch workspace over ``ws``; copy the rebuilt object and area back on success."""
        own = select(reports.c.id).where(reports.c.report_type == rep.type.value,
                                         reports.c.object_id == rep.object_id)
        cond = reports.c.id.in_(union(own, select(reports.c.id).where(
            reports.c.area_id == area_id)) if area_id else own)
        rows = conn.execute(select(reports).where(
            reports.c.status == ReportStatus.APPROVED.value, cond)).all()
        history = {r.id: (report_from_row(r), r.seq) for r in rows}
        for r, s in batch:
            if (r.type, r.object_id) == (rep.type, rep.object_id) or \
                    (area_id and self._area_id(ws, r) == area_id):
                history[r.id] = (r, s)
        history[rep.id] = (rep, seq)
        keys = {(rep.type, rep.object_id)}
        if area_id:
            keys.add((ReportType.HAZARDOUS_AREA, area_id))
        scratch = Workspace(None, parent=ws, blank=keys)
        items = list(history.values())
        eff = effective_dates([r for r, _ in items], None)
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

    def _check_refs(self, ws: Workspace, rep: Report) -> None:
        for f in REPORT_SPECS[rep.type].fields:
            if f.kind == "ref" and f.name in rep.payload:
                assert f.ref is not None
                if ws.get(f.ref, rep.payload[f.name]) is None:
                    p = Problem("REF_UNKNOWN", f"report {rep.id}", f.name,
                                {"value": rep.payload[f.name], "target": f.ref.value})
                    raise ValidationError([p])

    def _area_id(self, ws: Workspace, rep: Report) -> str | None:
        if rep.type is ReportType.HAZARDOUS_AREA:
            return rep.object_id
        if rep.type in AREA_EVENTS:
            return rep.payload.get("hazardous_area_id")
        if rep.type is ReportType.ORDNANCE and "activity_id" in rep.payload:
            act = ws.get(ReportType.ACTIVITY, rep.payload["activity_id"])
            return act.attrs.get("hazardous_area_id") if act else None
        return None

    @staticmethod
    def _merge(obj: DerivedObject | None, rep: Report) -> DerivedObject:
        """Attribute by attribute: what this report says replaces what was known."""
        geom = rep.geometry
        if obj is None:
            return DerivedObject(dict(rep.payload), geom, rep.organisation,
                                 rep.date_of_information, rep.date_of_information, rep.id)
        return DerivedObject({**obj.attrs, **rep.payload},
                             geom if geom is not None else obj.geometry, rep.organisation,
                             min(obj.first_date, rep.date_of_information),
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

    def _event(self, ws: Workspace, rep: Report,
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

    def _write_workspace(self, conn: Connection, ws: Workspace) -> None:
        """Write every changed object (inserts and updates in batches, parents first)."""
        by_type: dict[ReportType, list[tuple[str, DerivedObject]]] = defaultdict(list)
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
            # --- spatial index (SQLite R*Tree): the boxes of the geometries written
            if "geometry" in table.c:
                both = new + old
                spatial.write_boxes(conn, rtype, [r["id"] for r in both],
                                    [r["geometry"] for r in both])
            # ---
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
                conn.execute(update(table).where(table.c.id == bp("_id")).values(
                    {c: bp("_" + c) for c in cols}),
                    [{"_" + k: v for k, v in r.items()} for r in old])
        ws.dirty.clear()

    def _object_row(self, rtype: ReportType, oid: str, obj: DerivedObject,
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

    # ------------------------------------------------------------------- replaying the past
    def _approved(self, cond: Any, by_id: bool = False,
                  conn: Connection | None = None) -> list[tuple[Report, int]]:
        """Approved reports matching ``cond``, with their approval sequence, in that order.

        ``by_id``: ``cond`` picks a few reports by an indexed id (an object's, an area's), so
        the status is tested on what it finds, not looked up: almost every report is approved,
        and a planner that takes the status index for the look-up reads them all (the time
        of one area's replay then grows with the record). ``status || ''`` is an expression
        no index has, on SQLite and PostgreSQL alike."""
        status = reports.c.status.concat("") if by_id else reports.c.status
        q = select(reports).where(status == ReportStatus.APPROVED.value, cond) \
            .order_by(reports.c.seq)
        if conn is not None:
            return [(report_from_row(row), row.seq) for row in conn.execute(q)]
        with self.db.read() as conn:
            return [(report_from_row(row), row.seq) for row in conn.execute(q)]

    def _replay_into(self, ws: Workspace, reps: Iterable[Report]) -> None:
        """Fold approved reports (given in approval order) in order of effective date."""
        reps = list(reps)
        order = {r.id: i for i, r in enumerate(reps)}
        eff = effective_dates(reps, None)
        for rep in sorted(reps, key=lambda r: (eff[r.id], order[r.id])):
            self._fold(ws, rep, 0, None, [], eff[rep.id])

    def _rows_of(self, ws: Workspace) -> dict[ReportType, list[dict[str, Any]]]:
        out: dict[ReportType, list[dict[str, Any]]] = defaultdict(list)
        for (rtype, oid), obj in sorted(ws.objects.items(), key=lambda kv: kv[0][1]):
            if obj is not None:
                row = self._object_row(rtype, oid, obj, ws.areas.get(oid))
                out[rtype].append(self._public(rtype, row))
        return out

    def _replay(self, as_of: dt.date) -> dict[ReportType, list[dict[str, Any]]]:
        ws = Workspace(None)
        self._replay_into(ws, [r for r, _ in
                               self._approved(reports.c.date_of_information <= as_of)])
        return self._rows_of(ws)

    def _replay_one(self, rtype: ReportType, oid: str, as_of: dt.date) -> dict[str, Any] | None:
        """One object as known on ``as_of``: its own reports, its area's events and the
        objects those link to."""
        cond = and_(reports.c.date_of_information <= as_of, about(oid))
        with self.db.read() as conn:           # one connection: fewer round trips
            found = self._approved(cond, by_id=True, conn=conn)
            needed = {r.payload.get("activity_id") for r, _ in found} - {None}
            if needed:
                found += self._approved(and_(reports.c.date_of_information <= as_of,
                                             reports.c.report_type.concat("") == "activity",
                                             reports.c.object_id.in_(needed)),
                                        by_id=True, conn=conn)
        by_id = {r.id: (r, seq) for r, seq in found}
        ws = Workspace(None)
        self._replay_into(ws, [r for r, _ in sorted(by_id.values(), key=lambda x: x[1])])
        rows = self._rows_of(ws).get(rtype, [])
        return next((r for r in rows if r["id"] == oid), None)


def effective_dates(reps: list[Report], ws: Workspace | None) -> dict[int, dt.date]:
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
