"""Backup benchmark: a record of N hazardous areas (five approved reports each, as in
bench_ledger.py), then ``backup`` and ``restore`` (with its check) timed, and the archive's
size printed. Runs on SQLite and on a throwaway PostGIS (tests/harness).

    .venv/bin/python benchmarks/bench_backup.py [--areas 4000] [--backend sqlite|postgis|both]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from bench_ledger import programme

from safeground.record import backup as bk
from safeground.record.ledger import Ledger
from safeground.record.storage import Database
from safeground.settings import Settings


def run(url: str, target: str, areas: int, tmp: Path) -> None:
    db = Database.open(url)
    ledger = Ledger(db, Settings(database_url=url))
    recs = programme(areas)
    res = ledger.submit(recs, user="officer", source="bench")
    ledger.approve(res.accepted, user="approver")
    archive = tmp / f"{db.dialect}.tar.gz"
    t0 = time.perf_counter()
    manifest = bk.backup(db, archive).manifest
    t1 = time.perf_counter()
    bk.restore(target, archive)
    t2 = time.perf_counter()
    db.close()
    print(f"{db.dialect:10s} {manifest['counts']['reports']:>8,} reports  backup "
          f"{t1 - t0:6.2f} s  restore+check {t2 - t1:6.2f} s  archive "
          f"{archive.stat().st_size / 1e6:7.1f} MB")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--areas", type=int, default=4000)
    ap.add_argument("--backend", choices=["sqlite", "postgis", "both"], default="both")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        if args.backend in ("sqlite", "both"):
            run(f"sqlite:///{tmp}/a.sqlite", f"sqlite:///{tmp}/b.sqlite", args.areas, tmp)
        if args.backend in ("postgis", "both"):
            from harness import postgis

            server = postgis.start()
            try:
                run(server.create_database(), server.create_database(), args.areas, tmp)
            finally:
                server.stop()


if __name__ == "__main__":
    main()
