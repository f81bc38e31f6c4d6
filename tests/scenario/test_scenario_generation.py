"""the region, its hidden truth and the observations are deterministic and well formed.

Minefield geometry follows doctrine (``contamination.DOCTRINE``): rows parallel to the former line
of contact, row and mine spacing within the doctrinal ranges.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.ops import substring

from harness.shared import require
from safeground.errors import ConfigError
from safeground.scenario import ScenarioConfig, generate
from safeground.scenario import contamination as C
from safeground.scenario.geo import to_utm


def _fingerprint(sc) -> list[tuple]:
    return [(tuple((k, str(v)) for k, v in r.items() if k != "geometry"),
             None if r["geometry"] is None else shapely.to_wkb(r["geometry"]))
            for r in sc.report_records()]


def test_same_seed_same_scenario(small):
    again = generate(ScenarioConfig.small(seed=0))
    assert _fingerprint(again) == _fingerprint(small)
    a, b = small.truth.items, again.truth.items
    assert np.array_equal(a.x, b.x) and np.array_equal(a.cat, b.cat)
    assert np.array_equal(small.terrain.elevation, again.terrain.elevation, equal_nan=True)


def test_other_seed_other_scenario(small):
    other = generate(ScenarioConfig.small(seed=1))
    assert len(other.truth.items) != len(small.truth.items) or not np.array_equal(
        other.truth.items.x, small.truth.items.x)


def _belts(sc, kind: str):
    it = sc.truth.items
    for k, s in enumerate(sc.truth.sites):
        if s.kind == kind:
            idx = np.flatnonzero(it.site == k)
            if len(idx) > 20:
                yield s, idx


@pytest.mark.parametrize("kind", ["belt_AP", "belt_AT", "belt_mixed"])
def test_minefield_rows_parallel_to_the_front(small, kind):
    """Every mine of a belt lies at offset + k × row spacing from the line (± 1 m)."""
    it = small.truth.items
    checked = 0
    for s, idx in _belts(small, kind):
        stretch = substring(small.region.front, s.front_from_m, s.front_to_m)
        d = shapely.distance(stretch, shapely.points(it.x[idx], it.y[idx]))
        k = (d - s.offset_m) / s.row_spacing_m
        resid = np.abs(k - np.round(k)) * s.row_spacing_m
        assert np.quantile(resid, 0.95) < 1.0, (s.id, np.quantile(resid, 0.95))
        rows = np.unique(np.round(k))
        assert 1 <= len(rows) <= s.n_rows
        assert rows.min() >= 0 and rows.max() <= s.n_rows - 1
        checked += 1
    assert checked >= 1


@pytest.mark.parametrize("kind,doc", [("belt_AP", "AP"), ("belt_AT", "AT")])
def test_row_and_mine_spacing_within_doctrine(small, kind, doc):
    lo_r, hi_r = C.DOCTRINE[doc]["row_spacing"]
    lo_m, hi_m = C.DOCTRINE[doc]["mine_spacing"]
    it = small.truth.items
    for s, idx in _belts(small, kind):
        assert lo_r <= s.row_spacing_m <= hi_r
        front = substring(small.region.front, s.front_from_m, s.front_to_m)
        d = shapely.distance(front, shapely.points(it.x[idx], it.y[idx]))
        row = np.round((d - s.offset_m) / s.row_spacing_m)
        # measured spacing between the rows actually laid
        centres = np.array([np.median(d[row == r]) for r in np.unique(row)])
        if len(centres) > 1:
            gaps = np.diff(np.sort(centres))
            assert np.all((gaps > lo_r - 1.0) & (gaps < hi_r + 1.0)), (s.id, gaps)
        # measured spacing of mines along the first row
        first = idx[row == row.min()]
        along = np.sort(shapely.line_locate_point(front, shapely.points(it.x[first], it.y[first])))
        step = np.median(np.diff(along))
        assert lo_m * 0.8 <= step <= hi_m * 1.3, (s.id, step)


def test_belts_on_both_sides_and_protective_fields(small):
    kinds = {s.kind for s in small.truth.sites}
    assert {"belt_AP", "protective"} <= kinds
    sides = {s.side for s in small.truth.sites if s.kind.startswith("belt")}
    assert sides == {-1, 1}
    cats = set(np.unique(small.truth.items.cat).tolist())
    assert {C.AP, C.AT, C.UXO} <= cats


def test_truth_lies_inside_the_region(small):
    it = small.truth.items
    assert shapely.contains_xy(small.region.polygon, it.x, it.y).all()


def test_truth_never_in_the_reports(small):
    """No report carries a true item's exact position except through an observed event."""
    it = small.truth.items
    observed = set(np.flatnonzero(small.item_state != 0).tolist())
    exact = {(round(float(x), 3), round(float(y), 3)) for i, (x, y) in
             enumerate(zip(it.x, it.y, strict=True)) if i not in observed}
    for r in small.book.records:
        g = r["geometry"]
        if g is not None and g.geom_type == "Point":
            assert (round(g.x, 3), round(g.y, 3)) not in exact, r["object_id"]


def test_hazardous_areas_do_not_overlap(small):
    polys = [a.polygon for a in small.areas]
    tree = shapely.STRtree(polys)
    left, right = tree.query(polys, predicate="intersects")
    for i, j in zip(left, right, strict=True):
        if i < j:
            assert shapely.intersection(polys[i], polys[j]).area < 1.0


def test_region_from_a_polygon_file():
    path = str(require("azerbaijan-adm2/geoBoundaries-AZE-ADM2.geojson"))
    sc = generate(ScenarioConfig(seed=2, region=path,
                                 region_names=("Fuzuli District", "Jabrayil District")))
    assert {a.name for a in sc.region.admin} == {"Fuzuli District", "Jabrayil District"}
    assert 1500 < sc.region.area_km2 < 3500
    names = {s.name for s in sc.region.settlements}
    assert {"Fuzuli", "Jabrayil"} <= names     # the real towns fall in their real districts
    fz = next(s for s in sc.region.settlements if s.name == "Fuzuli")
    x, y = to_utm(shapely.Point(47.1431, 39.6003)).coords[0]
    assert abs(fz.x - x) < 1 and abs(fz.y - y) < 1


def test_bad_region_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError):
        ScenarioConfig(region=str(tmp_path / "nowhere.geojson"))
    bad = tmp_path / "empty.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(ConfigError):
        generate(ScenarioConfig(region=str(bad)))
