"""Report files in, record out: the plain Safeground exchange format.

In: a GeoJSON FeatureCollection (one Feature per report; ``properties`` hold the header and
payload fields of ``REPORT_SPECS``; a top-level ``crs`` member or a ``crs`` property names a
CRS other than EPSG:4326), or a CSV file with the same columns and the geometry as a ``wkt``
column or ``longitude`` / ``latitude`` columns. See docs/report-format.md.

Out: the derived record of one object type as GeoJSON, sensitive fields left out unless asked.
Field forms (ODK, Kobo, Survey123), GeoPackage and HXL live in ``safeground.intake``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import shapely

from safeground.errors import ValidationError
from safeground.record.problems import Problem
from safeground.record.reports import REPORT_SPECS, sensitive_fields
from safeground.record.vocabulary import ReportType

SUFFIXES = (".geojson", ".json", ".csv")


def _fail(path: Path, code: str, **params: Any) -> ValidationError:
    return ValidationError([Problem(code, path.name, None, params)])


def read_records(path: Path) -> list[dict[str, Any]]:
    """Read a report file into raw records, each with ``_where`` naming file and row.

    Raises ValidationError (FILE_UNREADABLE, FILE_ENCODING, FILE_FORMAT_UNKNOWN, FILE_EMPTY,
    COLUMN_MISSING) when the file as a whole cannot be read; row problems are left to the gate.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise _fail(path, "FILE_FORMAT_UNKNOWN", suffix=suffix or "(none)",
                    expected=", ".join(SUFFIXES))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _fail(path, "FILE_UNREADABLE", reason=exc.strerror or str(exc)) from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _fail(path, "FILE_ENCODING", encoding="UTF-8", reason=str(exc)[:100]) from exc
    records = list(_geojson(path, text) if suffix != ".csv" else _csv(path, text))
    if not records:
        raise _fail(path, "FILE_EMPTY")
    return records


def _geojson(path: Path, text: str) -> Iterator[dict[str, Any]]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(path, "FILE_UNREADABLE", reason=f"not JSON: {exc.msg} at line {exc.lineno}") \
            from exc
    except RecursionError as exc:
        raise _fail(path, "FILE_UNREADABLE", reason="not JSON: nested too deep") from exc
    except ValueError as exc:  # an integer of more than 4,300 digits
        raise _fail(path, "FILE_UNREADABLE", reason=f"not JSON: {str(exc)[:100]}") from exc
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        doc = {"type": "FeatureCollection", "features": [doc]}
    if not isinstance(doc, dict) or not isinstance(doc.get("features"), list):
        raise _fail(path, "FILE_UNREADABLE", reason="not a GeoJSON FeatureCollection")
    crs_props = doc["crs"].get("properties") if isinstance(doc.get("crs"), dict) else None
    crs = crs_props.get("name") if isinstance(crs_props, dict) else None
    for i, feat in enumerate(doc["features"], start=1):
        props = feat.get("properties") if isinstance(feat, dict) else None
        if not isinstance(feat, dict) or not isinstance(props, dict | None):
            yield {"_where": f"{path.name} feature {i}"}
            continue
        rec = dict(props or {})
        rec["geometry"] = feat.get("geometry")
        if crs and "crs" not in rec:
            rec["crs"] = crs
        rec["_where"] = f"{path.name} feature {i}"
        yield rec


def _csv(path: Path, text: str) -> Iterator[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    if "report_type" not in header:
        raise ValidationError([Problem("COLUMN_MISSING", path.name, None,
                                       {"column": "report_type"})])
    for i, row in enumerate(reader, start=2):  # row 1 is the header
        rec: dict[str, Any] = {k: v for k, v in row.items() if k is not None}
        wkt = rec.pop("wkt", None)
        lon, lat = rec.pop("longitude", None), rec.pop("latitude", None)
        if wkt:
            rec["geometry"] = wkt
        elif lon and lat:
            try:
                rec["geometry"] = shapely.Point(float(lon), float(lat))
            except ValueError:
                rec["geometry"] = f"POINT ({lon} {lat})"
        for f in REPORT_SPECS.get(ReportType(rec["report_type"]), None).fields \
                if rec.get("report_type") in ReportType._value2member_map_ else ():
            if f.kind == "choices" and rec.get(f.name):
                rec[f.name] = [x.strip() for x in rec[f.name].replace(";", ",").split(",")]
        rec["_where"] = f"{path.name} row {i}"
        yield rec


def write_reports(records: list[dict[str, Any]], path: Path) -> Path:
    """Write report records (header and payload fields, shapely ``geometry`` in EPSG:4326)
    as a report file that ``read_records`` reads back."""
    feats = []
    for rec in records:
        geom = rec.get("geometry")
        feats.append({"type": "Feature",
                      "properties": {k: _jsonable(v) for k, v in rec.items() if k != "geometry"},
                      "geometry": shapely.geometry.mapping(geom) if geom is not None else None})
    Path(path).write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return Path(path)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def to_geojson(rows: list[dict[str, Any]], report_type: ReportType,
               include_sensitive: bool = False) -> dict[str, Any]:
    """A FeatureCollection of derived objects (``Ledger.objects``) of one type."""
    hidden = set() if include_sensitive else set(sensitive_fields(report_type))
    hidden |= {"remaining_geometry"}
    feats = []
    for row in rows:
        geom = row.get("geometry")
        props = {k: _jsonable(v) for k, v in row.items()
                 if k not in hidden and k != "geometry" and not isinstance(v, bytes)}
        feats.append({"type": "Feature", "id": row["id"], "properties": props,
                      "geometry": shapely.geometry.mapping(geom) if geom is not None else None})
    return {"type": "FeatureCollection", "name": report_type.value, "features": feats}
