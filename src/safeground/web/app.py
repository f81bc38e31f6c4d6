"""The web app: ``create_app(settings)`` builds the FastAPI application.

* ``/`` — the web UI for staff (``pages.py``): sign-in, map, dashboard, review queue, object
  pages with history, analysis, users, the audit trail, changing one's own password;
* ``/api/v1`` — the JSON API (``api.py``), described at ``/api/v1/openapi.json`` and
  ``/api/v1/docs`` (rendered here, no CDN);
* ``/ogc`` — OGC API – Features for QGIS and GDAL (``ogc.py``);
* ``/static`` — CSS, JavaScript and the vendored Leaflet.

Every route but the sign-in page, static files and the OGC landing page and conformance
needs a signed-in user with the right role (``auth.require``). Every ``SafegroundError``
becomes the one JSON error envelope ``err.to_dict()`` with ``err.http_status``; request
validation errors, unreadable bodies, bodies over the limit (``guard.BodyLimitMiddleware``),
unknown routes and unexpected failures (``guard.CatchAllMiddleware``) get the same envelope
(``envelope.py``), and the API description lists it for every error a route can give. Pages
answer an unauthenticated browser with a redirect to the sign-in page.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from safeground.errors import AuthenticationError, SafegroundError
from safeground.record.ledger import Ledger
from safeground.record.storage import Database
from safeground.record.users import Permission, User, Users
from safeground.settings import Settings
from safeground.web.auth import LoginLimiter, VerifiedCredentials, principal
from safeground.web.cache import RecordCache
from safeground.web.envelope import describe_errors, envelope
from safeground.web.guard import (
    BodyLimitMiddleware,
    BodyTooLargeError,
    CatchAllMiddleware,
    internal_error,
    too_large,
)
from safeground.web.i18n import LanguageMiddleware, _, choose, install, set_language
from safeground.web.jobs import Jobs
from safeground.web.planjob import PlanJobs

HERE = Path(__file__).parent

#: routes that need no sign-in (tests/web/test_routes.py checks every other one)
PUBLIC_ROUTES = frozenset({
    ("GET", "/login"), ("POST", "/login"), ("POST", "/api/v1/auth/token"),
    ("GET", "/ogc"), ("GET", "/ogc/conformance"), ("GET", "/static"),
    # the language switcher: sets the language cookie (the sign-in page has it too)
    ("GET", "/language"),
    # for load balancers and monitoring: whether the database answers, and no data
    ("GET", "/healthz"),
})

#: routes that take a file upload: their body may be ``max_upload_bytes``, not
#: ``max_request_bytes``
UPLOAD_PATHS = frozenset({"/api/v1/imports"})

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; "
       "base-uri 'self'; form-action 'self'")


@dataclass(frozen=True, slots=True)
class WebOptions:
    #: where the risk ranking (``area-risk.csv``) and plan outputs (``plan/``) are found
    work_dir: Path | None = None
    #: mark the session cookie Secure (behind HTTPS)
    secure_cookies: bool = False
    #: make the work directory's plan again when reports are approved (``planjob``)
    follow_approvals: bool = True
    #: the address users reach the app at (``https://imas.example.org``): links in OGC and
    #: API answers are built from it, never from the request's Host header
    public_url: str | None = None


def check_public_url(url: str | None) -> str | None:
    """``url`` without a trailing slash, or None. Raises ConfigError unless it is an http(s)
    URL with a host and no query or fragment."""
    from urllib.parse import urlsplit

    from safeground.errors import ConfigError

    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or \
            parts.fragment or parts.username or parts.password:
        raise ConfigError(f"the public URL {url!r} must be http:// or https://, a host, an "
                          "optional port and path, nothing else", code="PUBLIC_URL_INVALID")
    return url.rstrip("/")


def route_table(app: FastAPI) -> list[tuple[str, str, Any]]:
    """Every (method, path, route) the app answers, routers included (static mount: GET)."""
    from fastapi.routing import iter_route_contexts
    from starlette.routing import Mount

    out = []
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        path = ctx.path or getattr(route, "path", "")
        if isinstance(route, Mount):
            out.append(("GET", path, route))
            continue
        for method in sorted(set(getattr(route, "methods", None) or ()) - {"HEAD"}):
            out.append((method, path, route))
    return out


def _is_page(request: Request) -> bool:
    path = request.url.path
    return request.method == "GET" and not path.startswith(("/api/", "/ogc", "/static")) \
        and "text/html" in request.headers.get("accept", "")


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(SafegroundError)
    async def safeground_error(request: Request, exc: SafegroundError) -> Response:
        if isinstance(exc, AuthenticationError) and _is_page(request):
            from urllib.parse import quote

            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        if exc.http_status == 403 and _is_page(request):
            return app.state.templates.TemplateResponse(
                request, "error.html", {"error": exc, **page_context(request, None)},
                status_code=403)
        headers: dict[str, str] = {}
        if exc.http_status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="Safeground", charset="UTF-8"' \
                if request.url.path.startswith("/ogc") else 'Bearer realm="Safeground"'
        if exc.http_status in (429, 503) and isinstance(exc.details, dict):
            headers["Retry-After"] = str(exc.details.get("retry_after", 60))
        return JSONResponse(exc.to_dict(), status_code=exc.http_status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        details = [{"where": ".".join(str(x) for x in e.get("loc", ())),
                    "message": e.get("msg", ""), "type": e.get("type", "")}
                   for e in exc.errors()]
        return envelope("REQUEST_INVALID", "; ".join(f"{d['where']}: {d['message']}"
                                                      for d in details[:5]), 422, details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if isinstance(exc, BodyTooLargeError):
            return too_large(exc.limit)
        if exc.status_code == 400:  # FastAPI could not parse the body (JSON, form)
            return envelope("BODY_INVALID", "the request body cannot be read", 400)
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code,
                                                                 f"HTTP_{exc.status_code}")
        return envelope(code, str(exc.detail), exc.status_code,
                        headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        # the last resort, for a failure outside CatchAllMiddleware (in an outer middleware):
        # Starlette answers with this, then re-raises for the server's log
        import logging

        logging.getLogger("safeground.web").exception("unexpected error on %s",
                                                      request.url.path)
        return internal_error()


def _install_description(app: FastAPI) -> None:
    """The OpenAPI description with every route's error responses (``envelope``)."""
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            spec = get_openapi(title=app.title, version=app.version,
                               description=app.description, routes=app.routes)
            app.openapi_schema = describe_errors(spec, route_table(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _install_health(app: FastAPI) -> None:
    from fastapi.concurrency import run_in_threadpool

    @app.get("/healthz", include_in_schema=True, tags=["health"],
             summary="Whether the app and its database answer (no sign-in, no data)")
    async def healthz(request: Request) -> Response:
        from safeground.record.ledger.rows import record_version

        def probe() -> list[int]:
            with request.app.state.ledger.db.read() as conn:
                return list(record_version(conn))

        try:
            version = await run_in_threadpool(probe)
        except Exception:
            import logging

            logging.getLogger("safeground.web").exception("health check: database failed")
            return envelope("DB_UNREACHABLE", "the database does not answer", 503)
        return JSONResponse({"status": "ok", "record_version": version})


def page_context(request: Request, user: User | None) -> dict[str, Any]:
    """What every page template gets: the user, the CSRF token, the navigation. Sets the
    page's language: the cookie of the switcher, else the user's stored choice, else the
    browser's (``web.i18n.choose``)."""
    if user is None:
        try:
            p = principal(request)
        except SafegroundError:
            p = None
        user = p.user if p else None
        csrf = p.csrf if p else None
    else:
        p = getattr(request.state, "principal", None)
        csrf = p.csrf if p else None
    set_language(choose(request.headers.get("cookie"), request.headers.get("accept-language"),
                        user.language if user is not None else None))
    nav = []
    if user is not None:
        nav = [("/map", _("Map")), ("/dashboard", _("Dashboard"))]
        if user.can(Permission.DECIDE):
            nav.append(("/review", _("Review queue")))
        if user.can(Permission.ANALYSE):
            nav.append(("/analysis", _("Analysis & exports")))
        if user.can(Permission.MANAGE_USERS):
            nav.append(("/users", _("Users")))
            nav.append(("/audit", _("Audit trail")))
        nav.append(("/api/v1/docs", _("API")))
    return {"user": user, "csrf": csrf, "nav": nav, "path": request.url.path,
            "query": request.url.query}


def create_app(settings: Settings | None = None, *, work_dir: str | Path | None = None,
               secure_cookies: bool = False, ledger: Ledger | None = None,
               follow_approvals: bool = True, public_url: str | None = None) -> FastAPI:
    """The Safeground web app over the record named by ``settings.database_url`` (migrated to
    the newest schema on start), or over an open ``ledger``. ``public_url``: where users reach
    it (links in answers); raises ConfigError if it is not an http(s) URL."""
    from safeground.web import api, ogc, pages

    settings = settings or Settings.from_env()
    if ledger is None:
        ledger = Ledger(Database.open(settings.database_url), settings)
    app = FastAPI(title="Safeground", version="1",
                  description="The national mine action record: API and OGC API – Features. "
                              "See docs/web.md.",
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.ledger = ledger
    app.state.users = Users(ledger.db)
    app.state.limiter = LoginLimiter()
    app.state.credentials = VerifiedCredentials()
    app.state.derived = RecordCache()
    app.state.jobs = Jobs()
    app.state.options = WebOptions(Path(work_dir) if work_dir else None, secure_cookies,
                                   follow_approvals, check_public_url(public_url))
    app.state.work_dir = app.state.options.work_dir
    app.state.plan_jobs = PlanJobs(app.state.work_dir, follow_approvals)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    install(templates.env)
    app.state.templates = templates
    app.state.page_context = page_context
    _install_errors(app)
    _install_description(app)
    # innermost first: the body limit, then the catch-all (both inside the security headers)
    upload = settings.max_upload_bytes
    app.add_middleware(BodyLimitMiddleware, limit_for=lambda path: upload
                       if path in UPLOAD_PATHS else settings.max_request_bytes)
    app.add_middleware(CatchAllMiddleware)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        from safeground.record import audit

        audit.set_source("web")      # every audit entry of this request says so
        response = await call_next(request)
        h = response.headers
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Content-Security-Policy", CSP)
        if not request.url.path.startswith("/static"):
            h.setdefault("Cache-Control", "no-store")
        return response

    from starlette.middleware.gzip import GZipMiddleware

    app.add_middleware(GZipMiddleware, minimum_size=2048)  # map layers are MBs of GeoJSON
    app.add_middleware(LanguageMiddleware)     # outermost: every answer in the request's language
    _install_health(app)
    app.include_router(api.router)
    app.include_router(ogc.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    return app
