"""Migration of a large legacy File Geodatabase: check (the dry run) and run (gate, store,
approve), with the time of each stage and the peak memory.

    .venv/bin/python benchmarks/bench_migrate.py                 # 200,000 features
    SG_BENCH_FEATURES=50000 .venv/bin/python benchmarks/bench_migrate.py

Target: 200,000 features checked and migrated in <= 5 minutes each, in <= 4 GB. The
geodatabase is generated (GDAL's OpenFileGDB driver): 60 % hazard polygons in Web Mercator
with Russian code values and mixed date formats, 20 % accidents, 20 % victims linked to them
through an ``imsma_links`` text field, 1 % of the polygons self-intersecting (repaired).

Measured on the project machine (2 cores shared, load about 7), 200,000 features: check
116 s, run 236 s, second run 79 s, peak 2.23 GB.
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import Transformer

from safeground.migrate.check import dry_run
from safeground.migrate.mapping import load
from safeground.migrate.run import run
from safeground.migrate.source import Source
from safeground.record.ledger import Ledger
from safeground.record.storage import Database
from safeground.record.summary import status
from safeground.settings import Settings

TARGET_S, TARGET_GB = 300.0, 4.0
MAPPING = Path(__file__).resolve().parents[1] / "examples" / "migrate" / "imsma_core.toml"


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2


def generate(path: Path, n: int) -> dict[str, int]:
    rng = np.random.default_rng(1)
    n_haz, n_acc = int(n * 0.6), int(n * 0.2)
    n_vic = n - n_haz - n_acc
    cols = 600
    i = np.arange(n_haz)
    lon = 45.2 + (i % cols) * 0.0045     # ~380 m apart
    lat = 38.9 + (i // cols) * 0.0035
    w, h = 0.0012, 0.0009                # ~100 m squares
    ring = np.stack([np.c_[lon, lat], np.c_[lon + w, lat], np.c_[lon + w, lat + h],
                     np.c_[lon, lat + h], np.c_[lon, lat]], axis=1)
    bow = rng.random(n_haz) < 0.01       # 1 % bowties: corners 2 and 3 swapped
    ring[bow, 1], ring[bow, 2] = ring[bow, 2].copy(), ring[bow, 1].copy()
    tr = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    x, y = tr.transform(ring[..., 0].ravel(), ring[..., 1].ravel())
    polys = shapely.polygons(np.stack([x, y], axis=1).reshape(n_haz, 5, 2))
    cha = rng.random(n_haz) < 0.5
    hz = gpd.GeoDataFrame({
        "hazard_localid": [f"HA-{k}" for k in i],
        "hazard_type": np.where(cha, "Подтвержденная опасная зона",
                                "Предполагаемая опасная зона"),
        "contamination": np.where(cha, "ПП мины, ПТ мины", "НВБ"),
        "area_ha": "1,0",
        "dateofinfo": [f"{1 + k % 28:02d}.{1 + k % 12:02d}.{2010 + k % 10}" if k % 2 else
                       f"{2010 + k % 10}-{1 + k % 12:02d}-{1 + k % 28:02d}" for k in i],
        "org": "ORG-HALO", "status": "Активная", "hazard_name_ru": [f"Поле {k}" for k in i],
        "province": "Физули", "imsma_guid": [f"{{g-{k}}}" for k in i]},
        geometry=polys, crs="EPSG:3857")
    j = np.arange(n_acc)
    acc = gpd.GeoDataFrame({
        "acc_localid": [f"ACC-{k}" for k in j],
        "acc_date": [f"{1 + k % 12:02d}/{1 + k % 28:02d}/{2011 + k % 9}" for k in j],
        "device": np.where(j % 3, "ПП мина", "НВБ"), "context": "Гражданский",
        "imsma_links": [f"HA-{k * 3 % n_haz}" for k in j], "village": "Алхан"},
        geometry=shapely.points(lon[j * 3 % n_haz] + 0.0006, lat[j * 3 % n_haz] + 0.0004),
        crs="EPSG:4326")
    v = np.arange(n_vic)
    vic = pd.DataFrame({
        "victim_localid": [f"V-{k}" for k in v], "imsma_links": [f"ACC-{k % n_acc}" for k in v],
        "gender": np.where(v % 2, "Мужской", "Женский"),
        "outcome": np.where(v % 4, "Ранен", "Погиб"), "age": (v % 70 + 5).astype(str),
        "vstatus": "Гражданский", "dateofinfo": "2020-01-01"})
    orgs = pd.DataFrame({"orgid": ["ORG-ANAMA", "ORG-HALO"], "orgname": ["ANAMA", "HALO"],
                         "orgtype": ["Национальный орган", "НПО"]})
    empty_hr = gpd.GeoDataFrame({"hr_localid": ["HR-0"], "imsma_links": ["HA-0"],
                                 "hr_type": ["Техническое обследование"],
                                 "release": ["Сокращена"], "method": ["Техническое"],
                                 "depth_cm": [None], "qa": [None], "dateofinfo": ["01.01.2021"],
                                 "org": ["ORG-HALO"]},
                                geometry=[shapely.box(*shapely.bounds(polys[0]))],
                                crs="EPSG:3857")
    eo = gpd.GeoDataFrame({"task_localid": ["EOD-0"], "org": ["ORG-ANAMA"],
                           "task_date": ["01.03.2020"], "item": ["НВБ"], "qty": [1],
                           "disposal": ["Уничтожен на месте"]},
                          geometry=shapely.points([45.21], [38.91]), crs="EPSG:4326")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, df in [("Organisation", orgs), ("Hazard", hz), ("HazardReduction", empty_hr),
                         ("Accident", acc), ("Victim", vic), ("EO_Spot_Task", eo),
                         ("Legacy_Accident", acc.iloc[:1].set_crs(None, allow_override=True))]:
            pyogrio.write_dataframe(df, path, layer=name, driver="OpenFileGDB")
    return {"hazards": n_haz, "accidents": n_acc, "victims": n_vic}


def main() -> None:
    n = int(os.environ.get("SG_BENCH_FEATURES", "200000"))
    with tempfile.TemporaryDirectory() as tmp:
        gdb = Path(tmp) / "legacy.gdb"
        t = time.perf_counter()
        sizes = generate(gdb, n)
        print(f"generated {n:,} features {sizes} in {time.perf_counter() - t:.1f} s",
              flush=True)
        url = f"sqlite:///{tmp}/record.sqlite"
        ledger = Ledger(Database.open(url), Settings(database_url=url))
        mapping = load(MAPPING)
        t = time.perf_counter()
        plan = dry_run(Source(gdb), mapping, ledger.settings, ledger)
        check_s = time.perf_counter() - t
        print(f"check: {check_s:.1f} s, {len(plan.records):,} reports, "
              f"{plan.count('refused'):,} refused, {plan.count('repaired'):,} repaired; "
              f"peak {peak_gb():.2f} GB", flush=True)
        del plan
        t = time.perf_counter()
        res = run(ledger, Source(gdb), mapping, "records.officer", "ops.chief")
        run_s = time.perf_counter() - t
        print(f"run: {run_s:.1f} s, {res.submitted:,} submitted, {len(res.rejected):,} "
              f"rejected, {res.approved:,} approved; peak {peak_gb():.2f} GB", flush=True)
        s = status(ledger)
        print(f"status: open {s.areas_open}, casualties {s.casualties.get('killed', 0)} killed /"
              f" {s.casualties.get('injured', 0)} injured")
        t = time.perf_counter()
        again = run(ledger, Source(gdb), mapping, "records.officer", "ops.chief")
        print(f"second run: {time.perf_counter() - t:.1f} s, batch {again.batch} (nothing new)")
        ok = check_s <= TARGET_S and run_s <= TARGET_S and peak_gb() <= TARGET_GB
        print(f"{'within' if ok else 'OUTSIDE'} target ({TARGET_S:.0f} s each, "
              f"{TARGET_GB:.0f} GB): check {check_s:.1f} s, run {run_s:.1f} s, peak "
              f"{peak_gb():.2f} GB")
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
