"""A throwaway PostgreSQL + PostGIS server for the test suite.

Plain functions and one class, no pytest in here (``tests/conftest.py`` wraps them in fixtures):

* :func:`start` runs ``initdb`` and ``pg_ctl start`` in a fresh directory, on a free TCP port
  of 127.0.0.1, with durability switched off for speed, and prepares a ``template_postgis``
  database with the ``postgis`` extension.
* :meth:`PostgisServer.create_database` makes a fresh, empty database from that template
  (a file copy, a few tens of milliseconds) and returns its SQLAlchemy URL.
* :meth:`PostgisServer.stop` / :func:`stop` stop the server and delete its files.

One test session (the pytest-xdist controller and all its workers) shares one server:
:func:`session_server` starts it on first use under a file lock in a per-session directory and
records it in ``server.json`` there, the other workers read that file; the controller calls
:func:`stop_session` when the whole session is over.

Leftovers: every session directory lives under one registry directory
(``$TMPDIR/safeground-postgis-<uid>``) and names the pid of the process that owns it. A small
watchdog process stops the server as soon as that owner is gone (killed, crashed), and
:func:`reap_orphans`, called before each start, removes whatever a dead owner left behind.
Servers of other live sessions (another engineer's test run) are never touched.

PostgreSQL refuses to run as root, so as root the server programs run as the ``postgres``
user via ``runuser``; otherwise they run as the current user.

This file is also the watchdog's program: ``python postgis.py watchdog <session dir>``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

SUPERUSER = "postgres"
TEMPLATE_DB = "template_postgis"
HOST = "127.0.0.1"
# Server settings: throwaway data, so no durability; quiet logs.
SETTINGS = {
    "listen_addresses": f"'{HOST}'",
    "unix_socket_directories": "''",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "log_min_messages": "warning",
    "log_min_error_statement": "panic",
    "timezone": "'UTC'",
}
_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PostgisUnavailable(RuntimeError):
    """PostgreSQL server programs (or PostGIS) are not installed on this machine."""


def skip_reason(exc: PostgisUnavailable, environ) -> str | None:
    """Why the PostGIS tests skip when PostgreSQL or PostGIS is not installed, or None when
    they must fail instead: under CI (``CI=true``), which installs both, a missing server is a
    broken machine. ``SAFEGROUND_SKIP_POSTGIS=1`` skips them anywhere."""
    if environ.get("SAFEGROUND_SKIP_POSTGIS") == "1":
        return f"SAFEGROUND_SKIP_POSTGIS=1: {exc}"
    if environ.get("CI") == "true":
        return None
    return f"PostGIS not installed here (CI runs these tests): {exc}"


class PostgisStartError(RuntimeError):
    """The server did not start; the message carries the end of its log."""


# --------------------------------------------------------------------------- locating binaries


def find_bindir() -> Path:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``.

    ``$SAFEGROUND_PG_BINDIR`` wins; then ``/usr/lib/postgresql/<newest>/bin`` (Debian keeps the
    server programs off ``PATH``); then ``initdb`` found on ``PATH``.
    """
    candidates: list[Path] = []
    if env := os.environ.get("SAFEGROUND_PG_BINDIR"):
        candidates.append(Path(env))
    debian = Path("/usr/lib/postgresql")
    if debian.is_dir():
        versions = [p for p in debian.iterdir() if p.name.isdigit()]
        candidates += [p / "bin" for p in sorted(versions, key=lambda p: -int(p.name))]
    if found := shutil.which("initdb"):
        candidates.append(Path(found).parent)
    for cand in candidates:
        if all(os.access(cand / prog, os.X_OK) for prog in ("initdb", "pg_ctl", "postgres")):
            return cand
    raise PostgisUnavailable(
        "PostgreSQL server programs (initdb, pg_ctl, postgres) were not found in "
        f"{[str(c) for c in candidates] or 'any known place'}. Install them with "
        "`bash scripts/system-packages.sh` (Debian: postgresql-15 postgresql-15-postgis-3), "
        "or point SAFEGROUND_PG_BINDIR at them."
    )


# --------------------------------------------------------------------------- process helpers


def _run_as_server_user() -> list[str]:
    """Command prefix that runs a program as the user the server runs as."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser") or "/usr/sbin/runuser"
    return [runuser, "-u", SUPERUSER, "--"]


def _chown_to_server_user(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, SUPERUSER, SUPERUSER)


def _pg(bindir: Path, prog: str, *args: str, cwd: Path, timeout: float = 60) -> str:
    """Run one server program; raise PostgisStartError with its output when it fails."""
    cmd = [*_run_as_server_user(), str(bindir / prog), *args]
    proc = subprocess.run(  # checked below, with its output in the error
        cmd,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        start_new_session=True,  # Ctrl-C on pytest must not hit the server mid-run
        env={**os.environ, "LC_ALL": "C", "LANG": "C"},
    )
    if proc.returncode != 0:
        raise PostgisStartError(
            f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
        )
    return proc.stdout


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purposes
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def _locked(lockfile: Path) -> Iterator[None]:
    """An exclusive ``fcntl`` lock on ``lockfile`` (released by the kernel if we die)."""
    fd = os.open(lockfile, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- the server


@dataclass
class PostgisServer:
    """A running server. ``root`` is its own directory; everything in it goes at stop."""

    root: str
    port: int
    bindir: str
    owner_pid: int
    host: str = HOST
    user: str = SUPERUSER

    @property
    def datadir(self) -> Path:
        return Path(self.root) / "pg" / "data"

    @property
    def logfile(self) -> Path:
        return Path(self.root) / "pg" / "server.log"

    def url(self, dbname: str = "postgres") -> str:
        """SQLAlchemy URL (psycopg 3 driver) of one database of this server."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres"):
        """An autocommit psycopg connection as the superuser."""
        import psycopg

        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            dbname=dbname,
            autocommit=True,
            connect_timeout=5,
        )

    def is_alive(self) -> bool:
        try:
            with self.connect() as conn:
                conn.execute("SELECT 1")
        except Exception:
            return False
        return True

    def create_database(self, name: str | None = None) -> str:
        """Create a fresh, empty database with PostGIS enabled; return its SQLAlchemy URL."""
        import psycopg
        from psycopg import sql

        name = name or f"test_{uuid.uuid4().hex[:16]}"
        if not _DB_NAME.match(name):
            raise ValueError(f"not a plain lower-case database name: {name!r}")
        stmt = sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
            sql.Identifier(name), sql.Identifier(TEMPLATE_DB)
        )
        with self.connect() as conn:
            try:
                conn.execute(stmt)
            except psycopg.errors.ObjectInUse as exc:
                # The server has already waited 5 s for the template to be free.
                raise RuntimeError(
                    f"cannot copy {TEMPLATE_DB}: something keeps a connection open to it "
                    "(connect to a database made by create_database() instead)"
                ) from exc
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, closing any connections still open to it."""
        from psycopg import sql

        with self.connect() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def stop(self) -> None:
        stop(self)


def _initdb(bindir: Path, root: Path) -> None:
    pgdir = root / "pg"
    pgdir.mkdir(mode=0o755)
    _chown_to_server_user(pgdir)
    _pg(
        bindir, "initdb",
        "-D", str(pgdir / "data"),
        "-U", SUPERUSER,
        "-A", "trust",
        "-E", "UTF8",
        "--locale=C",
        "--no-sync",
        "--no-instructions",
        cwd=pgdir,
    )  # fmt: skip
    conf = pgdir / "data" / "postgresql.conf"
    with conf.open("a") as fh:  # appending keeps the file's owner
        fh.write("\n# safeground test harness\n")
        fh.writelines(f"{key} = {value}\n" for key, value in SETTINGS.items())


def _log_tail(server: PostgisServer, lines: int = 30) -> str:
    try:
        return "\n".join(server.logfile.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


def start(base_dir: Path | str | None = None, owner_pid: int | None = None) -> PostgisServer:
    """Start a new server in a fresh directory under ``base_dir`` and prepare the template.

    ``owner_pid`` (default: this process) is the process whose death means the server is no
    longer needed; a watchdog stops the server then, whatever the cause of death.
    """
    bindir = find_bindir()
    base = Path(base_dir) if base_dir else registry_dir()
    base.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="srv-", dir=base))
    root.chmod(0o755)  # the server user must reach root/pg
    server = PostgisServer(
        root=str(root), port=0, bindir=str(bindir), owner_pid=owner_pid or os.getpid()
    )
    (root / "owner.json").write_text(json.dumps(asdict(server)))
    _spawn_watchdog(root)
    try:
        _initdb(bindir, root)
        for attempt in range(5):  # a free port can be taken between probe and bind
            server.port = _free_port()
            try:
                _pg(
                    bindir, "pg_ctl", "start", "-w", "-t", "60",
                    "-D", str(server.datadir),
                    "-l", str(server.logfile),
                    "-o", f"-p {server.port}",
                    cwd=server.datadir.parent,
                )  # fmt: skip
                break
            except PostgisStartError as exc:
                if attempt == 4 or "could not bind" not in _log_tail(server):
                    raise PostgisStartError(
                        f"{exc}\n--- server log ---\n{_log_tail(server)}"
                    ) from exc
        (root / "owner.json").write_text(json.dumps(asdict(server)))
        _prepare_template(server)
    except BaseException:
        _destroy(root)
        raise
    return server


def _prepare_template(server: PostgisServer) -> None:
    import psycopg

    with server.connect() as conn:
        conn.execute(f"CREATE DATABASE {TEMPLATE_DB}")
    with server.connect(TEMPLATE_DB) as conn:
        try:
            conn.execute("CREATE EXTENSION postgis")
        except psycopg.errors.FeatureNotSupported as exc:  # extension files missing
            raise PostgisUnavailable(
                f"PostgreSQL runs but PostGIS is not installed for it ({exc}). Install "
                "postgresql-15-postgis-3 (`bash scripts/system-packages.sh`)."
            ) from exc
    with server.connect() as conn:
        conn.execute(f"ALTER DATABASE {TEMPLATE_DB} IS_TEMPLATE true")


def _postmaster_pid(datadir: Path) -> int | None:
    try:
        return int((datadir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _destroy(root: Path, mode: str = "fast") -> None:
    """Stop the server living in ``root`` (if any) and delete ``root``. Idempotent."""
    datadir = root / "pg" / "data"
    pid = _postmaster_pid(datadir)
    if pid and _pid_alive(pid):
        bindir = None
        with contextlib.suppress(OSError, ValueError, KeyError):
            bindir = Path(json.loads((root / "owner.json").read_text())["bindir"])
        with contextlib.suppress(
            PostgisStartError, PostgisUnavailable, subprocess.TimeoutExpired, OSError
        ):
            _pg(bindir or find_bindir(), "pg_ctl", "stop", "-w", "-t", "30", "-m", mode,
                "-D", str(datadir), cwd=root / "pg", timeout=40)  # fmt: skip
        # Whatever pg_ctl said: make sure the postmaster is gone (its children follow it).
        deadline = time.monotonic() + 10
        while _pid_alive(pid) and time.monotonic() < deadline:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGQUIT if time.monotonic() < deadline - 5 else signal.SIGKILL)
            time.sleep(0.1)
    shutil.rmtree(root, ignore_errors=True)


def stop(server: PostgisServer) -> None:
    """Stop the server and delete its data."""
    _destroy(Path(server.root))


# --------------------------------------------------------------------------- leftovers


def registry_dir() -> Path:
    """Where every server of this user lives, one directory each."""
    path = Path(tempfile.gettempdir()) / f"safeground-postgis-{os.getuid()}"
    path.mkdir(mode=0o755, exist_ok=True)
    return path


def _owner_pid(path: Path) -> int | None:
    """The owner pid recorded in a server or session directory (None: not recorded yet)."""
    for name in ("owner.json", "session.json"):
        with contextlib.suppress(OSError, ValueError, KeyError):
            return int(json.loads((path / name).read_text())["owner_pid"])
    return None


def reap_orphans(registry: Path | None = None, min_age: float = 60) -> list[Path]:
    """Stop servers and delete directories whose owner process is dead. Returns what went.

    A directory without a recorded owner is only removed once older than ``min_age`` seconds
    (it may belong to a run that is just starting).
    """
    registry = registry or registry_dir()
    gone = []
    for path in sorted(registry.iterdir()):
        if not path.is_dir():
            continue
        owner = _owner_pid(path)
        if owner is not None and _pid_alive(owner):
            continue
        if owner is None:
            try:
                if time.time() - path.stat().st_mtime < min_age:
                    continue
            except OSError:
                continue
        for sub in [path, *[p for p in path.glob("srv-*") if p.is_dir()]]:
            if (sub / "pg").exists():
                _destroy(sub, mode="immediate")
        shutil.rmtree(path, ignore_errors=True)
        gone.append(path)
    return gone


def _spawn_watchdog(root: Path) -> None:
    """Start a detached process that stops the server in ``root`` once its owner is dead."""
    subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "watchdog", str(root)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )


def _watchdog(root: Path, poll: float = 0.5) -> None:
    owner = _owner_pid(root)
    while owner is not None and root.exists() and _pid_alive(owner):
        time.sleep(poll)
    if root.exists():
        _destroy(root, mode="immediate")
        # A crashed session leaves its directory too: remove it once its owner is dead.
        session = root.parent
        if session.name.startswith("session-"):
            owner = _owner_pid(session)
            if owner is None or not _pid_alive(owner):
                shutil.rmtree(session, ignore_errors=True)


# --------------------------------------------------------------------------- one per session


def session_dir(session_id: str, owner_pid: int) -> Path:
    """The shared directory of one test session (created, with its owner recorded)."""
    path = registry_dir() / f"session-{session_id}"
    path.mkdir(mode=0o755, exist_ok=True)
    marker = path / "session.json"
    if not marker.exists():
        tmp = path / f".session.{os.getpid()}"
        tmp.write_text(json.dumps({"owner_pid": owner_pid}))
        tmp.replace(marker)
    return path


def session_server(session_id: str, owner_pid: int) -> PostgisServer:
    """The server of this test session, started by whichever process asks first.

    Every pytest-xdist worker of a session calls this with the same ``session_id`` and the
    controller's pid as ``owner_pid``; the first starts the server, the others reuse it.
    """
    sdir = session_dir(session_id, owner_pid)
    with _locked(sdir / "lock"):
        record = sdir / "server.json"
        if record.exists():
            server = PostgisServer(**json.loads(record.read_text()))
            if server.is_alive():
                return server
            _destroy(Path(server.root), mode="immediate")
        reap_orphans()
        server = start(sdir, owner_pid=owner_pid)
        tmp = sdir / f".server.{os.getpid()}"
        tmp.write_text(json.dumps(asdict(server)))
        tmp.replace(record)
        return server


def stop_session(session_id: str) -> None:
    """Stop the session's server (if one was started) and delete the session directory."""
    sdir = registry_dir() / f"session-{session_id}"
    if not sdir.exists():
        return
    with _locked(sdir / "lock"):
        for root in sdir.glob("srv-*"):
            _destroy(root)
    shutil.rmtree(sdir, ignore_errors=True)


if __name__ == "__main__" and sys.argv[1:2] == ["watchdog"]:
    _watchdog(Path(sys.argv[2]))
