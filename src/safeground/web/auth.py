"""Who is asking, and may they: authentication and role checks for every route.

Three ways to authenticate, checked in this order:

* ``Authorization: Bearer TOKEN`` — an API token from ``POST /api/v1/auth/token`` (scripts,
  QGIS with an API header);
* ``Authorization: Basic`` — user name and password, for QGIS and GDAL; accepted on read-only
  requests (GET, HEAD) only, so a browser that cached Basic credentials cannot be made to
  change the record from another site;
* the ``sg_session`` cookie of the web UI (HttpOnly, SameSite=Strict). A cookie-authenticated
  request that changes something must also carry the session's CSRF token in the
  ``X-CSRF-Token`` header (double submit: the page gets it from ``<meta name="csrf-token">``).

Every route declares the permission it needs with ``Depends(require(Permission.X))``;
``tests/web/test_routes.py`` walks every route and checks it. Failed logins are rate limited
per user name and per client address.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from safeground.errors import AuthenticationError, PermissionDeniedError, SafegroundError
from safeground.web.users import Permission, User, Users, csrf_token

COOKIE = "sg_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class TooManyAttemptsError(SafegroundError, PermissionError):
    """Too many failed logins for this user name or address: wait before trying again."""

    code = "LOGIN_RATE_LIMITED"
    http_status = 429


@dataclass(frozen=True, slots=True)
class Principal:
    user: User
    via: str                 # cookie, bearer or basic
    token: str | None = None  # the session or API token (not for basic)

    @property
    def csrf(self) -> str | None:
        return csrf_token(self.token) if self.via == "cookie" and self.token else None


class LoginLimiter:
    """At most ``attempts`` failed logins per user name and per client address in
    ``window`` seconds (in this process)."""

    def __init__(self, attempts: int = 5, window: float = 300.0) -> None:
        self.attempts = attempts
        self.window = window
        self._fails: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._fails.setdefault(key, deque())
        while q and q[0] < now - self.window:
            q.popleft()
        return q

    def check(self, name: str, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in (f"u:{name.lower()}", f"c:{client}"):
                q = self._recent(key, now)
                if len(q) >= self.attempts:
                    wait = int(q[0] + self.window - now) + 1
                    raise TooManyAttemptsError(
                        f"too many failed sign-ins; try again in {wait} s",
                        details={"retry_after": wait})

    def failed(self, name: str, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in (f"u:{name.lower()}", f"c:{client}"):
                self._recent(key, now).append(now)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._fails.pop(f"u:{name.lower()}", None)


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _basic(header: str) -> tuple[str, str] | None:
    try:
        raw = base64.b64decode(header, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    name, sep, password = raw.partition(":")
    return (name, password) if sep else None


def principal(request: Request) -> Principal | None:
    """The authenticated caller of this request, or None (cached on the request).

    Raises AuthenticationError for credentials that are given but wrong, and
    PermissionDeniedError (CSRF_FAILED) for a cookie-authenticated change without the CSRF
    token."""
    if hasattr(request.state, "principal"):
        return request.state.principal
    users: Users = request.app.state.users
    found: Principal | None = None
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer" and value:
        user = users.session_user(value.strip(), kind="token")
        if user is None:
            raise AuthenticationError("the API token is unknown or expired",
                                      code="TOKEN_INVALID")
        found = Principal(user, "bearer", value.strip())
    elif scheme == "basic" and value:
        if request.method not in SAFE_METHODS:
            raise AuthenticationError("HTTP Basic authentication is for reading only; use a "
                                      "token for changes", code="BASIC_READ_ONLY")
        creds = _basic(value.strip())
        limiter: LoginLimiter = request.app.state.limiter
        if creds is None:
            raise AuthenticationError("malformed Basic credentials", code="LOGIN_FAILED")
        limiter.check(creds[0], client_of(request))
        user = users.check_password(*creds)
        if user is None:
            limiter.failed(creds[0], client_of(request))
            from safeground.record import audit
            audit.record(users.db, creds[0][:200] or "?", "login_failed", client_of(request),
                  {"kind": "basic"})
            raise AuthenticationError("wrong user name or password", code="LOGIN_FAILED")
        found = Principal(user, "basic")
    elif (cookie := request.cookies.get(COOKIE)):
        user = users.session_user(cookie, kind="cookie")
        if user is not None:
            found = Principal(user, "cookie", cookie)
            if request.method not in SAFE_METHODS:
                sent = request.headers.get(CSRF_HEADER, "")
                if not hmac.compare_digest(sent, found.csrf or ""):
                    raise PermissionDeniedError(
                        "missing or wrong CSRF token (send the page's csrf-token as "
                        f"{CSRF_HEADER})", code="CSRF_FAILED")
    request.state.principal = found
    return found


def require(permission: Permission) -> Callable[[Request], User]:
    """A route dependency: the caller must be authenticated (401) and hold ``permission``
    through one of their roles (403). Returns the user."""

    def dependency(request: Request) -> User:
        p = principal(request)
        if p is None:
            raise AuthenticationError("sign in first", code="UNAUTHENTICATED")
        if not p.user.can(permission):
            raise PermissionDeniedError(
                f"your roles ({', '.join(sorted(p.user.roles)) or 'none'}) do not allow "
                f"this ({permission.value})", code="FORBIDDEN",
                details={"needs": permission.value})
        return p.user

    dependency.permission = permission  # type: ignore[attr-defined]
    dependency.__name__ = f"require_{permission.value}"
    return dependency


def permission_of(route: Any) -> Permission | None:
    """The permission a route's ``require`` dependency asks for (None if it has none)."""
    for dep in getattr(route, "dependant", None).dependencies if hasattr(route, "dependant") \
            else ():
        perm = getattr(dep.call, "permission", None)
        if perm is not None:
            return perm
    return None
