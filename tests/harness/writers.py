"""Writer processes for the concurrency tests and ``benchmarks/bench_writers.py``.

Each command runs in a process of its own (``python tests/harness/writers.py COMMAND ...``) and
prints one JSON line with what it did; a traceback on standard error is a failure of the test
that started it.

    seed URL                      the organisation and activity the item rows link to
    import URL FILE CHUNK         import FILE in chunks of CHUNK records
    web URL SECONDS [PAUSE [STOP]]  every PAUSE s (0.3): submit one record as "clerk",
                                  approve the one before as "chief" and read the newest
                                  reports, timing each call, for SECONDS or until the file
                                  STOP exists
    approve URL USER GO ID...     wait for the file GO, then approve the ids
"""

from __future__ import annotations

import csv
import json
import random
import sys
import time
from pathlib import Path

BASE = {"date_of_information": "2024-01-01", "organisation": "ORG-1", "author": "seed"}
#: the organisation and activity the item rows link to
SEED = [
    {**BASE, "report_type": "organisation", "object_id": "ORG-1", "name": "Field NGO",
     "kind": "ngo"},
    {**BASE, "report_type": "activity", "object_id": "ACT-1", "activity_type": "clearance",
     "organisation_id": "ORG-1", "start_date": "2024-01-01", "status": "ongoing"},
]


def items_csv(path: Path, n: int, seed: int = 1) -> Path:
    """``n`` explosive-item rows linked to ACT-1 (each row's submission id: its text)."""
    rng = random.Random(seed)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["report_type", "object_id", "date_of_information", "organisation", "author",
                    "activity_id", "category", "model", "condition", "depth_cm", "disposal",
                    "quantity", "longitude", "latitude"])
        for i in range(n):
            w.writerow(["ordnance", f"EO-{i}", "2025-05-01", "ORG-1", "team 3", "ACT-1",
                        "AP_mine", "PMN-2", "armed", rng.randint(0, 20), "destroyed_in_situ", 1,
                        f"{46.5 + rng.random():.6f}", f"{39.6 + rng.random():.6f}"])
    return path


def _ledger(url: str):
    from safeground.record.ledger import Ledger
    from safeground.record.storage import Database
    from safeground.settings import Settings

    return Ledger(Database.open(url), Settings(database_url=url))


def seed(url: str) -> dict:
    led = _ledger(url)
    res = led.submit(SEED, user="seed")
    return {"approved": led.approve(res.accepted, user="approver").approved}


def do_import(url: str, path: str, chunk: str) -> dict:
    from safeground.intake.importer import import_path

    s = import_path(_ledger(url), path, "importer", progress=False, chunk=int(chunk),
                    reconcile=False)
    import resource

    return {"accepted": s.accepted, "already_imported": s.already_imported,
            "rejected": s.rejected, "resumes": s.resumes, "seconds": round(sum(
                s.timings.values()), 1),
            "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
            "incomplete": s.incomplete.to_dict() if s.incomplete else None}


def web(url: str, seconds: str, pause: str = "0.3", stop: str = "") -> dict:
    from safeground.errors import SafegroundError

    led = _ledger(url)
    tag = f"W{time.time_ns() % 10**9}"
    end = time.monotonic() + float(seconds)
    waiting: list[int] = []
    times: dict[str, list[float]] = {"submit": [], "approve": [], "read": []}
    errors: list[str] = []
    i = 0
    while time.monotonic() < end and not (stop and Path(stop).exists()):
        i += 1
        rec = {**BASE, "report_type": "organisation", "object_id": f"{tag}-{i}",
               "name": f"Org {i}", "kind": "ngo", "submission_id": f"{tag}/{i}"}
        for what, call in (("submit", lambda r=rec: led.submit([r], user="clerk")),
                           ("approve", lambda w=waiting: led.approve(w[-1:], user="chief")),
                           ("read", lambda: led.reports(limit=20))):
            t0 = time.perf_counter()
            try:
                out = call()
            except SafegroundError as exc:
                errors.append(exc.code)
                continue
            times[what].append(time.perf_counter() - t0)
            if what == "submit":
                waiting += out.accepted
        time.sleep(float(pause))
    return {"rounds": i, "errors": errors,
            **{f"max_{k}_s": round(max(v, default=0), 3) for k, v in times.items()},
            "approved": len(waiting)}


def approve(url: str, user: str, go: str, *ids: str) -> dict:
    led = _ledger(url)
    while not Path(go).exists():
        time.sleep(0.01)
    res = led.approve([int(i) for i in ids], user=user)
    return {"approved": res.approved, "already_decided": [r[0] for r in res.already_decided],
            "refused": [r[0] for r in res.refused], "not_found": res.not_found}


COMMANDS = {"seed": seed, "import": do_import, "web": web, "approve": approve}

if __name__ == "__main__":
    print(json.dumps(COMMANDS[sys.argv[1]](*sys.argv[2:])), flush=True)
