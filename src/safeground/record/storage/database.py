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
        from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

        try:
            with self.write() as conn:
                if self.dialect == "postgresql":
                    self._ensure_postgis(conn)
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except OperationalError as exc:
            raise ConfigError(f"the database does not answer: {_first_line(exc)}",
                              code="DB_UNREACHABLE") from None
        except ProgrammingError as exc:
            if getattr(exc.orig, "sqlstate", None) != "42501":  # insufficient_privilege
                raise
            raise ConfigError(
                f"the schema is not at the newest version and this role may not change it "
                f"({_first_line(exc)}): run `safeground db upgrade` as the role that owns the "
                "schema", code="DB_UPGRADE_REFUSED") from None
        except DBAPIError as exc:
            if self.dialect == "sqlite":
                raise ConfigError(f"the SQLite file cannot be opened: {_first_line(exc)}",
                                  code="DB_UNREACHABLE") from None
            raise

    def _ensure_postgis(self, conn: Connection) -> None:
        """The postgis extension, created when missing; ConfigError POSTGIS_MISSING when the
        role may not create it (an application role: the owner must run CREATE EXTENSION)."""
        have = conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'postgis'"))
        if have.first() is not None:
            return
        from sqlalchemy.exc import DBAPIError

        try:
            with conn.begin_nested():
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        except DBAPIError as exc:
            dbname = conn.execute(text("SELECT current_database()")).scalar()
            role = conn.execute(text("SELECT current_user")).scalar()
            raise ConfigError(
                f"the database {dbname!r} has no postgis extension and the role {role!r} may "
                f"not create it ({_first_line(exc)}). The database owner or a superuser must "
                f'run, once: psql -d {dbname} -c "CREATE EXTENSION postgis;" '
                "(docs/deploy.md)", code="POSTGIS_MISSING",
                details={"database": dbname, "role": role}) from None

    def schema_revision(self) -> tuple[str | None, str]:
        """(the revision the database is at, the newest revision Safeground knows)."""
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        head = ScriptDirectory.from_config(cfg).get_current_head() or ""
        with self.read() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
        return current, head

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


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0]
