"""accounts: user names unique whatever their case, pending grants of sensitive roles, and the
source of each audit entry.

* ``users``: a unique index on ``lower(name)``. Names written before this migration are
  cleaned first: surrounding white space and control characters are removed (a name such as
  ``"admin\\n"`` became ``admin``). Where two names are then the same but for case, the oldest
  account keeps its name; each later one is renamed ``NAME-dup-ID``, deactivated, its sessions
  and tokens are ended, and the audit trail says so (``user_deactivate`` by ``migration 0005``).
  Names keep their case otherwise (reports and the audit trail name people as they were);
  names added from now on are stored folded to lower case.
* ``role_grants``: a grant of ``victim_data`` or ``admin`` that waits for a second admin.
* ``audit_log.source``: ``web`` or ``cli``.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""
import datetime as dt
import re

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _clean_names(conn: sa.Connection) -> None:
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("name", sa.String),
                     sa.column("active", sa.Boolean))
    sessions = sa.table("sessions", sa.column("user_id", sa.Integer))
    audit = sa.table("audit_log", sa.column("at", sa.DateTime), sa.column("user", sa.String),
                     sa.column("action", sa.String), sa.column("target", sa.String),
                     sa.column("detail", sa.JSON))
    rows = conn.execute(sa.select(users.c.id, users.c.name).order_by(users.c.id)).all()
    taken: set[str] = set()
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    changes: list[tuple[int, str, str, bool]] = []     # id, old, new, deactivate
    for uid, name in rows:
        clean = _CONTROL.sub("", name).strip() or f"user-{uid}"
        if clean.lower() in taken:
            changes.append((uid, name, f"{clean[:80]}-dup-{uid}", True))
            continue
        taken.add(clean.lower())
        if clean != name:
            changes.append((uid, name, clean, False))
    # renamed duplicates cannot collide with one another or with a kept name: "-dup-ID" is unique
    for uid, old, new, deactivate in changes:
        values: dict[str, object] = {"name": new}
        if deactivate:
            values["active"] = False
            conn.execute(sa.delete(sessions).where(sessions.c.user_id == uid))
        conn.execute(sa.update(users).where(users.c.id == uid).values(**values))
        conn.execute(sa.insert(audit).values(
            at=now, user="migration 0005", action="user_deactivate" if deactivate else
            "user_rename", target=new[:200],
            detail={"was": old, "reason": "the same name as an older account but for case"
                    if deactivate else "white space or control characters removed"}))


def upgrade() -> None:
    conn = op.get_bind()
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=16), nullable=True))
    _clean_names(conn)
    op.create_index("uq_users_name_lower", "users", [sa.text("lower(name)")], unique=True)
    op.create_table(
        "role_grants",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_name", sa.String(length=100), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_role_grants_user_name", "role_grants", ["user_name"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_role_grants_user_name", table_name="role_grants")
    op.drop_table("role_grants")
    op.drop_index("uq_users_name_lower", table_name="users")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("source")
