"""Reading: reports, histories and the derived record, now or as known on a date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from safeground.errors import NotFoundError
from safeground.record.domain import from_row, value_types
from safeground.record.ledger.rows import (
    about,
    report_from_row,
)
from safeground.record.reports import Report
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
