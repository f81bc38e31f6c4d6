"""Checks of report records against REPORT_SPECS, shared by the scenario tests."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from safeground.record.reports import HEADER_FIELDS, REPORT_SPECS
from safeground.record.vocabulary import ReportType
from safeground.scenario.records import FILE_ORDER

ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
RANK = {t.value: i for i, t in enumerate(FILE_ORDER)}


def _check_value(f, v, where: str) -> list[str]:
    errs = []
    if f.kind == "choice":
        if v not in {m.value for m in f.choices}:
            errs.append(f"{where}: {v!r} not a {f.choices.__name__}")
    elif f.kind == "choices":
        if not isinstance(v, list) or not v:
            errs.append(f"{where}: not a non-empty list")
        else:
            errs.extend(f"{where}: {x!r} not a {f.choices.__name__}" for x in v
                        if x not in {m.value for m in f.choices})
    elif f.kind in ("int", "float"):
        ok = isinstance(v, int) if f.kind == "int" else isinstance(v, (int, float))
        if not ok or isinstance(v, bool):
            errs.append(f"{where}: {v!r} is not {f.kind}")
        elif (f.low is not None and v < f.low) or (f.high is not None and v > f.high):
            errs.append(f"{where}: {v} outside {f.low}..{f.high}")
    elif f.kind == "bool":
        if not isinstance(v, bool):
            errs.append(f"{where}: {v!r} is not bool")
    elif f.kind == "date":
        try:
            dt.date.fromisoformat(v)
        except (TypeError, ValueError):
            errs.append(f"{where}: {v!r} is not a date")
    elif f.kind in ("str", "ref") and not isinstance(v, str):
        errs.append(f"{where}: {v!r} is not a string")
    return errs


def check_records(records: Iterable[dict], known: dict[str, str] | None = None,
                  lonlat: tuple[float, float, float, float] = (44.0, 38.0, 51.0, 42.0),
                  ordered: bool = True) -> list[str]:
    """Every problem found; ``known`` maps object ids already in the record to their type.

    With ``ordered`` the records must come in file order (references point backwards).
    """
    seen: dict[str, str] = dict(known or {})
    errs: list[str] = []
    last_rank = -1
    for n, r in enumerate(records):
        where = f"record {n} ({r.get('report_type')} {r.get('object_id')})"
        try:
            rtype = ReportType(r["report_type"])
        except (KeyError, ValueError):
            errs.append(f"{where}: bad report_type")
            continue
        if ordered:
            if RANK[rtype.value] < last_rank:
                errs.append(f"{where}: out of file order")
            last_rank = RANK[rtype.value]
        spec = REPORT_SPECS[rtype]
        for h in ("object_id", "date_of_information", "organisation", "author"):
            if not r.get(h):
                errs.append(f"{where}: header {h} missing")
        if not ID_RE.match(str(r.get("object_id", ""))):
            errs.append(f"{where}: bad object_id")
        errs.extend(_check_value(type("F", (), {"kind": "date"})(), r.get("date_of_information"),
                                 where + " date_of_information"))
        names = {f.name for f in spec.fields}
        for k in r:
            if k not in names and k not in HEADER_FIELDS and k != "geometry":
                errs.append(f"{where}: unknown field {k}")
        for f in spec.fields:
            v = r.get(f.name)
            if v is None or v == "":
                if f.required:
                    errs.append(f"{where}: required {f.name} missing")
                continue
            errs.extend(_check_value(f, v, f"{where} {f.name}"))
            if f.kind == "ref" and f.name != "parent_id":
                if v not in seen:
                    errs.append(f"{where}: {f.name} {v!r} not defined earlier")
                elif seen[v] != f.ref.value:
                    errs.append(f"{where}: {f.name} {v!r} is a {seen[v]}, not {f.ref.value}")
        g = r.get("geometry")
        if g is None:
            if spec.geometry_required:
                errs.append(f"{where}: geometry missing")
        else:
            if spec.geometry and g.geom_type not in spec.geometry:
                errs.append(f"{where}: geometry {g.geom_type} not in {spec.geometry}")
            if not spec.geometry:
                errs.append(f"{where}: geometry where none is allowed")
            minx, miny, maxx, maxy = g.bounds
            if minx < lonlat[0] or maxx > lonlat[2] or miny < lonlat[1] or maxy > lonlat[3]:
                errs.append(f"{where}: geometry outside lon/lat window {g.bounds}")
            if g.geom_type in ("Polygon", "MultiPolygon") and (not g.is_valid or g.is_empty):
                errs.append(f"{where}: invalid polygon")
        prev = seen.get(r["object_id"])
        if prev is not None and prev != rtype.value:
            errs.append(f"{where}: object id reused across types")
        seen[r["object_id"]] = rtype.value
    return errs
