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
``tests/web/test_routes.py`` walks every route and checks it. Failed sign-ins are throttled
by account *and* client address (``LoginLimiter``, counted in the database so that every
worker and server counts the same failures), so that nobody elsewhere can lock a user
out. The client address is the connection's peer; a proxy's ``X-Forwarded-For`` is believed
only from the addresses given to ``safeground serve --forwarded-allow-ips``.

QGIS and GDAL send Basic credentials with every request; checking the password hash each time
(scrypt, tens of milliseconds by design) would make each such request far dearer than one with
a token. ``VerifiedCredentials`` remembers, for a few minutes, that a name and password were
verified against the user's stored hash — keyed by an HMAC of both under a random key made
when the process starts, never the password itself — and every request still reads the user
(active, stored hash) from the database, so a changed password or a deactivated user is
refused at once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from safeground.errors import AuthenticationError, PermissionDeniedError, SafegroundError
from safeground.record.users import Permission, User, Users, csrf_token, name_key, shown_name

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
    """Failed sign-ins counted over a sliding ``window`` (seconds) three ways:

    * per (account, address): after ``pair`` failures that address may not try that account
      again until the window has passed;
    * per address: after ``address`` failures, whatever the accounts, the address may not try
      any (password spraying);
    * per account, from all addresses: after ``account`` failures the account is *guarded*:
      an address that has failed against it even once is refused, but an address with no
      failure against it still gets through, and a correct password signs in. An attacker
      can therefore neither lock a user out nor, by spreading out, try more than about one
      password per address once the account is guarded.

    A success clears that (account, address) pair. Accounts are counted by ``name_key`` (any
    case of a name is the same account), whether or not they exist.

    With a ``db`` (the web app) the failures are rows of the database's ``login_failures``
    table, so every worker and every server on that database counts the same failures; rows
    older than the window are deleted as new failures come. Without one (a library user, the
    tests) they are counted in this process, at most ``max_keys`` counters (expired ones go
    first, then the oldest).
    """

    def __init__(self, pair: int = 5, address: int = 20, account: int = 10,
                 window: float = 900.0, max_keys: int = 100_000,
                 clock: Callable[[], float] | None = None, db: Any = None) -> None:
        self.pair, self.address, self.account = pair, address, account
        self.window = window
        self.max_keys = max_keys
        # the database's counters are compared across machines: wall-clock time
        self.clock = clock or (time.time if db is not None else time.monotonic)
        self._store: _MemoryFailures | _DbFailures = \
            _DbFailures(db) if db is not None else _MemoryFailures(max_keys)

    @staticmethod
    def _keys(name: str, client: str) -> tuple[str, str, str]:
        acct = name_key(name)[:100]
        # a unit separator: never in a name or an address (PostgreSQL text refuses NUL)
        sep = "\x1f"
        return f"p{sep}{acct}{sep}{client[:100]}", f"c{sep}{client[:100]}", f"u{sep}{acct}"

    def _refuse(self, times: list[float], now: float, why: str) -> TooManyAttemptsError:
        wait = max(1, int(times[0] + self.window - now) + 1)
        return TooManyAttemptsError(f"too many failed sign-ins {why}; try again in {wait} s",
                                    details={"retry_after": wait})

    def check(self, name: str, client: str) -> None:
        """Raise TooManyAttemptsError (429, ``details.retry_after``) if this address may not
        try this account now."""
        keys, now = self._keys(name, client), self.clock()
        recent = self._store.recent(keys, now - self.window)
        pair, addr, account = (recent.get(k, []) for k in keys)
        if len(pair) >= self.pair:
            raise self._refuse(pair, now, "for this account from this address")
        if len(addr) >= self.address:
            raise self._refuse(addr, now, "from this address")
        if len(account) >= self.account and pair:
            raise self._refuse(pair, now, "for this account, which is being guessed at")

    def failed(self, name: str, client: str) -> None:
        now = self.clock()
        self._store.add(self._keys(name, client), now, now - self.window)

    def succeeded(self, name: str, client: str) -> None:
        self._store.drop(self._keys(name, client)[0])

    def __len__(self) -> int:
        """How many counters (memory) or failure rows (database) are kept."""
        return len(self._store)


class _MemoryFailures:
    """Failure times per counter, in this process."""

    def __init__(self, max_keys: int) -> None:
        self.max_keys = max_keys
        self._fails: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, since: float) -> deque[float]:
        q = self._fails.get(key)
        if q is None:
            return deque()
        while q and q[0] <= since:
            q.popleft()
        if not q:
            del self._fails[key]
        return q

    def recent(self, keys: tuple[str, ...], since: float) -> dict[str, list[float]]:
        with self._lock:
            return {k: list(self._recent(k, since)) for k in keys}

    def add(self, keys: tuple[str, ...], at: float, since: float) -> None:
        with self._lock:
            if len(self._fails) >= self.max_keys:
                for key in list(self._fails):
                    self._recent(key, since)
                while len(self._fails) >= self.max_keys:
                    del self._fails[next(iter(self._fails))]
            for key in keys:
                self._fails.setdefault(key, deque()).append(at)

    def drop(self, key: str) -> None:
        with self._lock:
            self._fails.pop(key, None)

    def __len__(self) -> int:
        return len(self._fails)


class _DbFailures:
    """Failure times per counter, rows of ``login_failures`` (parameterised statements)."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def recent(self, keys: tuple[str, ...], since: float) -> dict[str, list[float]]:
        from sqlalchemy import select

        from safeground.record.storage.schema import login_failures as lf

        with self.db.read() as conn:
            rows = conn.execute(select(lf.c.key, lf.c.at).where(
                lf.c.key.in_(keys), lf.c.at > since).order_by(lf.c.at)).all()
        out: dict[str, list[float]] = {}
        for key, at in rows:
            out.setdefault(key, []).append(float(at))
        return out

    def add(self, keys: tuple[str, ...], at: float, since: float) -> None:
        from sqlalchemy import delete, insert

        from safeground.record.storage.schema import login_failures as lf

        with self.db.write() as conn:
            conn.execute(delete(lf).where(lf.c.at <= since))
            conn.execute(insert(lf), [{"key": k, "at": at} for k in keys])

    def drop(self, key: str) -> None:
        from sqlalchemy import delete

        from safeground.record.storage.schema import login_failures as lf

        with self.db.write() as conn:
            conn.execute(delete(lf).where(lf.c.key == key))

    def __len__(self) -> int:
        from sqlalchemy import func, select

        from safeground.record.storage.schema import login_failures as lf

        with self.db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(lf)).scalar_one())


class VerifiedCredentials:
    """Name and password pairs verified lately against a stored password hash (see the
    module): at most ``max_entries``, each for ``ttl`` seconds. Entries are keyed by
    HMAC-SHA256(process key, name key + password) and hold an HMAC of the stored hash they
    were verified against; the process key is random and never leaves memory."""

    def __init__(self, ttl: float = 300.0, max_entries: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.max_entries, self.clock = ttl, max_entries, clock
        self._key = secrets.token_bytes(32)
        self._seen: OrderedDict[bytes, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def _mac(self, *parts: str) -> bytes:
        return hmac.new(self._key, "\0".join(parts).encode("utf-8"), hashlib.sha256).digest()

    def known(self, name: str, password: str, stored_hash: str) -> bool:
        """Whether this name and password were verified against ``stored_hash`` less than
        ``ttl`` seconds ago."""
        key = self._mac("cred", name_key(name), password)
        with self._lock:
            hit = self._seen.get(key)
            if hit is None:
                return False
            if hit[0] <= self.clock():
                del self._seen[key]
                return False
        return hmac.compare_digest(hit[1], self._mac("hash", stored_hash))

    def remember(self, name: str, password: str, stored_hash: str) -> None:
        key = self._mac("cred", name_key(name), password)
        with self._lock:
            self._seen.pop(key, None)
            self._seen[key] = (self.clock() + self.ttl, self._mac("hash", stored_hash))
            while len(self._seen) > self.max_entries:
                self._seen.popitem(last=False)

    def forget(self) -> None:
        with self._lock:
            self._seen.clear()

    def __len__(self) -> int:
        return len(self._seen)


def client_of(request: Request) -> str:
    """The client's address: the connection's peer (uvicorn replaces it with the
    ``X-Forwarded-For`` address only when the peer is a trusted proxy)."""
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
        user = users.check_password(*creds, remembered=request.app.state.credentials)
        if user is None:
            limiter.failed(creds[0], client_of(request))
            from safeground.record import audit
            audit.record(users.db, shown_name(creds[0]), "login_failed", client_of(request),
                         {"kind": "basic"})
            raise AuthenticationError("wrong user name or password", code="LOGIN_FAILED")
        limiter.succeeded(creds[0], client_of(request))
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
