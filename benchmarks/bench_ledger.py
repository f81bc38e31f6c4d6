"""Ledger benchmark: apply 100,000 approved reports — hazardous areas, NTS and TS
activities, and cancelled / reduced release products with polygon arithmetic — then time
``as_of`` for single areas. Targets: apply <= 60 s and peak memory <= 2 GB on SQLite (2 cores);
as_of <= 10 ms. Runs on SQLite and on a throwaway PostGIS (tests/harness) and prints figures.

    .venv/bin/python benchmarks/bench_ledger.py [--reports 100000] [--backend sqlite|postgis|both]

``--gate N`` instead times the gate alone: N explosive-item rows (text values and a
Point, as the CSV intake gives them; one organisation and one activity beforehand) through
``Ledger.submit`` in the intake's chunks (at most 5 calls), then 10,000 NTS-like polygon reports
(surveyed hazardous areas). Target: 1,000,000 item rows <= 60 s.

    .venv/bin/python benchmarks/bench_ledger.py --gate 1000000 [--polygons 10000]

``--scale 100000,200000,500000`` instead times ``as_of`` of one area as the record grows: a
record of 20,000 approved reports is applied through the ledger, then its approved report rows
are copied (under other object ids) until the table holds each size in turn, and as_of of 200
of the original areas is timed at each. Target: <= 5 ms at 500,000 reports and flat from
100,000 (the look-up goes by the object's and area's indexes, not by status).

    .venv/bin/python benchmarks/bench_ledger.py --scale 100000,200000,500000 [--backend ...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import box

from safeground.record.ledger import Ledger
from safeground.record.storage import Database
from safeground.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def programme(n_areas: int) -> list[dict]:
    """Five reports per area: the area, NTS + cancellation, TS + reduction."""
    recs: list[dict] = [{"report_type": "organisation", "object_id": "ORG-1",
                         "date_of_information": "2021-01-01", "organisation": "ANAMA",
                         "author": "bench", "name": "ANAMA", "kind": "national_authority"}]
    side = int(n_areas ** 0.5) + 1
    d = 0.0015  # ~130 m x 170 m areas on a 0.002° grid
    for i in range(n_areas):
        x0, y0 = 45.5 + (i % side) * 0.002, 39.0 + (i // side) * 0.002
        hid = f"HA-{i:06d}"

        def r(rtype, oid, date, geom=None, **kw):
            rec = {"report_type": rtype, "object_id": oid, "date_of_information": date,
                   "organisation": "ANAMA", "author": "bench", **kw}
            if geom is not None:
                rec["geometry"] = geom
            return rec

        recs += [
            r("hazardous_area", hid, "2021-01-10", box(x0, y0, x0 + d, y0 + d),
              classification="SHA", contamination=["AP"]),
            r("activity", f"NTS-{i:06d}", "2021-02-01", activity_type="nts",
              organisation_id="ORG-1", hazardous_area_id=hid, start_date="2021-02-01",
              status="completed"),
            r("land_release", f"LC-{i:06d}", "2021-02-01", box(x0, y0, x0 + d * 0.3, y0 + d),
              activity_id=f"NTS-{i:06d}", hazardous_area_id=hid, release="cancelled",
              method="nts"),
            r("activity", f"TS-{i:06d}", "2021-03-01", activity_type="ts",
              organisation_id="ORG-1", hazardous_area_id=hid, start_date="2021-03-01",
              status="completed"),
            r("land_release", f"LR-{i:06d}", "2021-03-02",
              box(x0 + d * 0.3, y0, x0 + d * 0.7, y0 + d * 0.9), activity_id=f"TS-{i:06d}",
              hazardous_area_id=hid, release="reduced", method="ts"),
        ]
    return recs


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(url: str, n_reports: int, label: str) -> None:
    n_areas = max(1, (n_reports - 1) // 5)
    recs = programme(n_areas)
    ledger = Ledger(Database.open(url), Settings(database_url=url))
    t0 = time.perf_counter()
    res = ledger.submit(recs, user="officer")
    t1 = time.perf_counter()
    out = ledger.approve(res.accepted, user="chief")
    t2 = time.perf_counter()
    assert not res.rejected and not out.refused, (res.rejected[:3], out.refused[:3])
    n = len(out.approved)
    ids = [f"HA-{i:06d}" for i in range(0, n_areas, max(1, n_areas // 200))]
    times = []
    for hid in ids:
        s = time.perf_counter()
        ledger.get("hazardous_area", hid, as_of=dt.date(2021, 2, 15))
        times.append((time.perf_counter() - s) * 1000)
    area = ledger.get("hazardous_area", ids[0])
    gap = area["original_m2"] - area["cancelled_m2"] - area["reduced_m2"] - area["remaining_m2"]
    print(f"[{label}] reports approved: {n:,} ({n_areas:,} areas, "
          f"{2 * n_areas:,} release products)")
    print(f"[{label}] submit (gate checks): {t1 - t0:6.1f} s  ({n / (t1 - t0):,.0f} reports/s)")
    print(f"[{label}] approve + apply:      {t2 - t1:6.1f} s  ({n / (t2 - t1):,.0f} reports/s)"
          "   target <= 60 s")
    print(f"[{label}] as_of one area: median {statistics.median(times):.2f} ms, "
          f"p95 {sorted(times)[int(0.95 * len(times)) - 1]:.2f} ms over {len(times)} areas"
          "   target <= 10 ms")
    print(f"[{label}] conservation gap of a sample area: {gap:.2e} m²")
    print(f"[{label}] peak memory (process max RSS): {peak_mb():,.0f} MB   target <= 2,048 MB")
    ledger.db.close()


def _sha1(i: int) -> str:
    """A submission id in random order, as the CSV intake makes them from a row's text."""
    return hashlib.sha1(str(i).encode(), usedforsecurity=False).hexdigest()[:20]


def items(n: int) -> list[dict]:
    """Explosive-item rows as ``intake.geodata`` reads them from a CSV with coordinates."""
    xs = 46.5 + np.random.default_rng(1).random(n)
    ys = 39.6 + np.random.default_rng(2).random(n)
    pts = shapely.points(xs, ys).tolist()
    return [{"report_type": "ordnance", "object_id": f"EO-{i}",
             "date_of_information": "2025-05-01", "organisation": "ORG-1", "author": "team 3",
             "activity_id": "ACT-1", "category": "AP_mine", "model": "PMN-2",
             "condition": "armed", "depth_cm": str(i % 21), "disposal": "destroyed_in_situ",
             "quantity": "1", "submission_id": f"row:{_sha1(i)}",
             "_where": f"items.csv row {i + 2}", "geometry": pts[i]} for i in range(n)]


def nts_areas(n: int) -> list[dict]:
    """NTS-like polygon reports: surveyed hazardous areas walked with a GPS (24 vertices)."""
    side = int(n ** 0.5) + 1
    out = []
    for i in range(n):
        x0, y0 = 45.5 + (i % side) * 0.002, 39.0 + (i // side) * 0.002
        ring = [(x0 + 0.0007 + 0.0006 * np.cos(a), y0 + 0.0007 + 0.0006 * np.sin(a))
                for a in np.linspace(0, 2 * np.pi, 24, endpoint=False)]
        out.append({"report_type": "hazardous_area", "object_id": f"HA-{i:06d}",
                    "date_of_information": "2025-05-01", "organisation": "ORG-1",
                    "author": "nts", "classification": "SHA", "contamination": "AP AT",
                    "beneficiaries": "120", "land_use": "farmland",
                    "submission_id": f"nts:{i}", "_where": f"nts.zip row {i + 2}",
                    "geometry": shapely.Polygon(ring)})
    return out


def gate(n_items: int, n_polygons: int, tmp: str) -> None:
    url = f"sqlite:///{tmp}/gate.sqlite"
    ledger = Ledger(Database.open(url), Settings(database_url=url))
    base = {"date_of_information": "2024-01-01", "organisation": "ORG-1", "author": "bench"}
    res = ledger.submit([
        {**base, "report_type": "organisation", "object_id": "ORG-1", "name": "Bench NGO",
         "kind": "ngo"},
        {**base, "report_type": "activity", "object_id": "ACT-1", "activity_type": "clearance",
         "organisation_id": "ORG-1", "start_date": "2024-01-01", "status": "ongoing"}],
        user="bench")
    ledger.approve(res.accepted, user="approver")
    for label, recs in (("item rows", items(n_items)), ("NTS polygons", nts_areas(n_polygons))):
        size = max(20_000, -(-len(recs) // 5))  # as intake.importer: at most 5 calls
        t0 = time.perf_counter()
        accepted = rejected = 0
        for i in range(0, len(recs), size):
            out = ledger.submit(recs[i:i + size], user="bench", source="bench")
            accepted += len(out.accepted)
            rejected += len(out.rejected)
        secs = time.perf_counter() - t0
        assert rejected == 0 and accepted == len(recs), (accepted, rejected)
        print(f"[gate] {len(recs):,} {label}: {secs:6.1f} s  ({len(recs) / secs:,.0f} records/s)"
              f"  in {-(-len(recs) // size)} submit calls")
        del recs
    print(f"[gate] peak memory (process max RSS): {peak_mb():,.0f} MB;  "
          f"load average {os.getloadavg()[0]:.1f} (1 min) on {os.cpu_count()} cores")
    ledger.db.close()


def _grow(ledger: Ledger, target: int, base: int) -> int:
    """Copy the first ``base`` report rows under new object ids until there are ``target``."""
    from sqlalchemy import func, insert, literal, select

    from safeground.record.storage.schema import reports

    cols = [c for c in reports.c if c.name != "id"]
    with ledger.db.write() as conn:
        have = conn.execute(select(func.count()).select_from(reports)).scalar_one()
        top = conn.execute(select(func.max(reports.c.seq))).scalar() or 0
        copy = have // base
        while have < target:
            n = min(base, target - have)
            tag = f"~{copy}"
            src = select(*[
                (c.concat(literal(tag)) if c.name in ("object_id", "area_id") else
                 c + literal(top * copy) if c.name == "seq" else c).label(c.name)
                for c in cols]).where(reports.c.id <= n).order_by(reports.c.id)
            conn.execute(insert(reports).from_select([c.name for c in cols], src))
            have += n
            copy += 1
    return have


def scale(url: str, sizes: list[int], label: str) -> None:
    base = 20_000
    n_areas = (base - 1) // 5
    ledger = Ledger(Database.open(url), Settings(database_url=url))
    res = ledger.submit(programme(n_areas), user="officer")
    out = ledger.approve(res.accepted, user="chief")
    assert not res.rejected and not out.refused
    ids = [f"HA-{i:06d}" for i in range(0, n_areas, max(1, n_areas // 200))]
    first = {hid: ledger.get("hazardous_area", hid, as_of=dt.date(2021, 2, 15)) for hid in ids}
    for size in sizes:
        have = _grow(ledger, size, base)
        times = []
        for hid in ids:
            s = time.perf_counter()
            got = ledger.get("hazardous_area", hid, as_of=dt.date(2021, 2, 15))
            times.append((time.perf_counter() - s) * 1000)
            assert got == first[hid], hid       # the copies change nothing about the area
        print(f"[{label}] {have:>9,} reports: as_of one area median "
              f"{statistics.median(times):.2f} ms, p95 "
              f"{sorted(times)[int(0.95 * len(times)) - 1]:.2f} ms over {len(times)} areas"
              "   target <= 5 ms")
    ledger.db.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reports", type=int, default=100_000)
    ap.add_argument("--backend", choices=["sqlite", "postgis", "both"], default="both")
    ap.add_argument("--gate", type=int, default=0, metavar="N",
                    help="time the gate alone: N item rows, then --polygons NTS polygons")
    ap.add_argument("--polygons", type=int, default=10_000)
    ap.add_argument("--scale", default="", metavar="N,N,...",
                    help="time as_of of one area at these numbers of reports")
    args = ap.parse_args()
    sizes = sorted(int(x) for x in args.scale.split(",") if x.strip())

    def one(url: str, label: str) -> None:
        if sizes:
            scale(url, sizes, label)
        else:
            run(url, args.reports, label)

    with tempfile.TemporaryDirectory() as tmp:
        if args.gate:
            gate(args.gate, args.polygons, tmp)
            return
        if args.backend in ("sqlite", "both"):
            one(f"sqlite:///{tmp}/bench.sqlite", "sqlite")
        if args.backend in ("postgis", "both"):
            from harness import postgis

            server = postgis.start()
            try:
                one(server.create_database("bench"), "postgis")
            finally:
                postgis.stop(server)


if __name__ == "__main__":
    main()
