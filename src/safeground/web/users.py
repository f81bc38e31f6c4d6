"""The people who use the web app and the API: users, their roles, passwords and sessions.

Roles follow IMAS information management practice (who may see and change what):

========== ====================================================================================
role       may
========== ====================================================================================
viewer     see the public-safe map and dashboards: statistics, released land, settlements, and
           hazardous areas only as generalised points (rounded to about 1 km) with their status
data_entry everything a staff member sees (polygons, items, accidents, reports, history), and
           submit reports (JSON or a file upload, through the gate)
approver   staff view, the review queue, approve and reject (never their own submissions: the
           ledger refuses it)
analyst    staff view, exports (GeoPackage, HXL, IMAS land release summary), risk ranking and
           plan outputs
victim_data staff view, and accident victims' personal data (name, birth date, address); every
           such read is written to the audit trail
admin      staff view, and users: add, change roles, deactivate
========== ====================================================================================

Roles add up: a user may hold several. Passwords are hashed with ``hashlib.scrypt`` and a
random per-user salt; sessions (the web UI's cookie) and API tokens (``Authorization: Bearer``,
for scripts and QGIS) are random 256-bit tokens of which only the SHA-256 is stored.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, insert, select, update

from safeground.errors import AuthenticationError, ConflictError, NotFoundError, ValidationError
from safeground.record import audit
from safeground.record.problems import Problem, register
from safeground.record.storage import Database
from safeground.record.storage.schema import sessions, users


class Role(StrEnum):
    VIEWER = "viewer"
    DATA_ENTRY = "data_entry"
    APPROVER = "approver"
    ANALYST = "analyst"
    VICTIM_DATA = "victim_data"
    ADMIN = "admin"


class Permission(StrEnum):
    """What a route needs. Each role grants a set of these (``GRANTS``)."""

    READ_PUBLIC = "read_public"      # statistics, released land, settlements, generalised areas
    READ_DETAIL = "read_detail"      # polygons of uncleared land, items, accidents, reports
    SUBMIT = "submit"
    DECIDE = "decide"
    ANALYSE = "analyse"
    READ_VICTIMS = "read_victims"
    MANAGE_USERS = "manage_users"


_STAFF = {Permission.READ_PUBLIC, Permission.READ_DETAIL}
GRANTS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.READ_PUBLIC}),
    Role.DATA_ENTRY: frozenset(_STAFF | {Permission.SUBMIT}),
    Role.APPROVER: frozenset(_STAFF | {Permission.DECIDE}),
    Role.ANALYST: frozenset(_STAFF | {Permission.ANALYSE}),
    Role.VICTIM_DATA: frozenset(_STAFF | {Permission.READ_VICTIMS}),
    Role.ADMIN: frozenset(_STAFF | {Permission.MANAGE_USERS}),
}

register({
    "USER_NAME_INVALID": "'{value}' is not a valid user name (letters, digits, '.', '_', '-'; "
                         "2 to 100 characters)",
    "USER_ROLE_UNKNOWN": "'{value}' is not a role (expected one of {expected})",
    "PASSWORD_TOO_SHORT": "the password has {value} characters; at least {limit} are needed",
    "PASSWORD_MISMATCH": "the new password and its repetition differ",
    "PASSWORD_WRONG": "the current password is wrong",
})

MIN_PASSWORD = 10
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,99}$")
#: scrypt cost: 16 MiB of memory and ~50 ms per check on one core
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1
SESSION_HOURS = 12
TOKEN_DAYS = 30


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    roles: frozenset[Role]
    active: bool = True

    @property
    def permissions(self) -> frozenset[Permission]:
        out: set[Permission] = set()
        for r in self.roles:
            out |= GRANTS[r]
        return frozenset(out)

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    @property
    def is_staff(self) -> bool:
        return self.can(Permission.READ_DETAIL)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "roles": sorted(self.roles),
                "active": self.active, "permissions": sorted(self.permissions)}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$hash`` with a random 16-byte salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R,
                            p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        algo, n, r, p, salt, digest = stored.split("$")
        if algo != "scrypt":
            return False
        want = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n),
                             r=int(r), p=int(p), dklen=len(want))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


#: compared against when the user does not exist, so that timing does not tell names apart
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def csrf_token(session_token: str) -> str:
    """The CSRF token of a cookie session: derived from the session token, so a page from
    another site (which cannot read the cookie) cannot compute it."""
    return hmac.new(session_token.encode("utf-8"), b"safeground-csrf", hashlib.sha256).hexdigest()


def parse_roles(names: list[str] | tuple[str, ...] | set[str]) -> frozenset[Role]:
    roles = set()
    for n in names:
        try:
            roles.add(Role(n.strip()))
        except ValueError:
            raise ValidationError([Problem("USER_ROLE_UNKNOWN", "user", "roles", {
                "value": n, "expected": ", ".join(r.value for r in Role)})]) from None
    if not roles:
        raise ValidationError([Problem("USER_ROLE_UNKNOWN", "user", "roles", {
            "value": "", "expected": ", ".join(r.value for r in Role)})])
    return frozenset(roles)


def _user(row: Any) -> User:
    return User(row.id, row.name, frozenset(Role(r) for r in row.roles if r in
                                            Role._value2member_map_), bool(row.active))


class Users:
    """Users and sessions in the record's database (tables ``users`` and ``sessions``)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ------------------------------------------------------------------------------ users
    def add(self, name: str, password: str, roles: list[str] | frozenset[Role], *,
            by: str = "system") -> User:
        """Add a user. Raises ValidationError (bad name, role or password) or ConflictError
        (the name is taken)."""
        if not _NAME.match(name or ""):
            raise ValidationError([Problem("USER_NAME_INVALID", "user", "name", {"value": name})])
        role_set = parse_roles(list(roles))
        _check_password(password)
        now = _now()
        with self.db.write() as conn:
            if conn.execute(select(users.c.id).where(users.c.name == name)).first():
                raise ConflictError(f"user '{name}' already exists", code="USER_EXISTS")
            uid = conn.execute(insert(users).values(
                name=name, roles=sorted(role_set), password_hash=hash_password(password),
                active=True, created_at=now, password_changed_at=now)
                .returning(users.c.id)).scalar_one()
            audit.write(conn, by, "user_add", name, {"roles": sorted(role_set)})
        return User(uid, name, role_set)

    def list(self) -> list[User]:
        with self.db.read() as conn:
            return [_user(r) for r in conn.execute(select(users).order_by(users.c.name))]

    def get(self, name: str) -> User:
        with self.db.read() as conn:
            row = conn.execute(select(users).where(users.c.name == name)).first()
        if row is None:
            raise NotFoundError(f"no user '{name}'", code="USER_NOT_FOUND")
        return _user(row)

    def set_roles(self, name: str, roles: list[str] | frozenset[Role], *,
                  by: str = "system") -> User:
        role_set = parse_roles(list(roles))
        with self.db.write() as conn:
            n = conn.execute(update(users).where(users.c.name == name)
                             .values(roles=sorted(role_set))).rowcount
            if not n:
                raise NotFoundError(f"no user '{name}'", code="USER_NOT_FOUND")
            audit.write(conn, by, "user_roles", name, {"roles": sorted(role_set)})
        return self.get(name)

    def set_active(self, name: str, active: bool, *, by: str = "system") -> User:
        """Deactivate (or reactivate) a user; deactivation ends their sessions and tokens."""
        with self.db.write() as conn:
            row = conn.execute(select(users.c.id).where(users.c.name == name)).first()
            if row is None:
                raise NotFoundError(f"no user '{name}'", code="USER_NOT_FOUND")
            conn.execute(update(users).where(users.c.id == row.id).values(active=active))
            if not active:
                conn.execute(delete(sessions).where(sessions.c.user_id == row.id))
            audit.write(conn, by, "user_active" if active else "user_deactivate", name, None)
        return self.get(name)

    def set_password(self, name: str, password: str, *, by: str = "system",
                     keep_session: str | None = None, detail: Any = None) -> int:
        """A new password; every session and token of the user ends, except
        ``keep_session`` (the one a user changes their own password from). Returns how many
        ended."""
        _check_password(password)
        with self.db.write() as conn:
            row = conn.execute(select(users.c.id).where(users.c.name == name)).first()
            if row is None:
                raise NotFoundError(f"no user '{name}'", code="USER_NOT_FOUND")
            conn.execute(update(users).where(users.c.id == row.id).values(
                password_hash=hash_password(password), password_changed_at=_now()))
            ending = delete(sessions).where(sessions.c.user_id == row.id)
            if keep_session is not None:
                ending = ending.where(sessions.c.token_hash != token_hash(keep_session))
            ended = conn.execute(ending).rowcount
            audit.write(conn, by, "user_password", name,
                        {**(detail or {}), "sessions_ended": ended})
        return ended

    def change_password(self, name: str, current: str, new: str, repeated: str, *,
                        keep_session: str | None = None, client: str | None = None) -> int:
        """A user changes their own password: the current one, the new one twice. The new
        password goes through ``set_password`` (same rules, same hashing); the user's other
        sessions and tokens end, ``keep_session`` (the caller's own) stays. A wrong current
        password is written to the audit trail (``password_change_failed``). Raises
        ValidationError (PASSWORD_MISMATCH, PASSWORD_TOO_SHORT, PASSWORD_WRONG)."""
        if new != repeated:
            raise ValidationError([Problem("PASSWORD_MISMATCH", "user", "new_password_again")])
        _check_password(new)
        if self.check_password(name, current) is None:
            audit.record(self.db, name, "password_change_failed", client, None)
            raise ValidationError([Problem("PASSWORD_WRONG", "user", "current_password")])
        return self.set_password(name, new, by=name, keep_session=keep_session,
                                 detail={"self_service": True, "client": client})

    # --------------------------------------------------------------------- authentication
    def check_password(self, name: str, password: str) -> User | None:
        """The active user with this name and password, or None (no audit: see ``login``)."""
        with self.db.read() as conn:
            row = conn.execute(select(users).where(users.c.name == name)).first()
        ok = verify_password(password, row.password_hash if row else _DUMMY_HASH)
        if row is None or not ok or not row.active:
            return None
        return _user(row)

    def login(self, name: str, password: str, *, kind: str = "cookie",
              client: str | None = None) -> tuple[User, str]:
        """Check the password and open a session (``cookie``) or an API token (``token``).
        Returns the user and the token (shown once; only its hash is stored). Both outcomes
        are written to the audit trail. Raises AuthenticationError."""
        user = self.check_password(name, password)
        if user is None:
            audit.record(self.db, name[:200] or "?", "login_failed", client, {"kind": kind})
            raise AuthenticationError("wrong user name or password", code="LOGIN_FAILED")
        with self.db.write() as conn:
            token = self._open(conn, user, kind)
            audit.write(conn, user.name, "login", client, {"kind": kind})
        return user, token

    def _open(self, conn: Any, user: User, kind: str) -> str:
        token = secrets.token_urlsafe(32)
        now = _now()
        life = dt.timedelta(hours=SESSION_HOURS) if kind == "cookie" else \
            dt.timedelta(days=TOKEN_DAYS)
        conn.execute(delete(sessions).where(sessions.c.expires_at < now))
        conn.execute(insert(sessions).values(token_hash=token_hash(token), user_id=user.id,
                                             kind=kind, created_at=now, expires_at=now + life))
        return token

    def session_user(self, token: str, kind: str | None = None) -> User | None:
        """The active user of an unexpired session or token, or None."""
        q = select(users).join(sessions, sessions.c.user_id == users.c.id).where(
            sessions.c.token_hash == token_hash(token), sessions.c.expires_at > _now(),
            users.c.active.is_(True))
        if kind is not None:
            q = q.where(sessions.c.kind == kind)
        with self.db.read() as conn:
            row = conn.execute(q).first()
        return _user(row) if row else None

    def logout(self, token: str, user: str) -> None:
        with self.db.write() as conn:
            conn.execute(delete(sessions).where(sessions.c.token_hash == token_hash(token)))
            audit.write(conn, user, "logout", None, None)


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise ValidationError([Problem("PASSWORD_TOO_SHORT", "user", "password",
                                       {"value": len(password or ""), "limit": MIN_PASSWORD})])
