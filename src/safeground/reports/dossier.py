"""The task dossier of a hazardous area: what a survey or clearance team takes to the field.

One A4 page set (HTML, then PDF through ``reports.pdf``), made from the approved record as it
stands and, when a work directory is given, the risk ranking and the current plan
(``reports.outlook``):

* the area's identity: id, name, classification, status, contamination, land use, settlement
  and district, the benchmark (reference point) as recorded, the areas in m²;
* a map drawn here as SVG (no tiles, nothing fetched): the perimeter, the part still
  remaining, each turning point numbered, the start point (turning point 1, from which the
  benchmark is described), a scale bar and north;
* the coordinates of every turning point in lat/lon (WGS 84), UTM (zone and hemisphere) and
  MGRS (1 m);
* the evidence recorded for the area, its activities, accidents in it (dates and counts of
  killed and injured only: never a victim's name or other personal data), and the history of
  its reports (dates, types, statuses — not their contents);
* the risk model's view of it and the work the plan gives it;
* emergency information with blank lines for the team to fill before going out.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from markupsafe import Markup

from safeground import i18n
from safeground.record.labels import value as label
from safeground.record.ledger import Ledger
from safeground.record.vocabulary import ReportType
from safeground.reports.outlook import area_plan, area_risk

#: the emergency information a team fills in by hand before going to the area
EMERGENCY_FIELDS = (
    "Nearest medical facility (name, distance, driving time)",
    "Casualty evacuation route",
    "Helicopter landing site (coordinates)",
    "Radio frequency and call signs",
    "Team leader and telephone",
    "Operations room telephone",
    "Ambulance / emergency services telephone",
    "Medic on site",
)


@dataclass(frozen=True, slots=True)
class TurningPoint:
    number: int
    lon: float
    lat: float
    utm_zone: str
    easting: float
    northing: float
    mgrs: str


def utm_epsg(lon: float, lat: float) -> int:
    zone = int((lon + 180) // 6) + 1
    return (32600 if lat >= 0 else 32700) + zone


def turning_points(geom: Any) -> list[TurningPoint]:
    """The vertices of the area's outer rings (a polygon's closing point once), numbered from
    1, with their UTM and MGRS coordinates."""
    import mgrs
    from pyproj import Transformer

    polys = list(getattr(geom, "geoms", [geom]))
    coords = []
    for p in polys:
        ring = list(p.exterior.coords) if hasattr(p, "exterior") else list(p.coords)
        if len(ring) > 1 and ring[0] == ring[-1]:
            ring = ring[:-1]
        coords += [(float(x), float(y)) for x, y, *_ in ring]
    if not coords:
        return []
    c = geom.centroid
    epsg = utm_epsg(c.x, c.y)
    to_utm = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)
    zone = f"{epsg % 100}{'N' if epsg < 32700 else 'S'}"
    m = mgrs.MGRS()
    out = []
    for i, (lon, lat) in enumerate(coords, 1):
        e, n = to_utm.transform(lon, lat)
        out.append(TurningPoint(i, lon, lat, zone, e, n, m.toMGRS(lat, lon, MGRSPrecision=5)))
    return out


def map_svg(geom: Any, remaining: Any, points: list[TurningPoint], *, width: int = 640,
            height: int = 420) -> Markup:
    """The area drawn in its UTM zone: perimeter, remaining part, numbered turning points,
    the start point, a scale bar and north (inline SVG)."""
    from pyproj import Transformer

    c = geom.centroid
    to_utm = Transformer.from_crs("EPSG:4326", f"EPSG:{utm_epsg(c.x, c.y)}", always_xy=True)

    def proj(g: Any) -> Any:
        return shapely.transform(g, lambda xy: _xy(to_utm, xy))

    area = proj(geom)
    rest = proj(remaining) if remaining is not None and not remaining.is_empty else None
    minx, miny, maxx, maxy = area.bounds
    pad = 40
    span = max(maxx - minx, maxy - miny, 1.0)
    scale = min((width - 2 * pad) / max(maxx - minx, 1e-9 + span * 0.05),
                (height - 2 * pad) / max(maxy - miny, 1e-9 + span * 0.05))
    ox = pad + ((width - 2 * pad) - (maxx - minx) * scale) / 2
    oy = pad + ((height - 2 * pad) - (maxy - miny) * scale) / 2

    def sx(x: float) -> float:
        return ox + (x - minx) * scale

    def sy(y: float) -> float:
        return height - (oy + (y - miny) * scale)

    def path(g: Any) -> str:
        parts = []
        for p in getattr(g, "geoms", [g]):
            if not hasattr(p, "exterior"):
                continue
            for ring in [p.exterior, *p.interiors]:
                pts = " L ".join(f"{sx(x):.1f} {sy(y):.1f}" for x, y, *_ in ring.coords)
                parts.append(f"M {pts} Z")
        return " ".join(parts)

    out = [f'<svg class="dossier-map" viewBox="0 0 {width} {height}" width="100%" '
           f'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="map of the area">',
           f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fbfbf8" '
           'stroke="#999"/>',
           f'<path d="{path(area)}" fill="#f4c7c3" fill-rule="evenodd" stroke="#b3261e" '
           'stroke-width="2"/>']
    if rest is not None and not rest.equals(area):
        out.append(f'<path d="{path(rest)}" fill="#b3261e" fill-opacity="0.35" '
                   'fill-rule="evenodd" stroke="#7f1d1d" stroke-dasharray="4 3"/>')
    step = max(1, math.ceil(len(points) / 60))      # no more than 60 labels on the map
    for tp in points:
        x, y = _xy(to_utm, (tp.lon, tp.lat))
        out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="#111"/>')
        if tp.number == 1 or (tp.number - 1) % step == 0:
            out.append(f'<text x="{sx(x) + 4:.1f}" y="{sy(y) - 4:.1f}" font-size="10">'
                       f'{tp.number}</text>')
    if points:
        x, y = _xy(to_utm, (points[0].lon, points[0].lat))
        out.append(f'<rect x="{sx(x) - 5:.1f}" y="{sy(y) - 5:.1f}" width="10" height="10" '
                   'fill="none" stroke="#1565c0" stroke-width="2"/>'
                   f'<text x="{sx(x) + 8:.1f}" y="{sy(y) + 14:.1f}" font-size="10" '
                   'fill="#1565c0">start point (TP 1)</text>')
    # scale bar: a round length near a fifth of the width
    target = (width / 5) / scale
    nice = 10 ** math.floor(math.log10(target))
    for f in (5, 2, 1):
        if f * nice <= target:
            nice *= f
            break
    bar = nice * scale
    text = f"{nice / 1000:g} km" if nice >= 1000 else f"{nice:g} m"
    out.append(f'<g font-size="10"><rect x="16" y="{height - 22}" width="{bar:.1f}" '
               f'height="5" fill="#111"/><text x="16" y="{height - 26}">{text}</text></g>')
    out.append(f'<g transform="translate({width - 26},30)"><path d="M 0 -16 L 7 6 L 0 1 '
               'L -7 6 Z" fill="#111"/><text x="-4" y="20" font-size="11">N</text></g>')
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - numbers only, no text from the record


def _xy(t: Any, xy: Any) -> Any:
    import numpy as np

    x, y = t.transform(xy[:, 0], xy[:, 1]) if hasattr(xy, "shape") else t.transform(*xy)
    return np.column_stack([x, y]) if hasattr(xy, "shape") else (x, y)


def dossier_data(ledger: Ledger, area_id: str, work_dir: Path | None = None,
                 today: dt.date | None = None) -> dict[str, Any]:
    """What the dossier shows (no victims' personal data in it): raises NotFoundError when
    the record has no such hazardous area."""
    row = ledger.get(ReportType.HAZARDOUS_AREA, area_id)
    geom = row["geometry"]
    points = turning_points(geom)
    evidence = [e for e in ledger.objects(ReportType.EVIDENCE)
                if e.get("hazardous_area_id") == area_id]
    activities = [a for a in ledger.objects(ReportType.ACTIVITY)
                  if a.get("hazardous_area_id") == area_id]
    accidents = [a for a in ledger.objects(ReportType.ACCIDENT)
                 if a.get("hazardous_area_id") == area_id]
    history = [{"id": r.id, "date": r.date_of_information.isoformat(),
                "type": label(str(r.type)), "object_id": r.object_id,
                "status": r.status.value, "organisation": r.organisation}
               for r in ledger.history(area_id)
               if str(r.type) != ReportType.VICTIM.value]
    return {
        "area": {k: v for k, v in row.items() if k not in ("geometry", "remaining_geometry",
                                                            "engine_state")},
        "points": points,
        "map": map_svg(geom, row.get("remaining_geometry"), points),
        "evidence": [{"id": e["id"], "category": label(e.get("category")),
                      "source": label(e.get("source")),
                      "reliability": label(e.get("reliability")),
                      "description": e.get("description") or "",
                      "date": _day(e.get("first_date"))} for e in evidence],
        "activities": [{"id": a["id"], "type": label(a.get("activity_type")),
                        "status": label(a.get("status")),
                        "organisation": a.get("organisation_id") or "",
                        "start": _day(a.get("start_date")), "end": _day(a.get("end_date"))}
                       for a in activities],
        "accidents": [{"id": a["id"], "date": _day(a.get("date") or a.get("first_date")),
                       "killed": a.get("killed") or 0, "injured": a.get("injured") or 0}
                      for a in accidents],
        "history": history,
        "risk": area_risk(work_dir, area_id),
        "plan": area_plan(work_dir, area_id),
        "emergency": EMERGENCY_FIELDS,
        "made": (today or dt.date.today()).isoformat(),
    }


def _day(value: Any) -> str:
    if value is None:
        return ""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def render_html(data: dict[str, Any]) -> str:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("safeground.reports", "templates"),
                      autoescape=select_autoescape(["html"]))
    i18n.install_jinja(env)
    env.filters["term"] = label
    return env.get_template("dossier.html").render(**data)


def write(ledger: Ledger, area_id: str, out: str | Path, work_dir: Path | None = None,
          today: dt.date | None = None) -> Path:
    """Write the area's dossier as a PDF at ``out``."""
    from safeground.reports.pdf import html_to_pdf

    return html_to_pdf(render_html(dossier_data(ledger, area_id, work_dir, today)), out)


def pdf_bytes(ledger: Ledger, area_id: str, work_dir: Path | None = None) -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = write(ledger, area_id, Path(tmp) / "dossier.pdf", work_dir)
        return path.read_bytes()
