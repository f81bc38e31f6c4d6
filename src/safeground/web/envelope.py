"""The one JSON error envelope of the web app, and how the API description lists errors.

Every error the web app answers — a ``SafegroundError``, a malformed request, an unknown route,
a body over the limit, an unexpected failure — has the body
``{"error": {"code": "...", "message": "...", "details": ...}}`` (``details`` optional) and the
HTTP status of the error. ``ErrorEnvelope`` is that body as a schema: the OpenAPI description
has it as the component ``ErrorEnvelope`` and names it for every error status a route can
give.

Which error statuses a route can give is worked out in one place, ``error_statuses``: from what
the route is (signed in or public, the permission it needs, a safe method or a change, with
parameters, with a body), plus what the route declares itself with ``errors(404, 409...)``
on its decorator for what only it knows (an object not found, a conflict). ``describe_errors``
writes them into the description the app serves.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from safeground.record.users import Permission

#: what each error status means, as the API description says it
STATUS_TEXT: dict[int, str] = {
    400: "Bad request: a parameter or the body cannot be used (BAD_REQUEST, DATE_INVALID, "
         "BODY_INVALID, BODY_TOO_DEEP, ... — see the code)",
    401: "Not signed in, or the credentials are wrong (UNAUTHENTICATED, TOKEN_INVALID, "
         "LOGIN_FAILED, BASIC_READ_ONLY)",
    403: "Signed in, but your roles do not allow this (FORBIDDEN, with details.needs), or a "
         "cookie-authenticated change without its CSRF token (CSRF_FAILED)",
    404: "No such object, report, type, collection, user or output (NOT_FOUND, ...)",
    405: "The path does not take this method (METHOD_NOT_ALLOWED)",
    409: "The request conflicts with the record's state (e.g. APPROVER_IS_SUBMITTER, "
         "REPORT_NOT_SUBMITTED, USER_EXISTS, PLAN_JOB_RUNNING, JOB_NOT_DONE, JOB_FAILED)",
    413: "The request body is larger than the server takes (BODY_TOO_LARGE; details.limit "
         "in bytes)",
    422: "The request's shape is wrong (REQUEST_INVALID: details lists each field), or a "
         "value is refused (FIELD_TOO_LARGE, PASSWORD_*, ...)",
    429: "Too many failed sign-ins from this address or for this user name "
         "(LOGIN_RATE_LIMITED, with Retry-After), or a job of yours is still being made "
         "(JOB_RUNNING: details.job is that job)",
    500: "An unexpected error (INTERNAL_ERROR): logged on the server, no detail given out",
    503: "Every background worker is busy and the waiting line is full (JOBS_BUSY, with "
         "Retry-After): ask again shortly",
}


class ErrorBody(BaseModel):
    code: str = Field(description="stable machine code (docs/web.md, docs/errors.md)")
    message: str = Field(description="what went wrong, safe to show a user")
    details: Any = Field(None, description="more, by code: the fields, the problems, the "
                                           "limit...")


class ErrorEnvelope(BaseModel):
    """The body of every error answer."""

    error: ErrorBody


def envelope(code: str, message: str, status: int, details: Any = None,
             headers: dict[str, str] | None = None) -> JSONResponse:
    """The error envelope as a response."""
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route decorator: the error statuses only this route knows it can
    give (404 for a missing object, 409 for a conflict...). The ones that follow from what the
    route is are added by ``error_statuses``."""
    return {s: {"description": STATUS_TEXT[s], "model": ErrorEnvelope} for s in statuses}


def content(*media: str, status: int = 200, description: str = "Success"
            ) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that answers other media types than JSON (a file, HTML)."""
    return {status: {"description": description,
                     "content": {m: ({"schema": {"type": "string", "format": "binary"}}
                                     if not m.endswith("json") else {})
                                 for m in media}}}


def _permission(route: Any) -> Permission | None:
    from safeground.web.auth import permission_of

    return permission_of(route)


def error_statuses(route: Any) -> set[int]:
    """Every error status ``route`` (a FastAPI APIRoute) can answer with."""
    out = {500} | {int(s) for s in (route.responses or {}) if str(s).isdigit()
                   and int(s) >= 400}
    methods = set(route.methods or ())
    changes = bool(methods - {"GET", "HEAD", "OPTIONS"})
    perm = _permission(route)
    dependant = route.dependant
    has_params = bool(dependant.query_params or dependant.path_params
                      or dependant.header_params or dependant.cookie_params)
    has_body = route.body_field is not None
    if perm is not None:
        out.add(401)
        if perm is not Permission.READ_PUBLIC or changes:
            out.add(403)          # FORBIDDEN, or CSRF_FAILED on a change
        if not changes:
            out.add(429)          # HTTP Basic sign-in on a read is rate limited
    if has_params or has_body:
        out.add(422)              # REQUEST_INVALID
    if has_body:
        out |= {400, 413}         # BODY_INVALID (unparsable), BODY_TOO_LARGE
    return out


def describe_errors(spec: dict[str, Any], routes: list[tuple[str, str, Any]]) -> dict[str, Any]:
    """Write the error responses of every route into the OpenAPI description ``spec`` (in
    place; returned): the ``ErrorEnvelope`` schema for each status ``error_statuses`` gives,
    in place of FastAPI's own validation-error schema, which the app never answers with.
    ``routes``: every (method, path, route) the app answers (``app.route_table``)."""
    from fastapi.routing import APIRoute

    ref = {"$ref": "#/components/schemas/ErrorEnvelope"}
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    full = ErrorEnvelope.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(full.pop("$defs", {}))
    schemas["ErrorEnvelope"] = full
    for method, path, route in routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        op = spec.get("paths", {}).get(path, {}).get(method.lower())
        if op is None:
            continue
        responses = op.setdefault("responses", {})
        for status in sorted(error_statuses(route)):
            entry: dict[str, Any] = {"description": STATUS_TEXT[status],
                                     "content": {"application/json": {"schema": ref}}}
            if status in (429, 503):
                entry["headers"] = {"Retry-After": {
                    "description": "seconds to wait", "schema": {"type": "integer"}}}
            responses[str(status)] = entry
    return spec
