"""Hostile files: how fast and how cheaply a zip bomb is refused, and what the importer makes of
every malformed file the test generator writes.

    .venv/bin/python benchmarks/bench_hostile.py
    SG_BENCH_HOSTILE_FILES=0 .venv/bin/python benchmarks/bench_hostile.py   # the bombs only

1. Zip bombs, each ~1 MB on disk and never written out expanded: a member of 1 GiB of zeros
   (refused from its headers), the same member whose headers declare 1 kB (refused while
   reading, when the bytes pass the declared size), and one of 40 MiB (refused for its
   compression ratio). Each is imported into a fresh record in a child process of its own, which
   prints the seconds the import took and its peak memory (``ru_maxrss``), before and after.
   Targets: under 2 s and under 200 MB of memory for the refusal.
2. The malformed-file corpus of ``tests/intake/hostile.py`` (over 1,000 files, seeded): how
   many files each base format gave, and what became of them (refused whole, some rows refused,
   all taken in), with the most frequent codes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "intake"))

import hostile  # noqa: E402

TARGET_SECONDS = 2.0
TARGET_MB = 200.0

CHILD = r"""
import json, resource, sys, time
from safeground.intake.importer import import_path
from safeground.record.ledger import Ledger
from safeground.record.storage import Database
ledger = Ledger(Database.open("sqlite:///" + sys.argv[2]))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
start = time.perf_counter()
s = import_path(ledger, sys.argv[1], "bench", progress=False)
seconds = time.perf_counter() - start
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "rss_before_mb": before, "rss_peak_mb": after,
                  "code": s.file_problem.code if s.file_problem else None,
                  "message": s.file_problem.message if s.file_problem else None}))
"""


def bombs(tmp: Path) -> bool:
    ok = True
    cases = [("1 GiB member, honest headers", hostile.bomb_zip("nts.csv", 1024)),
             ("1 GiB member, headers say 1 kB", hostile.bomb_zip("nts.csv", 1024, 1024)),
             ("40 MiB member (ratio ~1000)", hostile.bomb_zip("nts.csv", 40))]
    print("zip bombs (each imported in a child process of its own)")
    print(f"{'bomb':34} {'on disk':>9} {'expands to':>11} {'seconds':>8} {'RSS before':>11} "
          f"{'peak RSS':>9} {'added':>7}  code")
    for i, (label, data) in enumerate(cases):
        path = tmp / f"bomb{i}.zip"
        path.write_bytes(data)
        mib = 1024 if "1 GiB" in label else 40
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        out = subprocess.run([sys.executable, "-c", CHILD, str(path), str(tmp / f"r{i}.sqlite")],
                             capture_output=True, text=True, env=env, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        added = r["rss_peak_mb"] - r["rss_before_mb"]
        print(f"{label:34} {len(data) / 1e6:7.2f} MB {mib:7,} MiB {r['seconds']:8.3f} "
              f"{r['rss_before_mb']:8.0f} MB {r['rss_peak_mb']:6.0f} MB {added:4.0f} MB  "
              f"{r['code']}")
        ok &= r["code"] is not None and r["seconds"] < TARGET_SECONDS and added < TARGET_MB
    print(f"targets: refused, < {TARGET_SECONDS:.0f} s, < {TARGET_MB:.0f} MB added: "
          f"{'met' if ok else 'NOT MET'}")
    return ok


def corpus(tmp: Path) -> None:
    from safeground.intake.importer import import_path
    from safeground.record.ledger import Ledger
    from safeground.record.storage import Database

    start = time.perf_counter()
    cases = hostile.generate(tmp / "hostile")
    made = time.perf_counter() - start
    ledger = Ledger(Database.open(f"sqlite:///{tmp}/corpus.sqlite"))
    org = {"report_type": "organisation", "object_id": "ORG-1", "organisation": "ORG-1",
           "date_of_information": "2020-01-01", "author": "registrar", "name": "Field NGO",
           "kind": "ngo"}
    ledger.approve(ledger.submit([org], user="registrar").accepted, user="approver")
    outcome: dict[str, Counter[str]] = defaultdict(Counter)
    codes: dict[str, Counter[str]] = defaultdict(Counter)
    slowest = (0.0, "")
    start = time.perf_counter()
    for c in cases:
        t = time.perf_counter()
        s = import_path(ledger, c.path, "bench", progress=False,
                        rejects_path=tmp / "rejects.csv")
        slowest = max(slowest, (time.perf_counter() - t, f"{c.base}: {c.mutation}"))
        kind = "refused whole" if s.file_problem else "rows refused" if s.rejected \
            else "taken in"
        outcome[c.base][kind] += 1
        codes[c.base].update(s.reasons)
    took = time.perf_counter() - start
    print(f"\nmalformed files: {len(cases):,} generated in {made:.1f} s, imported in {took:.1f} s "
          f"(slowest {slowest[0]:.2f} s: {slowest[1][:60]})")
    print(f"{'base format':15} {'files':>6} {'refused whole':>14} {'rows refused':>13} "
          f"{'taken in':>9}  most frequent codes")
    total: Counter[str] = Counter()
    for base in sorted(outcome):
        o = outcome[base]
        total.update(o)
        top = ", ".join(f"{k} {v}" for k, v in codes[base].most_common(4))
        print(f"{base:15} {sum(o.values()):6} {o['refused whole']:14} {o['rows refused']:13} "
              f"{o['taken in']:9}  {top}")
    print(f"{'all':15} {sum(total.values()):6} {total['refused whole']:14} "
          f"{total['rows refused']:13} {total['taken in']:9}")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="sg-bench-hostile-") as tmp:
        ok = bombs(Path(tmp))
        if os.environ.get("SG_BENCH_HOSTILE_FILES", "1") != "0":
            corpus(Path(tmp))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
