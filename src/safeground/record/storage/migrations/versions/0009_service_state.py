"""service state in the database: failed sign-ins, background jobs and the re-planning lock.

Several workers of ``safeground serve --workers N``, or several servers on one database,
answer as one service: sign-in throttling counts failures in ``login_failures``, heavy outputs
made in the background are ``service_jobs`` (state, progress, result), and the plan being
made again is a row of ``plan_jobs`` (one plan at a time, whichever server was asked).
Sessions and API tokens were in the database already (``sessions``).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# The tables as this revision makes them, written out here (not taken from ``schema.py``),
# so that the migration stays what it was when the schema changes later.
TABLES = ("login_failures", "service_jobs", "plan_jobs")


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("at", sa.Float, nullable=False))
    op.create_index("ix_login_failures_key", "login_failures", ["key", "at"])
    op.create_index("ix_login_failures_at", "login_failures", ["at"])
    op.create_table(
        "service_jobs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("user_name", sa.String(200), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("progress", sa.Float, nullable=False),
        sa.Column("step", sa.String(200), nullable=False),
        sa.Column("asked", sa.String(40), nullable=False),
        sa.Column("started", sa.String(40)),
        sa.Column("finished", sa.String(40)),
        sa.Column("error", sa.JSON),
        sa.Column("output", sa.LargeBinary),
        sa.Column("media_type", sa.String(200)),
        sa.Column("filename", sa.String(300)),
        sa.Column("info", sa.JSON),
        sa.Column("owner", sa.String(100), nullable=False),
        sa.Column("beat", sa.Float, nullable=False),
        sa.Column("asked_at", sa.Float, nullable=False))
    op.create_index("ix_service_jobs_user_name", "service_jobs", ["user_name"])
    op.create_index("ix_service_jobs_key_hash", "service_jobs", ["key_hash"])
    op.create_table(
        "plan_jobs",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("job", sa.JSON, nullable=False),
        sa.Column("owner", sa.String(100)),
        sa.Column("beat", sa.Float),
        sa.Column("next_user", sa.String(200)),
        sa.Column("next_newest", sa.Date))


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
