"""Reading: reports, histories and the derived record, now or as known on a date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import shapely
from sqlalchemy import func, select

from safeground.errors import NotFoundError
from safeground.record.domain import from_row, value_types
from safeground.record.ledger.rows import (
    about,
    report_from_row,
)
from safeground.record.reports import Report
from safeground.record.storage import spatial
from safeground.record.storage.schema import object_tables, reports
from safeground.record.vocabulary import (
    ReportStatus,
    ReportType,
)


class Reading:
    """Reading reports and the derived record (a part of ``Ledger``)."""

    def report(self, report_id: int) -> Report:
        with self.db.read() as conn:
            row = conn.execute(select(reports).where(reports.c.id == report_id)).first()
        if row is None:
            raise NotFoundError(f"no report {report_id}", code="REPORT_NOT_FOUND")
        return report_from_row(row)

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
            return [report_from_row(r) for r in conn.execute(q)]

    def history(self, object_id: str) -> list[Report]:
        """Every report that speaks of the object (or, for an area, links to it), in date order.
        Raises NotFoundError when there is none."""
        q = select(reports).where(about(object_id)) \
            .order_by(reports.c.date_of_information, reports.c.seq, reports.c.id)
        with self.db.read() as conn:
            out = [report_from_row(r) for r in conn.execute(q)]
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

    def page(self, report_type: ReportType | str, *,
             bbox: tuple[float, float, float, float] | None = None,
             where: dict[str, Any] | None = None,
             dates: tuple[dt.date | None, dt.date | None] | None = None,
             limit: int | None = 100, offset: int = 0, pad: float = 0.0,
             hit: Callable[[np.ndarray, shapely.Polygon], np.ndarray] | None = None,
             ) -> tuple[list[dict[str, Any]], int]:
        """One page of the current objects of a type, in id order, and how many match in all
        (``numberMatched``): the same objects ``objects(report_type)`` gives filtered in Python,
        but asked of the database so the cost follows the answer, not the record.

        * ``where`` — fields equal to values (bound parameters);
        * ``dates`` — ``(lo, hi)``: objects whose first-to-last report dates meet the interval
          (either end None: open);
        * ``bbox`` — ``(minlon, minlat, maxlon, maxlat)``: objects whose geometry intersects the
          box. The spatial index (GiST on PostGIS, R*Tree on SQLite: ``storage.spatial``)
          gives the candidates whose bounding box meets the box grown by ``pad`` degrees; then
          each candidate is tested exactly, by ``hit(geometries, box)`` (a boolean per
          geometry; default ``shapely.intersects``) — a caller who shows a geometry other than
          the stored one (a generalised point) tests that one, with a pad that covers the move;
        * ``limit`` / ``offset`` — the page (``limit=None``: every match from ``offset``).

        The current record only: the record as known on a date is replayed (``objects``)."""
        rtype = ReportType(report_type)
        table = object_tables[rtype]
        # every column but the land release engine's state (never shown; large)
        shown = [c for c in table.c if c.name != "engine_state"]
        conds = []
        for k, v in (where or {}).items():
            if k not in table.c:
                raise ValueError(f"{rtype.value} has no field '{k}'")
            conds.append(table.c[k] == v)
        if dates is not None:
            lo, hi = dates
            if hi is not None:
                conds.append(table.c.first_date <= hi)
            if lo is not None:
                conds.append(table.c.last_date >= lo)
        with self.db.read() as conn:
            if bbox is None:
                number = conn.execute(select(func.count()).select_from(table)
                                      .where(*conds)).scalar_one()
                q = select(*shown).where(*conds).order_by(table.c.id).offset(offset)
                rows = conn.execute(q if limit is None else q.limit(limit)).mappings().all()
                return [self._public(rtype, dict(r)) for r in rows], number
            if "geometry" not in table.c:
                raise ValueError(f"{rtype.value} has no geometry")
            box = shapely.box(*bbox)
            x0, y0, x1, y1 = bbox[0] - pad, bbox[1] - pad, bbox[2] + pad, bbox[3] + pad
            q = select(table.c.id, table.c.geometry)
            if self.db.dialect == "postgresql":
                q = q.where(table.c.geometry.op("&&")(
                    func.ST_MakeEnvelope(x0, y0, x1, y1, 4326)))
            else:
                # the R*Tree first (a subquery, so the planner cannot start from the keys)
                rt, keys = spatial.rtrees[rtype], spatial.spatial_keys
                inside = select(rt.c.id).where(rt.c.minx <= x1, rt.c.maxx >= x0,
                                               rt.c.miny <= y1, rt.c.maxy >= y0)
                q = q.select_from(keys.join(table, table.c.id == keys.c.object_id)) \
                    .where(keys.c.id.in_(inside))
            cands = conn.execute(q.where(*conds).order_by(table.c.id)).all()
            geoms = np.empty(len(cands), dtype=object)
            geoms[:] = [c[1] for c in cands]
            keep = (hit or shapely.intersects)(geoms, box) if len(cands) else []
            matched = [c[0] for c, k in zip(cands, keep, strict=True) if k]
            want = matched[offset:] if limit is None else matched[offset:offset + limit]
            rows = []
            for i in range(0, len(want), 1000):          # bound parameters, in chunks
                rows += conn.execute(select(*shown).where(table.c.id.in_(want[i:i + 1000]))
                                     .order_by(table.c.id)).mappings().all()
        return [self._public(rtype, dict(r)) for r in rows], len(matched)

    def bounds(self, report_type: ReportType | str) -> tuple[float, float, float, float] | None:
        """``(minlon, minlat, maxlon, maxlat)`` of the current objects' geometries of a type,
        from the spatial index (None when none has a geometry). On SQLite the R*Tree's boxes
        are 32-bit floats rounded outwards: the bounds may be larger by a few millionths of a
        degree, never smaller."""
        rtype = ReportType(report_type)
        table = object_tables[rtype]
        if "geometry" not in table.c:
            raise ValueError(f"{rtype.value} has no geometry")
        with self.db.read() as conn:
            if self.db.dialect == "postgresql":
                e = func.ST_Extent(table.c.geometry)
                row = conn.execute(select(func.ST_XMin(e), func.ST_YMin(e), func.ST_XMax(e),
                                          func.ST_YMax(e))).one()
            else:
                rt = spatial.rtrees[rtype]
                row = conn.execute(select(func.min(rt.c.minx), func.min(rt.c.miny),
                                          func.max(rt.c.maxx), func.max(rt.c.maxy))).one()
        return None if row[0] is None else tuple(float(v) for v in row)

    def snapshot(self, as_of: dt.date) -> dict[ReportType, list[dict[str, Any]]]:
        """Every type's objects as known on ``as_of``, from one replay of the record (each
        ``objects(type, as_of)`` call replays it anew): for reports that read many types."""
        return dict(self._replay(as_of))

    def values(self, report_type: ReportType | str, as_of: dt.date | None = None) -> list[Any]:
        """The derived objects of a type as typed, immutable domain values."""
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
