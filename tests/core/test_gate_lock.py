"""The gate reads the record's ids and hashes before the write lock is taken (SQLite): inside
it, only what other writers submitted since. The outcome is the one a checker loaded inside
the lock gives."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from safeground.record import gate
from safeground.record.ledger import Ledger
from safeground.record.storage import Database
from safeground.settings import Settings

BASE = {"date_of_information": "2024-01-01", "organisation": "ORG-1", "author": "t"}


def _org(oid: str) -> dict:
    return {**BASE, "report_type": "organisation", "object_id": oid, "name": oid, "kind": "ngo"}


def _activity(oid: str, org: str) -> dict:
    return {**BASE, "report_type": "activity", "object_id": oid, "activity_type": "clearance",
            "organisation_id": org, "start_date": "2024-01-01", "status": "ongoing"}


@pytest.fixture
def two(tmp_path, monkeypatch):
    """Two ledgers on one SQLite record (two processes), and the number of checkers loaded
    while a write lock was held."""
    url = f"sqlite:///{tmp_path}/record.sqlite"
    a = Ledger(Database.open(url), Settings(database_url=url))
    b = Ledger(Database.open(url), Settings(database_url=url))
    held = {"now": False, "loads_in_lock": 0}
    for led in (a, b):
        write = led.db.write

        @contextmanager
        def locked(write=write):
            with write() as conn:
                held["now"] = True
                try:
                    yield conn
                finally:
                    held["now"] = False

        led.db.write = locked
    init = gate.LinkChecker.__init__

    def counting(self, conn, settings):
        held["loads_in_lock"] += held["now"]
        init(self, conn, settings)

    monkeypatch.setattr(gate.LinkChecker, "__init__", counting)
    yield a, b, held
    a.db.close()
    b.db.close()


def test_other_writers_submissions_are_seen_without_reloading_in_the_lock(two):
    a, b, held = two
    assert a.submit([_org("ORG-1")], user="alice").accepted
    assert b.submit([_org("ORG-2")], user="bob").accepted     # b loads outside the lock
    first = a.submit([_activity("ACT-1", "ORG-2")], user="alice")  # links to b's organisation
    assert first.accepted and not first.rejected
    again = b.submit([_activity("ACT-1", "ORG-2")], user="bob")     # a's report: a duplicate
    assert not again.accepted
    assert [p.code for r in again.rejected for p in r.problems] == ["DUPLICATE_REPORT"]
    assert held["loads_in_lock"] == 0


def test_a_decision_since_makes_the_gate_read_the_record_again(two):
    a, b, held = two
    ids = a.submit([_org("ORG-1"), _org("ORG-2")], user="alice").accepted
    b.submit([_org("ORG-3")], user="bob")
    b.reject(ids[:1], user="bob", note="not ours")        # a rejected report is no duplicate
    again = a.submit([_org("ORG-1")], user="alice")
    assert again.accepted and not again.rejected
    assert held["loads_in_lock"] == 1
