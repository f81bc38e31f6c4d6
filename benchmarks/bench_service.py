"""Service benchmark: many clients at once on the demo-size record, driven by locust.

The script builds the demo's record (the default scenario, seed 1: its report files taken in
through the gate and approved, as ``make demo`` does) on SQLite and on a throwaway PostGIS
server, serves each with ``safeground serve --workers N`` (its own processes), and drives it
with locust (headless) for ``--seconds`` with ``--users`` concurrent clients on a mixed
workload, each client waiting 0.2–0.6 s between requests:

* OGC API – Features pages of hazardous areas in a random bounding box (``limit=100``),
* ``/api/v1`` lists: hazardous areas (a page of 50 at a random offset) and approved reports,
* the dashboard page and ``/api/v1/status``.

Every client signs in with an API token (made once, before the run). For each backend and
worker count it prints requests/s, p50 / p95 / p99 (ms) and errors, overall and per kind of
request. Target: 0 errors, p95 <= 500 ms, >= 100 requests/s at 50 users.

locust is not a dependency of Safeground: the script makes a virtual environment of its own
for it in the temporary folder (``pip install locust==2.47.0``) unless ``--locust`` names a
locust program. locust runs on the same machine as the servers and takes CPU from them.

    .venv/bin/python benchmarks/bench_service.py [--workers 1,2] [--backend sqlite|postgis|both]
        [--users 50] [--seconds 60] [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

LOCUST = "locust==2.47.0"
USER, PASSWORD = "bench.analyst", "bench-password-1"

LOCUSTFILE = '''
import os
import random

from locust import HttpUser, between, task

TOKEN = os.environ["SG_BENCH_TOKEN"]
X0, Y0, X1, Y1 = (float(v) for v in os.environ["SG_BENCH_EXTENT"].split(","))
AREAS = int(os.environ["SG_BENCH_AREAS"])


class Client(HttpUser):
    wait_time = between(0.2, 0.6)

    def on_start(self):
        self.client.headers["Authorization"] = f"Bearer {TOKEN}"

    @task(4)
    def ogc_bbox(self):
        w, h = (X1 - X0) / 6, (Y1 - Y0) / 6
        x, y = random.uniform(X0, X1 - w), random.uniform(Y0, Y1 - h)
        self.client.get(f"/ogc/collections/hazardous_areas/items?bbox={x:.5f},{y:.5f},"
                        f"{x + w:.5f},{y + h:.5f}&limit=100", name="ogc items bbox")

    @task(2)
    def api_areas(self):
        offset = random.randrange(0, max(1, AREAS - 50))
        self.client.get(f"/api/v1/objects/hazardous_area?limit=50&offset={offset}",
                        name="api objects page")

    @task(1)
    def api_reports(self):
        self.client.get("/api/v1/reports?status=approved&limit=50", name="api reports")

    @task(1)
    def dashboard(self):
        self.client.get("/dashboard", headers={"Accept": "text/html"}, name="dashboard")

    @task(2)
    def status(self):
        self.client.get("/api/v1/status", name="api status")
'''


def build(url: str, files: list[Path]) -> tuple[int, float]:
    """The demo's record at ``url``: the files taken in and approved. (reports, seconds)"""
    from rich.console import Console

    from safeground.demo import take_in
    from safeground.record.ledger import Ledger
    from safeground.record.storage import Database
    from safeground.record.users import Users
    from safeground.record.vocabulary import ReportStatus
    from safeground.settings import Settings

    t = time.perf_counter()
    ledger = Ledger(Database.open(url), Settings(database_url=url))
    accepted, _ = take_in(ledger, files, "bench.officer", Console(quiet=True))
    pending = [r.id for r in ledger.reports(status=ReportStatus.SUBMITTED)]
    ledger.approve(pending, user="bench.chief")
    Users(ledger.db).add(USER, PASSWORD, ["analyst"], by="benchmark", direct=True)
    ledger.db.close()
    return accepted, time.perf_counter() - t


def scenario_files(folder: Path) -> list[Path]:
    from safeground.scenario import ScenarioConfig, generate

    reports = folder / "scenario" / "reports"
    if not reports.is_dir():
        generate(ScenarioConfig(seed=1)).write(folder / "scenario")
    return sorted(reports.glob("*.geojson"))


def facts(url: str) -> tuple[tuple[float, float, float, float], int]:
    """The hazardous areas' extent and count."""
    from safeground.record.ledger import Ledger
    from safeground.record.storage import Database
    from safeground.record.vocabulary import ReportType
    from safeground.settings import Settings

    ledger = Ledger(Database.open(url), Settings(database_url=url))
    extent = ledger.bounds(ReportType.HAZARDOUS_AREA)
    _, n = ledger.page(ReportType.HAZARDOUS_AREA, limit=1)
    ledger.db.close()
    assert extent is not None
    return extent, n


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def locust_program(given: str | None) -> str:
    if given:
        return given
    venv = Path(tempfile.gettempdir()) / "safeground-bench-locust"
    prog = venv / "bin" / "locust"
    if not prog.is_file():
        print(f"bench_service: installing {LOCUST} in {venv} (once)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", LOCUST], check=True)
    return str(prog)


class Server:
    def __init__(self, url: str, workers: int, log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "safeground.cli", "serve", "--db", url, "--host",
             "127.0.0.1", "--port", str(self.port), "--workers", str(workers),
             "--no-follow-approvals"], stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 240
        while True:
            try:
                if requests.get(f"{self.base}/healthz", timeout=10).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"bench_service: the server did not start (see {log})")
            time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()


def drive(locust: str, base: str, token: str, extent: tuple[float, ...], areas: int,
          users: int, seconds: int, out: Path) -> list[dict[str, str]]:
    """Run locust headless against ``base``; the rows of its statistics (CSV)."""
    lf = out / "locustfile.py"
    lf.write_text(LOCUSTFILE)
    env = {**os.environ, "SG_BENCH_TOKEN": token,
           "SG_BENCH_EXTENT": ",".join(f"{v:.6f}" for v in extent),
           "SG_BENCH_AREAS": str(areas)}
    prefix = out / "stats"
    with (out / "locust.log").open("wb") as log:
        subprocess.run([locust, "-f", str(lf), "--headless", "-u", str(users),
                        "-r", str(max(1, users // 5)), "-t", f"{seconds}s", "--host", base,
                        "--csv", str(prefix), "--only-summary", "--stop-timeout", "10"],
                       env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
    with open(f"{prefix}_stats.csv", newline="") as f:
        return list(csv.DictReader(f))


def show(label: str, rows: list[dict[str, str]]) -> dict[str, str]:
    total = next(r for r in rows if r["Name"] == "Aggregated")
    print(f"{label:28s} {float(total['Requests/s']):8.1f} req/s  p50 {total['50%']:>6} ms  "
          f"p95 {total['95%']:>6} ms  p99 {total['99%']:>6} ms  errors "
          f"{total['Failure Count']}/{total['Request Count']}", flush=True)
    for r in rows:
        if r["Name"] != "Aggregated":
            print(f"    {r['Name']:24s} {float(r['Requests/s']):8.1f} req/s  p50 "
                  f"{r['50%']:>6} ms  p95 {r['95%']:>6} ms  p99 {r['99%']:>6} ms  errors "
                  f"{r['Failure Count']}/{r['Request Count']}", flush=True)
    return total


def alone(base: str, token: str, extent: tuple[float, ...], areas: int, n: int = 20) -> None:
    """Each kind of request asked ``n`` times, one at a time: what one costs without load."""
    import random
    import statistics

    rnd = random.Random(7)
    x0, y0, x1, y1 = extent
    w, h = (x1 - x0) / 6, (y1 - y0) / 6

    def bbox() -> str:
        x, y = rnd.uniform(x0, x1 - w), rnd.uniform(y0, y1 - h)
        return (f"/ogc/collections/hazardous_areas/items?bbox={x:.5f},{y:.5f},{x + w:.5f},"
                f"{y + h:.5f}&limit=100")

    kinds = {"ogc items bbox": bbox,
             "api objects page": lambda: "/api/v1/objects/hazardous_area?limit=50&offset="
                                         f"{rnd.randrange(0, max(1, areas - 50))}",
             "api reports": lambda: "/api/v1/reports?status=approved&limit=50",
             "dashboard": lambda: "/dashboard", "api status": lambda: "/api/v1/status"}
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {token}", "Accept": "text/html",
                            "Accept-Encoding": "gzip"})
    parts = []
    for kind, path in kinds.items():
        took = []
        for _ in range(n):
            t = time.perf_counter()
            session.get(f"{base}{path()}", timeout=120).raise_for_status()
            took.append((time.perf_counter() - t) * 1000)
        parts.append(f"{kind} {statistics.median(took):.0f}")
    print(f"    one at a time, p50 ms: {', '.join(parts)}", flush=True)


def run_backend(name: str, url: str, files: list[Path], args: argparse.Namespace,
                locust: str, tmp: Path) -> None:
    tmp.mkdir(parents=True, exist_ok=True)
    n, took = build(url, files)
    extent, areas = facts(url)
    print(f"{name}: demo record built ({n:,} reports taken in and approved, {areas:,} "
          f"hazardous areas) in {took:.0f} s", flush=True)
    for workers in args.workers:
        server = Server(url, workers, tmp / f"serve-{name}-{workers}.log")
        try:
            r = requests.post(f"{server.base}/api/v1/auth/token",
                              json={"name": USER, "password": PASSWORD}, timeout=60)
            r.raise_for_status()
            token = r.json()["token"]
            for path in ("/api/v1/status", "/dashboard", "/ogc/collections/hazardous_areas/"
                         "items?limit=100", "/api/v1/objects/hazardous_area?limit=50"):
                requests.get(f"{server.base}{path}", headers={
                    "Authorization": f"Bearer {token}", "Accept": "text/html"}, timeout=120)
            if workers == args.workers[0]:
                alone(server.base, token, extent, areas)
            out = tmp / f"locust-{name}-{workers}"
            out.mkdir(exist_ok=True)
            rows = drive(locust, server.base, token, extent, areas, args.users, args.seconds,
                         out)
            show(f"{name}, {workers} worker{'s' if workers > 1 else ''}", rows)
        finally:
            server.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--backend", choices=["sqlite", "postgis", "both"], default="both")
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--locust", help="a locust program (default: installed in a virtual "
                    "environment of the benchmark's own)")
    ap.add_argument("--keep", type=Path, help="keep the scenario and logs in this folder")
    args = ap.parse_args()
    args.workers = [int(w) for w in args.workers.split(",")]
    locust = locust_program(args.locust)
    print(f"bench_service: {args.users} users for {args.seconds} s each, locust on the same "
          f"machine ({os.cpu_count()} CPUs)", flush=True)
    with tempfile.TemporaryDirectory(prefix="sg-bench-service-") as tmp_:
        tmp = args.keep or Path(tmp_)
        tmp.mkdir(parents=True, exist_ok=True)
        files = scenario_files(tmp)
        if args.backend in ("sqlite", "both"):
            db = tmp / "record.sqlite"
            for p in tmp.glob("record.sqlite*"):
                p.unlink()
            run_backend("sqlite", f"sqlite:///{db}", files, args, locust, tmp / "sqlite")
        if args.backend in ("postgis", "both"):
            from harness import postgis

            server = postgis.start()
            try:
                run_backend("postgis", server.create_database(), files, args, locust,
                            tmp / "postgis")
            finally:
                server.stop()


if __name__ == "__main__":
    main()
