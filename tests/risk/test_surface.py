"""Risk surfaces: valid Cloud-Optimised GeoTIFFs, the same whichever way the windows run."""

from __future__ import annotations

import numpy as np
import rasterio

from safeground.risk import forecast, sources
from safeground.risk.grid import Grid
from safeground.risk.surface import compute_surface


def _fitted(programme):
    src = sources.detect(programme)
    study = sources.build_study(src, "2021-12-31", 200)
    model = forecast.fit(study, "2021-12-31", 0.5, ("lightgbm",), seed=0)["lightgbm"]
    return study, model


def test_surface_is_a_valid_cog_and_windows_agree(programme, tmp_path):
    study, model = _fitted(programme)
    grid = Grid.from_bounds(study.grid.bounds, 20, study.grid.crs)
    builder = sources.study_on(study, grid).builder("2021-12-31")
    a = compute_surface(builder, model, tmp_path / "a.tif", window_size=128, scheduler="sync")
    b = compute_surface(builder, model, tmp_path / "b.tif", window_size=300, scheduler="sync")
    assert a.cog_valid and b.cog_valid, (a.cog_errors, b.cog_errors)
    assert a.windows > b.windows and a.cells == grid.n_cells
    with rasterio.open(a.path) as ra, rasterio.open(b.path) as rb:
        assert ra.crs.to_string() == "EPSG:32638" and ra.res == (20.0, 20.0)
        assert ra.overviews(1)             # a COG carries overviews
        pa, pb = ra.read(1), rb.read(1)
    np.testing.assert_allclose(pa, pb, rtol=1e-6)
    # the block-wise evaluation of windows gives LightGBM's own scores, row by row
    rows = model.predict(builder.frame(model.features)).astype(np.float32)
    np.testing.assert_array_max_ulp(pa.ravel(), rows, maxulp=1)
    assert (pa >= 0).all() and (pa <= 1).all()
    # risk is higher along the former front line (x ~ 606 km) than far from it
    cols = (np.arange(grid.width) + 0.5) * 20 + grid.x0
    near = pa[:, np.abs(cols - 606_250) < 400].mean()
    far = pa[:, np.abs(cols - 606_250) > 4000].mean()
    assert near > 2 * far


def test_smooth_logistic_surface_is_a_valid_cog_equal_to_row_predictions(programme, tmp_path):
    # a smooth surface: the COG is written with a floating-point predictor (the tree surfaces
    # above, piecewise constant, without); either way the values are stored losslessly
    src = sources.detect(programme)
    study = sources.build_study(src, "2021-12-31", 200)
    model = forecast.fit(study, "2021-12-31", 0.5, ("logistic",), seed=0)["logistic"]
    grid = Grid.from_bounds(study.grid.bounds, 50, study.grid.crs)
    builder = sources.study_on(study, grid).builder("2021-12-31")
    res = compute_surface(builder, model, tmp_path / "l.tif", window_size=100, scheduler="sync")
    assert res.cog_valid, res.cog_errors
    with rasterio.open(res.path) as r:
        got = r.read(1)
    rows = model.predict(builder.frame(model.features)).astype(np.float32)
    np.testing.assert_array_equal(got.ravel(), rows)


def test_surface_runs_on_a_dask_scheduler_address(programme, tmp_path):
    from dask.distributed import LocalCluster

    study, model = _fitted(programme)
    builder = study.builder("2021-12-31")
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                      dashboard_address=":0") as cluster:
        res = compute_surface(builder, model, tmp_path / "d.tif", window_size=20,
                              scheduler=cluster.scheduler_address)
    sync = compute_surface(builder, model, tmp_path / "s.tif", window_size=20,
                           scheduler="sync")
    assert res.cog_valid and res.windows > 4
    with rasterio.open(res.path) as a, rasterio.open(sync.path) as b:
        np.testing.assert_allclose(a.read(1), b.read(1))


def test_surface_on_a_dask_cluster_of_processes_equals_the_local_one(programme, tmp_path):
    # a `dask scheduler` and two `dask worker` programs, as on other machines
    from harness.dask_cluster import cluster

    study, model = _fitted(programme)
    grid = Grid.from_bounds(study.grid.bounds, 50, study.grid.crs)
    builder = sources.study_on(study, grid).builder("2021-12-31")
    with cluster(tmp_path / "dask") as address:
        res = compute_surface(builder, model, tmp_path / "d.tif", window_size=64,
                              scheduler=address)
    local = compute_surface(builder, model, tmp_path / "s.tif", window_size=64,
                            scheduler="sync")
    assert res.cog_valid and res.windows > 4 and res.cells == local.cells == grid.n_cells
    with rasterio.open(res.path) as a, rasterio.open(local.path) as b:
        np.testing.assert_array_equal(a.read(1), b.read(1))


def test_score_band_holds_the_models_scores_beside_the_same_probabilities(programme, tmp_path):
    study, model = _fitted(programme)
    grid = Grid.from_bounds(study.grid.bounds, 100, study.grid.crs)
    builder = sources.study_on(study, grid).builder("2021-12-31")
    one = compute_surface(builder, model, tmp_path / "one.tif", window_size=64,
                          scheduler="sync")
    two = compute_surface(builder, model, tmp_path / "two.tif", window_size=64,
                          scheduler="sync", score_band=True)
    assert two.cog_valid, two.cog_errors
    with rasterio.open(one.path) as a, rasterio.open(two.path) as b:
        assert a.count == 1 and b.count == 2
        assert b.descriptions[0] == "probability"
        np.testing.assert_array_equal(a.read(1), b.read(1))
        z = b.read(2)
    scores = model.decision(builder.frame(model.features)).astype(np.float32)
    np.testing.assert_allclose(z.ravel(), scores, rtol=1e-5, atol=1e-5)
