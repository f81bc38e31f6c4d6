"""Backup and restore of the whole record, ``db upgrade`` / ``db check``, and PostgreSQL with
least-privilege roles as docs/deploy.md sets them up."""

from __future__ import annotations

import io
import json
import re
import tarfile
import threading
import uuid
from pathlib import Path

import pytest
from helpers import load, programme, rec
from typer.testing import CliRunner

from harness.accounts import CliAccounts, password
from safeground.cli import app
from safeground.record import audit
from safeground.record import backup as bk
from safeground.record.ledger import Ledger
from safeground.record.storage import Database
from safeground.record.summary import status
from safeground.record.users import Users
from safeground.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
NO_AUTH = {"SAFEGROUND_TOKEN": None, "SAFEGROUND_USER": None}


def _fresh_url(database_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Another empty database of the same backend."""
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path}/restored/record.sqlite"
    server = request.getfixturevalue("postgis_server")
    url = server.create_database()
    request.addfinalizer(lambda: server.drop_database(url.rsplit("/", 1)[1]))
    return url


def _programme(url: str) -> CliAccounts:
    """A record with users of every role, an approved programme and a pending report."""
    accounts = CliAccounts.create(url)
    db = Database.open(url)
    ledger = Ledger(db, Settings(database_url=url))
    load(ledger, programme())
    ledger.submit([rec("organisation", "ORG-2", "2021-03-01", name="HALO",
                       kind="international_ngo")], user="alice")
    Users(db).login("bob", password("bob"))   # a session, to be carried over
    db.close()
    return accounts


def _invoke(args: list[str], *, user: str | None = None, typed: str | None = None):
    argv = list(args)
    prompt = ""
    if user:
        argv += ["--user", user]
        prompt = (typed if typed is not None else password(user)) + "\n"
    return CliRunner().invoke(app, argv, input=prompt, env=NO_AUTH, catch_exceptions=False)


def _hashes(db: Database) -> list[str]:
    from sqlalchemy import select

    from safeground.record.storage.schema import sessions, users

    with db.read() as conn:
        return sorted([*conn.execute(select(users.c.password_hash)).scalars(),
                       *conn.execute(select(sessions.c.token_hash)).scalars()])


def _facts(url: str, up_to_audit: int) -> dict:
    """What a restore must carry over, read independently of the backup module."""
    db = Database.open(url)
    try:
        ledger = Ledger(db, Settings(database_url=url))
        users = sorted((u.name, sorted(u.roles), u.active) for u in Users(db).list())
        trail = [(e["user"], e["action"], e["target"]) for e in
                 audit.entries(db, limit=10_000) if e["id"] <= up_to_audit]
        return {"status": status(ledger).to_dict(), "users": users, "trail": trail,
                "reports": {s: len(ledger.reports(status=s)) for s in
                            ("submitted", "approved", "rejected")},
                "hashes": _hashes(db)}
    finally:
        db.close()


# --------------------------------------------------------------------------- round trip


def test_backup_and_restore_carry_the_whole_record(database_url, request, tmp_path):
    _programme(database_url)
    archive = tmp_path / "record-backup.tar.gz"
    work = tmp_path / "work"
    (work / "plan").mkdir(parents=True)
    (work / "plan" / "plan.json").write_text('{"weeks": 12}')
    (work / "area-risk.csv").write_text("area,risk\nHA-1,0.8\n")

    done = _invoke(["backup", str(archive), "--db", database_url, "--work-dir", str(work)],
                   user="root")
    assert done.exit_code == 0, done.output
    manifest = bk.read_manifest(archive)
    assert manifest["backend"] == ("sqlite" if database_url.startswith("sqlite")
                                   else "postgresql")
    assert manifest["counts"]["users"] == 7 and manifest["counts"]["sessions"] == 1
    # the backup's own audit entry is in the backup
    assert manifest["record_version"][1] == manifest["counts"]["audit_log"]
    before = _facts(database_url, manifest["record_version"][2])
    assert ("root", "backup", archive.name) in before["trail"]

    target = _fresh_url(database_url, request, tmp_path)
    restored_work = tmp_path / "restored-work"
    done = _invoke(["restore", str(archive), "--db", target, "--local-admin",
                    "--work-dir", str(restored_work)])
    assert done.exit_code == 0, done.output
    after = _facts(target, manifest["record_version"][2])
    assert after == before
    assert (restored_work / "plan" / "plan.json").read_text() == '{"weeks": 12}'
    assert (restored_work / "area-risk.csv").read_text().startswith("area,risk")
    # the restore is in the trail, after the backup's entries; the check still passes
    db = Database.open(target)
    try:
        newest = audit.entries(db, limit=2)
        assert {e["action"] for e in newest} == {"restore", "local_admin"}
        assert all(e["user"].startswith("local-admin:") for e in newest)
        assert Users(db).check_password("root", password("root")) is not None
    finally:
        db.close()
    done = _invoke(["restore", "--check", str(archive), "--db", target], user="root")
    assert done.exit_code == 0, done.output


def test_restore_refuses_a_record_that_holds_data_unless_forced(database_url, tmp_path):
    _programme(database_url)
    archive = tmp_path / "b.tar.gz"
    assert _invoke(["backup", str(archive), "--db", database_url], user="root").exit_code == 0
    db = Database.open(database_url)
    ledger = Ledger(db, Settings(database_url=database_url))
    ledger.submit([rec("organisation", "ORG-3", "2021-04-01", name="MAG",
                       kind="international_ngo")], user="alice")
    db.close()

    refused = _invoke(["restore", str(archive), "--db", database_url], user="root")
    assert refused.exit_code == 2 and "RESTORE_TARGET_NOT_EMPTY" in refused.output
    local = _invoke(["restore", str(archive), "--db", database_url, "--force",
                     "--local-admin"])
    assert local.exit_code == 2 and "FORBIDDEN" in local.output
    not_admin = _invoke(["restore", str(archive), "--db", database_url, "--force"], user="bob")
    assert not_admin.exit_code == 2 and "FORBIDDEN" in not_admin.output

    forced = _invoke(["restore", str(archive), "--db", database_url, "--force"], user="root")
    assert forced.exit_code == 0, forced.output
    db = Database.open(database_url)
    try:
        ids = {r.object_id for r in Ledger(db, Settings(database_url=database_url)).reports()}
        assert "ORG-3" not in ids and "ORG-2" in ids   # back to the backup's state
        entry = audit.entries(db, limit=1)[0]
        assert (entry["user"], entry["action"]) == ("root", "restore")
        assert entry["detail"]["forced"] is True
    finally:
        db.close()


def test_the_check_finds_a_record_that_differs_from_the_backup(tmp_path):
    url = f"sqlite:///{tmp_path}/record.sqlite"
    _programme(url)
    archive = tmp_path / "b.tar.gz"
    assert _invoke(["backup", str(archive), "--db", url], user="root").exit_code == 0
    assert _invoke(["restore", "--check", str(archive), "--db", url], user="root").exit_code == 0
    db = Database.open(url)
    Ledger(db, Settings(database_url=url)).submit(
        [rec("organisation", "ORG-9", "2021-05-01", name="NPA", kind="international_ngo")],
        user="alice")
    db.close()
    done = _invoke(["restore", "--check", str(archive), "--db", url], user="root")
    assert done.exit_code == 2 and "RESTORE_CHECK_FAILED" in done.output
    assert "reports" in done.output


# --------------------------------------------------------------------------- who may


def test_backup_is_an_admin_action(tmp_path):
    url = f"sqlite:///{tmp_path}/record.sqlite"
    _programme(url)
    out = tmp_path / "b.tar.gz"
    anonymous = _invoke(["backup", str(out), "--db", url])
    assert anonymous.exit_code == 2 and "UNAUTHENTICATED" in anonymous.output
    approver = _invoke(["backup", str(out), "--db", url], user="bob")
    assert approver.exit_code == 2 and "FORBIDDEN" in approver.output
    wrong = _invoke(["backup", str(out), "--db", url], user="root", typed="nope")
    assert wrong.exit_code == 2 and "LOGIN_FAILED" in wrong.output
    assert not out.exists()


# --------------------------------------------------------------------------- archives


def _rewrite(archive: Path, out: Path, change) -> None:
    with tarfile.open(archive, "r:gz") as src, tarfile.open(out, "w:gz") as dst:
        for m in src.getmembers():
            data = src.extractfile(m).read()
            data = change(m.name, data)
            info = tarfile.TarInfo(m.name)
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))


def test_a_changed_archive_is_refused_with_a_code(tmp_path):
    url = f"sqlite:///{tmp_path}/record.sqlite"
    _programme(url)
    archive = tmp_path / "b.tar.gz"
    assert _invoke(["backup", str(archive), "--db", url], user="root").exit_code == 0

    def flip(name: str, data: bytes) -> bytes:   # one byte of the record changed
        if name != bk.SQLITE_MEMBER:
            return data
        return data[:5000] + bytes([data[5000] ^ 0xFF]) + data[5001:]

    tampered = tmp_path / "tampered.tar.gz"
    _rewrite(archive, tampered, flip)
    target = f"sqlite:///{tmp_path}/t/record.sqlite"
    done = _invoke(["restore", str(tampered), "--db", target, "--local-admin"])
    assert done.exit_code == 2 and "BACKUP_DIGEST_MISMATCH" in done.output
    assert not bk.holds(Database.open(target, migrate=False))

    with tarfile.open(tmp_path / "evil.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("../outside.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    done = _invoke(["restore", str(tmp_path / "evil.tar.gz"), "--db", target, "--local-admin"])
    assert done.exit_code == 2 and "BACKUP_INVALID" in done.output
    assert not (tmp_path / "outside.txt").exists()
    (tmp_path / "junk.tar.gz").write_bytes(b"not an archive")
    done = _invoke(["restore", str(tmp_path / "junk.tar.gz"), "--db", target, "--local-admin"])
    assert done.exit_code == 2 and "BACKUP_INVALID" in done.output


def test_a_missing_pg_dump_is_a_coded_error(monkeypatch, tmp_path):
    monkeypatch.setattr(bk, "PG_LIB", tmp_path / "nothing-here")
    monkeypatch.delenv("SAFEGROUND_PG_BINDIR", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(bk.BackupError) as caught:
        bk.find_client("pg_dump")
    assert caught.value.code == "BACKUP_TOOL_MISSING"
    assert "postgresql-client" in caught.value.message


# --------------------------------------------------------------------------- while writing


def test_a_sqlite_backup_is_consistent_while_another_thread_writes(tmp_path):
    url = f"sqlite:///{tmp_path}/record.sqlite"
    _programme(url)
    db = Database.open(url)
    ledger = Ledger(db, Settings(database_url=url))
    stop = threading.Event()
    written: list[int] = []
    failures: list[BaseException] = []

    def writer() -> None:
        i = 0
        try:
            while not stop.is_set():
                i += 1
                res = ledger.submit([rec("organisation", f"ORG-W{i}", "2021-06-01",
                                         name=f"Team {i}", kind="commercial")], user="alice")
                ledger.approve(res.accepted, user="bob")
                written.append(i)
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    manifests = []
    try:
        for n in range(4):
            archive = tmp_path / f"b{n}.tar.gz"
            manifests.append(bk.backup(db, archive).manifest)
            target = f"sqlite:///{tmp_path}/r{n}/record.sqlite"
            bk.restore(target, archive)   # raises RESTORE_CHECK_FAILED on any mismatch
            restored = Database.open(target)
            ids = [r.object_id for r in Ledger(restored, Settings(database_url=target))
                   .reports()]
            restored.close()
            # every report in the copy is whole: its approval and its audit entries too
            assert len(ids) == manifests[-1]["counts"]["reports"]
    finally:
        stop.set()
        thread.join()
        db.close()
    assert not failures, failures
    assert written, "the writer never wrote"
    reports = [m["counts"]["reports"] for m in manifests]
    assert reports == sorted(reports) and reports[-1] > reports[0]


# --------------------------------------------------------------------------- db upgrade / check


def test_db_upgrade_and_check_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path}/record.sqlite"
    done = _invoke(["db", "upgrade", "--db", url])
    at = re.search(r"Schema at (\d+) \(newest (\d+)\)", " ".join(done.output.split()))
    assert done.exit_code == 0 and at and at.group(1) == at.group(2), done.output
    done = _invoke(["db", "check", "--db", url])
    assert done.exit_code == 0, done.output
    assert "connection" in done.output and "schema" in done.output and "FAILED" not in done.output
    behind = f"sqlite:///{tmp_path}/empty.sqlite"
    done = _invoke(["db", "check", "--db", behind])
    assert done.exit_code == 2 and "DB_CHECK_FAILED" in done.output and "schema" in done.output


# --------------------------------------------------------------------------- least privilege


def _deploy_sql() -> list[tuple[str, list[str]]]:
    """The set-up SQL of docs/deploy.md: (database to run it in, statements) per block."""
    text = (ROOT / "docs" / "deploy.md").read_text()
    block = re.search(r"<!-- least-privilege-sql -->\s*```sql\n(.*?)```", text, re.S)
    assert block, "docs/deploy.md lost its least-privilege SQL block"
    parts: list[tuple[str, list[str]]] = [("postgres", [])]
    statement = ""
    for line in block.group(1).splitlines():
        line = line.split("--", 1)[0].rstrip()
        if line.startswith("\\connect"):
            parts.append((line.split()[1], []))
        elif line.startswith("\\") or not line.strip():
            continue
        else:
            statement += line + "\n"
            if line.endswith(";"):
                parts[-1][1].append(statement)
                statement = ""
    return parts


@pytest.fixture
def roles(postgis_server):
    """The owner and application roles and the database of docs/deploy.md, under names of
    their own on the shared test server; their URLs."""
    suffix = uuid.uuid4().hex[:8]
    names = {"safeground_owner": f"sg_owner_{suffix}", "safeground_app": f"sg_app_{suffix}",
             "safeground": f"sg_db_{suffix}"}

    def rename(sql: str) -> str:
        return re.sub(r"\b(safeground_owner|safeground_app|safeground)\b",
                      lambda m: names[m.group(1)], sql)

    for dbname, statements in _deploy_sql():
        with postgis_server.connect(rename(dbname)) as conn:
            for stmt in statements:
                conn.execute(rename(stmt))
    host = f"{postgis_server.host}:{postgis_server.port}"
    yield {"owner": f"postgresql+psycopg://{names['safeground_owner']}@{host}/"
                    f"{names['safeground']}",
           "app": f"postgresql+psycopg://{names['safeground_app']}@{host}/{names['safeground']}",
           "names": names, "server": postgis_server}
    postgis_server.drop_database(names["safeground"])
    with postgis_server.connect() as conn:
        for role in (names["safeground_app"], names["safeground_owner"]):
            conn.execute(f"DROP ROLE IF EXISTS {role}")


def test_deploy_doc_roles_owner_upgrades_app_reads_and_writes_but_no_ddl(roles, tmp_path):
    import sqlalchemy

    # the application role cannot make the schema: a coded refusal, no traceback
    done = _invoke(["status", "--db", roles["app"]])
    assert done.exit_code == 2 and "DB_UPGRADE_REFUSED" in done.output, done.output
    assert "Traceback" not in done.output
    # the owner brings the schema up; then db check passes for both roles
    done = _invoke(["db", "upgrade", "--db", roles["owner"]])
    assert done.exit_code == 0, done.output
    for who in ("owner", "app"):
        done = _invoke(["db", "check", "--db", roles[who]])
        assert done.exit_code == 0 and "postgis" in done.output, done.output
    # the application role reads and writes through Safeground ...
    Users(Database.open(roles["app"])).add("root", password("root"), ["admin"],
                                           by="test set-up", direct=True)
    db = Database.open(roles["app"])
    ledger = Ledger(db, Settings(database_url=roles["app"]))
    load(ledger, programme())
    assert status(ledger).casualties["injured"] == 1
    done = _invoke(["status", "--db", roles["app"]])
    assert done.exit_code == 0 and "SHA open" in done.output, done.output
    # the web app starts as the application role (schema at head: nothing to migrate)
    from fastapi.testclient import TestClient

    from safeground.web import create_app

    health = TestClient(create_app(Settings(database_url=roles["app"]))).get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    # ... but may not change the schema
    for ddl in ("CREATE TABLE sneaky (id int)", "DROP TABLE audit_log",
                "ALTER TABLE reports ADD COLUMN x int"):
        with pytest.raises(sqlalchemy.exc.ProgrammingError) as caught, db.write() as conn:
            conn.execute(sqlalchemy.text(ddl))
        assert caught.value.orig.sqlstate == "42501", ddl   # insufficient_privilege
    db.close()
    # a backup only reads: the application role makes it (as an admin of the record) ...
    archive = tmp_path / "b.tar.gz"
    done = _invoke(["backup", str(archive), "--db", roles["app"]], user="root")
    assert done.exit_code == 0, done.output
    # ... but only the owner may restore over the record
    done = _invoke(["restore", str(archive), "--db", roles["app"], "--force"], user="root")
    assert done.exit_code == 2 and "RESTORE_NOT_OWNER" in done.output, done.output
    assert "Traceback" not in done.output
    assert bk.check(Database.open(roles["app"]), bk.read_manifest(archive)) == []  # untouched
    done = _invoke(["restore", str(archive), "--db", roles["owner"], "--force"], user="root")
    assert done.exit_code == 0, done.output
    # after the restore the application role still has its rights (default privileges)
    done = _invoke(["status", "--db", roles["app"]])
    assert done.exit_code == 0 and "SHA open" in done.output, done.output


def test_a_missing_postgis_extension_is_postgis_missing(roles):
    server, names = roles["server"], roles["names"]
    bare = f"sg_bare_{uuid.uuid4().hex[:8]}"
    with server.connect() as conn:
        conn.execute(f"CREATE DATABASE {bare} OWNER {names['safeground_owner']} "
                     "TEMPLATE template0")
    try:
        url = f"postgresql+psycopg://{names['safeground_owner']}@{server.host}:{server.port}/{bare}"
        for args in (["init", "--db", url], ["db", "upgrade", "--db", url]):
            done = _invoke(args)
            assert done.exit_code == 2, done.output
            assert "POSTGIS_MISSING" in done.output and "CREATE EXTENSION postgis" in done.output
            assert "Traceback" not in done.output
        done = _invoke(["db", "check", "--db", url])
        assert done.exit_code == 2 and "DB_CHECK_FAILED" in done.output
        assert "extension missing" in done.output
    finally:
        server.drop_database(bare)


def test_the_manifest_is_json_with_a_sha256_per_member(tmp_path):
    url = f"sqlite:///{tmp_path}/record.sqlite"
    _programme(url)
    archive = tmp_path / "b.tar.gz"
    assert _invoke(["backup", str(archive), "--db", url], user="root").exit_code == 0
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
        assert set(tar.getnames()) == {"manifest.json", "record.sqlite"}
    assert re.fullmatch(r"[0-9a-f]{64}", manifest["members"]["record.sqlite"]["sha256"])
    assert manifest["safeground_version"] and manifest["created"]
    assert manifest["status"]["reports"]["approved"] == manifest["counts"]["reports"] - 1
