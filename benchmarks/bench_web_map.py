"""Web map benchmark: bytes of the map's layer requests on the demo record, for a staff user
(approver) and a viewer — the whole layers (what the map asked for before it asked by view,
and what API users still get without ``bbox`` / ``zoom``) against the requests the map now
makes for a view: the view's box padded by 25 % on each side and its zoom. The map is taken
as 1090 x 848 pixels (a 1400 x 900 window without the side panel); views are the opening
view (the record's extent fitted, zoom snapped to 0.25) and zooms 11 to 14 centred on the
median hazardous area. Prints wire bytes with gzip (the app's GZipMiddleware), raw bytes,
features per layer and the time of the request (the machine's load beside it).

    safeground demo --no-serve           # builds var/demo/record.sqlite
    .venv/bin/python benchmarks/bench_web_map.py [--db var/demo/record.sqlite]

The record is copied to a temporary directory first (two measuring users are added there).
"""

from __future__ import annotations

import argparse
import math
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

W, H = 1090, 848
PAD = 0.25


def _px(lon: float, lat: float, z: float) -> tuple[float, float]:
    s = 256 * 2 ** z / (2 * math.pi)
    return (s * (math.radians(lon) + math.pi),
            s * (math.pi - math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))))


def _ll(x: float, y: float, z: float) -> tuple[float, float]:
    s = 256 * 2 ** z / (2 * math.pi)
    return (math.degrees(x / s - math.pi),
            math.degrees(2 * math.atan(math.exp(math.pi - y / s)) - math.pi / 2))


def view_bbox(lon: float, lat: float, z: float) -> str:
    """The box the map asks for (Leaflet's getBounds().pad(PAD)) at this centre and zoom."""
    x, y = _px(lon, lat, z)
    w, s = _ll(x - W / 2, y + H / 2, z)
    e, n = _ll(x + W / 2, y - H / 2, z)
    dw, dh = (e - w) * PAD, (n - s) * PAD
    return f"{w - dw:.6f},{s - dh:.6f},{e + dw:.6f},{n + dh:.6f}"


def fit_zoom(b: list[float]) -> float:
    """Leaflet's fitBounds zoom with 20 px padding, snapped down to 0.25."""
    x0, y1 = _px(b[0], b[1], 0)
    x1, y0 = _px(b[2], b[3], 0)
    z = math.log2(min((W - 40) / (x1 - x0), (H - 40) / (y1 - y0)))
    return math.floor(z * 4) / 4


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", default="var/demo/record.sqlite", help="the demo record (SQLite)")
    args = ap.parse_args()
    src = Path(args.db)
    if not src.is_file():
        print(f"bench_web_map: no record at {src}; build it with `safeground demo --no-serve` "
              "(skipped)")
        return 0
    from fastapi.testclient import TestClient

    from safeground.ledger import Ledger
    from safeground.settings import Settings
    from safeground.storage import Database
    from safeground.vocabulary import ReportType
    from safeground.web import create_app
    from safeground.web.api import map_extent
    from safeground.web.users import Role, User, Users

    with tempfile.TemporaryDirectory(prefix="sg-bench-web-") as tmp:
        copy = Path(tmp) / "record.sqlite"
        with sqlite3.connect(f"file:{src}?mode=ro", uri=True) as a, sqlite3.connect(copy) as b:
            a.backup(b)
        url = f"sqlite:///{copy}"
        ledger = Ledger(Database.open(url), Settings(database_url=url))
        users = Users(ledger.db)
        for name, role in (("bench.staff", "approver"), ("bench.viewer", "viewer")):
            users.add(name, "bench-password", [role])
        client = TestClient(create_app(ledger.settings, ledger=ledger))
        ext = map_extent(ledger, User(0, "bench", frozenset({Role.APPROVER})), None)
        areas = ledger.objects(ReportType.HAZARDOUS_AREA)
        if not ext or not areas:
            print("bench_web_map: the record has no hazardous areas (skipped)")
            return 0
        cx = statistics.median(a["geometry"].centroid.x for a in areas)
        cy = statistics.median(a["geometry"].centroid.y for a in areas)
        z0 = fit_zoom(ext)
        views = {"whole layers (before)": ""}
        views[f"opening view, zoom {z0}"] = \
            f"?bbox={view_bbox((ext[0] + ext[2]) / 2, (ext[1] + ext[3]) / 2, z0)}&zoom={z0}"
        for z in (11, 12, 13, 14):
            views[f"zoom {z}, median area"] = f"?bbox={view_bbox(cx, cy, z)}&zoom={z}"
        print(f"record {src}: {len(areas)} hazardous areas; extent {ext}; "
              f"median area {cx:.4f}, {cy:.4f}; load {os.getloadavg()[0]:.2f}")
        print(f"{'user':13} {'request':26} {'gzip B':>10} {'raw B':>11} {'time':>7}  features")
        for who in ("bench.staff", "bench.viewer"):
            token = client.post("/api/v1/auth/token", json={
                "name": who, "password": "bench-password"}).json()["token"]
            auth = {"Authorization": f"Bearer {token}"}
            for label, query in views.items():
                t = time.perf_counter()
                r = client.get("/api/v1/map/layers" + query,
                               headers={**auth, "Accept-Encoding": "gzip"})
                took = time.perf_counter() - t
                assert r.status_code == 200, r.text[:300]
                raw = client.get("/api/v1/map/layers" + query,
                                 headers={**auth, "Accept-Encoding": "identity"})
                counts = {k: len(v["features"]) for k, v in raw.json()["layers"].items()}
                print(f"{who:13} {label:26} {r.num_bytes_downloaded:>10,} "
                      f"{len(raw.content):>11,} {took:>6.2f}s  {counts}")
        print(f"load after: {os.getloadavg()[0]:.2f}")
        ledger.db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
