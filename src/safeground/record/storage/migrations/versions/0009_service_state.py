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
from alembic import op

from safeground.record.storage.schema import login_failures, plan_jobs, service_jobs

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLES = (login_failures, service_jobs, plan_jobs)


def upgrade() -> None:
    conn = op.get_bind()
    for table in TABLES:
        table.create(conn, checkfirst=True)


def downgrade() -> None:
    conn = op.get_bind()
    for table in reversed(TABLES):
        table.drop(conn, checkfirst=True)
