"""reports: one live report per submission id, enforced by the database.

A unique index on ``submission_id`` over the reports that hold one and are not rejected (a
rejected report gives its submission id back: the corrected record may come again, as the gate
has always allowed). Two imports of the same file at the same time, in two processes or on two
servers, can then store each record only once: the second insert of a submission id does
nothing (``INSERT ... ON CONFLICT DO NOTHING``) and the record is reported as already imported.

Reports stored twice before this migration are settled first. For each submission id the first
report (lowest id) keeps it; of the others,

* a report still waiting in the holding area is rejected, by ``safeground``, with the note
  "duplicate of report N: same submission id";
* a report already approved (it is part of the record and stays so) keeps its content but
  gives up the submission id: the column is emptied and the id is kept in its ``meta`` as
  ``_duplicate_submission_id`` (with ``_duplicate_of``, the report that keeps it).

One ``deduplicate`` entry in the audit log lists the reports rejected and the ones detached.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-02
"""
import datetime as dt
import json

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

LIVE = "submission_id IS NOT NULL AND status <> 'rejected'"


def upgrade() -> None:
    conn = op.get_bind()
    dups = conn.execute(sa.text(
        f"SELECT r.id, r.submission_id, r.status, r.meta, f.first FROM reports r JOIN "
        f"(SELECT submission_id, MIN(id) AS first FROM reports WHERE {LIVE} "
        f"GROUP BY submission_id HAVING COUNT(*) > 1) f ON f.submission_id = r.submission_id "
        f"WHERE r.status <> 'rejected' AND r.id <> f.first ORDER BY r.id")).all()
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rejected, detached = [], []
    for rid, sub, status, meta, first in dups:
        if status == "submitted":
            conn.execute(sa.text(
                "UPDATE reports SET status = 'rejected', decided_by = 'safeground', "
                "decided_at = :now, decision_note = :note WHERE id = :id"),
                {"now": now, "id": rid,
                 "note": f"duplicate of report {first}: same submission id"})
            rejected.append(rid)
        else:
            meta = json.loads(meta) if isinstance(meta, str) else dict(meta or {})
            meta.update(_duplicate_submission_id=sub, _duplicate_of=first)
            conn.execute(sa.text("UPDATE reports SET submission_id = NULL, meta = :meta "
                                 "WHERE id = :id"), {"meta": json.dumps(meta), "id": rid})
            detached.append(rid)
    if dups:
        conn.execute(sa.text(
            'INSERT INTO audit_log (at, "user", action, target, detail) '
            "VALUES (:at, 'safeground', 'deduplicate', 'reports', :detail)"),
            {"at": now, "detail": json.dumps({"rejected": rejected, "detached": detached})})
    op.create_index("ux_reports_submission", "reports", ["submission_id"], unique=True,
                    sqlite_where=sa.text(LIVE), postgresql_where=sa.text(LIVE))


def downgrade() -> None:
    op.drop_index("ux_reports_submission", table_name="reports")
