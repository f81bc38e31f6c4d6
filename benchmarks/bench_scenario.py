"""Benchmark of scenario generation and the operations twin.

Prints, each measured in a fresh subprocess so peak memory is its own:

1. the default region (~10,000 km², seed 0): generation time, peak resident memory
   (``resource.getrusage`` max RSS) and the time to write it to disk;
2. scaling: generation time at 1×, 4× and 10× area. To keep the run short this uses the default
   region scaled to 1,000, 4,000 and 10,000 km² (so 10× is the default region itself);
   ``--full`` scales the default region itself (10,000 / 40,000 / 100,000 km²);
3. the operations twin on the default region: NTS of every area in the first year, then
   clearance of every open area with the default fleet, run to a 10-year horizon.

Targets: default region <= 60 s and <= 4 GB; growth no worse than roughly linear.
"""

from __future__ import annotations

import json
import subprocess
import sys

GEN = r"""
import json, resource, sys, time, tempfile
from safeground.scenario import ScenarioConfig, generate
area = float(sys.argv[1]); write = sys.argv[2] == "1"
t0 = time.perf_counter()
sc = generate(ScenarioConfig(seed=0, area_km2=area))
t1 = time.perf_counter()
tw = None
if write:
    with tempfile.TemporaryDirectory() as d:
        sc.write(d)
    tw = time.perf_counter() - t1
print(json.dumps({"area_km2": sc.region.area_km2, "seconds": t1 - t0, "write_seconds": tw,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "items": len(sc.truth.items), "records": len(sc.book),
                  "areas": len(sc.areas)}))
"""

TWIN = r"""
import datetime as dt, json, resource, time
from collections import defaultdict
from safeground.scenario import ScenarioConfig, generate
from safeground.scenario.twin import OperationsTwin, WorkOrder
sc = generate(ScenarioConfig(seed=0))
t0 = time.perf_counter()
twin = OperationsTwin(sc, seed=0, start=dt.date(2021, 4, 1))
by = defaultdict(list)
for t in twin.teams:
    by[t.asset].append(t)
areas = sorted(twin.observable_areas(), key=lambda a: a.remaining_m2)
nts = [WorkOrder(by["nts"][i % len(by["nts"])].id, a.id, "nts", dt.date(2021, 4, 1))
       for i, a in enumerate(areas)]
n = len(twin.advance(nts, dt.date(2022, 4, 1)))
clearers = by["ts"] + by["manual"] + by["dog"] + by["machine"]
rest = [a for a in twin.observable_areas() if a.status != "closed"]
orders = []
for i, a in enumerate(rest):
    t = clearers[i % len(clearers)]
    orders.append(WorkOrder(t.id, a.id, "ts" if t.asset == "ts" else "clearance",
                            dt.date(2022, 4, 1)))
n += len(twin.advance(orders, dt.date(2031, 4, 1)))
m = twin.metrics()
print(json.dumps({"seconds": time.perf_counter() - t0, "records": n,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "released_km2": {k: round(v / 1e6, 1) for k, v in m.released_m2.items()},
                  "share_cleared_with_eo": round(m.share_cleared_with_eo, 4),
                  "killed": m.casualties.killed, "injured": m.casualties.injured,
                  "people_returned": m.people_returned.total,
                  "items_found": m.items_found, "items_remaining": m.items_remaining}))
"""


def _run(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True,
                         text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    full = "--full" in sys.argv
    d = _run(GEN, "10000", "1")
    print(f"default region: {d['area_km2']:,.0f} km², generated in {d['seconds']:.1f} s, "
          f"written in {d['write_seconds']:.1f} s, peak memory {d['peak_mb']:,.0f} MB, "
          f"{d['items']:,} items, {d['areas']:,} hazardous areas, {d['records']:,} reports "
          f"(targets: <= 60 s, <= 4,096 MB)")
    base = 10_000.0 if full else 1_000.0
    print(f"scaling (base {base:,.0f} km²{'' if full else '; default region scaled down'}):")
    first = None
    for k in (1, 4, 10):
        r = _run(GEN, str(base * k), "0")
        first = first or r["seconds"]
        print(f"  {k:>2}x  {r['area_km2']:>9,.0f} km²  {r['seconds']:6.1f} s  "
              f"({r['seconds'] / first:4.1f}x time)  peak {r['peak_mb']:,.0f} MB  "
              f"{r['items']:,} items")
    if "--no-twin" not in sys.argv:
        t = _run(TWIN)
        print(f"operations twin, default region, 10-year plan: {t['seconds']:.1f} s, "
              f"{t['records']:,} reports, peak {t['peak_mb']:,.0f} MB; released km² "
              f"{t['released_km2']}, cleared land holding EO {t['share_cleared_with_eo']:.1%}, "
              f"{t['killed']} killed / {t['injured']} injured, "
              f"{t['people_returned']:,} people returned")


if __name__ == "__main__":
    main()
