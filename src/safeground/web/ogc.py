"""OGC API – Features (Part 1: Core, GeoJSON) under ``/ogc``, for QGIS, GDAL and OWSLib.

The landing page and the conformance declaration are public (they hold no data); everything
else needs a signed-in user: HTTP Basic (what QGIS and GDAL send), a Bearer token or the web
session. The collections list shows only what the caller may read:

================================ ============ ==================================================
collection                       who          features
================================ ============ ==================================================
``hazardous_area_points``        every role   each hazardous area as a point rounded to 0.01°
                                              (~1 km) with classification, status, km²
``released_land``                every role   land cancelled, reduced or cleared (polygons)
``settlements``                  every role   settlements with population and return status
``hazardous_areas``              staff        SHA/CHA perimeters with the land release figures
``ordnance``                     staff        explosive items found
``accidents``                    staff        accident points with the number killed / injured
                                              (never victims' personal data)
``planned_release``              analysts     the perimeters of the areas the current plan puts
                                              a team on, with its planned dates (listed only
                                              when the work directory holds a plan)
================================ ============ ==================================================

Items take ``limit`` (1..10,000, default 100), ``offset``, ``bbox`` (lon/lat, CRS84),
``datetime`` (a date or an interval ``a/b``, ``../b``, ``a/..``: objects whose first-to-last
report dates meet it) and, beyond the standard, ``as_of=YYYY-MM-DD`` (the record as known on
that date). Responses carry ``numberMatched``, ``numberReturned`` and ``next`` / ``prev`` links.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import shapely
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from safeground.errors import NotFoundError, PermissionDeniedError
from safeground.record.ledger import Ledger
from safeground.record.users import Permission, User
from safeground.record.vocabulary import ReportType
from safeground.web.api import casualties_by_accident, parse_day, planned_areas
from safeground.web.auth import require
from safeground.web.envelope import content, errors
from safeground.web.mapview import MapView, box_query, parse_bbox
from safeground.web.views import FastJSONResponse, feature, public_area

router = APIRouter(prefix="/ogc", tags=["ogc"])
GEOJSON = "application/geo+json"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
READ = Depends(require(Permission.READ_PUBLIC))


@dataclass(frozen=True, slots=True)
class Collection:
    id: str
    title: str
    description: str
    rtype: ReportType
    permission: Permission
    geometry: str
    make: Callable[[dict[str, Any], User], dict[str, Any]]
    #: the plan's collection: only the areas the work directory's plan puts a team on, each
    #: with the plan's attributes (``api.planned_areas``)
    plan: bool = False


def _plain(rtype: ReportType) -> Callable[[dict[str, Any], User], dict[str, Any]]:
    return lambda row, user: feature(rtype, row, user)[0]


COLLECTIONS: dict[str, Collection] = {c.id: c for c in (
    Collection("hazardous_area_points", "Hazardous areas (generalised)",
               "Each suspected or confirmed hazardous area as a point rounded to about 1 km, "
               "with its classification, status and areas; no perimeter.",
               ReportType.HAZARDOUS_AREA, Permission.READ_PUBLIC, "point",
               lambda row, user: public_area(row)),
    Collection("released_land", "Released land",
               "Land cancelled by non-technical survey, reduced by technical survey or cleared.",
               ReportType.LAND_RELEASE, Permission.READ_PUBLIC, "polygon",
               _plain(ReportType.LAND_RELEASE)),
    Collection("settlements", "Settlements",
               "Cities, towns and villages with pre-conflict, displaced and returned people.",
               ReportType.SETTLEMENT, Permission.READ_PUBLIC, "point",
               _plain(ReportType.SETTLEMENT)),
    Collection("hazardous_areas", "Hazardous areas (SHA / CHA)",
               "Perimeters of suspected and confirmed hazardous areas with the land release "
               "figures (m², computed in UTM). Staff only.",
               ReportType.HAZARDOUS_AREA, Permission.READ_DETAIL, "polygon",
               _plain(ReportType.HAZARDOUS_AREA)),
    Collection("ordnance", "Explosive ordnance items",
               "Explosive items found and disposed of. Staff only.",
               ReportType.ORDNANCE, Permission.READ_DETAIL, "point", _plain(ReportType.ORDNANCE)),
    Collection("accidents", "Accidents",
               "Explosive ordnance accidents with the number of people killed and injured; "
               "victims' personal data is never published here. Staff only.",
               ReportType.ACCIDENT, Permission.READ_DETAIL, "point", _plain(ReportType.ACCIDENT)),
    Collection("planned_release", "Planned release (the current plan)",
               "Perimeters of the hazardous areas the current plan puts a team on, with the "
               "planned activities, teams, start date and release date (empty when not "
               "within the plan). Analysts only; present when the work directory holds a plan.",
               ReportType.HAZARDOUS_AREA, Permission.ANALYSE, "polygon",
               _plain(ReportType.HAZARDOUS_AREA), plan=True),
)}


def public_base(request: Request) -> str:
    """Where links in answers point: the configured public URL, else the address the server
    itself is bound to (the ASGI ``server``), never the request's Host header."""
    configured = request.app.state.options.public_url
    if configured:
        return configured
    host, port = request.scope.get("server") or ("127.0.0.1", 8000)
    if ":" in str(host):
        host = f"[{host}]"
    scheme = request.scope.get("scheme", "http")
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}" + ("" if port in (None, default) else f":{port}")


def _base(request: Request) -> str:
    return public_base(request) + "/ogc"


def _json(body: dict[str, Any], media: str = "application/json") -> JSONResponse:
    return FastJSONResponse(body, media_type=media)


@router.get("", summary="OGC API – Features landing page (public)")
def landing(request: Request) -> JSONResponse:
    base = _base(request)
    return _json({
        "title": "Safeground OGC API – Features",
        "description": "The national mine action record: hazardous areas, released land, "
                       "settlements, explosive items and accidents. Sign in (HTTP Basic, or "
                       "a Bearer token) to read the collections.",
        "links": [
            {"href": base, "rel": "self", "type": "application/json", "title": "this document"},
            {"href": f"{base}/conformance", "rel": "conformance", "type": "application/json",
             "title": "conformance classes"},
            {"href": f"{base}/collections", "rel": "data", "type": "application/json",
             "title": "collections"},
            {"href": _base(request).removesuffix("/ogc") + "/api/v1/openapi.json",
             "rel": "service-desc", "type": "application/vnd.oai.openapi+json;version=3.0",
             "title": "the API definition (sign-in needed)"},
        ]})


@router.get("/conformance", summary="Conformance classes (public)")
def conformance(request: Request) -> JSONResponse:
    return _json({"conformsTo": CONFORMANCE})


def _collection(cid: str, user: User) -> Collection:
    c = COLLECTIONS.get(cid)
    if c is None:
        raise NotFoundError(f"no collection '{cid}'", code="COLLECTION_NOT_FOUND")
    if not user.can(c.permission):
        who = "analysts" if c.permission is Permission.ANALYSE else "staff roles"
        raise PermissionDeniedError(f"collection '{cid}' is for {who} only",
                                    code="FORBIDDEN", details={"needs": c.permission.value})
    return c


def _plan(request: Request, c: Collection) -> dict[str, dict[str, str]] | None:
    """The plan's attributes per area for a plan collection (None for the others); 404
    OUTPUT_NOT_AVAILABLE when the work directory holds no plan."""
    if not c.plan:
        return None
    plan = planned_areas(request.app.state.work_dir)
    if plan is None:
        raise NotFoundError("the work directory holds no plan (safeground plan make, "
                            "make demo)", code="OUTPUT_NOT_AVAILABLE")
    return plan


def _features(c: Collection, rows: list[dict[str, Any]], user: User,
              plan: dict[str, dict[str, str]] | None) -> list[dict[str, Any]]:
    """The collection's features of ``rows``; for a plan collection only the planned areas,
    with the plan's attributes."""
    if plan is None:
        return [c.make(r, user) for r in rows]
    feats = [c.make(r, user) for r in rows if r["id"] in plan]
    for f in feats:
        f["properties"].update(plan[f["id"]])
    return feats


def _visible(request: Request, c: Collection, user: User) -> bool:
    return user.can(c.permission) and (
        not c.plan or planned_areas(request.app.state.work_dir) is not None)


def _extent(request: Request, c: Collection, user: User) -> dict[str, Any]:
    plan = _plan(request, c)
    if plan is None and c.id != "hazardous_area_points":
        b = request.app.state.ledger.bounds(c.rtype)       # from the spatial index
    else:       # the plan's areas, or the generalised points: from the features shown
        feats = _features(c, request.app.state.ledger.objects(c.rtype), user, plan)
        geoms = [shapely.geometry.shape(f["geometry"]) for f in feats if f.get("geometry")]
        b = shapely.GeometryCollection(geoms).bounds if geoms else None
    out: dict[str, Any] = {}
    if b is not None:
        out["spatial"] = {"bbox": [[round(v, 6) for v in b]], "crs": CRS84}
    return out


def _describe(request: Request, c: Collection, user: User,
              extent: bool = False) -> dict[str, Any]:
    base = f"{_base(request)}/collections/{c.id}"
    out = {"id": c.id, "title": c.title, "description": c.description, "itemType": "feature",
           "crs": [CRS84],
           "links": [{"href": base, "rel": "self", "type": "application/json"},
                     {"href": f"{base}/items", "rel": "items", "type": GEOJSON,
                      "title": f"{c.title} (GeoJSON)"}]}
    if extent:
        ext = _extent(request, c, user)
        if ext:
            out["extent"] = ext
    return out


@router.get("/collections", summary="The collections you may read")
def collections(request: Request, user: User = READ) -> JSONResponse:
    base = _base(request)
    cols = [_describe(request, c, user) for c in COLLECTIONS.values()
            if _visible(request, c, user)]
    return _json({"links": [{"href": f"{base}/collections", "rel": "self",
                             "type": "application/json"}], "collections": cols})


@router.get("/collections/{collection_id}", summary="One collection",
            responses=errors(403, 404))
def collection(request: Request, collection_id: str, user: User = READ) -> JSONResponse:
    return _json(_describe(request, _collection(collection_id, user), user, extent=True))


def _interval(value: str | None) -> tuple[dt.date | None, dt.date | None] | None:
    if not value:
        return None
    start, sep, end = value.partition("/")
    if not sep:
        day = parse_day(start, "datetime")
        return day, day
    lo = None if start in ("", "..") else parse_day(start, "datetime")
    hi = None if end in ("", "..") else parse_day(end, "datetime")
    return lo, hi


def _matches(row: dict[str, Any], when: tuple[dt.date | None, dt.date | None]) -> bool:
    lo, hi = when
    first, last = row.get("first_date"), row.get("last_date")
    if hi is not None and first is not None and first > hi:
        return False
    return not (lo is not None and last is not None and last < lo)


@router.get("/collections/{collection_id}/items", summary="Features of a collection (GeoJSON)",
            responses={**content(GEOJSON), **errors(400, 403, 404)})
def items(request: Request, collection_id: str,
          limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
          offset: Annotated[int, Query(ge=0)] = 0, bbox: str | None = None,
          datetime: str | None = None, as_of: str | None = None,
          user: User = READ) -> JSONResponse:
    c = _collection(collection_id, user)
    box, when, day = parse_bbox(bbox), _interval(datetime), parse_day(as_of)
    plan = _plan(request, c)
    ledger = request.app.state.ledger
    if day is None and plan is None:
        # the current record: filters, count and page asked of the database (Ledger.page)
        rows, matched = ledger.page(c.rtype, **box_query(box, c.id == "hazardous_area_points"),
                                    dates=when, limit=limit, offset=offset)
        page = _features(c, rows, user, None)
    else:
        # as known on a date (a replay of the record), or the plan's areas: filtered here
        rows = ledger.objects(c.rtype, day)
        if when is not None:
            rows = [r for r in rows if _matches(r, when)]
        feats = MapView(box).features(_features(c, rows, user, plan))
        page, matched = feats[offset:offset + limit], len(feats)
    if c.rtype is ReportType.ACCIDENT:
        _victim_counts(ledger, page, day)
    base = f"{_base(request)}/collections/{c.id}/items"

    def link(rel: str, off: int) -> dict[str, Any]:
        q = dict(request.query_params)
        q.update(offset=str(off), limit=str(limit))
        from urllib.parse import urlencode

        return {"href": f"{base}?{urlencode(q)}", "rel": rel, "type": GEOJSON}

    links = [link("self", offset),
             {"href": f"{_base(request)}/collections/{c.id}", "rel": "collection",
              "type": "application/json"}]
    if offset + limit < matched:
        links.append(link("next", offset + limit))
    if offset > 0:
        links.append(link("prev", max(0, offset - limit)))
    return _json({"type": "FeatureCollection", "features": page,
                  "numberMatched": matched, "numberReturned": len(page),
                  "timeStamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "links": links}, GEOJSON)


def _victim_counts(ledger: Ledger, feats: list[dict[str, Any]], as_of: dt.date | None,
                   accident_id: str | None = None) -> None:
    counts = casualties_by_accident(ledger, as_of, accident_id)
    for f in feats:
        f["properties"].update(counts.get(f["id"], {"killed": 0, "injured": 0}))


@router.get("/collections/{collection_id}/items/{feature_id}", summary="One feature",
            responses={**content(GEOJSON), **errors(400, 403, 404)})
def item(request: Request, collection_id: str, feature_id: str,
         as_of: str | None = None, user: User = READ) -> JSONResponse:
    c = _collection(collection_id, user)
    plan = _plan(request, c)
    if plan is not None and feature_id not in plan:
        raise NotFoundError(f"the plan puts no team on '{feature_id}'",
                            code="OBJECT_NOT_FOUND")
    row = request.app.state.ledger.get(c.rtype, feature_id, parse_day(as_of))
    (f,) = _features(c, [row], user, plan)
    if c.rtype is ReportType.ACCIDENT:
        _victim_counts(request.app.state.ledger, [f], parse_day(as_of), feature_id)
    base = f"{_base(request)}/collections/{c.id}"
    f["links"] = [{"href": f"{base}/items/{feature_id}", "rel": "self", "type": GEOJSON},
                  {"href": base, "rel": "collection", "type": "application/json"}]
    return _json(f, GEOJSON)
