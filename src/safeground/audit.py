"""The audit trail (``audit_log``): who did what to the record or its users, and when.

Every submission, decision, sign-in, user change, export and read of victims' personal data
writes one entry. ``write`` adds an entry inside the caller's transaction (so the entry and the
change it describes commit or roll back together); ``record`` writes one in its own short
transaction (for events with no other change, such as a refused sign-in); ``entries`` reads the
trail, newest first.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, insert, select

from safeground.storage import Database
from safeground.storage.schema import audit_log

TARGET_CHARS = 200      # the column's width


def write(conn: Connection, user: str, action: str, target: str | None = None,
          detail: Any = None) -> None:
    """Add one entry in the caller's transaction."""
    conn.execute(insert(audit_log).values(
        at=dt.datetime.now(dt.UTC).replace(tzinfo=None), user=user,
        action=action, target=(target or "")[:TARGET_CHARS] or None, detail=detail))


def record(db: Database, user: str, action: str, target: str | None = None,
           detail: Any = None) -> None:
    """Write one entry in its own short transaction."""
    with db.write() as conn:
        write(conn, user, action, target, detail)


def entries(db: Database, limit: int = 200, action: str | None = None) -> list[dict[str, Any]]:
    """The trail, newest first, optionally one kind of action only."""
    q = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if action:
        q = q.where(audit_log.c.action == action)
    with db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]
