"""The risk surface: a Cloud-Optimised GeoTIFF of calibrated probabilities, window by window.

Windows of the grid are scored independently (features sampled from the coarse fields plus
rasters read at the target resolution, then the model), so memory stays bounded by the window
size times the number of windows in flight, whatever the extent. Windows run on Dask: a local
``dask.distributed`` cluster by default, any scheduler given by address, or in-process
(``scheduler="sync"``, for tests). One writer process collects the windows into a tiled GeoTIFF,
which GDAL's COG driver then turns into a Cloud-Optimised GeoTIFF with overviews.

With a ``ReleaseAdjustment`` (the model directory's ``release_adjustment``), each window's
probabilities are adjusted after the model for the land released by the builder's date
(``release.adjust``): cleared and TS-reduced ground shows its residual, not the model's level.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.windows import Window

from safeground.risk.features import FeatureBuilder
from safeground.risk.models import RiskModel
from safeground.risk.release import ReleaseAdjustment, adjust

NODATA = -1.0
#: the COG is written without a predictor when more than this share of horizontally adjacent
#: cells are equal (measured on the 10 m benchmark: LightGBM 72 MB without, 115 MB with;
#: logistic 450 MB without, 236 MB with)
EQUAL_NEIGHBOURS_NO_PREDICTOR = 0.5
#: glibc settings of the local cluster's worker processes (see ``_distributed``)
WORKER_MALLOC = {"MALLOC_MMAP_THRESHOLD_": 32 * 2**20, "MALLOC_TRIM_THRESHOLD_": 256 * 2**20}


@dataclass(frozen=True, slots=True)
class SurfaceResult:
    path: Path
    cells: int
    seconds: float
    windows: int
    cog_valid: bool
    cog_errors: tuple[str, ...]
    #: wall time of the windows (features, model, writing) and of the COG conversion
    window_seconds: float = float("nan")
    cog_seconds: float = float("nan")

    @property
    def cells_per_second(self) -> float:
        return self.cells / self.seconds if self.seconds > 0 else float("nan")


def score_window(builder: FeatureBuilder, model: RiskModel, window: Window,
                 threads: int = 1, adjustment: ReleaseAdjustment | None = None,
                 score_band: bool = False) -> tuple[Window, np.ndarray]:
    """Probability of contamination of every cell of ``window`` (float32, rows x cols),
    adjusted for released land when ``adjustment`` is given; with ``score_band``, stacked
    over the model's score (2 x rows x cols)."""
    X = builder.window(window, model.features)
    z = model.decision(X, raw=True, threads=threads, shape=(window.height, window.width))
    p = model.probability(z)
    if adjustment is not None and builder.released:
        before = p
        p = adjust(p, builder.released_shares(window), adjustment)
        if score_band:
            # the score follows the adjustment's change of log-odds: it keeps the map's order
            z = z + _logit(p) - _logit(before)
    p = p.astype(np.float32).reshape(window.height, window.width)
    if not score_band:
        return window, p
    return window, np.stack([p, z.astype(np.float32).reshape(window.height, window.width)])


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(np.asarray(p, np.float64), 1e-300, 1.0 - 1e-16)
    return np.log(q) - np.log1p(-q)


def _sync(builder: FeatureBuilder, model: RiskModel, windows: list[Window],
          adjustment: ReleaseAdjustment | None, score_band: bool = False
          ) -> Iterator[tuple[Window, np.ndarray]]:
    for w in windows:
        yield score_window(builder, model, w, threads=1, adjustment=adjustment,
                           score_band=score_band)


def _distributed(builder: FeatureBuilder, model: RiskModel, windows: list[Window],
                 scheduler: str | None, n_workers: int,
                 adjustment: ReleaseAdjustment | None = None, score_band: bool = False
                 ) -> Iterator[tuple[Window, np.ndarray]]:
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler in (None, "", "local"):
        import dask

        # Dask's default MALLOC_TRIM_THRESHOLD_ also turns off glibc's adaptive mmap threshold:
        # every array over 128 kB is then a fresh mapping, page-faulted in anew for each window
        # (measured: +60 % CPU here). Keep arrays under 32 MB on the heap instead.
        with dask.config.set({"distributed.nanny.pre-spawn-environ": {
                **dask.config.get("distributed.nanny.pre-spawn-environ"), **WORKER_MALLOC}}):
            cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                   dashboard_address=":0", memory_limit=0)
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        b_f = client.scatter(builder, broadcast=True)
        m_f = client.scatter(model, broadcast=True)
        n_workers = max(1, len(client.scheduler_info()["workers"]))
        queue = list(windows)
        in_flight = 2 * n_workers      # bounded: memory holds a few windows, never all
        batch = as_completed([client.submit(score_window, b_f, m_f, queue.pop(0), 1,
                                             adjustment, score_band, pure=False)
                              for _ in range(min(in_flight, len(queue)))])
        for fut in batch:
            result = fut.result()
            fut.release()
            if queue:
                batch.add(client.submit(score_window, b_f, m_f, queue.pop(0), 1, adjustment,
                                        score_band, pure=False))
            yield result
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def compute_surface(builder: FeatureBuilder, model: RiskModel, out_path: str | Path, *,
                    window_size: int = 1024, scheduler: str | None = None,
                    n_workers: int = 2,
                    progress: Callable[[int, int], None] | None = None,
                    adjustment: ReleaseAdjustment | None = None,
                    score_band: bool = False) -> SurfaceResult:
    """Write the probability surface of ``builder.grid`` to ``out_path`` as a COG.

    ``scheduler``: None or "local" (a local dask.distributed cluster of ``n_workers``
    processes), "sync" (in this process), or a scheduler address ("tcp://host:8786").
    ``score_band``: a second band holds the model's score (log-odds), which orders every cell
    even where probabilities are equal at the top.
    """
    from rio_cogeo.cogeo import cog_validate

    t0 = time.perf_counter()
    grid = builder.grid
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.stem + f".{os.getpid()}.tmp.tif")
    windows = list(grid.windows(window_size))
    bands = 2 if score_band else 1
    profile = {"driver": "GTiff", "width": grid.width, "height": grid.height, "count": bands,
               "dtype": "float32", "crs": grid.crs, "transform": grid.transform,
               "nodata": NODATA, "tiled": True, "blockxsize": 512, "blockysize": 512,
               "BIGTIFF": "IF_SAFER"}
    source = (_sync(builder, model, windows, adjustment, score_band) if scheduler == "sync"
              else _distributed(builder, model, windows, scheduler, n_workers, adjustment,
                                score_band))
    same = pairs = 0
    try:
        with rasterio.open(tmp, "w", **profile) as dst:
            if score_band:
                dst.set_band_description(1, "probability")
                dst.set_band_description(2, "score (log-odds; orders every cell)")
            for i, (win, arr) in enumerate(source, 1):
                if score_band:
                    dst.write(arr, window=win)
                    arr = arr[0]
                else:
                    dst.write(arr, 1, window=win)
                same += int(np.count_nonzero(arr[:, 1:] == arr[:, :-1]))
                pairs += arr[:, 1:].size
                if progress:
                    progress(i, len(windows))
        t1 = time.perf_counter()
        # a piecewise-constant surface (trees: most neighbours equal) compresses better and
        # faster as it is; a smooth one (logistic) as floating-point differences
        predictor = "NO" if same > EQUAL_NEIGHBOURS_NO_PREDICTOR * pairs else "YES"
        rasterio.shutil.copy(tmp, out, driver="COG", COMPRESS="DEFLATE", PREDICTOR=predictor,
                             OVERVIEW_RESAMPLING="AVERAGE", NUM_THREADS="ALL_CPUS",
                             BIGTIFF="IF_SAFER")
        t2 = time.perf_counter()
    finally:
        tmp.unlink(missing_ok=True)
    valid, errors, _warnings = cog_validate(str(out), quiet=True)
    return SurfaceResult(out, grid.n_cells, time.perf_counter() - t0, len(windows), valid,
                         tuple(errors), t1 - t0, t2 - t1)


def warp_cog(src_path: str | Path, out_path: str | Path, crs: str,
             bounds: tuple[float, float, float, float], resolution: float) -> tuple[bool, tuple]:
    """Resample a surface COG onto another grid (``crs``, ``bounds`` in it, square cells of
    ``resolution`` in its units; nearest cell, so probabilities and scores keep their values)
    and write it as a COG. Returns (COG valid, errors)."""
    import math

    from affine import Affine
    from rasterio.enums import Resampling
    from rasterio.vrt import WarpedVRT
    from rio_cogeo.cogeo import cog_validate

    minx, miny, maxx, maxy = bounds
    width = max(1, math.ceil((maxx - minx) / resolution - 1e-9))
    height = max(1, math.ceil((maxy - miny) / resolution - 1e-9))
    transform = Affine(resolution, 0.0, minx, 0.0, -resolution, maxy)
    with rasterio.open(src_path) as src, WarpedVRT(
            src, crs=crs, transform=transform, width=width, height=height,
            resampling=Resampling.nearest, nodata=NODATA, src_nodata=NODATA) as vrt:
        rasterio.shutil.copy(vrt, out_path, driver="COG", COMPRESS="DEFLATE",
                             OVERVIEW_RESAMPLING="AVERAGE", BIGTIFF="IF_SAFER")
    valid, errors, _warnings = cog_validate(str(out_path), quiet=True)
    return valid, tuple(errors)
