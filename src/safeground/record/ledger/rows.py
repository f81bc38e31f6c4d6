"""The report table's rows as the ledger's parts share them: a row as a ``Report``, the
record's version, the reports about an object, and the order reports of one date apply in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, func, select, union

from safeground.record.reports import Report
from safeground.record.storage.schema import audit_log, reports
from safeground.record.vocabulary import (
    ReportStatus,
    ReportType,
)

TYPE_ORDER = {t: i for i, t in enumerate(ReportType)}
AREA_EVENTS = {ReportType.EVIDENCE, ReportType.ACTIVITY, ReportType.LAND_RELEASE,
                ReportType.ACCIDENT}


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def report_from_row(row: Any) -> Report:
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


def record_version(conn: Connection) -> tuple[int, int, int]:
    """(last report id, audit rows, last audit row id): every write to the record — a
    submission, an approval, a rejection, by any process — changes it."""
    return tuple(conn.execute(select(  # type: ignore[return-value]
        select(func.coalesce(func.max(reports.c.id), 0)).scalar_subquery(),
        select(func.count()).select_from(audit_log).scalar_subquery(),
        select(func.coalesce(func.max(audit_log.c.id), 0)).scalar_subquery())).one())


def about(object_id: str) -> Any:
    """Reports about an object or linked to it as an area: a union of two indexed look-ups
    (an OR of the two columns makes PostgreSQL scan the whole table)."""
    return reports.c.id.in_(union(select(reports.c.id).where(reports.c.object_id == object_id),
                                  select(reports.c.id).where(reports.c.area_id == object_id)))


def bp(name: str) -> Any:
    from sqlalchemy import bindparam

    return bindparam(name)


def chunks(items: list[int], n: int) -> Iterator[list[int]]:
    for i in range(0, len(items), n):
        yield items[i:i + n]
