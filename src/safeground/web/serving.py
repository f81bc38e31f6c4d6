"""The web app as ``safeground serve --workers N`` runs it: several worker processes.

uvicorn starts each worker as a fresh process that builds its own app with ``app_from_env``
(an app factory) from the options the command put in ``$SAFEGROUND_SERVE_OPTIONS``. Workers
share nothing in memory: sessions, API tokens, sign-in throttling, background jobs and the
re-planning live in the database (``web.app``), and the derived figures each worker keeps are
keyed by the record's version read from the database (``web.cache``), so any worker (or any
server on the same database) can answer any request.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from typing import Any

from fastapi import FastAPI

#: the environment variable that carries the options to the worker processes
ENV = "SAFEGROUND_SERVE_OPTIONS"
#: database connections of the whole server when ``--db-connections`` is not given
CONNECTIONS = 20
#: the fewest connections one worker keeps
MIN_PER_WORKER = 4


@dataclass(frozen=True, slots=True)
class ServeOptions:
    db: str | None = None
    work_dir: str | None = None
    secure_cookies: bool = False
    follow_approvals: bool = True
    public_url: str | None = None
    #: database connections of one worker (``per_worker``)
    connections: int | None = None
    #: an offline basemap file (MBTiles or PMTiles) served under the map's layers
    basemap: str | None = None


def per_worker(total: int, workers: int) -> int:
    """The database connections each of ``workers`` keeps out of ``total`` for the server (at
    least ``MIN_PER_WORKER``)."""
    return max(MIN_PER_WORKER, total // max(1, workers))


def build(options: ServeOptions) -> FastAPI:
    from pathlib import Path

    from safeground.settings import Settings
    from safeground.web.app import create_app

    return create_app(Settings.from_env(database_url=options.db),
                      work_dir=Path(options.work_dir) if options.work_dir else None,
                      secure_cookies=options.secure_cookies,
                      follow_approvals=options.follow_approvals,
                      public_url=options.public_url, connections=options.connections,
                      basemap=options.basemap)


def to_env(options: ServeOptions) -> dict[str, str]:
    return {ENV: json.dumps(asdict(options))}


def app_from_env() -> FastAPI:
    """The app of one worker process (uvicorn's ``factory``)."""
    raw: dict[str, Any] = json.loads(os.environ.get(ENV, "{}"))
    return build(ServeOptions(**raw))
