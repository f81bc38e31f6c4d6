"""National volume: a record of 100,000 hazardous areas and 2,000,000 explosive items (about
4,500,000 reports), built by a generator (nothing committed), on SQLite and on PostGIS.

    .venv/bin/python benchmarks/bench_national.py [--scale 1.0] [--backend sqlite|postgis|both]
    .venv/bin/python benchmarks/bench_national.py --items 1000000 [--backend sqlite]

The record is taken in as a national centre receives it, each part imported then approved:

1. **areas** — per hazardous area (polygons on a grid): the area, an NTS activity and its
   cancellation, a technical survey and its reduction (5 reports; ``bench_ledger.programme``);
2. **items** — the explosive items found by the surveys, as an operator's CSV (one row per
   item) through the file import (``import_path``), then ``approve_all``;
3. **disposals** — a later report about each item (its disposal, in a return dated after
   every find), imported and approved: an update of an object already in the record, so
   every one goes through the fold, report by report.

Then it times the programme status, ``as_of`` of one area and a bbox page of up to 100 areas,
and prints each part's seconds (wall and CPU) and the process's peak memory (target: under
4 GB). Each backend runs in a child process of its own, so each peak is its own.

``--items N`` times the national volume's largest step alone: N explosive-item rows imported
and approved (target for 1,000,000: approve <= 60 s and <= 2 GB), beside a plain pandas +
sqlite3 insert of the same rows as report and object rows with the same indexes (target:
import + approve within 5x of it).

``--scale`` multiplies every size (0.01: 1,000 areas and 20,000 items). On a shared machine
wall time follows the load; the CPU seconds printed beside it do not.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

AREAS, ITEMS = 100_000, 2_000_000
GRID = 0.002  # degrees between areas (bench_ledger.programme)


def peak_mb() -> float:
    """This process's peak resident memory (``VmHWM``: unlike ``ru_maxrss``, not carried over
    from the process that started it)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Clock:
    """Wall and CPU seconds of a step, printed as it ends."""

    def __init__(self, label: str) -> None:
        self.label = label

    def __call__(self, step: str, extra: str = "") -> Clock:
        self.step, self.extra = step, extra
        return self

    def __enter__(self) -> Clock:
        self.t, self.c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.t
        self.cpu = time.process_time() - self.c
        print(f"[{self.label}] {self.step:<28} {self.wall:8.1f} s wall {self.cpu:8.1f} s CPU"
              f"  {self.extra}  (peak {peak_mb():,.0f} MB)", flush=True)


def items_csv(path: Path, n: int, n_areas: int, start: int = 0, *,
              disposal: bool = False) -> Path:
    """Explosive items found by the technical surveys of ``bench_ledger.programme``'s areas:
    each inside its area, dated after the survey. ``disposal``: a later row about each item."""
    side = int(n_areas ** 0.5) + 1
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["report_type", "object_id", "date_of_information", "organisation",
                    "author", "activity_id", "category", "model", "condition", "depth_cm",
                    "disposal", "quantity", "longitude", "latitude"])
        for k in range(start, start + n):
            a = k % n_areas
            x0, y0 = 45.5 + (a % side) * GRID, 39.0 + (a // side) * GRID
            f = (k // n_areas) % 97 / 97
            day = dt.date(2021, 4, 1) + dt.timedelta(days=(k * 7919) % 900)
            if disposal:  # a year-end disposal return, after every find
                day = dt.date(2024, 1, 1) + dt.timedelta(days=k % 300)
            w.writerow(["ordnance", f"EO-{k:08d}", day.isoformat(), "ANAMA", "team",
                        f"TS-{a:06d}", "AP_mine", "PMN-2",
                        "armed", k % 21,
                        "destroyed_in_situ" if disposal else "not_disposed", 1,
                        f"{x0 + 0.0002 + f * 0.001:.6f}", f"{y0 + 0.0002 + f * 0.0012:.6f}"])
    return path


def national(url: str, label: str, scale: float, tmp: Path) -> None:
    from bench_ledger import programme

    from safeground.intake.importer import import_path
    from safeground.record.ledger import Ledger
    from safeground.record.storage import Database
    from safeground.record.summary import status
    from safeground.settings import Settings

    n_areas = max(4, int(AREAS * scale))
    n_items = max(4, int(ITEMS * scale))
    clock = Clock(label)
    ledger = Ledger(Database.open(url), Settings(database_url=url))
    print(f"[{label}] {n_areas:,} hazardous areas, {n_items:,} explosive items, "
          f"{1 + 5 * n_areas + 2 * n_items:,} reports", flush=True)
    total_import = total_approve = 0.0
    recs = programme(n_areas)
    with clock("import areas", f"{len(recs):,} reports"):
        accepted = 0
        for i in range(0, len(recs), 100_000):
            accepted += len(ledger.submit(recs[i:i + 100_000], user="officer").accepted)
    total_import += clock.wall
    del recs
    with clock("approve areas"):
        out = ledger.approve_all("chief")
    total_approve += clock.wall
    assert not out.refused, out.refused[:3]
    for part, disposal in (("items", False), ("disposals", True)):
        step = 500_000
        for start in range(0, n_items, step):
            n = min(step, n_items - start)
            path = items_csv(tmp / f"{part}-{start}.csv", n, n_areas, start, disposal=disposal)
            with clock(f"import {part} {start // step + 1}", f"{n:,} rows"):
                s = import_path(ledger, path, "officer", progress=False)
            total_import += clock.wall
            assert s.accepted == n, (s.accepted, s.rejected, s.needs_review)
            path.unlink()
        with clock(f"approve {part}", f"{n_items:,} reports"):
            out = ledger.approve_all("chief")
        total_approve += clock.wall
        assert not out.refused and len(out.approved) == n_items, out.refused[:3]
    print(f"[{label}] import {total_import:,.1f} s + approve {total_approve:,.1f} s in all")
    with clock("status"):
        summary = status(ledger)
    print(f"[{label}] status: {summary.items} items, open {summary.areas_open}")
    side = int(n_areas ** 0.5) + 1
    ids = [f"HA-{i:06d}" for i in range(0, n_areas, max(1, n_areas // 100))]
    times = []
    for hid in ids:
        t = time.perf_counter()
        ledger.get("hazardous_area", hid, as_of=dt.date(2022, 6, 1))
        times.append((time.perf_counter() - t) * 1000)
    print(f"[{label}] as_of of one area: median {statistics.median(times):.1f} ms, "
          f"max {max(times):.1f} ms over {len(times)} areas")
    times, found = [], 0
    for k in range(20):  # a box of about 10 x 10 areas somewhere on the grid
        x = 45.5 + (k * 37 % max(1, side - 10)) * GRID
        y = 39.0 + (k * 53 % max(1, n_areas // side - 10 or 1)) * GRID
        t = time.perf_counter()
        page, _matched = ledger.page("hazardous_area", bbox=(x, y, x + 10 * GRID,
                                                            y + 10 * GRID), limit=100)
        times.append((time.perf_counter() - t) * 1000)
        found += len(page)
    print(f"[{label}] bbox page of up to 100 areas: median {statistics.median(times):.1f} ms, "
          f"max {max(times):.1f} ms over {len(times)} boxes ({found / len(times):.0f} areas)")
    print(f"[{label}] peak memory (process max RSS): {peak_mb():,.0f} MB   target < 4,096 MB")
    ledger.db.close()


def items_only(url: str, label: str, n: int, tmp: Path) -> None:
    """N item rows imported and approved, beside pandas + sqlite3 storing the same rows."""
    from bench_ledger import programme

    from safeground.intake.importer import import_path
    from safeground.record.ledger import Ledger
    from safeground.record.storage import Database
    from safeground.settings import Settings

    n_areas = 1000
    clock = Clock(label)
    ledger = Ledger(Database.open(url), Settings(database_url=url))
    ledger.approve(ledger.submit(programme(n_areas), user="officer").accepted, "chief")
    path = items_csv(tmp / "items.csv", n, n_areas)
    with clock("import items", f"{n:,} rows"):
        s = import_path(ledger, path, "officer", progress=False)
    imported = clock.wall
    assert s.accepted == n
    ledger.db.close()
    # approved by a process of its own, as ``safeground approve --all`` is: its own peak memory
    done = subprocess.run([sys.executable, __file__, "--approve-all", url, "--child", label,
                           "--expect", str(n)], check=True, capture_output=True, text=True)
    lines = done.stdout.splitlines()
    print("\n".join(line for line in lines if not line.startswith("wall=")), flush=True)
    approved = float(lines[-1].removeprefix("wall="))
    if label == "sqlite":
        base = plain_insert(path, tmp / "plain.sqlite")
        print(f"[{label}] import + approve {imported + approved:.1f} s = "
              f"{(imported + approved) / base:.1f}x the plain insert   target <= 5x")


def plain_insert(path: Path, db: Path) -> float:
    """pandas reads the CSV and sqlite3 stores it as report rows and object rows in the same
    tables with the same indexes (the schema Safeground creates), nothing checked."""
    import sqlite3

    import pandas as pd
    import shapely

    from safeground.record.storage import Database

    Database.open(f"sqlite:///{db}").close()
    t = time.perf_counter()
    df = pd.read_csv(path, dtype={"depth_cm": "Int64", "quantity": "Int64"})
    wkb = shapely.to_wkb(shapely.points(df["longitude"].to_numpy(),
                                        df["latitude"].to_numpy())).tolist()
    fields = ["activity_id", "category", "model", "condition", "depth_cm", "disposal",
              "quantity"]
    payload = df[fields].to_json(orient="records", lines=True).splitlines()
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")
    n = len(df)
    reports = pd.DataFrame({
        "id": range(1, n + 1), "report_type": df["report_type"], "object_id": df["object_id"],
        "area_id": None, "organisation": df["organisation"], "author": df["author"],
        "date_of_information": df["date_of_information"], "payload": payload,
        "geometry": wkb, "status": "approved", "submitted_by": "officer", "submitted_at": now,
        "decided_by": "chief", "decided_at": now, "seq": range(1, n + 1), "problems": "[]",
        "source": path.name, "content_hash": [f"{i:064x}" for i in range(n)]})
    objects = df[["object_id", *fields]].rename(columns={"object_id": "id"})
    objects["geometry"] = wkb
    objects["organisation"] = df["organisation"]
    objects["first_date"] = objects["last_date"] = df["date_of_information"]
    objects["last_report_id"] = range(1, n + 1)
    with sqlite3.connect(db) as conn:
        reports.to_sql("reports", conn, if_exists="append", index=False, chunksize=100_000)
        objects.to_sql("ordnance", conn, if_exists="append", index=False, chunksize=100_000)
    seconds = time.perf_counter() - t
    print(f"[sqlite] plain pandas + sqlite3 insert of the same {n:,} rows (reports and "
          f"objects, same indexes): {seconds:.1f} s", flush=True)
    return seconds


def approve_all(url: str, label: str, n: int) -> None:
    from safeground.record.ledger import Ledger
    from safeground.record.storage import Database
    from safeground.settings import Settings

    ledger = Ledger(Database.open(url), Settings(database_url=url))
    clock = Clock(label)
    with clock("approve --all", f"{n:,} reports   target <= 60 s and <= 2,048 MB (1,000,000)"):
        out = ledger.approve_all("chief")
    assert len(out.approved) == n and not out.refused
    ledger.db.close()
    print(f"wall={clock.wall}")


def child(args: argparse.Namespace, backend: str) -> None:
    if args.approve_all:
        approve_all(args.approve_all, backend, args.expect)
        return
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        server = None
        if backend == "postgis":
            from harness import postgis

            server = postgis.start()
            url = server.create_database("bench")
        else:
            url = f"sqlite:///{tmp}/national.sqlite"
        try:
            if args.items:
                items_only(url, backend, args.items, tmp)
            else:
                national(url, backend, args.scale, tmp)
        finally:
            if server is not None:
                postgis.stop(server)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=1.0,
                    help="fraction of the national sizes (100,000 areas, 2,000,000 items)")
    ap.add_argument("--items", type=int, default=0, metavar="N",
                    help="time N item rows imported and approved, and the plain insert")
    ap.add_argument("--backend", choices=["sqlite", "postgis", "both"], default="both")
    ap.add_argument("--child", choices=["sqlite", "postgis"], help=argparse.SUPPRESS)
    ap.add_argument("--approve-all", help=argparse.SUPPRESS)
    ap.add_argument("--expect", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args, args.child)
        return
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
          flush=True)
    backends = ["sqlite", "postgis"] if args.backend == "both" else [args.backend]
    for backend in backends:  # one process each: each peak memory its own
        subprocess.run([sys.executable, __file__, *sys.argv[1:], "--child", backend],
                       check=True)
    print(json.dumps({"load_average_at_end": round(os.getloadavg()[0], 1)}))


if __name__ == "__main__":
    main()
