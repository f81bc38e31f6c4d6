"""reports: drop the content-hash and submission-id indexes.

Nothing looks reports up by content hash or submission id: the gate reads both columns whole
into memory once (``gate.LinkChecker``) and keeps them there between calls. Their random keys
made every bulk insert rewrite index pages all over the file: a million-row import spent more
time on these two indexes than on the table itself.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index("ix_reports_hash")
        batch_op.drop_index("ix_reports_submission")


def downgrade() -> None:
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index("ix_reports_submission", ["submission_id"], unique=False)
        batch_op.create_index("ix_reports_hash", ["content_hash"], unique=False)
