"""Backing up and restoring the whole record: reports, objects, users, sessions, role grants,
the audit trail, and optionally the work directory (plans, risk model files).

One archive format for both backends, a gzipped tar holding:

* ``manifest.json`` — the Safeground version, the backend, when it was made, the record version
  (last report id, audit entries, last audit entry id), the rows of every table, the programme
  status summary, and the SHA-256 of every other member;
* ``record.sqlite`` (SQLite: a copy made with SQLite's online backup API, consistent while the
  app serves and writes) or ``record.pgdump`` (PostgreSQL: ``pg_dump --format=custom`` of the
  ``public`` schema, taken in the same snapshot the manifest is computed in);
* ``workdir/...`` — the work directory, when one was given.

``restore`` refuses an archive whose members do not match their SHA-256 (BACKUP_DIGEST_MISMATCH)
and a target record that holds anything unless forced (RESTORE_TARGET_NOT_EMPTY); after
restoring it compares the record with the manifest (``check``: RESTORE_CHECK_FAILED when they
differ). The archive holds victims' personal data and password hashes: keep it like the
database itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import Connection, func, inspect, select, text
from sqlalchemy.engine import make_url

from safeground.errors import ConfigError, ConflictError, SafegroundError
from safeground.i18n import N_
from safeground.record.problems import register
from safeground.record.storage import Database
from safeground.record.storage.schema import audit_log, metadata, reports

register({
    "BACKUP_TOOL_MISSING": N_("the PostgreSQL client program {tool} was not found: install "
                           "postgresql-client (the same major version as the server)"),
    "BACKUP_TOOL_FAILED": N_("{tool} failed: {reason}"),
    "BACKUP_INVALID": N_("{path} is not a Safeground backup: {reason}"),
    "BACKUP_DIGEST_MISMATCH": N_("member {member} of {path} does not match its SHA-256 in the "
                              "manifest: the archive was changed or damaged"),
    "BACKUP_BACKEND_MISMATCH": N_("the backup is of a {backend} record and cannot be restored "
                               "into a {target} record"),
    "RESTORE_TARGET_NOT_EMPTY": N_("the target record already holds {what}: restore over it "
                                "only with --force"),
    "RESTORE_CHECK_FAILED": N_("the restored record differs from the backup's manifest: {diff}"),
    "POSTGIS_MISSING": N_("the database {database} has no postgis extension and the role {role} "
                       "may not create it: the owner must run CREATE EXTENSION postgis"),
    "DB_UNREACHABLE": N_("the database does not answer: {reason}"),
    "DB_UPGRADE_REFUSED": N_("the schema is behind and this role may not change it: run "
                          "safeground db upgrade as the owner role"),
    "DB_CHECK_FAILED": N_("the database check failed: {failed}"),
    "RESTORE_NOT_OWNER": N_("this database role may not replace the record's tables: restore as "
                         "the role that owns the schema"),
    "WORK_DIR_NOT_EMPTY": N_("the work directory {path} is not empty: restore into it only with "
                          "--force"),
})

FORMAT = 1
#: where Debian keeps PostgreSQL's programs, one folder per major version
PG_LIB = Path("/usr/lib/postgresql")
MANIFEST = "manifest.json"
SQLITE_MEMBER = "record.sqlite"
PG_MEMBER = "record.pgdump"
WORKDIR = "workdir"


class BackupError(SafegroundError, ValueError):
    """A backup cannot be made, read or restored."""

    code = "BACKUP_INVALID"
    http_status = 422


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    manifest: dict[str, Any]


# --------------------------------------------------------------------------- the record's state


def _tables() -> list[str]:
    return sorted(metadata.tables)


def state(db: Database, conn: Connection | None = None,
          up_to_audit: int | None = None) -> dict[str, Any]:
    """The record's version and rows per table, read on ``conn`` (one snapshot) or a new
    connection. ``up_to_audit``: count audit entries only up to this id (entries written after
    a restore — the restore itself, reads — are not the backup's)."""
    if conn is None:
        with db.read() as c:
            return state(db, c, up_to_audit)
    present = set(inspect(conn).get_table_names())
    counts: dict[str, int] = {}
    for name in _tables():
        if name not in present:
            continue
        table = metadata.tables[name]
        q = select(func.count()).select_from(table)
        if name == "audit_log" and up_to_audit is not None:
            q = q.where(audit_log.c.id <= up_to_audit)
        counts[name] = int(conn.execute(q).scalar_one())
    last_report = conn.execute(select(func.coalesce(func.max(reports.c.id), 0))).scalar_one() \
        if "reports" in present else 0
    q = select(func.coalesce(func.max(audit_log.c.id), 0))
    if up_to_audit is not None:
        q = q.where(audit_log.c.id <= up_to_audit)
    last_audit = conn.execute(q).scalar_one() if "audit_log" in present else 0
    return {"record_version": [int(last_report), counts.get("audit_log", 0), int(last_audit)],
            "counts": counts}


def _summary(db: Database) -> dict[str, Any]:
    from safeground.record.ledger import Ledger
    from safeground.record.summary import status
    from safeground.settings import Settings

    # the status as JSON would show it (dates as text), so that it compares after a round trip
    return json.loads(json.dumps(status(Ledger(db, Settings())).to_dict(), default=str))


def _schema_revision(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def holds(db: Database) -> list[str]:
    """What makes a record non-empty: 'N reports', 'N users', 'N audit entries' (empty list:
    nothing; tables that do not exist count as empty)."""
    present = set(db.table_names())
    out = []
    with db.read() as conn:
        for name, shown in (("reports", "reports"), ("users", "users"),
                            ("audit_log", "audit entries")):
            if name in present:
                n = conn.execute(select(func.count()).select_from(metadata.tables[name]))\
                    .scalar_one()
                if n:
                    out.append(f"{n} {shown}")
    return out


# --------------------------------------------------------------------------- archives


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_archive(out: Path, record: Path, member: str, work_dir: Path | None,
                   manifest: dict[str, Any]) -> None:
    files: list[tuple[str, Path]] = [(member, record)]
    if work_dir is not None:
        for p in sorted(work_dir.rglob("*")):
            if p.is_file() and not p.is_symlink():
                files.append((f"{WORKDIR}/{p.relative_to(work_dir).as_posix()}", p))
    manifest["members"] = {name: {"sha256": _sha256(p), "bytes": p.stat().st_size}
                           for name, p in files}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial")
    try:
        with tarfile.open(tmp, "w:gz") as tar:
            data = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(data), int(dt.datetime.now().timestamp()), 0o600
            tar.addfile(info, io.BytesIO(data))
            for name, p in files:
                tar.add(p, arcname=name, recursive=False)
        os.chmod(tmp, 0o600)  # victims' data and password hashes
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)


def _safe_member(name: str) -> bool:
    p = PurePosixPath(name)
    return not p.is_absolute() and ".." not in p.parts and bool(p.parts)


def open_archive(path: Path, into: Path) -> dict[str, Any]:
    """Unpack ``path`` into the directory ``into`` after checking it: regular files only, no
    names outside the archive, every member listed in the manifest with its SHA-256. Returns
    the manifest. Raises BackupError (BACKUP_INVALID, BACKUP_DIGEST_MISMATCH)."""
    def invalid(reason: str) -> BackupError:
        return BackupError(f"{path} is not a Safeground backup: {reason}", code="BACKUP_INVALID",
                           details={"path": str(path), "reason": reason})

    try:
        tar = tarfile.open(path, "r:gz")  # noqa: SIM115 - closed by the with below
    except (OSError, tarfile.TarError) as exc:
        raise invalid(f"not a readable .tar.gz ({exc})") from None
    with tar:
        try:
            members = tar.getmembers()
        except (OSError, tarfile.TarError, EOFError) as exc:
            raise invalid(f"the archive is damaged ({exc})") from None
        names = [m.name for m in members]
        if MANIFEST not in names:
            raise invalid("no manifest.json")
        for m in members:
            if not m.isfile() or not _safe_member(m.name):
                raise invalid(f"member {m.name!r} is not a plain file inside the archive")
        try:
            manifest = json.loads(tar.extractfile(MANIFEST).read())  # type: ignore[union-attr]
            listed = manifest["members"]
            if manifest.get("format") != FORMAT or not isinstance(listed, dict):
                raise ValueError("unknown format")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise invalid(f"the manifest cannot be read ({exc})") from None
        extra = set(names) - set(listed) - {MANIFEST}
        missing = set(listed) - set(names)
        if extra or missing:
            raise invalid(f"members not in the manifest: {sorted(extra)}; listed but absent: "
                          f"{sorted(missing)}")
        for m in members:
            if m.name == MANIFEST:
                continue
            target = into / m.name
            target.parent.mkdir(parents=True, exist_ok=True)
            src = tar.extractfile(m)
            assert src is not None
            with target.open("wb") as fh:
                shutil.copyfileobj(src, fh)
            if _sha256(target) != listed[m.name].get("sha256"):
                raise BackupError(
                    f"member {m.name} of {path} does not match its SHA-256 in the manifest: "
                    "the archive was changed or damaged", code="BACKUP_DIGEST_MISMATCH",
                    details={"path": str(path), "member": m.name})
    return manifest


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of a backup, checked against every member."""
    with tempfile.TemporaryDirectory(prefix="safeground-restore-") as tmp:
        return open_archive(path, Path(tmp))


# --------------------------------------------------------------------------- backup


def _base_manifest(backend: str) -> dict[str, Any]:
    from safeground import __version__

    return {"format": FORMAT, "safeground_version": __version__, "backend": backend,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}


def _sqlite_path(db: Database) -> Path:
    path = db.engine.url.database
    if not path or path == ":memory:":
        raise ConfigError("an in-memory SQLite record cannot be backed up",
                          code="BACKUP_INVALID")
    return Path(path)


def backup(db: Database, out: Path, *, work_dir: Path | None = None) -> BackupResult:
    """Write a backup of the record ``db`` (and the work directory) to ``out`` (.tar.gz)."""
    if work_dir is not None and not work_dir.is_dir():
        raise ConfigError(f"the work directory {work_dir} does not exist",
                          code="BACKUP_INVALID")
    with tempfile.TemporaryDirectory(prefix="safeground-backup-") as tmp:
        if db.dialect == "sqlite":
            copy = Path(tmp) / SQLITE_MEMBER
            src = sqlite3.connect(_sqlite_path(db))
            dst = sqlite3.connect(copy)
            try:
                with dst:
                    src.backup(dst)   # all pages in one step: one consistent snapshot
            finally:
                dst.close()
                src.close()
            snap = Database.open(f"sqlite:///{copy}", migrate=False)
            try:
                with snap.read() as conn:
                    manifest = {**_base_manifest("sqlite"), **state(snap, conn),
                                "schema_revision": _schema_revision(conn)}
                manifest["status"] = _summary(snap)
            finally:
                snap.close()
            # the copy keeps no WAL: one self-contained file
            con = sqlite3.connect(copy)
            con.execute("PRAGMA journal_mode=DELETE")
            con.close()
            member, record = SQLITE_MEMBER, copy
        elif db.dialect == "postgresql":
            record = Path(tmp) / PG_MEMBER
            manifest = _pg_backup(db, record)
            member = PG_MEMBER
        else:  # pragma: no cover - Database.open admits no other
            raise ConfigError(f"no backup for {db.dialect}")
        _write_archive(out, record, member, work_dir, manifest)
    return BackupResult(out, manifest)


def find_client(tool: str) -> str:
    """The PostgreSQL client program ``tool`` (pg_dump, pg_restore): $SAFEGROUND_PG_BINDIR,
    then the newest /usr/lib/postgresql/<version>/bin (Debian), then PATH. Raises BackupError
    BACKUP_TOOL_MISSING."""
    candidates: list[Path] = []
    if env := os.environ.get("SAFEGROUND_PG_BINDIR"):
        candidates.append(Path(env))
    if PG_LIB.is_dir():
        versions = [p for p in PG_LIB.iterdir() if p.name.isdigit()]
        candidates += [p / "bin" for p in sorted(versions, key=lambda p: -int(p.name))]
    for cand in candidates:
        if os.access(cand / tool, os.X_OK):
            return str(cand / tool)
    if found := shutil.which(tool):
        return found
    raise BackupError(f"the PostgreSQL client program {tool} was not found: install "
                      "postgresql-client (the same major version as the server), or point "
                      "SAFEGROUND_PG_BINDIR at its directory", code="BACKUP_TOOL_MISSING",
                      details={"tool": tool})


def _pg_env(db: Database) -> tuple[dict[str, str], str]:
    """libpq environment for the record's database (the password never on a command line)."""
    url = make_url(str(db.engine.url.render_as_string(hide_password=False)))
    env = {**os.environ}
    for var, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                       ("PGPASSWORD", url.password), ("PGDATABASE", url.database)):
        if value is not None:
            env[var] = str(value)
    return env, str(url.database)


def _run(tool: str, args: list[str], env: dict[str, str]) -> str:
    exe = find_client(tool)
    done = subprocess.run([exe, *args], env=env, capture_output=True, text=True,  # noqa: S603
                          stdin=subprocess.DEVNULL, check=False)
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise BackupError(f"{tool} failed: {' / '.join(reason)}", code="BACKUP_TOOL_FAILED",
                          details={"tool": tool, "reason": " / ".join(reason)})
    return done.stdout


def _pg_backup(db: Database, out: Path) -> dict[str, Any]:
    """pg_dump in the snapshot the manifest is read in (``pg_export_snapshot``)."""
    env, _ = _pg_env(db)
    find_client("pg_dump")  # fail before taking the snapshot
    with db.engine.connect() as conn:
        conn.execute(text("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        try:
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            manifest = {**_base_manifest("postgresql"), **state(db, conn),
                        "schema_revision": _schema_revision(conn)}
            _run("pg_dump", ["--format=custom", "--no-owner", "--no-privileges",
                             "--schema=public", "--exclude-table-data=public.spatial_ref_sys",
                             f"--snapshot={snapshot}", f"--file={out}"], env)
        finally:
            conn.execute(text("ROLLBACK"))
    # the status summary is computed by the ledger on its own connections: taken while the
    # record version stays the one of the snapshot (else the writer was quicker: retry)
    for _ in range(5):
        summary = _summary(db)
        if state(db)["record_version"] == manifest["record_version"]:
            manifest["status"] = summary
            return manifest
    raise ConflictError("the record kept changing while its status was read for the "
                        "backup's manifest: try again", code="BACKUP_INVALID")


# --------------------------------------------------------------------------- restore


def check(db: Database, manifest: dict[str, Any]) -> list[str]:
    """How the record differs from the manifest (empty: it matches): record version, rows per
    table, programme status. Audit entries written after the backup's last one are left
    out."""
    version = manifest.get("record_version") or [0, 0, 0]
    now = state(db, up_to_audit=int(version[2]))
    diff = []
    if now["record_version"] != list(version):
        diff.append(f"record version {now['record_version']} != {list(version)}")
    for table, n in sorted(manifest.get("counts", {}).items()):
        if now["counts"].get(table) != n:
            diff.append(f"{table}: {now['counts'].get(table)} rows != {n}")
    if "status" in manifest:
        summary = _summary(db)
        for key in sorted(set(summary) | set(manifest["status"])):
            if summary.get(key) != manifest["status"].get(key):
                diff.append(f"status {key}: {summary.get(key)} != {manifest['status'].get(key)}")
    return diff


def check_or_raise(db: Database, manifest: dict[str, Any]) -> None:
    diff = check(db, manifest)
    if diff:
        raise BackupError("the restored record differs from the backup's manifest: "
                          + "; ".join(diff[:10]), code="RESTORE_CHECK_FAILED", details=diff)


@contextmanager
def unpacked(path: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """The archive unpacked and checked in a temporary directory, with its manifest."""
    with tempfile.TemporaryDirectory(prefix="safeground-restore-") as tmp:
        yield Path(tmp), open_archive(path, Path(tmp))


def restore(url: str, archive: Path, *, force: bool = False,
            work_dir: Path | None = None) -> dict[str, Any]:
    """Restore ``archive`` into the record at ``url`` (and its work directory into
    ``work_dir``), then check the record against the manifest. Returns the manifest.

    Raises BackupError (BACKUP_INVALID, BACKUP_DIGEST_MISMATCH, BACKUP_BACKEND_MISMATCH,
    RESTORE_CHECK_FAILED, BACKUP_TOOL_*), ConflictError RESTORE_TARGET_NOT_EMPTY or
    WORK_DIR_NOT_EMPTY."""
    with unpacked(archive) as (tmp, manifest):
        target = Database.open(url, migrate=False)
        try:
            backend = manifest.get("backend")
            if backend != target.dialect:
                raise BackupError(
                    f"the backup is of a {backend} record and cannot be restored into a "
                    f"{target.dialect} record", code="BACKUP_BACKEND_MISMATCH")
            what = holds(target)
            if what and not force:
                raise ConflictError(f"the target record already holds {', '.join(what)}: "
                                    "restore over it only with --force",
                                    code="RESTORE_TARGET_NOT_EMPTY", details=what)
            if work_dir is not None and work_dir.exists() and any(work_dir.iterdir()) \
                    and not force:
                raise ConflictError(f"the work directory {work_dir} is not empty: restore "
                                    "into it only with --force", code="WORK_DIR_NOT_EMPTY")
            if target.dialect == "sqlite":
                _sqlite_restore(target, tmp / SQLITE_MEMBER)
            else:
                _pg_restore(target, tmp / PG_MEMBER)
        finally:
            target.close()
        restored = Database.open(url)   # a backup from an older schema is brought to head
        try:
            check_or_raise(restored, manifest)
        finally:
            restored.close()
        if work_dir is not None and (tmp / WORKDIR).is_dir():
            shutil.copytree(tmp / WORKDIR, work_dir, dirs_exist_ok=True)
    return manifest


def _sqlite_restore(target: Database, copy: Path) -> None:
    path = _sqlite_path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(copy)
    dst = sqlite3.connect(path, timeout=30)
    try:
        src.backup(dst)   # page by page into the live file, under SQLite's own locks
    finally:
        dst.close()
        src.close()


def _pg_restore(target: Database, dump: Path) -> None:
    """Replace Safeground's tables with the dump's, in one transaction (psql
    --single-transaction): a restore that fails half-way leaves the target as it was."""
    env, dbname = _pg_env(target)
    # the public schema itself exists already, and so do PostGIS's own tables (spatial_ref_sys
    # belongs to the extension, made by the superuser): restore Safeground's tables only
    listing = _run("pg_restore", ["--list", str(dump)], env)
    keep = [line for line in listing.splitlines()
            if not (" SCHEMA - public " in line or "COMMENT - SCHEMA public" in line
                    or " spatial_ref_sys " in line)]
    use_list = dump.with_suffix(".list")
    use_list.write_text("\n".join(keep) + "\n")
    script = dump.with_suffix(".sql")
    _run("pg_restore", ["--no-owner", "--no-privileges", f"--use-list={use_list}",
                        f"--file={script}", str(dump)], env)
    present = sorted(set(target.table_names()) & {*metadata.tables, "alembic_version"})
    whole = dump.with_suffix(".restore.sql")
    with whole.open("w") as out, script.open() as body:
        for name in present:
            out.write(f'DROP TABLE IF EXISTS public."{name}" CASCADE;\n')
        shutil.copyfileobj(body, out)
    try:
        _run("psql", ["--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1",
                      "--single-transaction", f"--dbname={dbname}", f"--file={whole}"], env)
    except BackupError as exc:
        reason = str(exc.details.get("reason", "")) if isinstance(exc.details, dict) else ""
        if "must be owner" in reason or "permission denied" in reason:
            raise BackupError(
                "this database role may not replace the record's tables: restore as the role "
                "that owns the schema (docs/deploy.md); nothing was changed",
                code="RESTORE_NOT_OWNER", details={"reason": reason}) from None
        raise
