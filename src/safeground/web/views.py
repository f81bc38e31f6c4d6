"""What each role may see of the record: redaction and generalisation, in one place.

* **Victims' personal data** (the fields marked ``sensitive`` in ``REPORT_SPECS``: name, date
  of birth, address) only for the ``victim_data`` role; for everyone else they are removed and
  the response says which fields were withheld (``redacted``). Every response that does carry
  them is written to the audit trail (``victim_read``) by the caller.
* **Uncleared land** — hazardous area perimeters and remaining polygons, evidence, activities,
  items and accidents — only for staff roles (anyone with ``read_detail``). A ``viewer`` sees
  hazardous areas only as generalised points (``public_area``): a point inside the area rounded
  to 0.01° (about 1 km), with its classification, status and areas in km². Released land and
  settlements are public-safe.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import shapely
from fastapi.responses import JSONResponse
from shapely.geometry import mapping

from safeground.record.problems import Problem, withhold_values
from safeground.record.reports import REPORT_SPECS, Report, sensitive_fields, sensitive_keys
from safeground.record.users import Permission, User
from safeground.record.vocabulary import ReportType

#: object types a viewer may read in full: land already released, and settlements
PUBLIC_TYPES = frozenset({ReportType.LAND_RELEASE, ReportType.SETTLEMENT})
GENERALISE_DEG = 0.01
_INTERNAL = {"engine_state"}


_PLAIN = (str, int, float, type(None))   # bool is an int


def geojson(geom: Any) -> dict[str, Any]:
    """The GeoJSON geometry of ``geom`` (as ``shapely.geometry.mapping``): polygons and
    multipolygons read each ring's coordinates in one call, twice as fast as point by point
    (an OGC page of 100 areas holds some 10,000 points)."""
    kind = geom.geom_type
    if kind == "Polygon" and not geom.is_empty:
        return {"type": "Polygon", "coordinates": _rings(geom)}
    if kind == "MultiPolygon" and not geom.is_empty:
        return {"type": "MultiPolygon", "coordinates": [_rings(p) for p in geom.geoms]}
    return mapping(geom)


def _rings(polygon: Any) -> list[list[list[float]]]:
    z = polygon.has_z
    return [shapely.get_coordinates(r, include_z=z).tolist()
            for r in (polygon.exterior, *polygon.interiors)]


class FastJSONResponse(JSONResponse):
    """A JSON answer written by pydantic-core's encoder (several times faster than the
    standard library's on large GeoJSON); a NaN or infinite number is written as null."""

    def render(self, content: Any) -> bytes:
        import pydantic_core

        return pydantic_core.to_json(content, inf_nan_mode="null")


def jsonable(value: Any) -> Any:
    if type(value) in _PLAIN or isinstance(value, bool):    # most values: no work
        return value
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return None
    if hasattr(value, "geom_type"):
        return geojson(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def hidden_fields(rtype: ReportType | str, user: User) -> frozenset[str]:
    """Payload fields of this type the user may not see."""
    if str(rtype) not in ReportType._value2member_map_:
        return frozenset()
    if user.can(Permission.READ_VICTIMS):
        return frozenset()
    return sensitive_fields(ReportType(rtype))


def may_read_type(rtype: ReportType, user: User) -> bool:
    return user.can(Permission.READ_DETAIL) or (
        rtype in PUBLIC_TYPES and user.can(Permission.READ_PUBLIC))


def object_props(rtype: ReportType, row: dict[str, Any], user: User) -> tuple[dict[str, Any],
                                                                            list[str]]:
    """An object's attributes as JSON, without what the user may not see. Returns the
    properties and the names of the fields withheld (present in the row)."""
    hidden = hidden_fields(rtype, user)
    withheld = sorted(k for k in hidden if row.get(k) is not None)
    props = {k: jsonable(v) for k, v in row.items()
             if k not in hidden and k not in _INTERNAL and k not in ("geometry",
                                                                     "remaining_geometry")}
    return props, withheld


def feature(rtype: ReportType, row: dict[str, Any], user: User) -> tuple[dict[str, Any],
                                                                        list[str]]:
    props, withheld = object_props(rtype, row, user)
    if withheld:
        props["redacted"] = withheld
    geom = row.get("geometry")
    return ({"type": "Feature", "id": row["id"], "properties": props,
             "geometry": geojson(geom) if geom is not None else None}, withheld)


def public_area(row: dict[str, Any]) -> dict[str, Any]:
    """A hazardous area for the public view: a generalised point and figures, no polygon."""
    geom = row.get("geometry")
    point = None
    if geom is not None and not geom.is_empty:
        p = geom.representative_point()
        point = {"type": "Point", "coordinates": [round(p.x / GENERALISE_DEG) * GENERALISE_DEG,
                                                  round(p.y / GENERALISE_DEG) * GENERALISE_DEG]}
        point["coordinates"] = [round(c, 4) for c in point["coordinates"]]
    props = {"id": row["id"], "classification": row.get("classification"),
             "status": row.get("status"), "settlement_id": row.get("settlement_id"),
             "remaining_km2": round((row.get("remaining_m2") or 0) / 1e6, 3),
             "released_km2": round(sum(row.get(f"{k}_m2") or 0 for k in
                                       ("cancelled", "reduced", "cleared")) / 1e6, 3),
             "generalised": True}
    return {"type": "Feature", "id": row["id"], "properties": props, "geometry": point}


def report_personal_data(rep: Report) -> list[str]:
    """The payload keys of a stored report that hold victims' personal data with a value,
    whatever its status and however its type and names were written (a rejected ``"Victim "``
    with a ``Name`` column too: ``reports.sensitive_keys``)."""
    return sorted(k for k in sensitive_keys(rep.type, rep.payload)
                  if rep.payload.get(k) not in (None, ""))


def report_dict(rep: Report, user: User) -> tuple[dict[str, Any], list[str]]:
    """A stored report as JSON, sensitive payload fields withheld unless allowed. Problems
    never carry the values of those fields (``problems.withhold_values``), even when stored by
    an older version."""
    hidden = () if user.can(Permission.READ_VICTIMS) else sensitive_keys(rep.type, rep.payload)
    withheld = sorted(k for k in hidden if rep.payload.get(k) not in (None, ""))
    out = {"id": rep.id, "report_type": str(rep.type), "object_id": rep.object_id,
           "organisation": rep.organisation, "author": rep.author,
           "date_of_information": rep.date_of_information.isoformat(),
           "payload": {k: jsonable(v) for k, v in rep.payload.items() if k not in hidden},
           "geometry": mapping(rep.geometry) if rep.geometry is not None else None,
           "status": rep.status.value, "submitted_by": rep.submitted_by,
           "submitted_at": jsonable(rep.submitted_at), "decided_by": rep.decided_by,
           "decided_at": jsonable(rep.decided_at), "decision_note": rep.decision_note,
           "problems": [_problem(p) for p in rep.problems], "source": rep.source,
           "submission_id": rep.submission_id}
    if withheld:
        out["redacted"] = withheld
    return out, withheld


def _problem(p: Any) -> Any:
    """A stored problem without values of personal data (message made again if need be)."""
    if not isinstance(p, dict) or not isinstance(p.get("params"), dict):
        return p
    params = withhold_values(p.get("field"), p["params"])
    if params is p["params"]:
        return p
    try:
        return Problem(p["code"], p.get("where", ""), p.get("field"), params).to_dict()
    except KeyError:  # a code this version does not know: no message rather than the value
        return {**p, "params": params, "message": ""}


def geometry_of(value: Any) -> Any:
    """A GeoJSON geometry dict as shapely (None stays None)."""
    return shapely.geometry.shape(value) if value else None


def spec_fields(rtype: ReportType) -> list[str]:
    return [f.name for f in REPORT_SPECS[rtype].fields]
