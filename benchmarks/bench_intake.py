"""Intake throughput: explosive-item rows and NTS submissions with polygons.

    .venv/bin/python benchmarks/bench_intake.py            # the reference sizes
    SG_BENCH_ITEMS=100000 SG_BENCH_NTS=2000 .venv/bin/python benchmarks/bench_intake.py

Targets on the project machine: 1,000,000 item rows (a CSV with coordinates) in <= 60 s and
10,000 NTS submissions (ODK Central CSV zip: area polygon, activity, evidence and informant
repeats, 5 reports each) in <= 60 s, end to end: read, convert, gate and store (Ledger.submit),
reconcile. Prints each stage's seconds so the slow one is plain. Smaller runs print the rate
and the time the full size would take at that rate.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from safeground.intake import field_exports as fx
from safeground.intake import samples
from safeground.intake.importer import import_path
from safeground.record.ledger import Ledger
from safeground.record.storage import Database

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "harness"))
from writers import SEED, items_csv

ITEMS_TARGET = (1_000_000, 60.0)
NTS_TARGET = (10_000, 60.0)


def _ledger(tmp: Path) -> Ledger:
    led = Ledger(Database.open(f"sqlite:///{tmp}/bench.sqlite"))
    res = led.submit(SEED, user="bench")
    led.approve(res.accepted, user="approver")
    return led


def _report(name: str, n: int, unit: str, summary, seconds: float,
            target: tuple[int, float]) -> bool:
    full, limit = target
    rate = n / seconds if seconds else float("inf")
    at_full = full / rate
    ok = at_full <= limit
    stages = ", ".join(f"{k} {v:.1f}s" for k, v in summary.timings.items())
    print(f"{name}: {n:,} {unit} in {seconds:.1f} s ({rate:,.0f}/s; {stages}); "
          f"accepted {summary.accepted:,}, review {summary.needs_review:,}, "
          f"rejected {summary.rejected:,}")
    scale = "" if n == full else f" (extrapolated from {n:,})"
    print(f"  {full:,} {unit} would take {at_full:.1f} s{scale}; target <= {limit:.0f} s: "
          f"{'PASS' if ok else 'FAIL'}")
    return ok


def main() -> int:
    n_items = int(os.environ.get("SG_BENCH_ITEMS", ITEMS_TARGET[0]))
    n_nts = int(os.environ.get("SG_BENCH_NTS", NTS_TARGET[0]))
    ok = True
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        ledger = _ledger(tmp)
        path = items_csv(tmp / "items.csv", n_items)
        t = time.perf_counter()
        s = import_path(ledger, path, "bench", progress=False)
        ok &= _report("explosive items (CSV)", n_items, "rows", s, time.perf_counter() - t,
                      ITEMS_TARGET)

        ledger = _ledger(tmp / "nts")
        subs = [samples.nts(i, seed=3) for i in range(n_nts)]
        path = fx.odk_csv_zip(subs, tmp / "sg_nts.zip")
        t = time.perf_counter()
        s = import_path(ledger, path, "bench", progress=False)
        ok &= _report("NTS submissions (ODK Central CSV zip)", n_nts, "submissions", s,
                      time.perf_counter() - t, NTS_TARGET)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
