"""The model's and the planner's outputs for the web tests' small programme: a risk surface
(``risk.tif``), a risk ranking (``area-risk.csv``) and the model's date, written where
``safeground serve --work-dir`` reads them, and a tiny raster MBTiles basemap."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import numpy as np

from safeground.record.vocabulary import ReportType

#: the probability the surface gives inside every hazardous area (less and less away from them)
INSIDE = 0.3
MODEL_AS_OF = "2021-04-01"


def write_risk(ledger, work_dir: Path) -> list[dict]:
    """A 0.001° surface over the record's hazardous areas (``INSIDE`` in them) and a ranking
    of the areas by size. Returns the ranking's rows."""
    import rasterio
    from rasterio.features import rasterize
    from rasterio.transform import from_origin

    areas = ledger.objects(ReportType.HAZARDOUS_AREA)
    xs = [a["geometry"].bounds for a in areas]
    west, south = min(b[0] for b in xs) - 0.02, min(b[1] for b in xs) - 0.02
    east, north = max(b[2] for b in xs) + 0.02, max(b[3] for b in xs) + 0.02
    step = 0.001
    w, h = int((east - west) / step) + 1, int((north - south) / step) + 1
    transform = from_origin(west, north, step, step)
    inside = rasterize([(a["geometry"], 1) for a in areas], out_shape=(h, w),
                       transform=transform, all_touched=True).astype(bool)
    # around the areas the probability falls off over about a kilometre (a halo to see)
    from scipy.ndimage import distance_transform_edt

    cells_from_area = distance_transform_edt(~inside)
    p = np.where(inside, INSIDE, 0.2 * np.exp(-cells_from_area / 8.0)).astype(np.float32)
    with rasterio.open(work_dir / "risk.tif", "w", driver="GTiff", width=w, height=h, count=1,
                       dtype="float32", crs="EPSG:4326", transform=transform, nodata=-1.0,
                       tiled=True, blockxsize=256, blockysize=256) as dst:
        dst.write(p, 1)
    (work_dir / "risk-model").mkdir(exist_ok=True)
    (work_dir / "risk-model" / "model.json").write_text(json.dumps({"as_of": MODEL_AS_OF}))
    ranked = sorted(areas, key=lambda a: -a["geometry"].area)
    rows = []
    for i, a in enumerate(ranked, 1):
        rows.append({"object_id": a["id"], "cells": 10, "area_m2": 1e5 / i,
                     "mean_probability": round(INSIDE / i, 4), "max_probability": INSIDE,
                     "expected_contaminated_m2": 1e5 / i * INSIDE / i,
                     "released_share": 0.0,
                     "raising": json.dumps([{"feature": "dist_roads_km", "value": 0.4,
                                             "log_odds": 1.25},
                                            {"feature": "density_find_1km", "value": 2.0,
                                             "log_odds": 0.5}]),
                     "lowering": json.dumps([{"feature": "dist_settlements_km",
                                              "value": 3.0, "log_odds": -0.2}]),
                     "rank": i, "proposed": "CHA" if i % 2 else "SHA", "score": 1.5 / i,
                     "direct_evidence": i % 2 == 1, "drivers": "[]"})
    with (work_dir / "area-risk.csv").open("w", newline="", encoding="utf-8") as fh:
        out = csv.DictWriter(fh, list(rows[0]))
        out.writeheader()
        out.writerows(rows)
    return rows


def write_mbtiles(path: Path, colour: tuple[int, int, int] = (10, 200, 30)) -> bytes:
    """An MBTiles file of one zoom-0 PNG tile of one colour; returns the tile's bytes."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (256, 256), colour).save(buf, "PNG")
    data = buf.getvalue()
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        conn.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, "
                     "tile_row INTEGER, tile_data BLOB)")
        conn.executemany("INSERT INTO metadata VALUES (?, ?)",
                         [("name", "test basemap"), ("format", "png"),
                          ("attribution", "test data")])
        conn.execute("INSERT INTO tiles VALUES (0, 0, 0, ?)", (data,))
    return data


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


#: PMTiles tile ids of zooms 0 and 1 as the format's specification numbers them (Hilbert order)
PMTILES_IDS = {(0, 0, 0): 0, (1, 0, 0): 1, (1, 0, 1): 2, (1, 1, 1): 3, (1, 1, 0): 4}


def write_pmtiles(path: Path) -> dict[tuple[int, int, int], bytes]:
    """A PMTiles (v3) archive of zooms 0 and 1, each tile a PNG of its own colour, written
    by the specification (uncompressed root directory, no leaves). Returns tile -> bytes."""
    import io
    import struct

    from PIL import Image

    tiles = {}
    for (z, x, y), tid in sorted(PMTILES_IDS.items(), key=lambda kv: kv[1]):
        buf = io.BytesIO()
        Image.new("RGB", (256, 256), (40 * tid, 255 - 40 * tid, 100)).save(buf, "PNG")
        tiles[(z, x, y)] = buf.getvalue()
    order = sorted(PMTILES_IDS, key=PMTILES_IDS.get)
    data = b"".join(tiles[k] for k in order)
    ids = [PMTILES_IDS[k] for k in order]
    lengths = [len(tiles[k]) for k in order]
    directory = _varint(len(order)) + b"".join(
        _varint(i - p) for i, p in zip(ids, [0, *ids[:-1]], strict=True))
    directory += b"".join(_varint(1) for _ in order)
    directory += b"".join(_varint(n) for n in lengths)
    directory += _varint(1) + b"".join(_varint(0) for _ in order[1:])   # offset 0, then runs on
    root_off = 127
    data_off = root_off + len(directory)
    head = b"PMTiles" + bytes([3]) + struct.pack(
        "<8Q3Q", root_off, len(directory), data_off + len(data), 0, data_off + len(data), 0,
        data_off, len(data), len(order), len(order), len(order))
    head += bytes([1, 1, 1, 2, 0, 1]) + struct.pack("<4i", -1800000000, -850000000,
                                                    1800000000, 850000000)
    head += bytes([0]) + struct.pack("<2i", 0, 0)
    assert len(head) == 127
    path.write_bytes(head + directory + data)
    return tiles
