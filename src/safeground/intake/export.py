"""The record given back in open formats: GeoPackage, GeoJSON, HXL CSV, IMAS land release
summary.

GeoPackage (written by GDAL through pyogrio): one layer per object type with the derived state
(``hazardous_areas``, ``ordnance_items``...; attribute tables for types without geometry), the
remaining part of each hazardous area (``hazardous_areas_remaining``), and, unless left out,
one layer per report type with every approved report (``hazardous_area``, ``evidence``...: the
exchange columns of docs/report-format.md). The report layers make the file a complete,
re-importable copy of the record: ``import_path`` on it into an empty database, then approval,
rebuilds the same derived state. Sensitive fields (victims' names, birth dates, addresses) are
left out unless asked for.

HXL: the derived objects of one type as CSV with a row of HXL hashtags under the header
(https://hxlstandard.org), so humanitarian tools (HDX, libhxl) read it.

Land release summary: by period, organisation and method, the area cancelled, reduced and
cleared (m², computed in the programme's UTM zone) and the items found, as IMAS 07.11 and
donors' reports ask.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from safeground.record.cells import csv_row
from safeground.record.exchange import to_geojson
from safeground.record.ledger import Ledger
from safeground.record.reports import REPORT_SPECS, Report, sensitive_fields
from safeground.record.storage.schema import TABLE_NAMES
from safeground.record.vocabulary import ReportStatus, ReportType


def _plain(v: Any) -> Any:
    if isinstance(v, list | tuple):
        return ";".join(str(x) for x in v)
    if isinstance(v, dict):
        return json.dumps(v, default=str)
    if isinstance(v, dt.datetime):
        return v.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, bytes):
        return None
    return v


def _frame(rows: list[dict[str, Any]], geometry: list[Any] | None) -> pd.DataFrame:
    df = pd.DataFrame([{k: _plain(v) for k, v in r.items()} for r in rows])
    if geometry is None:
        return df
    return gpd.GeoDataFrame(df, geometry=geometry, crs="EPSG:4326")


def _write(frame: pd.DataFrame, path: Path, layer: str, first: bool,
           geometry_type: str | None = None) -> None:
    kw: dict[str, Any] = {"layer": layer, "driver": "GPKG", "append": not first}
    if geometry_type:
        kw["geometry_type"] = geometry_type
    pyogrio.write_dataframe(frame, path, **kw)


def object_rows(ledger: Ledger, rtype: ReportType, as_of: dt.date | None = None,
                include_sensitive: bool = False, organisation: str | None = None,
                bbox: tuple[float, float, float, float] | None = None) -> list[dict[str, Any]]:
    """Derived objects of one type, filtered, sensitive fields dropped unless asked."""
    rows = ledger.objects(rtype, as_of)
    hidden = set() if include_sensitive else sensitive_fields(rtype)
    out = []
    box = shapely.box(*bbox) if bbox else None
    for r in rows:
        if organisation and r.get("organisation") != organisation:
            continue
        if box is not None and (r.get("geometry") is None or not r["geometry"].intersects(box)):
            continue
        out.append({k: v for k, v in r.items() if k not in hidden})
    return out


def report_rows(reps: list[Report], include_sensitive: bool = False) -> list[dict[str, Any]]:
    """Approved reports in the exchange columns (header, payload, geometry)."""
    out = []
    for rep in reps:
        hidden = set() if include_sensitive else sensitive_fields(rep.type)
        out.append({"report_type": str(rep.type), "object_id": rep.object_id,
                    "date_of_information": rep.date_of_information.isoformat(),
                    "organisation": rep.organisation, "author": rep.author,
                    "submission_id": rep.submission_id or f"report:{rep.id}",
                    **{k: v for k, v in rep.payload.items() if k not in hidden},
                    "geometry": rep.geometry})
    return out


def object_layer(rtype: ReportType) -> str:
    """The GeoPackage layer of an object type's derived state: its table name, unless that
    is also a report type's name (``evidence``), since report layers carry those."""
    name = TABLE_NAMES[rtype]
    return f"{name}_current" if name in ReportType._value2member_map_ else name


def export_gpkg(ledger: Ledger, path: str | Path, types: list[ReportType] | None = None, *,
                as_of: dt.date | None = None, include_sensitive: bool = False,
                organisation: str | None = None,
                bbox: tuple[float, float, float, float] | None = None,
                with_reports: bool = True) -> dict[str, int]:
    """Write the record (or the part asked for) to a GeoPackage; returns features per layer.

    Filters: object types, as known on ``as_of``, one reporting organisation, a lon/lat box.
    """
    path = Path(path)
    if path.exists():
        path.unlink()
    counts: dict[str, int] = {}
    first = True
    for rtype in types or list(ReportType):
        spec = REPORT_SPECS[rtype]
        rows = object_rows(ledger, rtype, as_of, include_sensitive, organisation, bbox)
        if not rows:
            continue
        name = object_layer(rtype)
        geoms = [r.pop("geometry", None) for r in rows] if spec.geometry else None
        remaining = [r.pop("remaining_geometry", None) for r in rows]
        for r in rows:
            r.pop("engine_state", None)
        _write(_frame(rows, geoms), path, name, first,
               _geometry_type(spec.geometry) if spec.geometry else None)
        first = False
        counts[name] = len(rows)
        if rtype is ReportType.HAZARDOUS_AREA:
            keep = [i for i, g in enumerate(remaining) if g is not None]
            if keep:
                _write(_frame([{"id": rows[i]["id"], "status": rows[i]["status"],
                                "remaining_m2": rows[i]["remaining_m2"]} for i in keep],
                              [remaining[i] for i in keep]), path, f"{name}_remaining", first,
                       "MultiPolygon")
                counts[f"{name}_remaining"] = len(keep)
    if with_reports:
        wanted = set(types) if types else None
        by_type: dict[ReportType, list[Report]] = defaultdict(list)
        for rep in ledger.reports(status=ReportStatus.APPROVED):
            if as_of and rep.date_of_information > as_of:
                continue
            if organisation and rep.organisation != organisation:
                continue
            if wanted is None or rep.type in wanted:
                by_type[ReportType(rep.type)].append(rep)
        for rtype in ReportType:
            reps = sorted(by_type.get(rtype, []),
                          key=lambda r: (r.date_of_information, r.id))
            if not reps:
                continue
            rows = report_rows(reps, include_sensitive)
            spec = REPORT_SPECS[rtype]
            geoms = [r.pop("geometry") for r in rows]
            _write(_frame(rows, geoms if spec.geometry else None), path, rtype.value, first,
                   _geometry_type(spec.geometry) if spec.geometry else None)
            first = False
            counts[rtype.value] = len(rows)
    if first:  # nothing at all: still a valid, empty GeoPackage
        _write(pd.DataFrame({"note": ["empty record"]}), path, "about", True)
    return counts


def _geometry_type(allowed: tuple[str, ...]) -> str:
    if allowed == ("Point",):
        return "Point"
    if set(allowed) <= {"Polygon", "MultiPolygon"}:
        return "Unknown"  # Polygon and MultiPolygon rows side by side
    return "Unknown"


def export_geojson(ledger: Ledger, path: str | Path, rtype: ReportType, *,
                   as_of: dt.date | None = None, include_sensitive: bool = False,
                   organisation: str | None = None) -> int:
    """The derived objects of one type as a GeoJSON FeatureCollection; returns the count."""
    rows = object_rows(ledger, rtype, as_of, include_sensitive, organisation)
    doc = to_geojson(rows, rtype, include_sensitive=include_sensitive)
    Path(path).write_text(json.dumps(doc, default=_plain))
    return len(rows)


# ---------------------------------------------------------------------------------- HXL
#: field -> HXL hashtag with attributes; anything else gets one from its kind (``_hxl_tag``)
HXL_TAGS: dict[str, str] = {
    "id": "#meta+id", "organisation": "#org+code", "first_date": "#date+first",
    "last_date": "#date+reported", "last_report_id": "#meta+report",
    "name": "#loc+name", "classification": "#status+class", "contamination": "#cause+type",
    "settlement_id": "#loc+code+settlement", "admin_area_id": "#adm2+code",
    "hazardous_area_id": "#loc+code+hazard", "activity_id": "#activity+code",
    "organisation_id": "#org+code+operator", "team_id": "#group+code+team",
    "land_use": "#indicator+land_use", "beneficiaries": "#beneficiary+num",
    "estimated_area_m2": "#indicator+area_m2+estimated", "status": "#status",
    "original_m2": "#indicator+area_m2+original", "cancelled_m2": "#indicator+area_m2+cancelled",
    "reduced_m2": "#indicator+area_m2+reduced", "cleared_m2": "#indicator+area_m2+cleared",
    "reopened_m2": "#indicator+area_m2+reopened", "remaining_m2": "#indicator+area_m2+remaining",
    "category": "#item+type", "device_category": "#item+type+device", "model": "#item+model",
    "quantity": "#item+num", "disposal": "#status+disposal", "condition": "#status+condition",
    "depth_cm": "#indicator+depth_cm", "activity_type": "#activity+type",
    "start_date": "#date+start", "end_date": "#date+end", "release": "#status+release",
    "method": "#activity+method", "context": "#event+context", "outcome": "#affected+outcome",
    "sex": "#affected+sex", "age": "#affected+age", "girls": "#reached+f+children",
    "boys": "#reached+m+children", "women": "#reached+f+adults", "men": "#reached+m+adults",
    "description": "#description", "source": "#meta+source", "reliability": "#status+reliability",
    "accident_id": "#event+code+accident",
}


def _hxl_tag(name: str, kind: str) -> str:
    if name in HXL_TAGS:
        return HXL_TAGS[name]
    return {"int": f"#indicator+{name}+num", "float": f"#indicator+{name}",
            "date": f"#date+{name}", "ref": f"#meta+code+{name}"}.get(kind,
                                                                     f"#description+{name}")


def export_hxl(ledger: Ledger, path: str | Path, rtype: ReportType, *,
               as_of: dt.date | None = None, organisation: str | None = None) -> int:
    """Derived objects of one type as HXL-tagged CSV (sensitive fields never included); a
    point for each object (its centroid for areas) as ``#geo+lat`` / ``#geo+lon``."""
    rows = object_rows(ledger, rtype, as_of, False, organisation)
    spec = REPORT_SPECS[rtype]
    kinds = {f.name: f.kind for f in spec.fields}
    cols = ["id", *[f.name for f in spec.fields if not f.sensitive], "organisation",
            "first_date", "last_date"]
    if rtype is ReportType.HAZARDOUS_AREA:
        cols += ["status", "original_m2", "cancelled_m2", "reduced_m2", "cleared_m2",
                 "remaining_m2"]
    geo = bool(spec.geometry)
    with Path(path).open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(csv_row(cols + (["latitude", "longitude"] if geo else [])))
        w.writerow([_hxl_tag(c, kinds.get(c, "str")) for c in cols]
                   + (["#geo+lat", "#geo+lon"] if geo else []))
        for r in rows:
            line = [_plain(r.get(c)) for c in cols]
            if geo:
                g = r.get("geometry")
                p = g.representative_point() if g is not None and not g.is_empty else None
                line += [f"{p.y:.6f}", f"{p.x:.6f}"] if p is not None else ["", ""]
            w.writerow(csv_row(line))
    return len(rows)


# ------------------------------------------------------------------- land release summary
def _period(d: dt.date, by: str) -> str:
    if by == "year":
        return str(d.year)
    if by == "quarter":
        return f"{d.year}-Q{(d.month - 1) // 3 + 1}"
    return f"{d.year}-{d.month:02d}"


def land_release_summary(ledger: Ledger, by: str = "quarter",
                         as_of: dt.date | None = None,
                         since: dt.date | None = None) -> list[dict[str, Any]]:
    """IMAS land release summary: one row per (period, organisation, method) with m²
    cancelled, reduced and cleared and the items found (by category and in all).

    ``by`` is ``month``, ``quarter`` or ``year``. The organisation is the operator of the
    activity (its ``organisation_id``); the area is each release polygon's, in UTM. With
    ``since``, only releases and items dated on or after it count (``as_of`` ends the period).
    """
    if by not in ("month", "quarter", "year"):
        raise ValueError(f"period must be month, quarter or year, not {by!r}")
    activities = {a["id"]: a for a in ledger.objects(ReportType.ACTIVITY, as_of)}
    table: dict[tuple[str, str, str], dict[str, Any]] = {}

    def row(period: str, org: str, method: str) -> dict[str, Any]:
        key = (period, org, method)
        if key not in table:
            table[key] = {"period": period, "organisation": org, "method": method,
                          "cancelled_m2": 0.0, "reduced_m2": 0.0, "cleared_m2": 0.0,
                          "released_m2": 0.0, "items": 0, "items_by_category": defaultdict(int)}
        return table[key]

    def counted(obj: dict[str, Any]) -> bool:
        return since is None or obj["first_date"] >= since

    for lr in filter(counted, ledger.objects(ReportType.LAND_RELEASE, as_of)):
        act = activities.get(lr.get("activity_id"), {})
        org = act.get("organisation_id") or lr.get("organisation") or ""
        r = row(_period(lr["first_date"], by), org, lr.get("method") or "")
        area = ledger.projector.area_m2(lr["geometry"]) if lr.get("geometry") is not None else 0
        r[f"{lr['release']}_m2"] += area
        r["released_m2"] += area
    for item in filter(counted, ledger.objects(ReportType.ORDNANCE, as_of)):
        act = activities.get(item.get("activity_id"), {})
        org = act.get("organisation_id") or item.get("organisation") or ""
        method = act.get("asset") or act.get("activity_type") or "unknown"
        r = row(_period(item["first_date"], by), org, method)
        n = int(item.get("quantity") or 1)
        r["items"] += n
        r["items_by_category"][item["category"]] += n
    out = []
    for key in sorted(table):
        r = table[key]
        r["items_by_category"] = dict(sorted(r["items_by_category"].items()))
        for k in ("cancelled_m2", "reduced_m2", "cleared_m2", "released_m2"):
            r[k] = round(r[k], 1)
        out.append(r)
    return out


def write_land_release_summary(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """The summary as CSV, one column per item category."""
    cats = sorted({c for r in rows for c in r["items_by_category"]})
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["period", "organisation", "method", "cancelled_m2", "reduced_m2",
                    "cleared_m2", "released_m2", "items", *[f"items_{c}" for c in cats]])
        for r in rows:
            w.writerow(csv_row([r["period"], r["organisation"], r["method"],
                                r["cancelled_m2"], r["reduced_m2"], r["cleared_m2"],
                                r["released_m2"], r["items"],
                                *[r["items_by_category"].get(c, 0) for c in cats]]))
    return path
