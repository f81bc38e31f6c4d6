"""A real Dask cluster for the tests: a ``dask scheduler`` and worker processes.

:func:`cluster` starts ``dask scheduler`` on a free localhost port and ``workers`` ``dask
worker`` processes (one thread each) as separate programs, exactly as on several machines, and
yields the scheduler's address once every worker has joined; everything is stopped when the
block ends. The workers inherit this process's environment (``PYTHONPATH``: they import the
same Safeground). Their output goes to ``log_dir``.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path


def _dask() -> list[str]:
    found = Path(sys.executable).with_name("dask")
    if found.is_file():
        return [str(found)]
    on_path = shutil.which("dask")
    return [on_path] if on_path else [sys.executable, "-m", "dask"]


@contextlib.contextmanager
def cluster(log_dir: Path, workers: int = 2, timeout: float = 180) -> Iterator[str]:
    """A scheduler and ``workers`` worker processes; yields the scheduler's address."""
    from dask.distributed import Client

    log_dir.mkdir(parents=True, exist_ok=True)
    info = log_dir / "scheduler.json"
    procs: list[subprocess.Popen] = []
    logs = []
    try:
        out = (log_dir / "scheduler.log").open("wb")
        logs.append(out)
        procs.append(subprocess.Popen(
            [*_dask(), "scheduler", "--host", "127.0.0.1", "--port", "0",
             "--dashboard-address", ":0", "--scheduler-file", str(info)],
            stdout=out, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + timeout
        while not info.is_file() or not info.read_text().strip():
            if procs[0].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("dask scheduler did not start:\n"
                                   + (log_dir / "scheduler.log").read_text()[-2000:])
            time.sleep(0.1)
        address = json.loads(info.read_text())["address"]
        for i in range(workers):
            out = (log_dir / f"worker-{i}.log").open("wb")
            logs.append(out)
            procs.append(subprocess.Popen(
                [*_dask(), "worker", address, "--nthreads", "1", "--nworkers", "1",
                 "--no-dashboard", "--memory-limit", "0", "--name", f"test-worker-{i}"],
                stdout=out, stderr=subprocess.STDOUT))
        with Client(address, timeout=timeout) as client:
            client.wait_for_workers(workers, timeout=timeout)
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in reversed(procs):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        for out in logs:
            out.close()
