"""Programme settings: where the record lives and the programme's geography.

Settings are validated once, here, and passed as a typed value; nothing deeper reads the
environment. Environment variables (``SAFEGROUND_DATABASE_URL``, ``SAFEGROUND_UTM_EPSG``,
``SAFEGROUND_EXTENT`` as ``minlon,minlat,maxlon,maxlat``) override the defaults, which fit the
reference programme (Azerbaijan, UTM zone 38N).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, replace

from safeground.errors import ConfigError

DEFAULT_DATABASE_URL = "sqlite:///safeground.sqlite"


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    #: metric CRS in which every area is computed (never in degrees)
    utm_epsg: int = 32638
    #: programme extent in lon/lat: coordinates outside it are refused at the gate
    extent: tuple[float, float, float, float] = (44.7, 38.3, 50.9, 41.95)
    #: the earliest date of information the programme accepts
    earliest_date: dt.date = dt.date(1988, 1, 1)
    #: two consecutive polygon vertices further apart than this are a probable typo
    max_vertex_gap_m: float = 10_000.0
    #: one record may not describe more than this area
    max_area_km2: float = 2_000.0
    #: a new hazardous area overlapping this share of an existing one is a probable duplicate
    duplicate_overlap: float = 0.8
    #: the most vertices one geometry of one record may have
    max_vertices: int = 100_000
    #: an overlap with already-released land smaller than this (m², or share of the polygon) is
    #: clipped silently (GPS noise); a larger one is refused
    release_overlap_tolerance_m2: float = 1.0
    release_overlap_tolerance_share: float = 0.005
    #: a hazardous area whose remaining area falls below this many m², or this share of its
    #: original area, is closed (slivers from GPS noise and reprojection)
    close_below_m2: float = 1.0
    close_below_share: float = 1e-4
    #: radius of land reopened around point evidence found in a closed area
    reopen_radius_m: float = 50.0
    #: limits on the files the intake reads (docs/intake.md, "Limits"): what every archive
    #: (ODK and Survey123 zips, zipped Shapefiles and GeoPackages, uploads) may expand to in
    #: all, how many members it may hold, and how many times a member larger than 1 MiB may
    #: expand its compressed size
    intake_max_unpacked_bytes: int = 256 << 20
    intake_max_members: int = 1_000
    intake_max_ratio: float = 100.0
    #: the largest JSON file parsed (it takes about ten times its size in memory) and the
    #: deepest nesting it may have (GeoJSON needs 7 levels; field exports about 10)
    intake_max_json_bytes: int = 128 << 20
    intake_max_json_depth: int = 64
    #: the largest CSV cell, in characters (a WKT polygon of 20,000 vertices takes ~800,000)
    intake_max_cell_chars: int = 1 << 20

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Defaults, then ``SAFEGROUND_*`` environment variables, then explicit overrides.

        Raises ConfigError when a variable is malformed.
        """
        s = cls()
        env = os.environ
        try:
            if "SAFEGROUND_DATABASE_URL" in env:
                s = replace(s, database_url=env["SAFEGROUND_DATABASE_URL"])
            if "SAFEGROUND_UTM_EPSG" in env:
                s = replace(s, utm_epsg=int(env["SAFEGROUND_UTM_EPSG"]))
            if "SAFEGROUND_EXTENT" in env:
                parts = tuple(float(x) for x in env["SAFEGROUND_EXTENT"].split(","))
                if len(parts) != 4:
                    raise ValueError("extent needs four numbers")
                s = replace(s, extent=parts)  # type: ignore[arg-type]
        except ValueError as exc:
            raise ConfigError(f"bad SAFEGROUND_* setting: {exc}") from exc
        return replace(s, **{k: v for k, v in overrides.items() if v is not None})
