"""The audit trail (``audit_log``): who did what to the record or its users, and when.

Every submission, decision, sign-in, user change, export and read of victims' personal data
writes one entry. ``write`` adds an entry inside the caller's transaction (so the entry and the
change it describes commit or roll back together); ``record`` writes one in its own short
transaction (for events with no other change, such as a refused sign-in); ``entries`` reads the
trail, newest first, filtered by user, action, target and dates and paged (``count`` says how
many match, ``actions`` which kinds there are).

Each entry also says where the action came from (``source``: ``web`` or ``cli``): the web app
and the command line set it for everything they do with ``acting_from`` (a context variable, so
the ledger and the user store need not pass it along).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Connection, Select, func, insert, select

from safeground.record.storage import Database
from safeground.record.storage.schema import audit_log

TARGET_CHARS = 200      # the column's width
SOURCES = ("web", "cli")

_source: ContextVar[str | None] = ContextVar("safeground_audit_source", default=None)


@contextmanager
def acting_from(source: str) -> Iterator[None]:
    """Every entry written inside this block says it came from ``source`` (web or cli)."""
    if source not in SOURCES:
        raise ValueError(f"unknown audit source {source!r}")
    token = _source.set(source)
    try:
        yield
    finally:
        _source.reset(token)


def set_source(source: str) -> None:
    """Mark the rest of this context (a web request, a command) as coming from ``source``."""
    if source not in SOURCES:
        raise ValueError(f"unknown audit source {source!r}")
    _source.set(source)


def current_source() -> str | None:
    return _source.get()


def write(conn: Connection, user: str, action: str, target: str | None = None,
          detail: Any = None) -> None:
    """Add one entry in the caller's transaction."""
    conn.execute(insert(audit_log).values(
        at=dt.datetime.now(dt.UTC).replace(tzinfo=None), user=user,
        action=action, target=(target or "")[:TARGET_CHARS] or None, detail=detail,
        source=_source.get()))


def record(db: Database, user: str, action: str, target: str | None = None,
           detail: Any = None) -> None:
    """Write one entry in its own short transaction."""
    with db.write() as conn:
        write(conn, user, action, target, detail)


def _where(q: Select[Any], user: str | None, action: str | None, target: str | None,
           since: dt.date | None, until: dt.date | None) -> Select[Any]:
    if user:
        q = q.where(audit_log.c.user == user)
    if action:
        q = q.where(audit_log.c.action == action)
    if target:
        q = q.where(audit_log.c.target.icontains(target, autoescape=True))
    if since is not None:
        q = q.where(audit_log.c.at >= dt.datetime.combine(since, dt.time()))
    if until is not None:
        q = q.where(audit_log.c.at < dt.datetime.combine(until + dt.timedelta(days=1), dt.time()))
    return q


def entries(db: Database, limit: int = 200, action: str | None = None, *,
            user: str | None = None, target: str | None = None, since: dt.date | None = None,
            until: dt.date | None = None, offset: int = 0) -> list[dict[str, Any]]:
    """The trail, newest first: optionally one user's, one kind of action, targets containing
    ``target``, from ``since`` to ``until`` (dates, UTC, both included); ``offset`` entries
    skipped (paging). Bound parameters only."""
    q = _where(select(audit_log), user, action, target, since, until)
    q = q.order_by(audit_log.c.id.desc()).limit(limit).offset(offset)
    with db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def count(db: Database, action: str | None = None, *, user: str | None = None,
          target: str | None = None, since: dt.date | None = None,
          until: dt.date | None = None) -> int:
    """How many entries ``entries`` would page through with the same filters."""
    q = _where(select(func.count()).select_from(audit_log), user, action, target, since, until)
    with db.read() as conn:
        return int(conn.execute(q).scalar_one())


def actions(db: Database) -> list[str]:
    """Every kind of action the trail holds, sorted."""
    with db.read() as conn:
        return sorted(conn.execute(select(audit_log.c.action).distinct()).scalars())
