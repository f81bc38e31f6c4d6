"""spatial indexes: box queries read only the objects in the box.

* PostgreSQL + PostGIS: a GiST index on the ``geometry`` column of every object table that
  has one (hazardous areas, land release, settlements, items, accidents, ...).
* SQLite: an R*Tree (SQLite's own module) per such table holding each object's bounding box,
  keyed through ``spatial_keys``, with a trigger that removes the box of a deleted object;
  filled here for the objects already recorded. From now on the ledger writes the boxes in
  the same transaction as the objects (``safeground.record.storage.spatial``).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""
from alembic import op

from safeground.record.storage import spatial
from safeground.record.storage.schema import TABLE_NAMES

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        for t in spatial.SPATIAL_TYPES:
            op.execute(f"CREATE INDEX IF NOT EXISTS {spatial.gist_name(t)} "
                       f"ON {TABLE_NAMES[t]} USING gist (geometry)")
        return
    spatial.create_sqlite(conn)
    spatial.fill_sqlite(conn)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        for t in spatial.SPATIAL_TYPES:
            op.execute(f"DROP INDEX IF EXISTS {spatial.gist_name(t)}")
        return
    spatial.drop_sqlite(conn)
