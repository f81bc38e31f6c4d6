"""The database handle: engine, connection discipline and schema migrations.

SQLite follows datasette's discipline: WAL journal so readers never block the writer, one
writer at a time (a process-wide lock plus ``BEGIN IMMEDIATE``), short transactions, foreign
keys on. PostgreSQL + PostGIS needs none of that: its own MVCC does the work.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text

from safeground.errors import ConfigError

MIGRATIONS = Path(__file__).with_name("migrations")


def _sqlite_on_connect(dbapi_conn, _record) -> None:
    # let SQLAlchemy not issue BEGIN itself, so that we can say BEGIN IMMEDIATE
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


class Database:
    """One record: an engine plus the single-writer rule. Open it with ``Database.open``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._write_lock = threading.Lock()

    @classmethod
    def open(cls, url: str, *, migrate: bool = True) -> Database:
        """Connect to ``url`` (``sqlite:///file`` or ``postgresql+psycopg://...``) and bring the
        schema to the newest migration. Raises ConfigError for an unsupported URL."""
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        if url.startswith("sqlite"):
            if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
                Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"check_same_thread": False})
            event.listen(engine, "connect", _sqlite_on_connect)
        elif url.startswith("postgresql"):
            engine = create_engine(url, pool_pre_ping=True)
        else:
            raise ConfigError(f"unsupported database URL scheme: {url.split(':', 1)[0]!r} "
                              "(use sqlite:/// or postgresql://)")
        db = cls(engine)
        if migrate:
            db.migrate()
        return db

    def migrate(self) -> None:
        """Apply every Alembic migration not yet applied."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with self.write() as conn:
            if self.dialect == "postgresql":
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A short write transaction; on SQLite the only writer (``BEGIN IMMEDIATE``)."""
        with self._write_lock, self.engine.connect() as conn:
            if self.dialect == "sqlite":
                # the driver runs in autocommit mode (see _sqlite_on_connect): we say when the
                # one write transaction begins and ends
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.exec_driver_sql("ROLLBACK")
                    raise
                conn.exec_driver_sql("COMMIT")
                conn.commit()
            else:
                with conn.begin():
                    yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def table_names(self) -> list[str]:
        return inspect(self.engine).get_table_names()

    def close(self) -> None:
        self.engine.dispose()
