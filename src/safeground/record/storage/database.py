"""The database handle: engine, connection discipline and schema migrations.

SQLite follows datasette's discipline: WAL journal so readers never block the writer and the
writer never blocks readers, one writer at a time (a process-wide lock plus ``BEGIN
IMMEDIATE``), short transactions, foreign keys on. A writer that finds the database taken by
another process waits and tries again (SQLite's busy timeout, then a retry loop) for up to
``busy_wait`` seconds, then gives up with ``DATABASE_BUSY`` having written nothing.

PostgreSQL + PostGIS runs every write at READ COMMITTED (its default): each statement sees what
other transactions committed before it. Writers that must not run side by side (decisions:
``serialise``) take a transaction-scoped advisory lock; duplicate submissions are stopped by the
unique index on ``reports.submission_id``. A lock not granted within ``busy_wait``, a deadlock or
a serialisation failure is ``DATABASE_BUSY`` too: the transaction is rolled back whole.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.exc import DBAPIError, OperationalError

from safeground.errors import ConfigError, DatabaseBusyError
from safeground.record.problems import Problem

#: seconds a writer waits for other writers before giving up with DATABASE_BUSY
BUSY_WAIT = 60.0
#: SQLite's own busy handler per attempt (milliseconds); the retry loop around it keeps the
#: whole wait within ``busy_wait``
_SQLITE_BUSY_MS = 1000
#: PostgreSQL errors that mean "another writer was in the way": lock not granted in time,
#: deadlock, serialisation failure
_PG_BUSY = {"55P03", "40P01", "40001"}

MIGRATIONS = Path(__file__).with_name("migrations")


def _sqlite_on_connect(dbapi_conn, _record) -> None:
    # let SQLAlchemy not issue BEGIN itself, so that we can say BEGIN IMMEDIATE
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_MS:d}")
    cur.close()


class Database:
    """One record: an engine plus the single-writer rule. Open it with ``Database.open``."""

    def __init__(self, engine: Engine, busy_wait: float = BUSY_WAIT) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.busy_wait = busy_wait
        self._write_lock = threading.Lock()

    @classmethod
    def open(cls, url: str, *, migrate: bool = True, busy_wait: float = BUSY_WAIT,
             pool_size: int | None = None) -> Database:
        """Connect to ``url`` (``sqlite:///file`` or ``postgresql+psycopg://...``) and bring the
        schema to the newest migration. ``pool_size``: connections kept open (SQLAlchemy's
        default, 5, when None); as many more may be opened for a while under load. Raises
        ConfigError for an unsupported URL."""
        pool = {} if pool_size is None else {"pool_size": pool_size, "max_overflow": pool_size}
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        if url.startswith("sqlite"):
            if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
                Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"check_same_thread": False},
                                   **(pool if url != "sqlite:///:memory:" else {}))
            event.listen(engine, "connect", _sqlite_on_connect)
        elif url.startswith("postgresql"):
            engine = create_engine(url, pool_pre_ping=True, **pool)
        else:
            raise ConfigError(f"unsupported database URL scheme: {url.split(':', 1)[0]!r} "
                              "(use sqlite:/// or postgresql://)")
        db = cls(engine, busy_wait)
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
        """A write transaction, committed whole or rolled back whole; on SQLite the only
        writer (``BEGIN IMMEDIATE``). Raises DatabaseBusyError (``DATABASE_BUSY``) when other
        writers keep the database longer than ``busy_wait`` seconds."""
        deadline = time.monotonic() + self.busy_wait
        if not self._write_lock.acquire(timeout=max(self.busy_wait, 0.001)):
            raise self._busy()
        try:
            with self.engine.connect() as conn:
                if self.dialect == "sqlite":
                    yield from self._sqlite_write(conn, deadline)
                else:
                    yield from self._pg_write(conn, deadline)
        finally:
            self._write_lock.release()

    def _sqlite_write(self, conn: Connection, deadline: float) -> Iterator[Connection]:
        # the driver runs in autocommit mode (see _sqlite_on_connect): we say when the one
        # write transaction begins and ends
        while True:
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                break
            except OperationalError as exc:
                if not _locked(exc):
                    raise
                if time.monotonic() >= deadline:
                    raise self._busy() from None
                time.sleep(0.01)  # SQLite's own handler waited already; try again
        try:
            yield conn
            conn.exec_driver_sql("COMMIT")
        except BaseException as exc:
            if conn.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
                conn.exec_driver_sql("ROLLBACK")
            if isinstance(exc, OperationalError) and _locked(exc):
                raise self._busy() from None
            raise
        conn.commit()

    def _pg_write(self, conn: Connection, deadline: float) -> Iterator[Connection]:
        try:
            with conn.begin():
                wait_ms = max(int((deadline - time.monotonic()) * 1000), 1)
                conn.execute(text(f"SET LOCAL lock_timeout = {wait_ms:d}"))
                yield conn
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) in _PG_BUSY:
                raise self._busy() from None
            raise

    def serialise(self, conn: Connection, name: str) -> None:
        """Make the writers of ``name`` (e.g. "decide") in any process run one at a time,
        until ``conn``'s transaction ends. SQLite's single writer already does; PostgreSQL
        takes a transaction-scoped advisory lock."""
        if self.dialect == "postgresql":
            key = zlib.crc32(f"safeground:{name}".encode())
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})

    def _busy(self) -> DatabaseBusyError:
        p = Problem("DATABASE_BUSY", "database", None, {"seconds": f"{self.busy_wait:g}"})
        return DatabaseBusyError(p.message, details=[p.to_dict()])

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def table_names(self) -> list[str]:
        return inspect(self.engine).get_table_names()

    def close(self) -> None:
        self.engine.dispose()


def _locked(exc: OperationalError) -> bool:
    """SQLite's "database is locked" / "database table is locked" (SQLITE_BUSY, _LOCKED)."""
    return "locked" in str(exc.orig) or "busy" in str(exc.orig)


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0]
