"""Figures derived from the record, computed once per version of the record, not per request.

The programme status, the dashboard's figures and charts and the programme report read the
whole record: a second or more each. They change only when the record does, so the web app
keeps them keyed by the record's *version* and recomputes one only when the version has moved.

The version is ``(last report id, last audit row id that may tell of a change)``: every
write to the record — a submission, an approval, a rejection, a rollback, whatever comes later
— adds a report or an audit row (the ledger writes one for each), so any write, by any process
sharing the database, moves it. Audit rows of what never changes the record and comes with
ordinary use — a sign-in, a sign-out, a failed sign-in, a read of victims' data, an export, a
refusal (``QUIET_ACTIONS``) — do not move it, so that fifty clients signing in do not make the
figures again fifty times. Both parts are index look-ups on primary keys: the last report id,
and a look back over at most ``WINDOW`` audit rows (when none of them may tell of a change,
the version is the window's start, which moves with the next row: safe, if not thrifty). A
request reads the version once (``request_version``).

``RecordCache`` holds at most ``max_entries`` values (least recently used go first). When
several requests ask for the same missing value at once, one computes it and the others wait
for it, so a burst of clients after an approval costs one computation, not fifty.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from fastapi import Request
from sqlalchemy import func, select

from safeground.record.ledger import Ledger
from safeground.record.storage.schema import audit_log, reports

T = TypeVar("T")


#: audit actions of ordinary use that never change the record (see the module)
QUIET_ACTIONS = ("login", "login_failed", "logout", "victim_read", "export", "cli_read",
                 "forbidden", "password_change_failed")
#: how many of the last audit rows are looked at for one that may tell of a change
WINDOW = 1000


def version(ledger: Ledger) -> tuple[int, int]:
    """The record's version (see the module)."""
    top = select(func.coalesce(func.max(audit_log.c.id), 0)).scalar_subquery()
    telling = select(func.max(audit_log.c.id)).where(
        audit_log.c.id > top - WINDOW, audit_log.c.action.not_in(QUIET_ACTIONS)
    ).scalar_subquery()
    with ledger.db.read() as conn:
        row = conn.execute(select(
            select(func.coalesce(func.max(reports.c.id), 0)).scalar_subquery(),
            func.coalesce(telling, top - WINDOW))).one()
    return int(row[0]), int(row[1])


class RecordCache:
    """Values keyed by (what, record version), at most ``max_entries`` of them."""

    def __init__(self, max_entries: int = 64) -> None:
        self.max_entries = max_entries
        self._values: OrderedDict[tuple[Hashable, Hashable], Any] = OrderedDict()
        self._computing: dict[tuple[Hashable, Hashable], threading.Lock] = {}
        self._lock = threading.Lock()
        self.computed = 0            # how many values were computed (not found)

    def get(self, key: Hashable, at: Hashable, compute: Callable[[], T]) -> T:
        """The value of ``key`` at record version ``at``: from the cache, or ``compute()``d
        (once, whoever else asks meanwhile) and kept."""
        full = (key, at)
        with self._lock:
            if full in self._values:
                self._values.move_to_end(full)
                return self._values[full]
            gate = self._computing.setdefault(full, threading.Lock())
        with gate:
            with self._lock:
                if full in self._values:
                    return self._values[full]
            try:
                value = compute()
            except BaseException:
                with self._lock:
                    self._computing.pop(full, None)
                raise
            with self._lock:
                self.computed += 1
                self._values[full] = value
                self._drop_stale(key, at)
                while len(self._values) > self.max_entries:
                    self._values.popitem(last=False)
                self._computing.pop(full, None)
        return value

    def _drop_stale(self, key: Hashable, at: Hashable) -> None:
        """With the lock held: forget ``key`` at other versions (the record moved on)."""
        for k in [k for k in self._values if k[0] == key and k[1] != at]:
            del self._values[k]

    def clear(self) -> None:
        """Forget everything (after an approval: the values can no longer be asked for)."""
        with self._lock:
            self._values.clear()

    def __len__(self) -> int:
        return len(self._values)


def request_version(request: Request) -> tuple[int, int]:
    """The record's version, read once per request."""
    found = getattr(request.state, "record_version", None)
    if found is None:
        found = version(request.app.state.ledger)
        request.state.record_version = found
    return found


def derived(request: Request, key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()`` for this version of the record, computed once per version (see the
    module)."""
    cache: RecordCache = request.app.state.derived
    return cache.get(key, request_version(request), compute)
