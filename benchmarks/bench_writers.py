"""Writers side by side on SQLite (and PostGIS when SG_BENCH_PG_URL names an empty database).

    .venv/bin/python benchmarks/bench_writers.py                 # 1,000,000 rows, 20 kills
    SG_BENCH_ROWS=100000 SG_BENCH_KILLS=5 .venv/bin/python benchmarks/bench_writers.py
    SG_BENCH_PARTS=24 .venv/bin/python benchmarks/bench_writers.py    # parts 2 and 4 only

Prints, for an import of SG_BENCH_ROWS explosive-item rows:

1. alone, in chunks (the default) and in one transaction: seconds and peak memory;
2. beside a web-style writer (submit one report, approve one and read the newest reports,
   every 0.3 s, for as long as the import runs): the longest submit, approval and read the
   web saw, and its errors — for the chunked import and for the single transaction;
3. three imports of the same file at once: rows stored and distinct submission ids;
4. SG_BENCH_KILLS imports killed (SIGKILL) at random moments between start-up and the time a
   whole import takes (part 1's, else SG_BENCH_IMPORT_S): PRAGMA integrity_check, rows stored
   each time (whole chunks or nothing), and the run that finishes the import. A kill that
   came after the end moves the next ones to a new record.

Every writer is a process of its own (tests/harness/writers.py).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "tests" / "harness" / "writers.py"
sys.path.insert(0, str(WORKER.parent))
from writers import items_csv  # noqa: E402

ROWS = int(os.environ.get("SG_BENCH_ROWS", 1_000_000))
KILLS = int(os.environ.get("SG_BENCH_KILLS", 20))
PG = os.environ.get("SG_BENCH_PG_URL")
PARTS = os.environ.get("SG_BENCH_PARTS", "1234")


def start(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])])}
    return subprocess.Popen([sys.executable, str(WORKER), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def finish(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate()
    if proc.returncode or "Traceback" in err:
        print(err[-2000:])
        return {"failed": proc.returncode, "traceback": "Traceback" in err}
    return json.loads(out.strip().splitlines()[-1])


def count(db: Path) -> tuple[int, int]:
    con = sqlite3.connect(db)
    n, d = con.execute("SELECT count(*), count(DISTINCT submission_id) FROM reports "
                       "WHERE report_type = 'ordnance'").fetchone()
    con.close()
    return n, d


def fresh(tmp: Path, name: str) -> tuple[str, Path]:
    db = tmp / f"{name}.sqlite"
    url = f"sqlite:///{db}"
    finish(start("seed", url))
    return url, db


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="sg-bench-writers-"))
    path = items_csv(tmp / "items.csv", ROWS)
    default_chunk = str(max(20_000, -(-ROWS // 5)))
    print(f"{ROWS:,} item rows; chunks of {int(default_chunk):,} (the default)")
    walls: dict[str, float] = {}

    for label, chunk in (("chunked", default_chunk), ("one transaction", str(ROWS))):
        if "1" not in PARTS:
            break
        url, db = fresh(tmp, label.replace(" ", "-"))
        t0 = time.perf_counter()
        out = finish(start("import", url, str(path), chunk))
        walls[label] = time.perf_counter() - t0
        print(f"[1] alone, {label}: {walls[label]:.1f} s wall "
              f"(import {out.get('seconds')} s), peak {out.get('rss_mib')} MiB, "
              f"{count(db)[0]:,} rows")

    for label, chunk in (("chunked", default_chunk), ("one transaction", str(ROWS))):
        if "2" not in PARTS:
            break
        url, db = fresh(tmp, "web-" + label.replace(" ", "-"))
        stop = tmp / f"stop-{label.replace(' ', '-')}"
        web = start("web", url, "36000", "0.3", str(stop))   # for as long as the import runs
        time.sleep(2)
        t0 = time.perf_counter()
        out = finish(start("import", url, str(path), chunk))
        took = time.perf_counter() - t0
        stop.touch()
        w = finish(web)
        print(f"[2] beside the web, {label}: import {took:.1f} s, "
              f"incomplete={bool(out.get('incomplete'))}, {count(db)[0]:,} rows; web: "
              f"{w.get('rounds')} rounds, longest submit {w.get('max_submit_s')} s, approve "
              f"{w.get('max_approve_s')} s, read {w.get('max_read_s')} s, errors "
              f"{w.get('errors')}")

    for target in ["sqlite", *(["postgis"] if PG else [])] if "3" in PARTS else []:
        if target == "sqlite":
            url, db = fresh(tmp, "three")
        else:
            url = PG
            finish(start("seed", url))
        t0 = time.perf_counter()
        outs = [finish(p) for p in [start("import", url, str(path), default_chunk)
                                    for _ in range(3)]]
        stored = count(db) if target == "sqlite" else _pg_count(url)
        print(f"[3] three imports at once ({target}): {time.perf_counter() - t0:.1f} s, "
              f"rows {stored[0]:,}, distinct submission ids {stored[1]:,}; accepted "
              f"{[o.get('accepted') for o in outs]}, already imported "
              f"{[o.get('already_imported') for o in outs]}, stopped part way "
              f"{[bool(o.get('incomplete')) for o in outs]}")

    if "4" not in PARTS:
        return
    url, db = fresh(tmp, "kills")
    span = float(os.environ.get("SG_BENCH_IMPORT_S", 0)) or walls.get("chunked") or ROWS / 4000
    chunk = int(default_chunk)
    rng = random.Random(11)
    seen = []
    for i in range(KILLS):
        if seen and seen[-1] == ROWS:   # the import had finished: the next kill on a new record
            url, db = fresh(tmp, f"kills-{i}")
        proc = start("import", url, str(path), default_chunk)
        time.sleep(rng.uniform(0.05, 1.0) * span)   # anywhere from start-up to the end
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        con = sqlite3.connect(db)
        ok = con.execute("PRAGMA integrity_check").fetchone()[0]
        con.close()
        n, d = count(db)
        seen.append(n)
        whole = n == d and (n % chunk == 0 or n == ROWS)
        print(f"[4] kill {i + 1}: integrity {ok}, {n:,} rows stored, whole chunks: {whole}")
    print(f"[4] {KILLS} kills: {seen.count(0)} left nothing, "
          f"{sum(0 < n < ROWS for n in seen)} whole chunks (part of the file), "
          f"{seen.count(ROWS)} came after the end")
    last = finish(start("import", url, str(path), default_chunk))
    print(f"[4] the next run after the last kill: {count(db)[0]:,} rows, accepted "
          f"{last.get('accepted')}, already imported {last.get('already_imported')}, "
          f"note: {last.get('resumes')!r}")


def _pg_count(url: str) -> tuple[int, int]:
    from sqlalchemy import create_engine, text

    eng = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with eng.connect() as conn:
        n, d = conn.execute(text("SELECT count(*), count(DISTINCT submission_id) FROM reports "
                                 "WHERE report_type = 'ordnance'")).one()
    eng.dispose()
    return n, d


if __name__ == "__main__":
    main()
