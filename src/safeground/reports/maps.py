"""Maps drawn as SVG on the server, for printed reports (no tiles, nothing fetched).

``overview_map`` draws the programme at a period's end in the UTM zone of its middle:
district outlines, hazardous areas still open (SHA amber, CHA red), areas closed (green
outline), land released in the period (green), settlements (dots), with a scale bar, north
and a legend. Shapes are simplified to about a pixel so the page stays small.
"""

from __future__ import annotations

import datetime as dt
import math
from html import escape
from typing import Any

import numpy as np
import shapely
from markupsafe import Markup

from safeground.record.ledger import Ledger
from safeground.record.vocabulary import HazardStatus, ReportType

COLOURS = {"SHA": "#e8a33d", "CHA": "#b3261e", "closed": "#2e7d32", "released": "#66bb6a",
           "admin": "#6d7b8a", "settlement": "#263238"}


def utm_epsg(lon: float, lat: float) -> int:
    zone = int((lon + 180) // 6) + 1
    return (32600 if lat >= 0 else 32700) + zone


class _Frame:
    """Lon/lat to the SVG's pixels through the UTM zone of the frame's centre."""

    def __init__(self, bounds: tuple[float, float, float, float], width: int, height: int,
                 pad: int = 24) -> None:
        from pyproj import Transformer

        lon, lat = (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2
        self.t = Transformer.from_crs("EPSG:4326", f"EPSG:{utm_epsg(lon, lat)}",
                                      always_xy=True)
        box = shapely.transform(shapely.box(*bounds), self._utm, interleaved=True)
        minx, miny, maxx, maxy = box.bounds
        self.scale = min((width - 2 * pad) / max(maxx - minx, 1.0),
                         (height - 2 * pad) / max(maxy - miny, 1.0))
        self.ox = pad + ((width - 2 * pad) - (maxx - minx) * self.scale) / 2 - minx * self.scale
        self.oy = pad + ((height - 2 * pad) - (maxy - miny) * self.scale) / 2 - miny * self.scale
        self.height = height

    def _utm(self, xy: np.ndarray) -> np.ndarray:
        x, y = self.t.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    def project(self, g: Any) -> Any:
        """The geometry in SVG pixels (y down), simplified to half a pixel."""
        def px(xy: np.ndarray) -> np.ndarray:
            u = self._utm(xy)
            return np.column_stack([self.ox + u[:, 0] * self.scale,
                                    self.height - (self.oy + u[:, 1] * self.scale)])
        out = shapely.transform(g, px)
        return shapely.simplify(out, 0.5, preserve_topology=True)


def _d(g: Any) -> str:
    """An SVG path's ``d`` of a polygon, multipolygon or line."""
    parts = []
    for p in getattr(g, "geoms", [g]):
        if p.is_empty:
            continue
        if hasattr(p, "exterior"):
            for ring in [p.exterior, *p.interiors]:
                parts.append("M " + " L ".join(f"{x:.1f} {y:.1f}" for x, y, *_ in ring.coords)
                             + " Z")
        elif p.geom_type == "LineString":
            parts.append("M " + " L ".join(f"{x:.1f} {y:.1f}" for x, y, *_ in p.coords))
    return " ".join(parts)


def overview_map(ledger: Ledger, start: dt.date, end: dt.date, *, width: int = 900,
                 height: int = 560) -> Markup:
    """The programme's map at ``end``, with the land released from ``start`` (inline SVG)."""
    # the record as it stands when the period runs to today (no date of information is in
    # the future): the derived tables, not a replay of the history
    day = None if end >= dt.date.today() else end
    areas = [a for a in ledger.objects(ReportType.HAZARDOUS_AREA, day)
             if a.get("geometry") is not None]
    released = [r for r in ledger.objects(ReportType.LAND_RELEASE, day)
                if r.get("geometry") is not None and start <= r["first_date"] <= end]
    admin = [a for a in ledger.objects(ReportType.ADMIN_AREA, day) if a.get("geometry")]
    settlements = [s for s in ledger.objects(ReportType.SETTLEMENT, day) if s.get("geometry")]
    geoms = [a["geometry"] for a in areas] + [r["geometry"] for r in released]
    if not geoms:
        empty = (f'<svg class="map" viewBox="0 0 {width} 60" width="100%" '
                 'xmlns="http://www.w3.org/2000/svg"><text x="10" y="35">no hazardous '
                 "area recorded</text></svg>")
        return Markup(empty)  # noqa: S704 - fixed text
    arr = np.empty(len(geoms), dtype=object)
    arr[:] = geoms
    bounds = tuple(float(v) for v in shapely.total_bounds(arr))
    f = _Frame(bounds, width, height)
    out = [f'<svg class="map" viewBox="0 0 {width} {height}" width="100%" '
           'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="map of the programme">',
           f'<rect width="{width}" height="{height}" fill="#fbfbf8" stroke="#999"/>']
    for a in admin:
        out.append(f'<path d="{_d(f.project(a["geometry"]))}" fill="none" '
                   f'stroke="{COLOURS["admin"]}" stroke-dasharray="5 4" stroke-width="0.8"/>')
    for r in released:
        out.append(f'<path d="{_d(f.project(r["geometry"]))}" fill="{COLOURS["released"]}" '
                   'fill-opacity="0.8" stroke="none"/>')
    for a in areas:
        d = _d(f.project(a.get("remaining_geometry") or a["geometry"]))
        if not d:
            continue
        if a["status"] == HazardStatus.CLOSED.value:
            out.append(f'<path d="{_d(f.project(a["geometry"]))}" fill="none" '
                       f'stroke="{COLOURS["closed"]}" stroke-width="0.8"/>')
            continue
        c = COLOURS.get(a["classification"], "#999")
        out.append(f'<path d="{d}" fill="{c}" fill-opacity="0.6" stroke="{c}" '
                   'stroke-width="0.6" fill-rule="evenodd"/>')
    for s in settlements:
        p = f.project(s["geometry"].representative_point())
        out.append(f'<circle cx="{p.x:.1f}" cy="{p.y:.1f}" r="2" '
                   f'fill="{COLOURS["settlement"]}"/>')
    out += _furniture(f, width, height)
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - numbers and fixed words only


def _furniture(f: _Frame, width: int, height: int) -> list[str]:
    target = (width / 6) / f.scale
    nice = 10 ** math.floor(math.log10(target))
    for k in (5, 2, 1):
        if k * nice <= target:
            nice *= k
            break
    text = f"{nice / 1000:g} km" if nice >= 1000 else f"{nice:g} m"
    items = [("CHA open", COLOURS["CHA"]), ("SHA open", COLOURS["SHA"]),
             ("released in the period", COLOURS["released"]), ("closed", COLOURS["closed"])]
    out = [f'<g font-size="11"><rect x="14" y="{height - 20}" width="{nice * f.scale:.1f}" '
           f'height="5" fill="#111"/><text x="14" y="{height - 24}">{escape(text)}</text></g>',
           f'<g transform="translate({width - 24},28)"><path d="M 0 -16 L 7 6 L 0 1 L -7 6 Z" '
           'fill="#111"/><text x="-4" y="20" font-size="11">N</text></g>',
           f'<g font-size="11" transform="translate({width - 190},'
           f'{height - 16 * len(items) - 30})">'
           f'<rect x="-6" y="-14" width="186" height="{16 * len(items) + 24}" fill="#fff" '
           'fill-opacity="0.85"/>']
    for i, (name, colour) in enumerate(items):
        out.append(f'<rect x="0" y="{i * 16 - 9}" width="10" height="10" fill="{colour}"/>'
                   f'<text x="16" y="{i * 16}">{escape(name)}</text>')
    out.append(f'<circle cx="5" cy="{len(items) * 16 - 4}" r="2.5" fill="#263238"/>'
               f'<text x="16" y="{len(items) * 16}">settlement</text></g>')
    return out
