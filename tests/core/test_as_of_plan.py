"""One object as known on a date is looked up by its own indexes, whatever the record's size.

Almost every report is approved, so a look-up that goes by the status index reads the whole
record to replay one area; the database's own plan for each query says which index it takes.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import event

from safeground import example


def _statements(ledger, call) -> list[tuple[str, object]]:
    seen: list[tuple[str, object]] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(ledger.db.engine, "before_cursor_execute", note)
    try:
        call()
    finally:
        event.remove(ledger.db.engine, "before_cursor_execute", note)
    return [(s, p) for s, p in seen if "FROM reports" in s]


def _plan(ledger, statement: str, parameters) -> str:
    raw = ledger.db.engine.raw_connection()
    try:
        cur = raw.cursor()
        if ledger.db.dialect == "sqlite":
            cur.execute("EXPLAIN QUERY PLAN " + statement, parameters)
        else:
            cur.execute("SET enable_seqscan = off")   # a small table: make it choose an index
            cur.execute("EXPLAIN " + statement, parameters)
        return "\n".join(str(row) for row in cur.fetchall())
    finally:
        raw.close()


def test_as_of_of_one_area_goes_by_the_object_and_area_indexes_not_by_status(ledger):
    res = ledger.submit(example.records(), user="clerk")
    ledger.approve(res.accepted, user="chief")
    area = next(r.object_id for r in ledger.reports() if r.type.value == "hazardous_area")
    day = dt.date(2021, 12, 31)
    found = ledger.get("hazardous_area", area, as_of=day)
    assert found["id"] == area
    # the same area from the replay of the whole record
    assert found == next(a for a in ledger.objects("hazardous_area", as_of=day)
                         if a["id"] == area)
    queries = _statements(ledger, lambda: ledger.get("hazardous_area", area, as_of=day))
    assert queries
    for statement, parameters in queries:
        plan = _plan(ledger, statement, parameters)
        assert "ix_reports_status" not in plan, plan
        assert "ix_reports_object" in plan or "ix_reports_area" in plan, plan
