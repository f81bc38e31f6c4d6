"""Storage: SQLAlchemy 2 tables, the geometry column type, and the database handle.

SQLite (one file, WAL, a single writer) is the embedded default; PostgreSQL + PostGIS is the
server backend. Both are chosen by a database URL and share one schema and one Alembic history.
"""

from safeground.record.storage.database import Database

__all__ = ["Database"]
