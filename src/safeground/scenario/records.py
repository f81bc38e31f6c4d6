"""Field reports as the scenario writes them: plain dicts in the Safeground report file format.

Each record holds the header fields (``report_type``, ``object_id``, ``date_of_information``,
``organisation``, ``author``, ``submission_id``), the payload fields of its type exactly as named
in ``REPORT_SPECS``, and ``geometry``. Internally geometry is UTM 38N; ``Scenario.report_records``
and the files carry EPSG:4326.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from safeground.record.reports import REPORT_SPECS
from safeground.record.vocabulary import ReportType
from safeground.scenario.geo import to_wgs

#: File order = dependency order: importing the files in name order resolves every reference.
FILE_ORDER: tuple[ReportType, ...] = (
    ReportType.ORGANISATION, ReportType.TEAM, ReportType.ADMIN_AREA, ReportType.SETTLEMENT,
    ReportType.HAZARDOUS_AREA, ReportType.EVIDENCE, ReportType.ACTIVITY, ReportType.LAND_RELEASE,
    ReportType.ORDNANCE, ReportType.ACCIDENT, ReportType.VICTIM, ReportType.RISK_EDUCATION,
    ReportType.REFERRAL, ReportType.QA_VISIT,
)


def file_name(rtype: ReportType) -> str:
    return f"{FILE_ORDER.index(rtype) + 1:02d}_{rtype.value}.geojson"


class RecordBook:
    """An append-only list of report records with stable object ids."""

    def __init__(self, prefix: str = "SCN") -> None:
        self.records: list[dict[str, Any]] = []
        self._counters: dict[str, int] = {}
        self._prefix = prefix

    def new_id(self, prefix: str, width: int = 6) -> str:
        n = self._counters.get(prefix, 0) + 1
        self._counters[prefix] = n
        return f"{prefix}-{n:0{width}d}"

    def add(self, rtype: ReportType, object_id: str, date: dt.date, organisation: str,
            author: str, geometry: shapely.Geometry | None = None, **payload: Any) -> dict:
        spec = REPORT_SPECS[rtype]
        unknown = set(payload) - {f.name for f in spec.fields}
        if unknown:   # a programming error in the generator, never user input
            raise KeyError(f"{rtype}: unknown fields {sorted(unknown)}")
        rec: dict[str, Any] = {
            "report_type": rtype.value, "object_id": object_id,
            "date_of_information": date.isoformat(), "organisation": organisation,
            "author": author,
            "submission_id": f"{self._prefix}-{len(self.records) + 1:07d}",
        }
        rec.update({k: _plain(v) for k, v in payload.items() if v is not None})
        rec["geometry"] = geometry
        self.records.append(rec)
        return rec

    def __len__(self) -> int:
        return len(self.records)


def _plain(v: Any) -> Any:
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if hasattr(v, "value") and isinstance(getattr(v, "value", None), str):
        return v.value
    return v


def in_file_order(records: Iterable[dict]) -> list[dict]:
    """Records sorted by file order, then date of information, then insertion order."""
    rank = {t.value: i for i, t in enumerate(FILE_ORDER)}
    indexed = list(enumerate(records))
    indexed.sort(key=lambda t: (rank[t[1]["report_type"]], t[1]["date_of_information"], t[0]))
    return [r for _, r in indexed]


def to_wgs_records(records: list[dict]) -> Iterator[dict]:
    """Copies of ``records`` with geometry in EPSG:4326 (transformed in one vectorised call)."""
    geoms = np.array([r.get("geometry") for r in records], dtype=object)
    has = np.array([g is not None for g in geoms], dtype=bool)
    out = np.full(len(records), None, dtype=object)
    if has.any():
        out[has] = to_wgs(geoms[has])
        # a valid UTM polygon can come out of the projection with a ring just touching another
        bad = has & ~shapely.is_valid(np.where(has, out, None).astype(object))
        for i in np.flatnonzero(bad):
            out[i] = polygonal(shapely.make_valid(out[i]))
    for r, g in zip(records, out, strict=True):
        c = dict(r)
        c["geometry"] = g
        yield c


def polygonal(g: shapely.Geometry) -> shapely.Geometry:
    """The polygon parts of ``g`` (after ``make_valid``) as a Polygon or MultiPolygon.

    Parts under ~0.1 m² (1e-11 square degrees) are dropped: they are repair slivers.
    """
    parts = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
    flat = [q for p in parts for q in shapely.get_parts(p) if q.area > 1e-11]
    if len(flat) == 1:
        return flat[0]
    return shapely.MultiPolygon(flat) if flat else g


def write_geojson(path: Path, records: list[dict]) -> int:
    """One FeatureCollection (EPSG:4326); ``records`` already carry lon/lat geometry."""
    geoms = np.array([r["geometry"] for r in records], dtype=object)
    has = np.array([g is not None for g in geoms], dtype=bool)
    gj = np.full(len(records), "null", dtype=object)
    if has.any():
        gj[has] = shapely.to_geojson(shapely.set_precision(geoms[has], 1e-7))
    with path.open("w", encoding="utf-8") as fh:
        fh.write('{"type": "FeatureCollection", "crs": {"type": "name", "properties": '
                 '{"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}, "features": [\n')
        for i, (r, g) in enumerate(zip(records, gj, strict=True)):
            props = {k: v for k, v in r.items() if k != "geometry"}
            sep = ",\n" if i else ""
            fh.write(f'{sep}{{"type": "Feature", "properties": {json.dumps(props)}, '
                     f'"geometry": {g}}}')
        fh.write("\n]}\n")
    return len(records)
