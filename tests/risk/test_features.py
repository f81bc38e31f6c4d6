"""Features: only what was known at the date; distances and densities that mean what they say."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safeground.risk import events as ev
from safeground.risk import fields
from safeground.risk.context import ContextLayers
from safeground.risk.features import FeatureBuilder, FeatureConfig
from safeground.risk.grid import Grid

CRS = "EPSG:32638"


def table(rows: list[tuple[float, float, str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame({"x": [r[0] for r in rows], "y": [r[1] for r in rows],
                         "date": pd.to_datetime([r[2] for r in rows]),
                         "group": [r[3] for r in rows], "category": [r[3] for r in rows],
                         "weight": [r[4] for r in rows]})


def test_features_never_see_the_future():
    grid = Grid.from_bounds((0, 0, 5000, 5000), 100, CRS)
    past = table([(2500, 2500, "2020-01-01", "accident", 1.0)])
    future = table([(1000, 1000, "2022-01-01", "accident", 1.0)])
    cfg = FeatureConfig(bandwidths_km=(0.5,))
    a = FeatureBuilder(grid, past, "2021-01-01", config=cfg).frame()
    b = FeatureBuilder(grid, pd.concat([past, future]), "2021-01-01", config=cfg).frame()
    pd.testing.assert_frame_equal(a, b)
    c = FeatureBuilder(grid, pd.concat([past, future]), "2022-06-01", config=cfg).frame()
    assert not c.equals(a)


def test_density_integrates_to_the_weighted_count():
    grid = Grid.from_bounds((0, 0, 20_000, 20_000), 100, CRS)
    d = fields.density_per_km2(grid, np.array([10_000.0, 9_000.0]),
                               np.array([10_000.0, 11_000.0]), np.array([1.0, 0.6]), 1.0)
    assert d.sum() * 0.01 == pytest.approx(1.6, rel=1e-3)      # cells of 0.01 km²


def test_distance_to_a_line_and_to_points():
    grid = Grid.from_bounds((0, 0, 10_000, 1_000), 100, CRS)
    from shapely.geometry import LineString

    d = fields.distance_km(grid, [LineString([(0, 500), (10_000, 500)]).buffer(1)], 50)
    assert d.max() <= 0.5 and d.min() == 0
    p = fields.points_distance_km(grid, np.array([50.0]), np.array([950.0]), 3.0)
    assert p[0, 0] == 0 and p[0, -1] == pytest.approx(3.0)     # capped
    assert p[0, 20] == pytest.approx(2.0, abs=0.01)


@settings(max_examples=25, deadline=None)
@given(a=st.floats(-5, 5), b=st.floats(-5, 5), c=st.floats(-100, 100),
       step=st.sampled_from([10.0, 25.0, 50.0]))
def test_bilinear_sampling_is_exact_on_planes(a, b, c, step):
    coarse = Grid.from_bounds((0, 0, 2000, 2000), 100, CRS)
    xs, ys = coarse.centres()
    plane = (a * xs[None, :] / 1000 + b * ys[:, None] / 1000 + c).astype(np.float64)
    fine = Grid.from_bounds((300, 300, 1700, 1700), step, CRS)
    fx, fy = fine.centres()
    got = fields.sample_bilinear(plane, coarse, fx, fy)
    want = a * fx[None, :] / 1000 + b * fy[:, None] / 1000 + c
    np.testing.assert_allclose(got, want, atol=1e-3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_bilinear_sampling_matches_numpy_to_the_bit(dtype):
    rng = np.random.default_rng(1)
    coarse = Grid.from_bounds((0, 0, 3000, 2000), 100, CRS)
    field = rng.gamma(0.5, 2.0, (coarse.height, coarse.width)).astype(dtype)
    fx, fy = Grid.from_bounds((137, 251, 2863, 1777), 7.3, CRS).centres()
    # the separable formula in numpy, operation by operation
    c0, tx = fields._axis(coarse.x0, coarse.step, coarse.width, fx)
    r0, ty = fields._axis(coarse.y1, coarse.step, coarse.height, fy, descending=True)
    c1, r1 = np.minimum(c0 + 1, coarse.width - 1), np.minimum(r0 + 1, coarse.height - 1)
    across = field[:, c0] * (1 - tx) + field[:, c1] * tx
    want = across[r0] * (1 - ty)[:, None] + across[r1] * ty[:, None]
    got = fields.sample_bilinear(field, coarse, fx, fy)
    assert got.dtype == want.dtype and np.array_equal(got, want)
    buf = np.full((len(fy), len(fx)), np.nan, dtype)
    assert fields.sample_bilinear(field, coarse, fx, fy, out=buf) is buf
    assert np.array_equal(buf, want)


def test_builder_names_follow_the_inputs(programme):
    ctx = ContextLayers.from_directory(programme / "context")
    events = ev.from_report_files(sorted((programme / "reports").glob("*.geojson")), ctx.crs)
    assert set(events["group"]) == {"accident", "find", "indirect"}
    grid = Grid.from_bounds((600_000, 4_400_000, 612_000, 4_408_000), 200, ctx.crs)
    b = FeatureBuilder(grid, events, "2021-12-31", ctx)
    for name in ("dist_frontline_km", "dist_roads_km", "dist_positions_km",
                 "population_density", "density_accident_1km", "dist_find_km",
                 "elevation_m", "slope_deg", "landcover"):
        assert name in b.names
    X = b.frame()
    assert len(X) == grid.n_cells and np.isfinite(X.to_numpy()).all()
    # the line of contact runs at x ~ 606 km: the distance there is about zero
    col = (606_100 - 600_000) // 200
    assert X["dist_frontline_km"].to_numpy().reshape(grid.height, grid.width)[0, col] < 0.3
    # a window equals the same cells of the whole frame
    from rasterio.windows import Window

    win = b.window(Window(5, 3, 7, 4), ["elevation_m", "dist_roads_km"])
    whole = X[["elevation_m", "dist_roads_km"]].to_numpy().reshape(grid.height, grid.width, 2)
    np.testing.assert_allclose(win.reshape(4, 7, 2), whole[3:7, 5:12])


def test_reliability_weights_the_evidence():
    gdf_rows = table([(0, 0, "2020-01-01", "evidence", 1.0)])
    assert gdf_rows["weight"].iloc[0] == 1.0
    assert ev.RELIABILITY_WEIGHT["low"] < ev.RELIABILITY_WEIGHT["medium"] < 1.0
    assert ev.group_of_category("verbal") == "indirect"
    assert ev.group_of_category("marking") == "evidence"


def test_grid_refuses_bad_extents_and_resolutions():
    from safeground.errors import ValidationError

    with pytest.raises(ValidationError) as exc:
        Grid.from_bounds((10, 0, 0, 10), 1, CRS)
    assert exc.value.code == "RISK_EXTENT"
    with pytest.raises(ValidationError) as exc:
        Grid.from_bounds((0, 0, 1e7, 1e7), 0.1, CRS)
    assert exc.value.code == "RISK_RESOLUTION"
