"""The web UI's pages (Jinja2 templates and plain JavaScript, no build step)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from safeground.errors import NotFoundError, SafegroundError
from safeground.record import labels
from safeground.record.ledger import Ledger
from safeground.record.reports import REPORT_SPECS, is_sensitive_name
from safeground.record.summary import status
from safeground.record.users import MIN_PASSWORD, SESSION_HOURS, Permission, User
from safeground.record.vocabulary import ReportType
from safeground.reports import charts
from safeground.web.api import (
    _sensitive_ids,
    audit_filters,
    ledger_of,
    map_extent,
    note_victim_read,
    parse_day,
    planned_areas,
    read_csv_rows,
    report_type,
    reports_json,
    return_waits_on,
    review_queue,
)
from safeground.web.auth import COOKIE, client_of, principal, require
from safeground.web.cache import derived
from safeground.web.i18n import COOKIE as LANG_COOKIE
from safeground.web.i18n import _, is_language, shown_message
from safeground.web.i18n import current as current_language
from safeground.web.mapview import default_layers, may_read_layer
from safeground.web.views import feature, hidden_fields, jsonable

router = APIRouter(include_in_schema=False)

PUBLIC = Depends(require(Permission.READ_PUBLIC))
DETAIL = Depends(require(Permission.READ_DETAIL))
SUBMIT = Depends(require(Permission.SUBMIT))
DECIDE = Depends(require(Permission.DECIDE))
ANALYSE = Depends(require(Permission.ANALYSE))
USERS = Depends(require(Permission.MANAGE_USERS))

STATUS_COLOURS = {"open": "#c62828", "worked_on": "#ef6c00", "closed": "#2e7d32"}
RELEASE_COLOURS = {"cancelled": "#90caf9", "reduced": "#4db6ac", "cleared": "#66bb6a"}


def _render(request: Request, template: str, user: User | None, status_code: int = 200,
            **ctx: Any) -> HTMLResponse:
    app = request.app
    return app.state.templates.TemplateResponse(
        request, template, {**app.state.page_context(request, user), **ctx},
        status_code=status_code)


def _safe_next(value: str | None) -> str:
    """Only a path on this site (no open redirect)."""
    if not value:
        return "/map"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//") \
            or "\\" in value:
        return "/map"
    return value


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> Response:
    try:
        p = principal(request)
    except SafegroundError:
        p = None
    if p is not None and p.via == "cookie":
        return RedirectResponse(_safe_next(next), status_code=303)
    return _render(request, "login.html", None, next=_safe_next(next), error=None)


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, name: Annotated[str, Form(max_length=100)],
          password: Annotated[str, Form(max_length=1000)],
          next: Annotated[str, Form()] = "/map") -> Response:
    limiter = request.app.state.limiter
    client = client_of(request)
    try:
        limiter.check(name, client)
        _user, token = request.app.state.users.login(name, password, kind="cookie",
                                                    client=client)
    except SafegroundError as exc:
        if exc.http_status == 401:
            limiter.failed(name, client)
        return _render(request, "login.html", None, status_code=exc.http_status,
                       next=_safe_next(next), error=shown_message(exc), name=name)
    limiter.succeeded(name, client)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(COOKIE, token, max_age=SESSION_HOURS * 3600, httponly=True,
                        samesite="strict", secure=request.app.state.options.secure_cookies,
                        path="/")
    if _user.language:    # the user's own language from now on, in this browser
        _language_cookie(request, response, _user.language)
    return response


def _language_cookie(request: Request, response: Response, code: str) -> None:
    response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, samesite="lax", path="/",
                        secure=request.app.state.options.secure_cookies)


@router.get("/language")
def language(request: Request, lang: Annotated[str, Query(max_length=20)],
             next: str | None = None) -> Response:
    """The switcher's link: answer in ``lang`` from now on in this browser (a cookie), and go
    back to the page. Signed-in users' choice is stored on them by the page's script
    (``POST /api/v1/me/language``). An unknown language changes nothing."""
    response = RedirectResponse(_safe_next(next), status_code=303)
    if is_language(lang):
        _language_cookie(request, response, lang)
    return response


@router.post("/logout")
def logout(request: Request, user: User = PUBLIC) -> Response:
    p = principal(request)
    if p is not None and p.token:
        request.app.state.users.logout(p.token, user.name)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/")
def home(user: User = PUBLIC) -> Response:
    return RedirectResponse("/map", status_code=303)


@router.get("/map", response_class=HTMLResponse)
def map_page(request: Request, as_of: str | None = None, user: User = PUBLIC) -> Response:
    day = parse_day(as_of)
    # the plan's table only for those who may see its layer (its first year sets the colours)
    plan = planned_areas(request.app.state.work_dir) if may_read_layer("planned_release",
                                                                       user) else None
    starts = [r["planned_start_date"] for r in (plan or {}).values() if r["planned_start_date"]]
    from safeground.web import tiles

    risk = tiles.surface(request.app.state.work_dir) if user.can(Permission.READ_DETAIL) \
        else None
    basemap = request.app.state.basemap
    return _render(request, "map.html", user, as_of=as_of or "",
                   risk=risk.describe() if risk else None,
                   roads=tiles.roads_file(request.app.state.work_dir) is not None,
                   labels={code: labels.value(code) for code in labels.VALUES},
                   basemap=basemap.describe() if basemap else None,
                   extent=map_extent(ledger_of(request), user, day),
                   layers=default_layers(user, plan is not None),
                   plan_start=min(starts)[:4] if starts else "",
                   status_colours=STATUS_COLOURS, release_colours=RELEASE_COLOURS)


def _km2(m2: float) -> float:
    return m2 / 1e6


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, as_of: str | None = None, user: User = PUBLIC) -> Response:
    day = parse_day(as_of)
    lang = speak(request, user)     # the charts' words are in the page's language
    s, figures, ch = derived(request, ("dashboard", day or dt.date.today(), day is None, lang),
                             lambda: dashboard_figures(ledger_of(request), day))
    return _render(request, "dashboard.html", user, s=s, f=figures, charts=ch,
                   as_of=as_of or "", today=dt.date.today().isoformat(),
                   report_start=dt.date(dt.date.today().year - 1, 1, 1).isoformat())


def dashboard_figures(ledger: Ledger, day: dt.date | None) -> tuple[Any, dict[str, Any],
                                                                    dict[str, str]]:
    """The dashboard's status, figures and charts (SVG) of the record as known on ``day``
    (now for None): computed once per version of the record (``web.cache``)."""
    from safeground.intake.export import land_release_summary

    s = status(ledger, day)
    released = {k: _km2(v) for k, v in s.released_m2.items()}
    killed = s.casualties.get("killed", 0)
    injured = s.casualties.get("injured", 0)
    by_period: dict[str, dict[str, float]] = {}
    for row in land_release_summary(ledger, "quarter", day):
        p = by_period.setdefault(row["period"], {"cancelled": 0.0, "reduced": 0.0,
                                                 "cleared": 0.0})
        for k in p:
            p[k] += _km2(row[f"{k}_m2"])
    periods = sorted(by_period)
    figures = {
        "sha": (s.areas_open.get("SHA", 0), _km2(s.remaining_m2.get("SHA", 0.0))),
        "cha": (s.areas_open.get("CHA", 0), _km2(s.remaining_m2.get("CHA", 0.0))),
        "closed": s.areas_closed, "released": released,
        "released_total": sum(released.values()), "items": sum(s.items.values()),
        "killed": killed, "injured": injured, "displaced": s.displaced,
        "returned": s.returned, "waiting": max(0, s.displaced - s.returned),
        "settlements": settlement_figures(ledger, day),
    }
    # killed drawn dark red, injured amber, whatever the status; codes read as words
    casualties = [(k, v) for k, v in s.casualties.items() if "_" in k]
    casualties.sort(key=lambda kv: (kv[0].split("_")[0] != "killed", kv[0]))
    ch = {
        "areas": charts.bars([(_("SHA open"), figures["sha"][0]),
                              (_("CHA open"), figures["cha"][0]),
                              (labels.value("closed"), s.areas_closed)],
                             title=_("Hazardous areas"),
                             colours=["#e8a33d", "#b3261e", "#2e7d32"]),
        "released": charts.bars([(labels.value(k), v) for k, v in released.items()],
                                unit="km²", title=_("Land released"),
                                colours=list(RELEASE_COLOURS.values())),
        "over_time": charts.columns(periods, {labels.value(k): [by_period[p][k] for p in periods]
                                              for k in ("cancelled", "reduced", "cleared")},
                                    unit="km²", title=_("Land released by quarter"),
                                    colours={labels.value(k): c
                                             for k, c in RELEASE_COLOURS.items()}),
        "items": charts.bars([(labels.value(k), v) for k, v in
                              sorted(s.items.items(), key=lambda kv: -kv[1])],
                             title=_("Explosive items by category")),
        "casualties": charts.bars(
            [(_casualty(k), v) for k, v in casualties],
            title=_("Casualties by outcome and status"),
            colours=[CASUALTY_COLOURS[k.split("_", 1)[0]] for k, _v in casualties]),
        "settlements": charts.bars(
            [(labels.value(k), v) for k, v in s.settlements.items()],
            title=_("Settlements by return status"),
            colours=[RETURN_COLOURS.get(k, "#78909c") for k in s.settlements]),
        "people": charts.bars([(_("returned"), s.returned),
                               (_("still displaced"), figures["waiting"])],
                              title=_("Displaced people"), colours=["#2e7d32", "#e8a33d"]),
    }
    return s, figures, ch


@router.get("/import", response_class=HTMLResponse)
def import_page(request: Request, user: User = SUBMIT) -> Response:
    """Upload a file through the gate (``POST /api/v1/import-jobs``), follow it, see what
    became of its records and download the rejects."""
    return _render(request, "import.html", user, types=[t.value for t in ReportType],
                   can_decide=user.can(Permission.DECIDE))


#: ids offered for a reference field (the browser's list narrows them as one types)
REF_CHOICES = 5000


def form_fields(rtype: ReportType, current: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The fields of a report type's form, from ``REPORT_SPECS`` (the one description the
    gate, the tables and the XLSForms are made from), with the current values of an object
    being corrected (those the user may see)."""
    current = current or {}
    out = []
    for f in REPORT_SPECS[rtype].fields:
        value = current.get(f.name)
        if isinstance(value, list):
            value = [str(v) for v in value]
        elif value is not None:
            value = value.isoformat() if isinstance(value, dt.date) else str(value)
        out.append({"name": f.name, "kind": f.kind, "required": f.required,
                    "choices": [c.value for c in f.choices] if f.choices else [],
                    "low": f.low, "high": f.high, "ref": f.ref.value if f.ref else None,
                    "sensitive": f.sensitive, "doc": f.doc, "value": value,
                    "label": labels.field(f.name)})
    return out


def _ref_ids(ledger: Ledger, types: set[str]) -> dict[str, list[str]]:
    from sqlalchemy import select

    from safeground.record.storage.schema import object_tables

    out = {}
    with ledger.db.read() as conn:
        for t in sorted(types):
            table = object_tables[ReportType(t)]
            out[t] = list(conn.execute(select(table.c.id).order_by(table.c.id)
                                       .limit(REF_CHOICES)).scalars())
    return out


@router.get("/submit", response_class=HTMLResponse)
def submit_page(request: Request, type: str = "accident",
                object: Annotated[str | None, Query(max_length=64)] = None,
                user: User = SUBMIT) -> Response:
    """A new dated report of any type, its form made from ``REPORT_SPECS``; with ``object``
    a correction of that object (a new report about it, never an edit): the form starts from
    what the record says now. Submitted through the gate (``POST /api/v1/reports``)."""
    from safeground.web.views import object_props

    t = report_type(type)
    ledger = ledger_of(request)
    current: dict[str, Any] = {}
    geometry = None
    if object:
        try:
            row = ledger.get(t, object)
        except NotFoundError as exc:
            return _render(request, "error.html", user, status_code=404, error=exc)
        current, _withheld = object_props(t, row, user)
        geometry = jsonable(row.get("geometry"))
    spec = REPORT_SPECS[t]
    fields = form_fields(t, current)
    victims = form_fields(ReportType.VICTIM) if t is ReportType.ACCIDENT else None
    if victims:
        victims = [f for f in victims if f["name"] != "accident_id"]
    refs = {f["ref"] for f in [*fields, *(victims or [])] if f["ref"]}
    return _render(request, "submit.html", user, rtype=t.value, spec=spec, fields=fields,
                   victims=victims, ref_ids=_ref_ids(ledger, refs),
                   types=[x.value for x in ReportType], object_id=object or "",
                   correcting=bool(object), geometry=geometry,
                   organisation=current.get("organisation") or "",
                   shapes=_shapes(spec.geometry), today=dt.date.today().isoformat(),
                   extent=map_extent(ledger, user, None))


def _shapes(allowed: tuple[str, ...]) -> list[str]:
    """The shapes a report type's geometry may take, as the draw tool names them."""
    names = {"Point": "point", "LineString": "line", "Polygon": "polygon",
             "MultiPolygon": "polygon"}
    return list(dict.fromkeys(names[g] for g in allowed if g in names))


def _casualty(key: str) -> str:
    """``killed_civilian`` -> "killed · civilian" in the language in use."""
    outcome, _sep, who = key.partition("_")
    return f"{labels.value(outcome)} · {labels.value(who)}" if who else labels.value(key)


def speak(request: Request, user: User | None) -> str:
    """Set the page's language now (``page_context`` does it again when rendering), for
    words made before the template (charts); returns it."""
    from safeground.web.i18n import choose, set_language

    set_language(choose(request.headers.get("cookie"), request.headers.get("accept-language"),
                        user.language if user is not None else None))
    return current_language()


#: casualty outcomes: killed dark red, injured amber (never green)
CASUALTY_COLOURS = {"killed": "#7f1d1d", "injured": "#e8a33d"}
#: settlements by return status, as the map draws them
RETURN_COLOURS = {"returned": "#2e7d32", "partial": "#e8a33d", "not_returned": "#78909c"}


def settlement_figures(ledger: Ledger, day: dt.date | None) -> list[dict[str, Any]]:
    """Settlements by return status with the people recorded in them: how many settlements,
    how many people displaced from them and how many recorded as returned. A settlement
    marked returned with no people recorded adds to the first count only, so the dashboard
    says both in one table rather than two figures that seem to disagree."""
    rows: dict[str, dict[str, Any]] = {}
    for st in ledger.objects(ReportType.SETTLEMENT, day):
        code = st.get("return_status") or "not_returned"
        r = rows.setdefault(code, {"status": code, "label": labels.value(code), "settlements": 0,
                                   "displaced": 0, "returned": 0})
        r["settlements"] += 1
        r["displaced"] += int(st.get("displaced_population") or 0)
        r["returned"] += int(st.get("returned_population") or 0)
    order = ["returned", "partial", "not_returned"]
    return sorted(rows.values(), key=lambda r: (order.index(r["status"])
                                                if r["status"] in order else 9, r["status"]))


@router.get("/review", response_class=HTMLResponse)
def review(request: Request, user: User = DECIDE) -> Response:
    queue = review_queue(request, user, 500)
    work = request.app.state.work_dir
    return _render(request, "review.html", user, queue=queue,
                   can_propose=bool(work and (work / "area-risk.csv").is_file()))


def _refs(rtype: ReportType) -> dict[str, str]:
    return {f.name: f.ref.value for f in REPORT_SPECS[rtype].fields
            if f.kind == "ref" and f.ref is not None}


@router.get("/objects/{rtype}/{object_id}", response_class=HTMLResponse)
def object_page(request: Request, rtype: str, object_id: str, as_of: str | None = None,
                user: User = DETAIL) -> Response:
    t = report_type(rtype)
    ledger = ledger_of(request)
    day = parse_day(as_of)
    try:
        row = ledger.get(t, object_id, day)
    except NotFoundError as exc:
        return _render(request, "error.html", user, status_code=404, error=exc)
    feat, withheld = feature(t, row, user)
    note_victim_read(request, user, t, _sensitive_ids(t, [row]))
    history = ledger.history(object_id)
    # a source's own fields may hold personal data: withheld where the model's are, and
    # any named like personal data (a witness's address on an accident) from those who may
    # not read victims' data
    custom = {} if hidden_fields(t, user) else _custom_fields(history, t, object_id, day)
    if not user.can(Permission.READ_VICTIMS):
        custom = {k: v for k, v in custom.items() if not is_sensitive_name(k)}
    reports = reports_json(request, history, user)
    if day is not None:
        reports = [r for r in reports if r["date_of_information"] <= day.isoformat()]
    geo = {"type": "FeatureCollection", "features": [feat] if feat["geometry"] else []}
    if t is ReportType.HAZARDOUS_AREA and row.get("remaining_geometry") is not None:
        geo["features"].append({"type": "Feature", "properties": {"part": "remaining"},
                                "geometry": jsonable(row["remaining_geometry"])})
    waits = return_waits_on(request, object_id, day) if t is ReportType.SETTLEMENT else None
    risk = plan = None
    if t is ReportType.HAZARDOUS_AREA:       # the model's and the planner's outputs on it
        from safeground.reports.outlook import area_plan, area_risk

        work = request.app.state.work_dir
        risk, plan = area_risk(work, object_id), area_plan(work, object_id)
    for a in (waits or {}).get("areas", []):     # the areas in the way, on the small map
        geo["features"].append({"type": "Feature", "properties": {"part": "access",
                                                                  "id": a["id"]},
                                "geometry": jsonable(a.pop("geometry"))})
    return _render(request, "object.html", user, rtype=t, obj=feat, props=feat["properties"],
                   withheld=withheld, reports=reports, as_of=as_of or "", refs=_refs(t),
                   geo=geo, today=dt.date.today().isoformat(), waits=waits, custom=custom,
                   risk=risk, plan=plan, dossier=t is ReportType.HAZARDOUS_AREA,
                   correct=user.can(Permission.SUBMIT))


@router.get("/objects/hazardous_area/{object_id}/dossier.pdf")
def dossier_pdf(request: Request, object_id: str, user: User = DETAIL) -> Response:
    """The area's task dossier, an A4 PDF for the field team (``reports.dossier``): never a
    victim's personal data, so every staff role may print it."""
    from safeground.reports import dossier

    data = dossier.pdf_bytes(ledger_of(request), object_id, request.app.state.work_dir)
    return Response(data, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="dossier-{_file_safe(object_id)}.pdf"'})


def _file_safe(text: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)[:100] or "area"


def _custom_fields(history: list[Any], t: ReportType, object_id: str,
                   day: dt.date | None) -> dict[str, Any]:
    """The fields a migrated source held beyond the model (``_custom`` in the reports' meta),
    newest approved report last so its values win."""
    out: dict[str, Any] = {}
    for r in history:
        if str(r.type) == t.value and r.object_id == object_id and \
                r.status.value == "approved" and (day is None or r.date_of_information <= day):
            out.update(r.meta.get("_custom") or {})
    return out


@router.get("/analysis", response_class=HTMLResponse)
def analysis(request: Request, user: User = ANALYSE) -> Response:
    from safeground.intake.export import land_release_summary
    from safeground.planning.productivity import measured_rates

    work = request.app.state.work_dir
    risk = plan_charts = None
    risk_total = 0
    if work and (work / "area-risk.csv").is_file():
        risk, risk_total = read_csv_rows(work / "area-risk.csv", 25,
                                         ["object_id", "rank", "mean_probability",
                                          "expected_contaminated_m2", "proposed", "score"])
    if work and (work / "plan" / "plan_gantt.png").is_file():
        plan_charts = ["gantt", "returns"]
    returns, returns_total, free = None, 0, None
    if work and (work / "plan" / "plan_settlements.csv").is_file():
        rows, _ = read_csv_rows(work / "plan" / "plan_settlements.csv", 1_000_000)
        # the settlements the plan frees, by return date; those no hazardous area blocks apart
        blocked = [r for r in rows if r["access_areas"] != "0"]
        returns, returns_total = blocked[:25], len(blocked)
        unblocked = [r for r in rows if r["access_areas"] == "0"]
        free = {"settlements": len(unblocked),
                "people": sum(float(r["people_able_to_return"]) for r in unblocked)}
    priorities = None
    if work and (work / "plan" / "plan_areas.csv").is_file():
        rows, _ = read_csv_rows(work / "plan" / "plan_areas.csv", 1_000_000)
        if rows and "priority_rank" in rows[0]:      # plans written before the scores had none
            from safeground.planning.outputs import read_meta

            top = sorted(rows, key=lambda r: int(r["priority_rank"]))[:20]
            # why the plan leaves an area for later (plan.json; plans written before, none)
            why = {w["area_id"]: w for w in
                   (read_meta(work / "plan") or {}).get("unscheduled_priority_areas", [])}
            priorities = [{**r, "points": [(labels.criterion(k[7:]), float(v))
                                           for k, v in r.items()
                                           if k.startswith("points_") and float(v)],
                           "why": why.get(r["area_id"])}
                          for r in top]
    forecast = None
    if work and (work / "plan" / "forecast.csv").is_file():
        forecast, _ = read_csv_rows(work / "plan" / "forecast.csv", 3)
    summary = land_release_summary(ledger_of(request), "year")
    rates = [r.row() for r in measured_rates(ledger_of(request)).values()]
    types = [t.value for t in ReportType if t is not ReportType.VICTIM]
    return _render(request, "analysis.html", user, risk=risk, risk_total=risk_total,
                   plan_charts=plan_charts, returns=returns, returns_total=returns_total,
                   free=free, priorities=priorities, forecast=forecast, rates=rates,
                   summary=summary, types=types, can_plan=work is not None,
                   job=request.app.state.plan_jobs.current(),
                   follows=request.app.state.plan_jobs.follow_approvals,
                   today=dt.date.today().isoformat())


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, user: User = USERS) -> Response:
    from safeground.record.users import Role

    return _render(request, "users.html", user, users=request.app.state.users.list(),
                   roles=[r.value for r in Role])


@router.get("/account/password", response_class=HTMLResponse)
def password_page(request: Request, user: User = PUBLIC) -> Response:
    """Change your own password (the form posts to ``POST /api/v1/me/password``)."""
    return _render(request, "password.html", user, min_password=MIN_PASSWORD)


AUDIT_PAGE_SIZES = (25, 50, 100, 200)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, actor: Annotated[str | None, Query(max_length=200)] = None,
               action: Annotated[str | None, Query(max_length=64)] = None,
               target: Annotated[str | None, Query(max_length=200)] = None,
               since: str | None = None, until: str | None = None,
               page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
               per_page: Annotated[int, Query(ge=1, le=max(AUDIT_PAGE_SIZES))] = 50,
               user: User = USERS) -> Response:
    """The audit trail for admins: filters, newest first, a page at a time."""
    import json
    from urllib.parse import urlencode

    from safeground.record import audit

    f = audit_filters(actor, action, target, since, until)
    db = ledger_of(request).db
    total = audit.count(db, **f)
    last = max(1, -(-total // per_page))
    page = min(page, last)
    rows = audit.entries(db, per_page, offset=(page - 1) * per_page, **f)
    entries = [{**r, "at": r["at"].isoformat(sep=" ", timespec="seconds"),
                "detail": "" if r["detail"] is None else
                json.dumps(r["detail"], ensure_ascii=False, sort_keys=True, default=str)}
               for r in rows]
    shown = {"actor": actor or "", "action": action or "", "target": target or "",
             "since": since or "", "until": until or ""}

    def page_url(n: int) -> str:
        q = {k: v for k, v in shown.items() if v}
        q.update(page=str(n), per_page=str(per_page))
        return f"/audit?{urlencode(q)}"

    return _render(request, "audit.html", user, entries=entries, total=total, page=page,
                   last=last, per_page=per_page, f=shown,
                   sizes=sorted({*AUDIT_PAGE_SIZES, per_page}),
                   first_shown=(page - 1) * per_page + 1 if entries else 0,
                   last_shown=(page - 1) * per_page + len(entries),
                   newer=page_url(page - 1) if page > 1 else None,
                   older=page_url(page + 1) if page < last else None,
                   actions=audit.actions(db),
                   actors=[u.name for u in request.app.state.users.list()],
                   grants=[{**g, "requested_at": g["requested_at"].isoformat(
                       sep=" ", timespec="seconds")} for g in request.app.state.users.grants()],
                   alerts=alerts(db))


#: audit entries every admin is shown on the audit page for this many days
ALERT_DAYS = 30
ALERT_ACTIONS = ("role_grant_direct", "local_admin")


def alerts(db: Any) -> list[dict[str, Any]]:
    """What admins must see: sensitive roles granted without a second admin, and everything
    done as the local administrator, in the last ``ALERT_DAYS`` days, newest first."""
    import json

    from safeground.record import audit

    since = dt.date.today() - dt.timedelta(days=ALERT_DAYS)
    rows = [r for a in ALERT_ACTIONS for r in audit.entries(db, 100, a, since=since)]
    rows.sort(key=lambda r: r["id"], reverse=True)
    return [{**r, "at": r["at"].isoformat(sep=" ", timespec="seconds"),
             "detail": "" if r["detail"] is None else
             json.dumps(r["detail"], ensure_ascii=False, sort_keys=True, default=str)}
            for r in rows]
