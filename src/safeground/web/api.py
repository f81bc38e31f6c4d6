"""The JSON API under ``/api/v1``: thin routes over the ledger, the summary and the exports.

Every route names the permission it needs (``require``); docs/web.md lists them. Errors come
back in the one envelope ``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, File, Query, Request, Response, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from safeground.errors import NotFoundError, SafegroundError, ValidationError
from safeground.i18n import _, current, is_language
from safeground.record import audit
from safeground.record.ledger import Ledger
from safeground.record.problems import Problem
from safeground.record.summary import status
from safeground.record.users import Permission, User, Users
from safeground.record.validation import oversize_fields
from safeground.record.vocabulary import ReportStatus, ReportType
from safeground.web.auth import COOKIE, principal, require
from safeground.web.cache import derived, request_version
from safeground.web.envelope import content, errors
from safeground.web.jobs import Job, plan_stamp, programme_report_work
from safeground.web.mapview import (
    LAYERS,
    MAP_FIELDS,
    MapView,
    box_query,
    check_layer,
    check_plan,
    default_layers,
    extent,
    lean,
    parse_bbox,
    parse_detail,
    parse_layers,
)
from safeground.web.views import (
    feature,
    geometry_of,
    jsonable,
    public_area,
    report_dict,
    report_personal_data,
)

router = APIRouter(prefix="/api/v1")

PUBLIC = Depends(require(Permission.READ_PUBLIC))
DETAIL = Depends(require(Permission.READ_DETAIL))
SUBMIT = Depends(require(Permission.SUBMIT))
DECIDE = Depends(require(Permission.DECIDE))
ANALYSE = Depends(require(Permission.ANALYSE))
USERS = Depends(require(Permission.MANAGE_USERS))

MAX_RECORDS = 10_000
MAX_UPLOAD = 200 * 1024 * 1024
#: a file uploaded for one report's geometry
MAX_GEOMETRY_FILE = 20 * 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: report ids and offsets are 64-bit integers in the database: larger ones are refused (422)
MAX_ID = 2**63 - 1
#: ids one decision may name (``POST /reports/approve``, ``/reject``)
MAX_DECISION_IDS = 10_000
ReportId = Annotated[int, PathParam(ge=1, le=MAX_ID, description="a report id")]
GrantId = Annotated[int, PathParam(ge=1, le=MAX_ID, description="a pending grant's id")]
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]

#: the body of ``POST /reports`` as the API description gives it (checked by ``records_from``)
SUBMIT_SCHEMA: dict[str, Any] = {"oneOf": [
    {"type": "object", "title": "FeatureCollection of reports (docs/report-format.md)",
     "required": ["type", "features"],
     "properties": {"type": {"enum": ["FeatureCollection"]},
                    "features": {"type": "array", "minItems": 1, "maxItems": MAX_RECORDS,
                                 "items": {"type": "object", "properties": {
                                     "type": {"enum": ["Feature"]},
                                     "properties": {"type": ["object", "null"]},
                                     "geometry": {"type": ["object", "null"]}}}}}},
    {"type": "object", "title": "Records, each with its GeoJSON geometry",
     "required": ["records"],
     "properties": {"records": {"type": "array", "minItems": 1, "maxItems": MAX_RECORDS,
                                "items": {"type": "object"}}}},
]}


class BadRequestError(SafegroundError, ValueError):
    """A request parameter the API cannot use (bad date, unknown format...)."""

    code = "BAD_REQUEST"
    http_status = 400


def ledger_of(request: Request) -> Ledger:
    return request.app.state.ledger


def users_of(request: Request) -> Users:
    return request.app.state.users


def parse_day(value: str | None, name: str = "as_of") -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise BadRequestError(f"'{value}' is not a date (YYYY-MM-DD)", code="DATE_INVALID",
                              details={"parameter": name}) from None


def report_type(value: str) -> ReportType:
    try:
        return ReportType(value)
    except ValueError:
        raise NotFoundError(f"'{value}' is not an object type (expected one of "
                            f"{', '.join(t.value for t in ReportType)})",
                            code="TYPE_UNKNOWN") from None


def note_victim_read(request: Request, user: User, rtype: ReportType | str,
                     ids: list[str]) -> None:
    """Audit a response that carries victims' personal data."""
    if ids and str(rtype) == ReportType.VICTIM.value and user.can(Permission.READ_VICTIMS):
        audit.record(request.app.state.ledger.db, user.name, "victim_read", request.url.path,
              {"ids": ids[:1000], "count": len(ids)})


def _sensitive_ids(rtype: ReportType, rows: list[dict[str, Any]]) -> list[str]:
    from safeground.record.reports import sensitive_fields

    keys = sensitive_fields(rtype)
    return [str(r["id"]) for r in rows if any(r.get(k) is not None for k in keys)]


# ------------------------------------------------------------------------------ sessions
class LoginBody(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)


@router.post("/auth/token", summary="Sign in and get an API token (Bearer)", tags=["auth"],
             responses=errors(401, 429))
def token(request: Request, body: LoginBody) -> dict[str, Any]:
    from safeground.web.auth import client_of

    limiter = request.app.state.limiter
    client = client_of(request)
    limiter.check(body.name, client)
    try:
        user, tok = users_of(request).login(body.name, body.password, kind="token",
                                            client=client)
    except SafegroundError:
        limiter.failed(body.name, client)
        raise
    limiter.succeeded(body.name, client)
    return {"token": tok, "token_type": "bearer", "user": user.to_dict()}


@router.post("/auth/logout", summary="End this session or API token", tags=["auth"])
def logout(request: Request, response: Response, user: User = PUBLIC) -> dict[str, Any]:
    p = principal(request)
    if p is not None and p.token:
        users_of(request).logout(p.token, user.name)
    response.delete_cookie(COOKIE, path="/")
    return {"signed_out": user.name}


@router.get("/me", summary="Who am I: name, roles, permissions", tags=["auth"])
def me(user: User = PUBLIC) -> dict[str, Any]:
    return user.to_dict()


class PasswordBody(BaseModel):
    current_password: str = Field(min_length=1, max_length=1000)
    new_password: str = Field(min_length=1, max_length=1000)
    new_password_again: str = Field(min_length=1, max_length=1000)


@router.post("/me/password", summary="Change your own password (the current one, the new one "
             "twice); your other sessions and tokens end", tags=["auth"],
             responses=errors(429))
def change_password(request: Request, body: PasswordBody,
                    user: User = PUBLIC) -> dict[str, Any]:
    from safeground.web.auth import client_of

    limiter = request.app.state.limiter
    client = client_of(request)
    limiter.check(user.name, client)   # a wrong current password counts as a failed sign-in
    p = principal(request)
    try:
        ended = users_of(request).change_password(
            user.name, body.current_password, body.new_password, body.new_password_again,
            keep_session=p.token if p is not None else None, client=client)
    except ValidationError as exc:
        if exc.code == "PASSWORD_WRONG":
            limiter.failed(user.name, client)
        raise
    return {"changed": user.name, "sessions_ended": ended}


class LanguageBody(BaseModel):
    #: ``en``, ``az``, ``ru`` (a language with a catalogue); null: follow the browser
    language: str | None = Field(default=None, max_length=20)


@router.post("/me/language", summary="Choose the language of your pages (en, az, ru; null: "
             "the browser's)", tags=["auth"])
def choose_language(request: Request, response: Response, body: LanguageBody,
                    user: User = PUBLIC) -> dict[str, Any]:
    from safeground.web.i18n import COOKIE as LANG_COOKIE

    changed = users_of(request).set_language(user.name, body.language)
    if body.language:
        response.set_cookie(LANG_COOKIE, body.language, max_age=365 * 86400,
                            samesite="lax", path="/",
                            secure=request.app.state.options.secure_cookies)
    else:
        response.delete_cookie(LANG_COOKIE, path="/")
    return {"user": changed.name, "language": changed.language}


# ---------------------------------------------------------------------------- the record
@router.get("/status", summary="Programme status (now or as known on a date)",
            tags=["record"], responses=errors(400))
def status_(request: Request, as_of: str | None = None, user: User = PUBLIC) -> dict[str, Any]:
    day = parse_day(as_of)
    return derived(request, ("status", day or dt.date.today(), day is None),
                   lambda: status(ledger_of(request), day).to_dict())


def casualties_by_accident(ledger: Ledger, as_of: dt.date | None,
                           accident_id: str | None = None) -> dict[str, dict[str, int]]:
    """Killed and injured by accident, or of one accident (counts only: no victim's personal
    data)."""
    out: dict[str, dict[str, int]] = {}
    where = {"accident_id": accident_id} if accident_id is not None else None
    for v in ledger.objects(ReportType.VICTIM, as_of, where):
        c = out.setdefault(v["accident_id"], {"killed": 0, "injured": 0})
        c[v["outcome"]] = c.get(v["outcome"], 0) + 1
    return out


def _plan_areas_file(work_dir: Path | None) -> Path | None:
    path = Path(work_dir, "plan", "plan_areas.csv") if work_dir else None
    return path if path is not None and path.is_file() else None


def planned_areas(work_dir: Path | None) -> dict[str, dict[str, str]] | None:
    """The plan's areas from ``plan/plan_areas.csv`` in the work directory (None when there is
    none): per area the plan puts a team on, its planned activities, teams, start and release
    dates (release empty when not within the plan)."""
    path = _plan_areas_file(work_dir)
    if path is None:
        return None
    rows, _ = read_csv_rows(path, 1_000_000)
    return {r["area_id"]: {"planned_activities": r["activities"], "planned_teams": r["teams"],
                           "planned_start_date": r["start_date"],
                           "planned_release_date": r["release_date"]}
            for r in rows if r["teams"]}


def map_layers(ledger: Ledger, user: User, as_of: dt.date | None,
               view: MapView | None = None, layers: list[str] | None = None,
               detail: str = "full", plan: dict[str, dict[str, str]] | None = None
               ) -> dict[str, Any]:
    """The map's layers for this user: polygons of uncleared land only for staff. With a
    ``view``, only what meets its box, simplified for its zoom (``mapview.py``); with
    ``layers`` (checked by ``mapview.parse_layers``) only those, else every layer the user's
    roles give; with ``detail="map"`` only the attributes the map draws with. ``plan``
    (``planned_areas``) gives the ``planned_release`` layer: the plan's areas with their
    planned dates."""
    view = view or MapView()
    names = layers if layers is not None else default_layers(user, plan is not None)
    for name in names:     # role rules first, whatever the caller passed
        check_layer(name, user)

    def fc(feats: list[dict[str, Any]]) -> dict[str, Any]:
        return {"type": "FeatureCollection", "features": feats}

    def current(rtype: ReportType, generalised: bool = False) -> list[dict[str, Any]]:
        # in the current record the box is asked of the spatial index (Ledger.page); the
        # record as known on a date is replayed whole and cut to the box by ``view``
        if as_of is None and view.bbox is not None:
            return ledger.page(rtype, **box_query(view.bbox, generalised), limit=None)[0]
        return ledger.objects(rtype, as_of)

    def plain(rtype: ReportType, rows: list[dict[str, Any]] | None = None
              ) -> list[dict[str, Any]]:
        rows = current(rtype) if rows is None else rows
        return [feature(rtype, r, user)[0] for r in view.rows(rows)]

    out: dict[str, Any] = {}
    for name in names:
        rtype = LAYERS[name]
        if name == "planned_release":
            check_plan(name, plan is not None)
            feats = plain(rtype, [r for r in ledger.objects(rtype, as_of) if r["id"] in plan])
            for f in feats:
                f["properties"].update(plan[f["id"]])
        elif name == "hazardous_area_points":
            # the box is tested against the generalised point, never the perimeter
            feats = view.features([public_area(r) for r in current(rtype, True)])
        else:
            feats = plain(rtype)
        if name == "accidents":
            victims = casualties_by_accident(ledger, as_of)
            for f in feats:
                f["properties"].update(victims.get(f["id"], {"killed": 0, "injured": 0}))
        out[name] = fc(lean(name, feats) if detail == "map" else feats)
    return out


def map_feature(ledger: Ledger, user: User, layer: str, feature_id: str,
                as_of: dt.date | None, plan: dict[str, dict[str, str]] | None = None
                ) -> dict[str, Any]:
    """One feature of a map layer with every attribute the user may see: the properties it
    has in the full layer (``map_layers``), without its geometry."""
    rtype = LAYERS[check_layer(layer, user)]     # before the lookup: no probing by id
    if layer == "planned_release":
        check_plan(layer, plan is not None)
        if feature_id not in plan:
            raise NotFoundError(f"the plan has no work on '{feature_id}'",
                                code="OBJECT_NOT_FOUND")
    row = ledger.get(rtype, feature_id, as_of)
    f = public_area(row) if layer == "hazardous_area_points" else feature(rtype, row, user)[0]
    if layer == "planned_release":
        f["properties"].update(plan[feature_id])
    if layer == "accidents":
        f["properties"].update(casualties_by_accident(ledger, as_of, feature_id).get(
            feature_id, {"killed": 0, "injured": 0}))
    return {"layer": layer, "id": f["id"], "properties": f["properties"]}


def map_extent(ledger: Ledger, user: User, as_of: dt.date | None) -> list[float] | None:
    """Where the map opens: the bounds of the hazardous areas (a viewer's generalised points),
    released land, settlements and accidents the user may see; else of the districts."""
    geoms: list[Any] = []
    areas = ledger.objects(ReportType.HAZARDOUS_AREA, as_of)
    if user.can(Permission.READ_DETAIL):
        geoms += [r.get("geometry") for r in areas]
        geoms += [r.get("geometry") for r in ledger.objects(ReportType.ACCIDENT, as_of)]
    else:
        geoms += [geometry_of(public_area(r)["geometry"]) for r in areas]
    for t in (ReportType.LAND_RELEASE, ReportType.SETTLEMENT):
        geoms += [r.get("geometry") for r in ledger.objects(t, as_of)]
    return extent(geoms) or extent([r.get("geometry") for r in
                                    ledger.objects(ReportType.ADMIN_AREA, as_of)])


@router.get("/map/layers", summary="The map's vector layers for your roles; with bbox and "
            "zoom, only what is in view, simplified for the zoom; with layers, only those; "
            "with detail=map, only the attributes the map draws with", tags=["record"],
            responses=errors(400, 403, 404))
def layers(request: Request, as_of: str | None = None, bbox: str | None = None,
           zoom: Annotated[float | None, Query(ge=0, le=30)] = None,
           layers: Annotated[str | None, Query(max_length=500)] = None,
           detail: str | None = None,
           user: User = PUBLIC) -> JSONResponse:
    view = MapView(parse_bbox(bbox), zoom)
    work = request.app.state.work_dir
    names = parse_layers(layers, user, _plan_areas_file(work) is not None)
    # the plan's table is read only when its layer is asked for
    plan = planned_areas(work) if "planned_release" in names else None
    level = parse_detail(detail)
    out = {"as_of": as_of, "staff": user.is_staff, **view.describe()}
    if level == "map":
        out["detail"] = level
        out["fields"] = {n: list(MAP_FIELDS[n]) for n in names}
    out["layers"] = map_layers(ledger_of(request), user, parse_day(as_of), view, names, level,
                               plan)
    return JSONResponse(out)  # not through FastAPI's encoder: layers are plain JSON already


@router.get("/map/features/{layer}/{feature_id}", summary="One feature of a map layer with "
            "every attribute your roles allow (what the map shows when it is clicked)",
            tags=["record"], responses=errors(400, 403, 404))
def map_feature_(request: Request, layer: str, feature_id: str, as_of: str | None = None,
                 user: User = PUBLIC) -> JSONResponse:
    # no map layer is made of victims, so, as for the layers, there is no personal data here
    # to audit (victims' reads are audited where they are served: /objects, /history)
    plan = planned_areas(request.app.state.work_dir) if layer == "planned_release" else None
    out = map_feature(ledger_of(request), user, layer, feature_id, parse_day(as_of), plan)
    return JSONResponse({"as_of": as_of, **out})


@router.get("/objects/{rtype}", summary="Derived objects of one type (GeoJSON)",
            tags=["record"], responses=errors(400, 404))
def objects(request: Request, rtype: str, as_of: str | None = None,
            limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
            offset: Offset = 0, user: User = DETAIL) -> dict[str, Any]:
    t = report_type(rtype)
    day = parse_day(as_of)
    if day is None:     # the current record: count and page asked of the database
        page, matched = ledger_of(request).page(t, limit=limit, offset=offset)
    else:               # as known on a date: the record replayed, then paged here
        rows = ledger_of(request).objects(t, day)
        page, matched = rows[offset:offset + limit], len(rows)
    feats, withheld = [], set()
    for r in page:
        f, w = feature(t, r, user)
        feats.append(f)
        withheld |= set(w)
    note_victim_read(request, user, t, _sensitive_ids(t, page))
    out: dict[str, Any] = {"type": "FeatureCollection", "name": t.value, "features": feats,
                           "numberMatched": matched, "numberReturned": len(feats)}
    if withheld:
        out["redacted"] = sorted(withheld)
        out["redaction_note"] = "personal data of victims is shown only to the victim_data role"
    return out


@router.get("/objects/{rtype}/{object_id}", summary="One object (now or as known on a date)",
            tags=["record"], responses=errors(400, 404))
def one_object(request: Request, rtype: str, object_id: str, as_of: str | None = None,
               user: User = DETAIL) -> dict[str, Any]:
    t = report_type(rtype)
    row = ledger_of(request).get(t, object_id, parse_day(as_of))
    f, _ = feature(t, row, user)
    note_victim_read(request, user, t, _sensitive_ids(t, [row]))
    if t is ReportType.HAZARDOUS_AREA and row.get("remaining_geometry") is not None:
        f["remaining_geometry"] = jsonable(row["remaining_geometry"])
    return f


def return_waits_on(request: Request, settlement_id: str,
                     day: dt.date | None) -> dict[str, Any]:
    """The open hazardous areas a settlement's return waits on (the planner's access rule, with
    the work directory's context layers), and, when the work directory holds a plan, the
    dates it releases them and lets the people return."""
    from safeground.planning.record import context_in, settlement_access

    work = request.app.state.work_dir
    context = context_in(work) if work else None
    areas = settlement_access(ledger_of(request), settlement_id, as_of=day, context=context)
    plan: dict[str, Any] | None = None
    folder = work / "plan" if work else None
    if day is None and folder and (folder / "plan_areas.csv").is_file() \
            and (folder / "plan_settlements.csv").is_file():
        rows, _ = read_csv_rows(folder / "plan_areas.csv", 1_000_000,
                                ["area_id", "release_date"])
        release = {r["area_id"]: r["release_date"] for r in rows}
        for a in areas:
            a["release_date"] = release.get(a["id"], "")
        sett, _ = read_csv_rows(folder / "plan_settlements.csv", 1_000_000,
                                ["settlement_id", "return_date"])
        plan = next((r for r in sett if r["settlement_id"] == settlement_id), {})
    return {"areas": areas, "plan": plan, "context": context is not None}


@router.get("/settlements/{settlement_id}/access",
            summary="What a settlement's return waits on (now or as known on a date)",
            tags=["record"], responses=errors(400, 404))
def settlement_access(request: Request, settlement_id: str, as_of: str | None = None,
                      user: User = DETAIL) -> dict[str, Any]:
    """The open hazardous areas the planner's access rule gives the settlement, each with why
    (linked, near, road); with a plan in the work directory (and no ``as_of``), the plan's
    release date of each and the settlement's return date."""
    day = parse_day(as_of)
    out = return_waits_on(request, settlement_id, day)
    areas = [{**a, "geometry": jsonable(a["geometry"])} for a in out.pop("areas")]
    return {"settlement_id": settlement_id, "as_of": as_of, "areas": areas, **out}


def reports_json(request: Request, reps: list[Any], user: User) -> list[dict[str, Any]]:
    """Stored reports as JSON for this user (``views.report_dict``); a response that carries
    victims' personal data — of any report, whatever its status or the spelling of its type
    and fields — is written to the audit trail (``victim_read``)."""
    out, victims = [], []
    reader = user.can(Permission.READ_VICTIMS)
    for rep in reps:
        d, _ = report_dict(rep, user)
        out.append(d)
        if reader and report_personal_data(rep):
            victims.append(str(rep.id))
    if victims:
        audit.record(ledger_of(request).db, user.name, "victim_read", request.url.path,
                     {"reports": victims[:1000], "count": len(victims)})
    return out


@router.get("/history/{object_id}", summary="Every report about an object, in date order",
            tags=["record"], responses=errors(404))
def history(request: Request, object_id: str, user: User = DETAIL) -> dict[str, Any]:
    reps = ledger_of(request).history(object_id)
    return {"object_id": object_id, "reports": reports_json(request, reps, user)}


@router.get("/reports", summary="Stored reports, by status and type", tags=["reports"],
            responses=errors(400))
def list_reports(request: Request, status: str | None = None,
                 type: str | None = None,
                 limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
                 user: User = DETAIL) -> dict[str, Any]:
    if status is not None and status not in ReportStatus._value2member_map_:
        raise BadRequestError(f"'{status}' is not a report status", code="STATUS_UNKNOWN")
    from safeground.record.reports import normal_type

    known = normal_type(type) if type is not None else None   # "Victim" is "victim"
    reps = ledger_of(request).reports(status=status, report_type=known.value if known else type,
                                      limit=limit)
    return {"reports": reports_json(request, reps, user)}


@router.get("/reports/{report_id}", summary="One stored report", tags=["reports"],
            responses=errors(404))
def one_report(request: Request, report_id: ReportId, user: User = DETAIL) -> dict[str, Any]:
    return reports_json(request, [ledger_of(request).report(report_id)], user)[0]


def _not_an_object(where: str, what: str) -> BadRequestError:
    return BadRequestError(f"[{where}] {what} must be a JSON object", code="BODY_INVALID",
                           details={"where": where, "field": what})


def check_depth(body: Any, limit: int) -> None:
    """Refuse JSON nested deeper than ``limit`` (400 BODY_TOO_DEEP): GeoJSON needs a handful of
    levels, and deeper structures would only exhaust the checks and storage after. Walked
    without recursion."""
    stack: list[tuple[Any, int]] = [(body, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            inner: Any = value.values()
        elif isinstance(value, list):
            inner = value
        else:
            continue
        if depth > limit:
            raise BadRequestError(f"the JSON body nests deeper than {limit} levels",
                                  code="BODY_TOO_DEEP", details={"limit": limit})
        stack.extend((v, depth + 1) for v in inner)


def check_fields(records: list[dict[str, Any]], max_chars: int) -> None:
    """Refuse records with a field (other than the geometry) longer than ``max_chars``, or a
    field name longer than ``MAX_FIELD_NAME``, before anything is stored: 422 with one coded
    FIELD_TOO_LARGE problem per field (a record refused at the gate is kept as sent, so the
    limit must hold before the gate)."""
    found = [p for rec in records for p in oversize_fields(rec, max_chars)]
    if found:
        raise ValidationError(found[:100])


def records_from(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Records from a GeoJSON FeatureCollection in the exchange format (docs/report-format.md)
    or ``{"records": [...]}`` with a GeoJSON ``geometry`` in each."""
    if body.get("type") == "FeatureCollection" and isinstance(body.get("features"), list):
        out = []
        for i, feat in enumerate(body["features"], start=1):
            where = f"feature {i}"
            if not isinstance(feat, dict):
                raise _not_an_object(where, "the feature")
            props = feat.get("properties") or {}
            if not isinstance(props, dict):
                raise _not_an_object(where, "properties")
            rec = dict(props)
            rec["geometry"] = feat.get("geometry")
            rec["_where"] = where
            out.append(rec)
    elif isinstance(body.get("records"), list):
        out = []
        for i, r in enumerate(body["records"], start=1):
            if not isinstance(r, dict):
                raise _not_an_object(f"record {i}", "the record")
            out.append({**r, "_where": f"record {i}"})
    else:
        raise BadRequestError("send a GeoJSON FeatureCollection of reports, or "
                              '{"records": [...]}', code="BODY_INVALID")
    if not out:
        raise BadRequestError("no records in the request", code="BODY_INVALID")
    if len(out) > MAX_RECORDS:
        raise BadRequestError(f"at most {MAX_RECORDS} records per request (use an import)",
                              code="BODY_TOO_LARGE")
    for rec in out:
        rec.pop("_problems", None)  # only parsers say what they found before the gate
    return out


@router.post("/reports", status_code=201, summary="Submit reports through the gate",
             tags=["reports"], openapi_extra={"requestBody": {"content": {"application/json": {
                 "schema": SUBMIT_SCHEMA}}, "required": True}})
def submit(request: Request, body: Annotated[dict[str, Any], Body()],
           user: User = SUBMIT) -> dict[str, Any]:
    settings = request.app.state.settings
    check_depth(body, settings.max_json_depth)
    records = records_from(body)
    check_fields(records, settings.max_field_chars)
    res = ledger_of(request).submit(records, user=user.name, source="api")
    return {"accepted": res.accepted,
            "rejected": [{"where": r.where, "report_id": r.report_id,
                          "problems": [p.to_dict() for p in r.problems]} for r in res.rejected],
            "duplicates": [{"where": w, "report_id": rid} for w, rid in res.duplicates]}


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def upload_name(filename: str | None) -> str:
    """The name an upload is saved under: its last path part (``/`` or ``\\``), letters,
    digits, ``.``, ``_`` and ``-`` only, no leading dot, at most 120 characters (the suffix
    kept). Raises BadRequestError (UPLOAD_NAME_INVALID) when nothing usable is left
    (``..``, ``a/..``, ``.``)."""
    last = (filename or "upload").replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    name = _SAFE_NAME.sub("_", last).lstrip(".")[-120:]
    if not any(c.isalnum() for c in name):
        raise BadRequestError(f"'{(filename or '')[:60]}' is not a usable file name; name the "
                              "file after its content, with its suffix (nts.zip, areas.gpkg)",
                              code="UPLOAD_NAME_INVALID")
    return name


def save_upload(file: UploadFile, path: Path) -> None:
    """Copy an uploaded file to ``path`` a MiB at a time, refusing it (400 BODY_TOO_LARGE)
    once it passes ``MAX_UPLOAD``."""
    with path.open("wb") as fh:
        copied = 0
        while chunk := file.file.read(1 << 20):
            copied += len(chunk)
            if copied > MAX_UPLOAD:
                raise BadRequestError(f"the file is larger than {MAX_UPLOAD >> 20} MiB",
                                      code="BODY_TOO_LARGE")
            fh.write(chunk)


@router.post("/imports", status_code=201, summary="Import a file (any format `safeground "
             "import` reads) through the gate", tags=["reports"], responses=errors(404))
def import_file(request: Request, file: Annotated[UploadFile, File()],
                report_type_: Annotated[str | None, Query(alias="type")] = None,
                crs: str | None = None, user: User = SUBMIT) -> dict[str, Any]:
    from safeground.intake.importer import import_path

    name = upload_name(file.filename)
    with tempfile.TemporaryDirectory(prefix="sg-import-") as tmp:
        path = Path(tmp) / name
        save_upload(file, path)
        summary = import_path(ledger_of(request), path, user.name, progress=False,
                              report_type=report_type_, crs=crs,
                              rejects_path=Path(tmp) / "rejects.csv")
        if summary.file_problem is not None:  # refused whole: nothing was stored
            raise ValidationError([summary.file_problem])
        out = summary.to_dict()
    out.pop("rejects_path", None)
    out["path"] = name
    out["report_ids"] = summary.report_ids
    return out


@router.post("/import-jobs", status_code=202, summary="Import a file through the gate in the "
             "background: the job (progress, then the summary and the rejects file as its "
             "result)", tags=["reports"], responses=errors(400, 404, 429, 503))
def import_job(request: Request, file: Annotated[UploadFile, File()],
               report_type_: Annotated[str | None, Query(alias="type")] = None,
               crs: Annotated[str | None, Query(max_length=100)] = None,
               user: User = SUBMIT) -> JSONResponse:
    import secrets
    import shutil

    from safeground.web.jobs import import_work

    name = upload_name(file.filename)
    if report_type_:
        report_type(report_type_)
    folder = Path(tempfile.mkdtemp(prefix="sg-import-"))
    path = folder / name
    try:
        save_upload(file, path)
        params = {"file": name, "type": report_type_, "crs": crs}
        job, _ = request.app.state.jobs.start(
            user.name, "import", params, ("import", secrets.token_hex(8)),
            import_work(ledger_of(request), path, user.name, report_type_, crs))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    request.app.state.derived.clear()
    where = job.to_dict()
    return JSONResponse(where, status_code=202, headers={"Location": where["href"]})


class CoordinatesBody(BaseModel):
    """Coordinates typed or pasted into the New report page."""

    text: str = Field(max_length=500_000, description="one vertex a line (or separated by ;)")
    system: Literal["latlon", "utm", "mgrs"] = "latlon"
    shape: Literal["point", "line", "polygon"] = "point"
    zone: str | None = Field(None, max_length=8, description="UTM zone, e.g. 38N")


@router.post("/geometry/parse", summary="Coordinates typed or pasted (lat/lon, UTM or MGRS) as "
             "a GeoJSON geometry (lon/lat)", tags=["reports"])
def parse_geometry(body: CoordinatesBody, user: User = SUBMIT) -> dict[str, Any]:
    from shapely.geometry import mapping

    from safeground.intake.geo import GeoEncodingError, parse_coordinates

    try:
        geom = parse_coordinates(body.text, body.system, body.shape, body.zone)
    except GeoEncodingError as exc:
        raise ValidationError([Problem(exc.code, "coordinates", "geometry", exc.params)]) \
            from exc
    return {"geometry": mapping(geom)}


@router.post("/geometry/file", summary="The first feature's geometry of an uploaded geodata "
             "file (GeoJSON, GeoPackage, KML, zipped Shapefile...) in lon/lat",
             tags=["reports"], responses=errors(400))
def geometry_file(file: Annotated[UploadFile, File()], user: User = SUBMIT) -> dict[str, Any]:
    from shapely.geometry import mapping

    from safeground.intake.errors import FileProblem
    from safeground.intake.geodata import geometry_from_file

    name = upload_name(file.filename)
    with tempfile.TemporaryDirectory(prefix="sg-geom-") as tmp:
        path = Path(tmp) / name
        data = file.file.read(MAX_GEOMETRY_FILE + 1)
        if len(data) > MAX_GEOMETRY_FILE:
            raise BadRequestError(f"a geometry file is at most {MAX_GEOMETRY_FILE >> 20} MiB",
                                  code="BODY_TOO_LARGE")
        path.write_bytes(data)
        try:
            geom = geometry_from_file(path)
        except FileProblem as exc:
            raise ValidationError([exc.problem]) from exc
    return {"geometry": mapping(geom)}


# ----------------------------------------------------------------------------- decisions
@router.get("/review", summary="The review queue: submitted reports with reconciliation "
            "proposals", tags=["reports"])
def review(request: Request, limit: Annotated[int, Query(ge=1, le=5000)] = 500,
           user: User = DECIDE) -> dict[str, Any]:
    return review_queue(request, user, limit)


def review_queue(request: Request, user: User, limit: int = 500) -> dict[str, Any]:
    from safeground.intake.reconcile import proposals_for

    ledger = ledger_of(request)
    reps = ledger.reports(status=ReportStatus.SUBMITTED, limit=limit)
    try:
        props = {p.report_id: p.to_dict() for p in proposals_for(ledger, [r.id for r in reps])}
    except SafegroundError:
        props = {}
    from safeground.risk.proposals import SOURCE as PROPOSALS

    basis = {r.id: {k.lstrip("_"): v for k, v in r.meta.items()
                    if k in ("_proposal_score", "_mean_probability", "_drivers")}
             for r in reps if r.source == PROPOSALS}
    items = []
    for d in reports_json(request, reps, user):
        d["proposal"] = props.get(d["id"])
        if d["id"] in basis:     # a classification proposal: what it rests on
            d["basis"] = basis[d["id"]]
        d["own"] = d["submitted_by"] == user.name
        items.append(d)
    return {"reports": items, "count": len(items), "counts": review_counts(ledger, user)}


def review_counts(ledger: Ledger, user: User) -> dict[str, int]:
    """How many reports wait for a decision (``waiting``), how many of them this user may
    decide (``yours_to_decide``: not their own), how many the record holds approved and
    rejected."""
    from sqlalchemy import func, select

    from safeground.record.storage.schema import reports as table

    with ledger.db.read() as conn:
        by = dict(conn.execute(select(table.c.status, func.count()).group_by(table.c.status))
                  .all())
        own = conn.execute(select(func.count()).select_from(table).where(
            table.c.status == ReportStatus.SUBMITTED.value,
            table.c.submitted_by == user.name)).scalar_one()
    waiting = int(by.get(ReportStatus.SUBMITTED.value, 0))
    return {"waiting": waiting, "yours_to_decide": waiting - int(own),
            "approved": int(by.get(ReportStatus.APPROVED.value, 0)),
            "rejected": int(by.get(ReportStatus.REJECTED.value, 0))}


DecisionId = Annotated[int, Field(ge=1, le=MAX_ID)]


class Decision(BaseModel):
    ids: list[DecisionId] = Field(min_length=1, max_length=MAX_DECISION_IDS)
    note: str | None = Field(default=None, max_length=2000)
    #: report id -> hazardous area id: the review queue's link proposals the approver accepts
    links: dict[DecisionId, Annotated[str, Field(min_length=1, max_length=64)]] | None = \
        Field(default=None, max_length=MAX_DECISION_IDS,
              description="report id -> hazardous area id: link these evidence or accident "
                          "reports to the area as they are approved (accepting the review "
                          "queue's link proposals)")


class RejectBody(BaseModel):
    ids: list[DecisionId] = Field(min_length=1, max_length=MAX_DECISION_IDS)
    note: str = Field(min_length=1, max_length=2000)


@router.post("/reports/approve", summary="Approve submitted reports (not your own), "
             "with the outcome of each", tags=["reports"], responses=errors(404, 409))
def approve(request: Request, body: Decision, user: User = DECIDE) -> dict[str, Any]:
    ledger = ledger_of(request)
    res = ledger.approve(body.ids, user.name, body.note, links=body.links)
    request.app.state.derived.clear()     # the figures of the record before are done with
    job = request.app.state.plan_jobs.follow(ledger, user.name, res.approved)
    return {"approved": res.approved, "counts": review_counts(ledger, user),
            "refused": [{"report_id": rid, "problems": probs} for rid, probs in res.refused],
            "already_decided": [{"report_id": rid, "status": st, "decided_by": by}
                                for rid, st, by in res.already_decided],
            "not_found": res.not_found,
            "outcomes": res.outcomes(body.ids),
            "plan_job": job.to_dict() if job is not None else None}


@router.post("/reports/reject", summary="Reject submitted reports, with the reason",
             tags=["reports"], responses=errors(404, 409))
def reject(request: Request, body: RejectBody, user: User = DECIDE) -> dict[str, Any]:
    ledger = ledger_of(request)
    done = ledger.reject(body.ids, user.name, body.note)
    return {"rejected": done, "counts": review_counts(ledger, user)}


@router.post("/review/classification-proposals", summary="Bring the risk ranking's SHA / CHA "
             "proposals that differ from the record into the review queue as draft reports",
             tags=["reports"], responses=errors(404))
def classification_proposals(request: Request, user: User = DECIDE) -> dict[str, Any]:
    from safeground.risk.proposals import PROPOSER, bring_in

    path = _work_file(request, "area-risk.csv")
    ledger = ledger_of(request)
    out = bring_in(ledger, path).to_dict()
    audit.record(ledger.db, user.name, "classification_proposals", path.name,
                 {"submitted": len(out["submitted"]), "skipped": out["skipped"],
                  "submitted_as": PROPOSER})
    request.app.state.derived.clear()
    out["counts"] = review_counts(ledger, user)
    return out


# ------------------------------------------------------------------------------- exports
def _tmp_file(suffix: str) -> Path:
    fd, name = tempfile.mkstemp(prefix="sg-export-", suffix=suffix)
    import os

    os.close(fd)
    return Path(name)


def _file(path: Path, media: str, filename: str) -> FileResponse:
    return FileResponse(path, media_type=media, filename=filename,
                        background=BackgroundTask(path.unlink, missing_ok=True))


@router.get("/exports/geopackage", summary="The record as a GeoPackage (QGIS); sensitive "
            "fields left out", tags=["exports"],
            responses={**content("application/geopackage+sqlite3"), **errors(400, 404)})
def export_gpkg(request: Request, as_of: str | None = None,
                types: Annotated[list[str] | None, Query()] = None,
                user: User = ANALYSE) -> FileResponse:
    from safeground.intake.export import export_gpkg as write

    chosen = [report_type(t) for t in types] if types else None
    path = _tmp_file(".gpkg")
    counts = write(ledger_of(request), path, chosen, as_of=parse_day(as_of))
    audit.record(ledger_of(request).db, user.name, "export", "geopackage", {"layers": counts})
    return _file(path, "application/geopackage+sqlite3", "safeground.gpkg")


@router.get("/exports/hxl/{rtype}", summary="One object type as HXL-tagged CSV",
            tags=["exports"], responses={**content("text/csv"), **errors(400, 404)})
def export_hxl(request: Request, rtype: str, as_of: str | None = None,
               user: User = ANALYSE) -> FileResponse:
    from safeground.intake.export import export_hxl as write

    t = report_type(rtype)
    path = _tmp_file(".csv")
    n = write(ledger_of(request), path, t, as_of=parse_day(as_of))
    audit.record(ledger_of(request).db, user.name, "export", f"hxl:{t.value}", {"rows": n})
    return _file(path, "text/csv", f"{t.value}.hxl.csv")


@router.get("/exports/land-release-summary", summary="IMAS land release summary by period, "
            "organisation and method", tags=["exports"],
            responses={**content("application/json", "text/csv"), **errors(400)})
def land_release(request: Request, by: str = "quarter", as_of: str | None = None,
                 format: str = "json",
                 user: User = ANALYSE) -> Any:
    from safeground.intake.export import land_release_summary, write_land_release_summary

    if by not in ("month", "quarter", "year"):
        raise BadRequestError("by must be month, quarter or year", code="PERIOD_UNKNOWN")
    rows = land_release_summary(ledger_of(request), by, parse_day(as_of))
    if format == "csv":
        path = _tmp_file(".csv")
        write_land_release_summary(rows, path)
        return _file(path, "text/csv", f"land-release-by-{by}.csv")
    return {"by": by, "rows": rows}


REPORT_FORMATS = ("html", "json", "xlsx", "pdf")
JobId = Annotated[str, PathParam(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$",
                                 description="a job's id (from the job's Location)")]


def _wants_page(request: Request) -> bool:
    """Whether a browser asks (its Accept names HTML): it gets a page that waits."""
    return "text/html" in request.headers.get("accept", "")


def _waiting_page(job: Job) -> HTMLResponse:
    from html import escape

    href = escape(job.to_dict()["href"])
    return HTMLResponse(
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="2;url={href}"><title>Being made…</title></head>'
        f'<body><p>The {escape(job.kind)} is being made ({escape(job.state)}: '
        f'{escape(job.step)}, {job.progress:.0%}). This page opens it when it is ready.</p>'
        f'<p><a href="{href}">Look again</a></p></body></html>', status_code=202,
        headers={"Location": job.to_dict()["href"]})


def _job_started(request: Request, job: Job) -> Response:
    """202 with the job (its address in Location), or 303 to its result when it is done."""
    where = job.to_dict()
    if job.state == "done":
        return Response(status_code=303, headers={"Location": where["result"]})
    if _wants_page(request):
        return _waiting_page(job)
    return JSONResponse(where, status_code=202, headers={"Location": where["href"]})


def start_programme_report(request: Request, user: User, first: dt.date, last: dt.date,
                           fmt: str, title: str) -> Job:
    """The job making this programme report (see ``web.jobs``): checked here, made there."""
    from safeground.reports.programme import check_period

    check_period(first, last)
    if fmt not in REPORT_FORMATS:
        raise BadRequestError("format must be html, json, xlsx or pdf", code="FORMAT_UNKNOWN")
    work = request.app.state.work_dir
    plan_dir = Path(work, "plan") if work else None
    from safeground.web.i18n import current, use

    lang = current()
    params = {"start": first.isoformat(), "end": last.isoformat(), "format": fmt,
              "title": title[:200], "lang": lang}
    key = ("programme-report", tuple(sorted(params.items())), request_version(request),
           plan_stamp(plan_dir))
    make = programme_report_work(ledger_of(request), first, last, fmt, title[:200], plan_dir)

    def work(progress: Any) -> Any:
        with use(lang):              # the job runs in another thread: in the asker's language
            return make(progress)

    job, _ = request.app.state.jobs.start(user.name, "programme-report", params, key, work)
    return job


@router.get("/programme-report", summary="Programme report for government and donors over a "
            "period (HTML, JSON, Excel or PDF; counts only, no personal data): made in the "
            "background — 202 with the job in Location, or 303 to the result made already",
            tags=["exports"], status_code=202,
            responses={202: {"description": "Being made: poll the job (Location)",
                             "headers": {"Location": {"description": "the job",
                                                      "schema": {"type": "string"}}}},
                       303: {"description": "Made already for this record: the result "
                                            "(Location)"},
                       **errors(400, 503)})
def programme_report(request: Request, start: str, end: str | None = None,
                     format: str = "html", title: str | None = None,
                     lang: Annotated[str | None, Query(max_length=20)] = None,
                     user: User = PUBLIC) -> Response:
    """``lang``: the report's language (en, az, ru; default: the request's)."""
    from safeground.web.i18n import is_language, set_language

    if lang is not None and is_language(lang):
        set_language(lang)
    title = title or _("Mine action programme report")
    first = parse_day(start, "start")
    if first is None:
        raise BadRequestError("start is needed (YYYY-MM-DD)", code="DATE_INVALID",
                              details={"parameter": "start"})
    last = parse_day(end, "end") or dt.date.today()
    return _job_started(request, start_programme_report(request, user, first, last, format,
                                                        title))


class JobBody(BaseModel):
    """A heavy output to make in the background."""

    kind: Literal["programme-report"] = Field(description="what to make")
    start: dt.date = Field(description="the period's first day")
    end: dt.date | None = Field(None, description="its last day (today when left out)")
    format: Literal["html", "json", "xlsx", "pdf"] = "html"
    title: str = Field("Mine action programme report", max_length=200)


@router.post("/jobs", status_code=202, summary="Make a heavy output in the background (the "
             "programme report): the job, its address in Location", tags=["jobs"],
             responses={303: {"description": "Made already for this record: the result "
                                             "(Location)"}, **errors(400, 429, 503)})
def start_job(request: Request, body: JobBody, user: User = PUBLIC) -> Response:
    job = start_programme_report(request, user, body.start, body.end or dt.date.today(),
                                 body.format, body.title)
    return _job_started(request, job)


@router.get("/jobs/{job_id}", summary="How a job of yours goes: state (waiting, running, "
            "done, failed), progress, and the result's address once done", tags=["jobs"],
            responses={**content("application/json", "text/html"), **errors(404)})
def job_state(request: Request, job_id: JobId, user: User = PUBLIC) -> Response:
    job = request.app.state.jobs.get(job_id, user.name)
    if _wants_page(request):
        if job.state == "done":
            return Response(status_code=303, headers={"Location": job.to_dict()["result"]})
        if job.state != "failed":
            page = _waiting_page(job)
            page.status_code = 200
            return page
    return JSONResponse(job.to_dict())


@router.get("/jobs/{job_id}/result", summary="The result of a job of yours once done (409 "
            "JOB_NOT_DONE before, JOB_FAILED if it failed)", tags=["jobs"],
            responses={**content("text/html", "application/json", XLSX, "application/pdf"),
                       **errors(404, 409)})
def job_result(request: Request, job_id: JobId, user: User = PUBLIC) -> Response:
    out = request.app.state.jobs.result(job_id, user.name)
    disposition = "attachment" if out.media_type == XLSX or out.media_type.startswith(
        "text/csv") else "inline"
    return Response(out.body, media_type=out.media_type,
                    headers={"Content-Disposition": f'{disposition}; filename="{out.filename}"'})


def _work_file(request: Request, *parts: str) -> Path:
    work = request.app.state.work_dir
    path = Path(work, *parts) if work else None
    if path is None or not path.is_file():
        raise NotFoundError(f"no {'/'.join(parts)} in the work directory (run the risk model "
                            "and the planner, e.g. make demo)", code="OUTPUT_NOT_AVAILABLE")
    return path


def read_csv_rows(path: Path, limit: int, columns: list[str] | None = None
                  ) -> tuple[list[dict[str, Any]], int]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    keep = [{k: v for k, v in r.items() if columns is None or k in columns}
            for r in rows[:limit]]
    return keep, len(rows)


RISK_COLUMNS = ["object_id", "rank", "mean_probability", "max_probability",
                "expected_contaminated_m2", "area_m2", "proposed", "score", "direct_evidence"]


_INT = re.compile(r"-?\d+")
_FLOAT = re.compile(r"-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def typed_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """CSV cells as JSON values: a column whose every filled cell is a number gives numbers
    (integers where written so), and its empty cells null; ``True``/``False`` columns give
    booleans. Identifiers (``id``, ``*_id``, ``name``) and every other column stay text."""
    columns = {k for r in rows for k in r}
    for col in columns:
        if col == "id" or col.endswith("_id") or col == "name":
            continue
        cells = [r[col] for r in rows if r.get(col) not in (None, "")]
        if not cells:
            continue
        if all(_FLOAT.fullmatch(c) for c in cells):
            def value(c: str) -> int | float:
                return int(c) if _INT.fullmatch(c) else float(c)
        elif all(c in ("True", "False") for c in cells):
            def value(c: str) -> bool:
                return c == "True"
        else:
            continue
        for r in rows:
            if col in r:
                r[col] = value(r[col]) if r[col] not in (None, "") else None
    return rows


def _work_table(request: Request, path: tuple[str, ...], key: str, limit: int,
                columns: list[str] | None = None) -> dict[str, Any]:
    """The first ``limit`` rows of a CSV of the work directory under ``key``, with the total;
    numbers as JSON numbers (``typed_rows``)."""
    rows, total = read_csv_rows(_work_file(request, *path), limit, columns)
    return {"total": total, key: typed_rows(rows)}


Limit = Annotated[int, Query(ge=1, le=100_000)]


@router.get("/risk/areas", summary="Hazardous areas ranked by the risk model", tags=["analysis"],
            responses=errors(404))
def risk_areas(request: Request, limit: Limit = 100, user: User = ANALYSE) -> dict[str, Any]:
    return _work_table(request, ("area-risk.csv",), "areas", limit, RISK_COLUMNS)


@router.get("/plan", summary="The survey and clearance plan (team x area x week)",
            tags=["analysis"], responses=errors(404))
def plan(request: Request, limit: Limit = 500, user: User = ANALYSE) -> dict[str, Any]:
    return _work_table(request, ("plan", "plan.csv"), "rows", limit)


@router.get("/plan/settlements", summary="When the plan lets each settlement's people return",
            tags=["analysis"], responses=errors(404))
def plan_settlements(request: Request, limit: Limit = 500,
                     user: User = ANALYSE) -> dict[str, Any]:
    return _work_table(request, ("plan", "plan_settlements.csv"), "settlements", limit)


@router.get("/plan/areas", summary="Per hazardous area: planned teams, weeks, release date",
            tags=["analysis"], responses=errors(404))
def plan_areas(request: Request, limit: Limit = 500, user: User = ANALYSE) -> dict[str, Any]:
    return _work_table(request, ("plan", "plan_areas.csv"), "areas", limit)


@router.get("/plan/forecast", summary="When the work ends: the plan's P10 / P50 / P90 forecast",
            tags=["analysis"], responses=errors(404))
def plan_forecast(request: Request, user: User = ANALYSE) -> dict[str, Any]:
    return _work_table(request, ("plan", "forecast.csv"), "quantiles", 3)


@router.get("/plan/rates", summary="Each team asset's rate measured from the record's completed "
            "activities, and the rate plans use", tags=["analysis"])
def plan_rates(request: Request, user: User = ANALYSE) -> dict[str, Any]:
    from safeground.planning.productivity import measured_rates

    return {"rates": [r.row() for r in measured_rates(ledger_of(request)).values()]}


class PlanJobBody(BaseModel):
    start: str | None = Field(None, description="the plan's first day (default today)")
    horizon_weeks: int = Field(104, ge=1, le=1040)
    seconds: float = Field(10.0, gt=0, le=600, description="local search time")
    freeze_weeks: int = Field(2, ge=0, le=52, description="weeks of planned work held")


@router.post("/plan/jobs", status_code=202, summary="Make the plan again from the record "
             "(in the background), holding work in progress", tags=["analysis"],
             responses=errors(400, 404, 409))
def plan_job(request: Request, body: Annotated[PlanJobBody | None, Body()] = None,
             user: User = ANALYSE) -> dict[str, Any]:
    body = body or PlanJobBody()
    day = parse_day(body.start, "start") or dt.date.today()
    return request.app.state.plan_jobs.start(
        ledger_of(request), user.name, start=day, horizon_weeks=body.horizon_weeks,
        seconds=body.seconds, freeze_weeks=body.freeze_weeks).to_dict()


@router.get("/plan/jobs/current", summary="How the last re-planning went", tags=["analysis"])
def plan_job_current(request: Request, user: User = ANALYSE) -> dict[str, Any]:
    return request.app.state.plan_jobs.current().to_dict()


@router.get("/plan/geopackage", summary="The plan as a GeoPackage (QGIS): plan_areas and "
            "settlement_returns", tags=["analysis"],
            responses={**content("application/geopackage+sqlite3"), **errors(404)})
def plan_geopackage(request: Request, user: User = ANALYSE) -> FileResponse:
    return FileResponse(_work_file(request, "plan", "plan.gpkg"),
                        media_type="application/geopackage+sqlite3", filename="plan.gpkg")


@router.get("/plan/charts/{name}", summary="Plan charts: gantt or returns (PNG)",
            tags=["analysis"], responses={**content("image/png"), **errors(404)})
def plan_chart(request: Request, name: str,
               lang: Annotated[str | None, Query(max_length=20)] = None,
               user: User = ANALYSE) -> FileResponse:
    """``lang``: the chart's language (en, az, ru; default: the request's). Plans written
    before the charts were translated have them in English only."""
    if name not in ("gantt", "returns"):
        raise NotFoundError(f"no chart '{name}' (gantt or returns)", code="OUTPUT_NOT_AVAILABLE")
    from safeground.planning.outputs import chart_path

    path = _work_file(request, "plan", f"plan_{name}.png")
    shown = lang if lang and is_language(lang) else current()
    return FileResponse(chart_path(path.parent, name, shown), media_type="image/png")


# --------------------------------------------------------------------------------- users
class NewUser(BaseModel):
    name: str = Field(min_length=2, max_length=100)
    password: str = Field(min_length=1, max_length=1000)
    roles: list[str] = Field(min_length=1)


class RolesBody(BaseModel):
    roles: list[str] = Field(min_length=1)


class ActiveBody(BaseModel):
    active: bool


@router.get("/users", summary="Users and their roles", tags=["users"])
def list_users(request: Request, user: User = USERS) -> dict[str, Any]:
    return {"users": [u.to_dict() for u in users_of(request).list()]}


def _with_pending(users: Users, u: User) -> dict[str, Any]:
    """A user as the API shows it, with the grants of sensitive roles waiting for them."""
    waiting = [g for g in users.grants() if g["user_name"].lower() == u.name.lower()]
    return {**u.to_dict(), "pending_grants": [jsonable(g) for g in waiting]}


@router.post("/users", status_code=201, summary="Add a user (victim_data and admin wait for a "
             "second admin: pending_grants)", tags=["users"],
             responses=errors(409))
def add_user(request: Request, body: NewUser, user: User = USERS) -> dict[str, Any]:
    users = users_of(request)
    return _with_pending(users, users.add(body.name, body.password, body.roles, by=user.name))


@router.put("/users/{name}/roles", summary="Set a user's roles (a new victim_data or admin role "
            "waits for a second admin: pending_grants)", tags=["users"],
            responses=errors(404))
def set_roles(request: Request, name: str, body: RolesBody, user: User = USERS
              ) -> dict[str, Any]:
    users = users_of(request)
    return _with_pending(users, users.set_roles(name, body.roles, by=user.name))


@router.get("/users/grants", summary="Grants of victim_data and admin waiting for a second admin",
            tags=["users"])
def role_grants(request: Request, user: User = USERS) -> dict[str, Any]:
    return {"grants": [jsonable(g) for g in users_of(request).grants()]}


@router.post("/users/grants/{grant_id}/confirm", summary="Confirm a pending grant (a second "
             "admin: not the one who asked, not its user)", tags=["users"],
             responses=errors(404, 409))
def confirm_grant(request: Request, grant_id: GrantId, user: User = USERS) -> dict[str, Any]:
    return users_of(request).confirm_grant(grant_id, user.name).to_dict()


@router.post("/users/grants/{grant_id}/refuse", summary="Refuse a pending grant (or withdraw "
             "one's own request)", tags=["users"], responses=errors(404, 409))
def refuse_grant(request: Request, grant_id: GrantId, user: User = USERS) -> dict[str, Any]:
    users_of(request).refuse_grant(grant_id, user.name)
    return {"refused": grant_id}


@router.put("/users/{name}/active", summary="Deactivate or reactivate a user", tags=["users"],
            responses=errors(404))
def set_active(request: Request, name: str, body: ActiveBody, user: User = USERS
               ) -> dict[str, Any]:
    return users_of(request).set_active(name, body.active, by=user.name).to_dict()


def audit_filters(actor: str | None = None, action: str | None = None,
                  target: str | None = None, since: str | None = None,
                  until: str | None = None) -> dict[str, Any]:
    """The audit trail's filters from request parameters (dates checked: DATE_INVALID)."""
    return {"user": actor or None, "action": action or None, "target": target or None,
            "since": parse_day(since, "since"), "until": parse_day(until, "until")}


@router.get("/audit", summary="The audit trail, newest first: filter by actor, action, target "
            "(contains) and dates (since, until: UTC days, both included); page with limit and "
            "offset", tags=["users"], responses=errors(400))
def audit_trail(request: Request, limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
                offset: Offset = 0,
                action: Annotated[str | None, Query(max_length=64)] = None,
                actor: Annotated[str | None, Query(max_length=200)] = None,
                target: Annotated[str | None, Query(max_length=200)] = None,
                since: str | None = None, until: str | None = None,
                user: User = USERS) -> dict[str, Any]:
    f = audit_filters(actor, action, target, since, until)
    db = ledger_of(request).db
    return {"entries": [jsonable(r) for r in audit.entries(db, limit, offset=offset, **f)],
            "total": audit.count(db, **f), "offset": offset, "limit": limit}


# ------------------------------------------------------------------------- API description
@router.get("/openapi.json", summary="This API described (OpenAPI 3)", tags=["about"])
def openapi(request: Request, user: User = PUBLIC) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get("/docs", summary="API documentation (served locally, no CDN)", tags=["about"],
            response_class=HTMLResponse)
def docs(request: Request, user: User = PUBLIC) -> HTMLResponse:
    return request.app.state.templates.TemplateResponse(
        request, "api_docs.html", {"spec": request.app.openapi(),
                                   **request.app.state.page_context(request, user)})

