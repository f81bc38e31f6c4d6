"""Web map benchmark: bytes of the map's layer requests on the demo record, for a staff user
(approver) and a viewer.

* **whole layers** — every layer, every feature, exact (what the map asked for before it asked
  by view, and what API users still get without parameters);
* **before** — what the map asked for a view until it asked only for the layers switched on:
  every layer the user may see (the explosive items too, though hidden at first), every
  attribute, for the view's box padded by 25 % on each side and its zoom;
* **now** — what the map asks for the same view: only the layers switched on at first
  (``layers=``, all but the explosive items, as in map.js) with only the attributes the map
  draws with (``detail=map``);
* then, at the typical working view (zoom 12): switching the explosive items on (that layer
  alone, ``detail=map``) and a click on a feature (``/api/v1/map/features``, every attribute),
  the median over the view's hazardous areas (a viewer's generalised points).

The map is taken as 1090 x 848 pixels (a 1400 x 900 window without the side panel); views
are the opening view (the record's extent fitted, zoom snapped to 0.25) and zooms 11 to 14
centred on the median hazardous area. Prints wire bytes with gzip (the app's GZipMiddleware,
which leaves answers under 2,048 bytes as they are), raw bytes, features per layer and the
time of each request (the machine's load beside it).

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
#: layers the map page shows switched off at first (map.js ``hiddenAtStart``)
HIDDEN_AT_START = {"ordnance"}


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

    from safeground.record.ledger import Ledger
    from safeground.record.storage import Database
    from safeground.record.users import Role, User, Users
    from safeground.record.vocabulary import ReportType
    from safeground.settings import Settings
    from safeground.web import create_app
    from safeground.web.api import map_extent

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
        views = {}
        views[f"opening view, zoom {z0}"] = \
            f"bbox={view_bbox((ext[0] + ext[2]) / 2, (ext[1] + ext[3]) / 2, z0)}&zoom={z0}"
        for z in (11, 12, 13, 14):
            views[f"zoom {z}, median area"] = f"bbox={view_bbox(cx, cy, z)}&zoom={z}"
        typical = "zoom 12, median area"
        print(f"record {src}: {len(areas)} hazardous areas; extent {ext}; "
              f"median area {cx:.4f}, {cy:.4f}; load {os.getloadavg()[0]:.2f}")
        head = (f"{'user':13} {'request':28} {'gzip B':>10} {'raw B':>11} {'time':>7}  "
                "features")

        def get(path: str, auth: dict[str, str]) -> tuple[int, int, float, dict]:
            t = time.perf_counter()
            r = client.get(path, headers={**auth, "Accept-Encoding": "gzip"})
            took = time.perf_counter() - t
            assert r.status_code == 200, r.text[:300]
            raw = client.get(path, headers={**auth, "Accept-Encoding": "identity"})
            return r.num_bytes_downloaded, len(raw.content), took, raw.json()

        def line(who: str, label: str, got: tuple[int, int, float, dict]) -> None:
            counts = {k: len(v["features"]) for k, v in got[3].get("layers", {}).items()}
            print(f"{who:13} {label:28} {got[0]:>10,} {got[1]:>11,} {got[2]:>6.2f}s  "
                  f"{counts or ''}")

        summary = []
        for who in ("bench.staff", "bench.viewer"):
            token = client.post("/api/v1/auth/token", json={
                "name": who, "password": "bench-password"}).json()["token"]
            auth = {"Authorization": f"Bearer {token}"}
            me = client.get("/api/v1/me", headers=auth).json()
            staff = "read_detail" in me["permissions"]
            print(f"\n{head}")
            whole = get("/api/v1/map/layers", auth)
            line(who, "whole layers", whole)
            on = [n for n in whole[3]["layers"] if n not in HIDDEN_AT_START]
            for label, query in views.items():
                before = get(f"/api/v1/map/layers?{query}", auth)
                now = get(f"/api/v1/map/layers?{query}&layers={','.join(on)}&detail=map", auth)
                line(who, f"{label}: before", before)
                line(who, f"{label}: now", now)
                summary.append((who, label, before, now))
            query = views[typical]
            if staff:
                line(who, "zoom 12: items switched on",
                     get(f"/api/v1/map/layers?{query}&layers=ordnance&detail=map", auth))
            layer = "hazardous_areas" if staff else "hazardous_area_points"
            now = get(f"/api/v1/map/layers?{query}&layers={layer}&detail=map", auth)
            ids = [f["id"] for f in now[3]["layers"][layer]["features"]][:40]
            clicks = [get(f"/api/v1/map/features/{layer}/{i}", auth) for i in ids]
            if clicks:
                print(f"{who:13} {'zoom 12: a click (median)':28} "
                      f"{statistics.median(c[0] for c in clicks):>10,.0f} "
                      f"{statistics.median(c[1] for c in clicks):>11,.0f} "
                      f"{statistics.median(c[2] for c in clicks):>6.3f}s  "
                      f"{len(clicks)} {layer}")
        print(f"\n{'user':13} {'view':22} {'gzip before':>12} {'gzip now':>10} {'x':>5} "
              f"{'raw before':>11} {'raw now':>10} {'x':>5}")
        for who, label, before, now in summary:
            print(f"{who:13} {label:22} {before[0]:>12,} {now[0]:>10,} "
                  f"{before[0] / now[0]:>5.1f} {before[1]:>11,} {now[1]:>10,} "
                  f"{before[1] / now[1]:>5.1f}")
        print(f"load after: {os.getloadavg()[0]:.2f}")
        ledger.db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
