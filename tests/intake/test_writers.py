"""Writers side by side, on SQLite and on PostGIS: imports of the same file at once store each
record once, an import beside web-style writes completes, a killed import leaves whole chunks
and the next run finishes it, and overlapping approvals approve each report once.

Every writer runs in a process of its own (tests/harness/writers.py): what the database does
between processes is the point. Sizes are small; benchmarks/bench_writers.py runs the large
ones and prints the figures.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import func, select, text

from safeground.errors import DatabaseBusyError
from safeground.intake.importer import import_path
from safeground.record.ledger import Ledger
from safeground.record.storage import Database
from safeground.record.storage.database import MIGRATIONS
from safeground.record.storage.schema import reports
from safeground.settings import Settings

WORKER = Path(__file__).parents[1] / "harness" / "writers.py"
sys.path.insert(0, str(WORKER.parent))
from writers import items_csv  # noqa: E402


def _env() -> dict[str, str]:
    src = str(Path(__file__).parents[2] / "src")
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        [src, *filter(None, [os.environ.get("PYTHONPATH")])])}


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(WORKER), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env())


def finish(proc: subprocess.Popen, timeout: float = 300) -> dict:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0 and "Traceback" not in err, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def run(*args: str) -> dict:
    return finish(start(*args))


def counts(url: str) -> tuple[int, int]:
    """(item reports, distinct submission ids among them)."""
    db = Database.open(url, migrate=False)
    with db.read() as conn:
        n, d = conn.execute(select(func.count(), func.count(reports.c.submission_id.distinct()))
                            .where(reports.c.report_type == "ordnance")).one()
    db.close()
    return n, d


@pytest.fixture
def url(database_url: str) -> str:
    run("seed", database_url)
    return database_url


@pytest.mark.parametrize("n_procs", [2, 3])
def test_imports_of_one_file_at_once_store_each_record_once(url, tmp_path, n_procs):
    path = items_csv(tmp_path / "items.csv", 1500)
    procs = [start("import", url, str(path), "250") for _ in range(n_procs)]
    outs = [finish(p) for p in procs]
    assert counts(url) == (1500, 1500)
    assert sum(o["accepted"] for o in outs) == 1500
    for o in outs:
        assert o["accepted"] + o["already_imported"] == 1500 and o["rejected"] == 0
        assert o["incomplete"] is None


def test_an_import_beside_web_writes_completes(url, tmp_path):
    path = items_csv(tmp_path / "items.csv", 4000)
    web = start("web", url, "8")
    time.sleep(1.5)
    imp = finish(start("import", url, str(path), "500"))
    w = finish(web)
    assert imp["accepted"] == 4000 and imp["incomplete"] is None
    assert counts(url) == (4000, 4000)
    assert w["errors"] == [] and w["rounds"] >= 5 and w["approved"] >= 5


def test_a_killed_import_leaves_whole_chunks_and_the_next_run_finishes_it(tmp_path):
    url = f"sqlite:///{tmp_path}/record.sqlite"
    run("seed", url)
    path = items_csv(tmp_path / "items.csv", 6000)
    rng = random.Random(7)
    for _ in range(3):
        proc = start("import", url, str(path), "1000")
        time.sleep(rng.uniform(1.0, 5.0))
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        con = sqlite3.connect(tmp_path / "record.sqlite")
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        con.close()
        n, d = counts(url)
        assert n == d and n % 1000 == 0, n   # whole chunks, never part of one
    before, _ = counts(url)
    last = run("import", url, str(path), "1000")
    assert counts(url) == (6000, 6000)
    assert last["incomplete"] is None and last["accepted"] + last["already_imported"] == 6000
    assert last["already_imported"] == before
    if 0 < before < 6000:   # part of the file was in: the run says it finishes that import
        assert "stopped after part" in last["resumes"], last


def test_a_busy_database_stops_the_import_with_a_coded_message(tmp_path):
    url = f"sqlite:///{tmp_path}/record.sqlite"
    run("seed", url)
    path = items_csv(tmp_path / "items.csv", 300)
    ledger = Ledger(Database.open(url, busy_wait=0.5), Settings(database_url=url))
    other = sqlite3.connect(tmp_path / "record.sqlite", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with pytest.raises(DatabaseBusyError) as e, ledger.db.write():
            pass
        assert e.value.code == "DATABASE_BUSY"
        s = import_path(ledger, path, "importer", progress=False, chunk=100)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert s.incomplete is not None and s.incomplete.code == "IMPORT_INCOMPLETE"
    assert s.incomplete.params["done"] == 0 and s.incomplete.params["total"] == 300
    assert counts(url) == (0, 0)
    s = import_path(ledger, path, "importer", progress=False, chunk=100)
    assert s.incomplete is None and s.accepted == 300


def test_overlapping_approvals_approve_each_report_once(url, tmp_path):
    path = items_csv(tmp_path / "items.csv", 600)
    assert run("import", url, str(path), "600")["accepted"] == 600
    db = Database.open(url, migrate=False)
    with db.read() as conn:
        ids = list(conn.execute(select(reports.c.id).where(reports.c.status == "submitted")
                                .order_by(reports.c.id)).scalars())
    go = tmp_path / "go"
    batches = [ids[:400], ids[200:], ids]   # every report in two or three batches
    procs = [start("approve", url, user, str(go), *map(str, b))
             for user, b in zip(["ann", "ben", "cat"], batches, strict=True)]
    time.sleep(3)
    go.touch()
    outs = [finish(p) for p in procs]
    approved = [i for o in outs for i in o["approved"]]
    assert sorted(approved) == ids                       # each approved, and once
    for o, b in zip(outs, batches, strict=True):         # each id has its outcome
        assert sorted(o["approved"] + o["already_decided"]) == sorted(b)
        assert o["refused"] == [] and o["not_found"] == []
    with db.read() as conn:
        seqs = list(conn.execute(select(reports.c.seq).where(reports.c.id.in_(ids))).scalars())
        assert len(set(seqs)) == len(ids) and None not in seqs
        n = conn.execute(text("SELECT count(*) FROM ordnance_items")).scalar_one()
    assert n == 600
    db.close()


def test_duplicates_stored_before_the_unique_index_are_settled(database_url):
    db = Database.open(database_url)
    with db.write() as conn:   # the record as migration 0005 left it: later ones undone
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
    ledger = Ledger(db)
    org = {"report_type": "organisation", "date_of_information": "2024-01-01",
           "organisation": "ORG-1", "author": "x", "name": "N", "kind": "ngo"}
    first = ledger.submit([{**org, "object_id": "ORG-1", "submission_id": "s1"}], user="a")
    ledger.approve(first.accepted, user="b")
    # the same submission stored again three times, as two racing imports used to
    with db.write() as conn:
        for oid, status in (("ORG-2", "submitted"), ("ORG-3", "approved"),
                            ("ORG-4", "submitted")):
            conn.execute(text(
                "INSERT INTO reports (report_type, object_id, organisation, author, "
                "date_of_information, payload, status, submitted_by, submitted_at, problems, "
                "submission_id, content_hash) VALUES ('organisation', :o, 'ORG-1', 'x', "
                "'2024-01-01', '{}', :s, 'a', '2024-01-02 00:00:00', '[]', 's1', :o)"),
                {"o": oid, "s": status})
    db.close()
    db = Database.open(database_url)   # migrates to the unique index
    ledger = Ledger(db)
    keep, dup2, dup3, dup4 = (ledger.report(rid) for rid in range(
        first.accepted[0], first.accepted[0] + 4))
    assert (keep.status, keep.submission_id) == ("approved", "s1")
    note = f"duplicate of report {keep.id}: same submission id"
    for dup in (dup2, dup4):
        assert (dup.status, dup.decided_by, dup.decision_note) == ("rejected", "safeground", note)
    assert (dup3.status, dup3.submission_id) == ("approved", None)
    assert dup3.meta == {"_duplicate_submission_id": "s1", "_duplicate_of": keep.id}
    again = ledger.submit([{**org, "object_id": "ORG-9", "submission_id": "s1"}], user="a")
    assert again.accepted == [] and again.duplicates == [("record 1", keep.id)]
    db.close()
