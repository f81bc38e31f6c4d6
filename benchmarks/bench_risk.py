"""Benchmark: the risk surface of a ~10,000 km² region at 10 m (~100 million cells).

Prints, for each model (logistic, LightGBM): wall time, cells per second and peak memory (the
resident memory of this process and its Dask workers together, sampled every 0.2 s) of writing
the Cloud-Optimised GeoTIFF, window by window on a local dask.distributed cluster. Targets:
<= 120 s and <= 4 GB on the 2-core reference machine.

Input: the default scenario (``safeground.scenario``, ~10,000 km², seed 0) when the package is
there — generated into a temporary directory unless ``--scenario DIR`` points at one already
written — else synthetic context layers of the same size (the output says which). The model is
fitted at 100 m on the observable record (time printed apart); the surface covers a 100 x 100 km
square (10,000 km²) centred on the region.

    .venv/bin/python benchmarks/bench_risk.py [--scenario DIR] [--resolution 10] [--side-km 100]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import tempfile
import threading
import time
from pathlib import Path

import psutil


class PeakMemory:
    """Peak of the summed RSS of this process and all its children, and the CPU time they used
    (user + system, the last sample of each process; the machine's load does not inflate it)."""

    def __init__(self, every: float = 0.2) -> None:
        self.every, self.peak, self._stop = every, 0, threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._cpu: dict[int, float] = {}
        self._cpu0 = self._own_cpu()

    @staticmethod
    def _own_cpu() -> float:
        t = psutil.Process().cpu_times()
        return t.user + t.system

    @property
    def cpu_seconds(self) -> float:
        me = psutil.Process().pid
        return sum(v for k, v in self._cpu.items() if k != me) + self._own_cpu() - self._cpu0

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
                    t = p.cpu_times()
                    self._cpu[p.pid] = t.user + t.system
            self.peak = max(self.peak, total)
            time.sleep(self.every)

    def __enter__(self) -> PeakMemory:
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()


def scenario_dir(given: str | None, tmp: Path) -> tuple[Path, str]:
    if given:
        return Path(given), f"scenario at {given}"
    try:
        from safeground.scenario.config import ScenarioConfig
        from safeground.scenario.scenario import generate
    except ImportError:
        return synthetic(tmp), "synthetic context layers (scenario package not available)"
    t0 = time.perf_counter()
    generate(ScenarioConfig(seed=0)).write(tmp / "scenario")
    took = time.perf_counter() - t0
    return tmp / "scenario", f"default scenario, seed 0 (generated in {took:.0f} s)"


def synthetic(tmp: Path) -> Path:
    """A 100 x 100 km stand-in: front line, roads, settlements, rasters and reports."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.risk import conftest as c

    c.W, c.H = 100_000.0, 100_000.0
    c.FRONT_X, c.ROAD_Y = c.X0 + 50_000.0, c.Y0 + 30_000.0
    return c.make_programme(tmp / "synthetic", n_direct=2000)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario")
    ap.add_argument("--resolution", type=float, default=10.0)
    ap.add_argument("--side-km", type=float, default=100.0)
    ap.add_argument("--window", type=int, default=1024)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--kinds", default="logistic,lightgbm")
    ap.add_argument("--keep", help="directory to keep the GeoTIFFs in")
    ap.add_argument("--score-band", action="store_true",
                    help="also write the score band, as `risk map` does by default")
    args = ap.parse_args()

    from safeground.risk import forecast, sources, twin
    from safeground.risk.grid import Grid
    from safeground.risk.surface import compute_surface

    with tempfile.TemporaryDirectory(dir=args.keep) as tmpd:
        tmp = Path(tmpd)
        root, what = scenario_dir(args.scenario, tmp)
        print(f"input: {what}; load average (1 min) {os.getloadavg()[0]:.2f}")
        src = sources.detect(root)
        until = twin.record_end(root) if (root / "scenario.json").exists() else "2021-12-31"
        t0 = time.perf_counter()
        study = sources.build_study(src, until, 100.0)
        kinds = tuple(args.kinds.split(","))
        models = forecast.fit(study, until, 0.25, kinds, seed=0)
        print(f"fit at 100 m on {study.grid.n_cells:,} cells: {time.perf_counter() - t0:.1f} s")
        minx, miny, maxx, maxy = study.grid.bounds
        cx, cy, half = (minx + maxx) / 2, (miny + maxy) / 2, args.side_km * 500.0
        grid = Grid.from_bounds((cx - half, cy - half, cx + half, cy + half), args.resolution,
                                study.grid.crs)
        results = {}
        for kind in kinds:
            t1 = time.perf_counter()
            builder = sources.study_on(study, grid).builder(until)
            prep = time.perf_counter() - t1
            load0 = os.getloadavg()[0]
            with PeakMemory() as mem:
                res = compute_surface(builder, models[kind], tmp / f"risk_{kind}.tif",
                                      window_size=args.window, n_workers=args.workers,
                                      score_band=args.score_band)
            total = prep + res.seconds
            load = os.getloadavg()[0]
            results[kind] = {"load_1min_before": round(load0, 2),
                             "load_1min_after": round(load, 2),
                             "cpu_seconds": round(mem.cpu_seconds, 1),
                             "cells": res.cells, "seconds": round(total, 1),
                             "cells_per_second": round(res.cells / total),
                             "peak_memory_gb": round(mem.peak / 1e9, 2),
                             "cog_valid": res.cog_valid, "windows": res.windows,
                             "seconds_features_setup": round(prep, 1),
                             "seconds_windows": round(res.window_seconds, 1),
                             "seconds_cog": round(res.cog_seconds, 1),
                             "cog_mb": round(res.path.stat().st_size / 1e6, 1),
                             "features": len(models[kind].features)}
            print(f"{kind}: {res.cells:,} cells ({args.side_km:g} km square at "
                  f"{args.resolution:g} m) in {total:.1f} s = {res.cells / total:,.0f} "
                  f"cells/s; peak memory {mem.peak / 1e9:.2f} GB; COG valid {res.cog_valid}; "
                  f"CPU {mem.cpu_seconds:.0f} s; load {load0:.2f} before, {load:.2f} after")
        print(json.dumps(results))


if __name__ == "__main__":
    main()
