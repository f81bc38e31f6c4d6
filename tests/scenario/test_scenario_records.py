"""the observation processes write valid Safeground report files.

Every record has the header fields and the payload fields of its type exactly as in
``REPORT_SPECS``; choices are valid; references name objects defined earlier in file order.
"""

from __future__ import annotations

import json
from collections import Counter

import pyogrio
import shapely
from scenario_checks import check_records

from safeground.scenario.records import FILE_ORDER, file_name


def test_report_records_are_valid(small):
    records = list(small.report_records())
    assert check_records(records) == []
    kinds = Counter(r["report_type"] for r in records)
    for t in ("organisation", "team", "admin_area", "settlement", "hazardous_area", "evidence",
              "accident", "victim"):
        assert kinds[t] > 0, t


def test_records_have_lonlat_geometry(small):
    pts = [r["geometry"] for r in small.report_records() if r["report_type"] == "settlement"]
    for g in pts:
        assert 45.0 < g.x < 48.5 and 38.5 < g.y < 41.0


def test_classifications_follow_the_evidence(small):
    """An area classified CHA at baseline carries direct evidence; SHAs never do."""
    from safeground.record.vocabulary import DIRECT_CATEGORIES

    direct: dict[str, int] = Counter()
    for r in small.book.records:
        if r["report_type"] == "evidence" and r.get("hazardous_area_id"):
            direct[r["hazardous_area_id"]] += r["category"] in DIRECT_CATEGORIES
    for a in small.areas:
        if a.classification == "CHA":
            assert direct[a.id] > 0, a.id


def test_write_lays_out_reports_truth_and_context(small, tmp_path):
    small.write(tmp_path)
    names = sorted(p.name for p in (tmp_path / "reports").iterdir())
    assert names == [file_name(t) for t in FILE_ORDER]
    features = []
    for name in names:
        data = json.loads((tmp_path / "reports" / name).read_text())
        assert data["type"] == "FeatureCollection"
        for f in data["features"]:
            props = dict(f["properties"])
            props["geometry"] = shapely.geometry.shape(f["geometry"]) if f["geometry"] else None
            features.append(props)
    assert len(features) == len(small.book)
    assert check_records(features) == []
    items = pyogrio.read_dataframe(tmp_path / "truth" / "items.gpkg")
    assert len(items) == len(small.truth.items)
    assert {"category", "site_id", "state_at_record_end"} <= set(items.columns)
    assert items.crs.to_epsg() == 32638
    for layer in ("frontline", "positions", "roads", "rivers", "settlements", "reconstruction"):
        assert (tmp_path / "context" / f"{layer}.gpkg").exists()
    # funded reconstruction: the largest displaced settlements, ready one after another
    rec = pyogrio.read_dataframe(tmp_path / "context" / "reconstruction.gpkg")
    towns = sorted((s for s in small.region.settlements
                    if s.occupied and s.displaced_population > 0),
                   key=lambda s: (-s.displaced_population, s.id))
    assert rec.settlement_id.tolist() == [s.id for s in towns[:len(rec)]] and 0 < len(rec) <= 12
    assert rec.ready_date.tolist() == sorted(rec.ready_date)
    assert (rec.ready_date.min() > small.config.ceasefire.isoformat())
    assert rec.crs.to_epsg() == 32638 and rec.geometry.geom_type.eq("Polygon").all()
    import rasterio

    for name in ("elevation", "slope", "landcover"):
        with rasterio.open(tmp_path / "context" / f"{name}.tif") as src:
            assert src.crs.to_epsg() == 32638
            assert src.res == (100.0, 100.0)
    manifest = json.loads((tmp_path / "scenario.json").read_text())
    assert manifest["seed"] == 0 and "calibration" in manifest
