"""OGC API – Features benchmark: Safeground beside pygeoapi on the same hazardous areas.

For each size (1,000, 10,000 and 100,000 hazardous areas by default) the script builds a
record (synthetic area reports submitted and approved through the Ledger in bulk, on SQLite),
exports its areas to a GeoPackage, serves the record with ``safeground serve`` (uvicorn, its
own process) and the GeoPackage with pygeoapi (its SQLite/GeoPackage provider, Flask, its
own process), then asks both for the same bbox pages of up to 100 areas
(``/collections/hazardous_areas/items?bbox=...&limit=100``; boxes drawn at random, sized to
hold about 150 areas whatever the size) and prints p50 / p95 of each and their ratio. At
10,000 areas it also times a full read of the collection by GDAL's OAPIF driver
(``pyogrio.read_dataframe("OAPIF:...")``, default options) from each server.

Safeground's pages are asked with an API token (``Authorization: Bearer``): HTTP Basic
verifies the password (scrypt) on every request, a cost that is the same at every size. GDAL
signs in with HTTP Basic (``GDAL_HTTP_AUTH``), as QGIS users do. The two servers are asked in
turn, box by box, so that the load of a shared machine weighs on both alike.

pygeoapi is not a dependency of Safeground. Give the Python of an environment that has it
(``--pygeoapi-python``; pygeoapi 0.24 needs Python 3.12, 0.21 runs on 3.11) or install it
beside the benchmark; its GeoPackage provider needs SQLite's SpatiaLite module
(``mod_spatialite``). Without either, pygeoapi is skipped with a message.

    .venv/bin/python benchmarks/bench_ogc.py [--sizes 1000,10000,100000] [--pages 200]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REGION = (45.0, 38.5, 50.0, 41.9)            # lon/lat box the areas are spread over
PER_BOX = 150                                # areas a benchmark box holds on average


def records(n: int, seed: int = 1) -> list[dict]:
    from shapely.geometry import Polygon, box

    rnd = random.Random(seed)
    x0, y0, x1, y1 = REGION
    out = [{"report_type": "organisation", "object_id": "ORG-1", "date_of_information":
            "2020-01-01", "organisation": "ANAMA", "author": "bench", "name": "ANAMA",
            "kind": "national_authority"}]
    for i in range(n):
        x, y = rnd.uniform(x0, x1), rnd.uniform(y0, y1)
        w, h = rnd.uniform(0.002, 0.02), rnd.uniform(0.002, 0.02)
        geom = box(x, y, x + w, y + h) if i % 2 else Polygon(
            [(x, y), (x + w, y + h / 3), (x + w / 2, y + h), (x - w / 4, y + h / 2)])
        out.append({"report_type": "hazardous_area", "object_id": f"HA-{i:06d}",
                    "date_of_information": f"202{rnd.randrange(0, 5)}-0{rnd.randrange(1, 10)}-15",
                    "organisation": "ANAMA", "author": "bench", "geometry": geom,
                    "classification": rnd.choice(["SHA", "CHA"]),
                    "contamination": ["AP"]})
    return out


def build(n: int, tmp: Path) -> tuple[str, Path, float]:
    from safeground.record.ledger import Ledger
    from safeground.record.storage import Database
    from safeground.record.users import Users
    from safeground.record.vocabulary import ReportType
    from safeground.settings import Settings

    url = f"sqlite:///{tmp}/record.sqlite"
    ledger = Ledger(Database.open(url), Settings(database_url=url))
    t = time.perf_counter()
    res = ledger.submit(records(n), user="bench.officer")
    assert not res.rejected, res.rejected[:1]
    out = ledger.approve(res.accepted, user="bench.chief")
    assert not out.refused
    took = time.perf_counter() - t
    Users(ledger.db).add("bench.analyst", "bench-password-1", ["analyst"], by="benchmark",
                         direct=True)
    import geopandas as gpd

    rows = ledger.objects(ReportType.HAZARDOUS_AREA)
    frame = gpd.GeoDataFrame(
        [{k: r[k] for k in ("id", "classification", "status", "original_m2", "remaining_m2")}
         for r in rows], geometry=[r["geometry"] for r in rows], crs="EPSG:4326")
    gpkg = tmp / "areas.gpkg"
    frame.to_file(gpkg, layer="hazardous_areas", driver="GPKG")   # with its R*Tree
    ledger.db.close()
    return url, gpkg, took


def wait(url: str, proc: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=30).status_code < 500:
                return
        except requests.RequestException:     # not listening yet, or still starting
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    raise SystemExit(f"bench_ogc: {what} did not start")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_safeground(url: str, tmp: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "safeground.cli", "serve", "--db", url,
                             "--host", "127.0.0.1", "--port", str(port), "--work-dir",
                             str(tmp), "--no-follow-approvals"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    wait(f"{base}/ogc", proc, "safeground serve")
    return proc, base


PYGEOAPI_CONFIG = """\
server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  language: en-US
  limits: {{default_items: 100, max_items: 10000}}
  map: {{url: "https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png", attribution: OSM}}
logging: {{level: ERROR}}
metadata:
  identification: {{title: bench, description: bench, keywords: [bench],
                    keywords_type: theme, terms_of_service: none, url: "http://example.org"}}
  license: {{name: CC-BY 4.0, url: "https://creativecommons.org/licenses/by/4.0/"}}
  provider: {{name: bench, url: "http://example.org"}}
  contact: {{name: bench, position: none, address: none, city: none, stateorprovince: none,
            postalcode: none, country: none, phone: none, fax: none, email: none,
            url: none, hours: none, instructions: none, role: pointOfContact}}
resources:
  hazardous_areas:
    type: collection
    title: Hazardous areas
    description: bench
    keywords: [bench]
    links: []
    extents:
      spatial: {{bbox: [-180, -90, 180, 90],
                crs: "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}}
    providers:
      - type: feature
        name: SQLiteGPKG
        data: {gpkg}
        id_field: id
        table: hazardous_areas
"""


def pygeoapi_python(given: str | None) -> str | None:
    for py in ([given] if given else []) + [sys.executable]:
        found = subprocess.run([py, "-c", "import pygeoapi"], capture_output=True)
        if found.returncode == 0:
            return py
    return None


def serve_pygeoapi(py: str, gpkg: Path, tmp: Path) -> tuple[subprocess.Popen, str] | None:
    port = free_port()
    cfg, api = tmp / "pygeoapi.yml", tmp / "pygeoapi-openapi.yml"
    cfg.write_text(PYGEOAPI_CONFIG.format(port=port, gpkg=gpkg))
    bindir = Path(py).parent
    env = {**os.environ, "PYGEOAPI_CONFIG": str(cfg), "PYGEOAPI_OPENAPI": str(api)}
    made = subprocess.run([str(bindir / "pygeoapi"), "openapi", "generate", str(cfg),
                           "--output-file", str(api)], env=env, capture_output=True, text=True)
    if made.returncode:
        print(f"bench_ogc: pygeoapi openapi generate failed (pygeoapi skipped):\n"
              f"{made.stderr[-1500:]}")
        return None
    proc = subprocess.Popen([str(bindir / "pygeoapi"), "serve", "--flask"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    wait(f"{base}/collections", proc, "pygeoapi")
    return proc, base


def boxes(n: int, k: int, seed: int = 5) -> list[str]:
    x0, y0, x1, y1 = REGION
    side = ((x1 - x0) * (y1 - y0) * PER_BOX / n) ** 0.5
    rnd = random.Random(seed)
    out = []
    for _ in range(k):
        x, y = rnd.uniform(x0, x1 - side), rnd.uniform(y0, y1 - side)
        out.append(f"{x:.5f},{y:.5f},{x + side:.5f},{y + side:.5f}")
    return out


def pages(servers: list[tuple[requests.Session, str]], bbs: list[str]
          ) -> list[tuple[list[float], int]]:
    """Each box asked of each server in turn: per server the times and features returned."""
    out: list[tuple[list[float], int]] = [([], 0) for _ in servers]
    for bb in bbs[:5]:                                     # warm up
        for session, items in servers:
            session.get(items, params={"bbox": bb, "limit": 100}, timeout=120)
    for bb in bbs:
        for i, (session, items) in enumerate(servers):
            t = time.perf_counter()
            r = session.get(items, params={"bbox": bb, "limit": 100}, timeout=120)
            took = time.perf_counter() - t
            r.raise_for_status()
            out[i] = (out[i][0] + [took], out[i][1] + len(r.json()["features"]))
    return out


def pct(xs: list[float], p: float) -> float:
    return statistics.quantiles(xs, n=100, method="inclusive")[p - 1] * 1000


def gdal_read(base: str, userpwd: str | None) -> tuple[float, int]:
    import pyogrio

    pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": "BASIC" if userpwd else None,
                                     "GDAL_HTTP_USERPWD": userpwd})
    try:
        t = time.perf_counter()
        frame = pyogrio.read_dataframe(f"OAPIF:{base}", layer="hazardous_areas")
        return time.perf_counter() - t, len(frame)
    finally:
        pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": None, "GDAL_HTTP_USERPWD": None})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--pages", type=int, default=200, help="bbox pages asked at each size")
    ap.add_argument("--pygeoapi-python", help="a Python that has pygeoapi")
    args = ap.parse_args()
    py = pygeoapi_python(args.pygeoapi_python)
    if py is None:
        print("bench_ogc: pygeoapi is not installed (pip install pygeoapi in an environment of "
              "its own and pass --pygeoapi-python): Safeground alone")
    print(f"load {os.getloadavg()[0]:.2f}; pages of up to 100 areas, boxes holding about "
          f"{PER_BOX} areas; {args.pages} pages per server and size")
    summary = []
    for n in (int(s) for s in args.sizes.split(",")):
        tmp = Path(tempfile.mkdtemp(prefix=f"sg-bench-ogc-{n}-"))
        procs = []
        try:
            url, gpkg, took = build(n, tmp)
            print(f"\n{n:,} areas: record built (submit + approve) in {took:.1f} s")
            sg, sg_base = serve_safeground(url, tmp)
            procs.append(sg)
            s = requests.Session()
            tok = s.post(f"{sg_base}/api/v1/auth/token", json={
                "name": "bench.analyst", "password": "bench-password-1"}).json()["token"]
            s.headers["Authorization"] = f"Bearer {tok}"
            bbs = boxes(n, args.pages)
            pg = serve_pygeoapi(py, gpkg, tmp) if py else None
            servers = [(s, f"{sg_base}/ogc/collections/hazardous_areas/items")]
            if pg:
                procs.append(pg[0])
                servers.append((requests.Session(),
                                f"{pg[1]}/collections/hazardous_areas/items"))
            measured = pages(servers, bbs)
            t_sg, got = measured[0]
            row = {"n": n, "sg50": pct(t_sg, 50), "sg95": pct(t_sg, 95)}
            print(f"  safeground  p50 {row['sg50']:7.1f} ms  p95 {row['sg95']:7.1f} ms  "
                  f"({got / len(bbs):.0f} features a page)")
            if pg:
                t_pg, got = measured[1]
                row.update(pg50=pct(t_pg, 50), pg95=pct(t_pg, 95))
                print(f"  pygeoapi    p50 {row['pg50']:7.1f} ms  p95 {row['pg95']:7.1f} ms  "
                      f"({got / len(bbs):.0f} features a page)")
                print(f"  ratio safeground / pygeoapi: p50 {row['sg50'] / row['pg50']:.2f}, "
                      f"p95 {row['sg95'] / row['pg95']:.2f}")
            if n == 10_000:
                secs, count = gdal_read(f"{sg_base}/ogc", "bench.analyst:bench-password-1")
                print(f"  GDAL OAPIF full read, default options: safeground {secs:.1f} s "
                      f"({count:,} features)")
                row["gdal"] = secs
                if pg:
                    secs, count = gdal_read(pg[1], None)
                    print(f"  GDAL OAPIF full read, default options: pygeoapi {secs:.1f} s "
                          f"({count:,} features)")
            summary.append(row)
        finally:
            for p in procs:
                p.terminate()
                p.wait(timeout=20)
            shutil.rmtree(tmp, ignore_errors=True)
    if len(summary) > 1:
        first, last = summary[0], summary[-1]
        print(f"\nsafeground p95 at {last['n']:,} / at {first['n']:,}: "
              f"{last['sg95'] / first['sg95']:.2f} (target at most 1.5)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
