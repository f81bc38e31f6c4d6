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

User names are ASCII letters, digits, ``.``, ``_`` and ``-`` (2 to 100), stored folded to lower
case, and unique whatever their case (the database holds a unique index on ``lower(name)``);
signing in works with any case of the name. Surrounding white space is removed; control
characters and other scripts are refused (``normalise_name``).

Two admins for sensitive roles: granting ``victim_data`` or ``admin`` (to a new user or an
existing one, oneself included) makes a *pending grant* that another active admin must confirm
(``confirm_grant``); until then the user has their other roles only. The one exception is the
local administrator — someone with access to the server and the record's database, acting
through ``safeground user ... --local-admin`` or creating the very first admin — whose grants
apply at once; they are written to the audit trail as ``role_grant_direct`` and shown as an
alert on the audit page to every admin.
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

from sqlalchemy import delete, func, insert, select, update

from safeground.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from safeground.record import audit
from safeground.record.problems import Problem, register
from safeground.record.storage import Database
from safeground.record.storage.schema import role_grants, sessions, users


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
    "USER_NAME_INVALID": "'{value}' is not a valid user name (ASCII letters, digits, '.', '_', "
                         "'-'; 2 to 100 characters, starting with a letter or digit)",
    "USER_ROLE_UNKNOWN": "'{value}' is not a role (expected one of {expected})",
    "PASSWORD_TOO_SHORT": "the password has {value} characters; at least {limit} are needed",
    "PASSWORD_MISMATCH": "the new password and its repetition differ",
    "PASSWORD_WRONG": "the current password is wrong",
    "LANGUAGE_UNKNOWN": "'{value}' is not a language of this installation (expected one of "
                        "{expected})",
})

MIN_PASSWORD = 10
#: a user name, once stripped and folded to lower case (matched whole: ``fullmatch``)
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,99}")
#: roles whose grant needs a second admin (or the local administrator)
SENSITIVE_ROLES = frozenset({Role.VICTIM_DATA, Role.ADMIN})
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
    #: the language the user chose for the web app (``en``, ``az``, ``ru``); None: the
    #: browser's
    language: str | None = None

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
                "active": self.active, "permissions": sorted(self.permissions),
                "language": self.language}


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


def normalise_name(raw: str) -> str:
    """The stored form of a new user name: surrounding white space removed, folded to lower
    case; ASCII letters, digits, '.', '_' and '-' only. Raises ValidationError
    (USER_NAME_INVALID) for anything else, control characters included."""
    name = raw.strip() if isinstance(raw, str) else ""
    if not name.isascii() or not _NAME.fullmatch(name.lower()):
        raise ValidationError([Problem("USER_NAME_INVALID", "user", "name",
                                       {"value": shown_name(raw)})])
    return name.lower()


def name_key(raw: str) -> str:
    """What a name typed at sign-in is looked up by: stripped and lower-cased (compared with
    ``lower(name)`` in the database). Never raises: a name no user can have finds no one."""
    return raw.strip().lower() if isinstance(raw, str) else ""


def shown_name(raw: Any) -> str:
    """A name someone typed, safe to write to the audit trail or a message: control
    characters escaped, at most 200 characters."""
    text = raw if isinstance(raw, str) else repr(raw)
    return (text.encode("unicode_escape").decode("ascii") or "?")[:200]


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


def _by_name(name: str) -> Any:
    return func.lower(users.c.name) == name_key(name)


def _user(row: Any) -> User:
    return User(row.id, row.name, frozenset(Role(r) for r in row.roles if r in
                                            Role._value2member_map_), bool(row.active),
                getattr(row, "language", None) or None)


class Users:
    """Users and sessions in the record's database (tables ``users`` and ``sessions``)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ------------------------------------------------------------------------------ users
    def add(self, name: str, password: str, roles: list[str] | frozenset[Role], *,
            by: str = "system", direct: bool = False) -> User:
        """Add a user. ``victim_data`` and ``admin`` become a pending grant that another admin
        confirms (``confirm_grant``), unless ``direct`` (the local administrator: applied at
        once, audited as ``role_grant_direct``). Raises ValidationError (bad name, role or
        password) or ConflictError (the name is taken, in any case)."""
        name = normalise_name(name)
        role_set = parse_roles(list(roles))
        _check_password(password)
        pending = frozenset() if direct else role_set & SENSITIVE_ROLES
        held = role_set - pending
        now = _now()
        with self.db.write() as conn:
            if conn.execute(select(users.c.id).where(_by_name(name))).first():
                raise ConflictError(f"user '{name}' already exists", code="USER_EXISTS")
            uid = conn.execute(insert(users).values(
                name=name, roles=sorted(held), password_hash=hash_password(password),
                active=True, created_at=now, password_changed_at=now)
                .returning(users.c.id)).scalar_one()
            audit.write(conn, by, "user_add", name, {"roles": sorted(held),
                                                    "pending": sorted(pending)})
            self._grant(conn, name, role_set & SENSITIVE_ROLES, by, direct, now)
        return User(uid, name, held)

    def _grant(self, conn: Any, name: str, roles: frozenset[Role], by: str, direct: bool,
               now: dt.datetime) -> None:
        """Write the grant of sensitive ``roles``: pending, or (``direct``) made at once."""
        if not roles:
            return
        if direct:
            audit.write(conn, by, "role_grant_direct", name, {"roles": sorted(roles)})
            return
        gid = conn.execute(insert(role_grants).values(
            user_name=name, roles=sorted(roles), requested_by=by, requested_at=now,
            status="pending").returning(role_grants.c.id)).scalar_one()
        audit.write(conn, by, "role_grant_request", name, {"grant": gid, "roles": sorted(roles)})

    def list(self) -> list[User]:
        with self.db.read() as conn:
            return [_user(r) for r in conn.execute(select(users).order_by(users.c.name))]

    def get(self, name: str) -> User:
        with self.db.read() as conn:
            row = conn.execute(select(users).where(_by_name(name))).first()
        if row is None:
            raise NotFoundError(f"no user '{shown_name(name)}'", code="USER_NOT_FOUND")
        return _user(row)

    def has_admin(self) -> bool:
        """Whether any active user holds the admin role."""
        return any(u.active and Role.ADMIN in u.roles for u in self.list())

    def set_roles(self, name: str, roles: list[str] | frozenset[Role], *,
                  by: str = "system", direct: bool = False) -> User:
        """Set a user's roles. Roles taken away go at once; ``victim_data`` and ``admin``
        not yet held become a pending grant (see ``add``), unless ``direct``."""
        role_set = parse_roles(list(roles))
        with self.db.write() as conn:
            row = conn.execute(select(users).where(_by_name(name))).first()
            if row is None:
                raise NotFoundError(f"no user '{shown_name(name)}'", code="USER_NOT_FOUND")
            current = _user(row).roles
            new_sensitive = (role_set - current) & SENSITIVE_ROLES
            held = role_set if direct else role_set - new_sensitive
            conn.execute(update(users).where(users.c.id == row.id).values(roles=sorted(held)))
            audit.write(conn, by, "user_roles", row.name,
                        {"roles": sorted(held),
                         "pending": [] if direct else sorted(new_sensitive)})
            self._grant(conn, row.name, new_sensitive, by, direct, _now())
        return self.get(row.name)

    # ------------------------------------------------------------------ sensitive grants
    def grants(self, status: str | None = "pending") -> list[dict[str, Any]]:
        """Grants of sensitive roles, newest first (``status``: pending, confirmed, refused;
        None for all)."""
        q = select(role_grants).order_by(role_grants.c.id.desc())
        if status is not None:
            q = q.where(role_grants.c.status == status)
        with self.db.read() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def confirm_grant(self, grant_id: int, by: str) -> User:
        """A second admin confirms a pending grant: the user gets its roles. Raises
        NotFoundError (GRANT_NOT_FOUND), ConflictError (GRANT_NOT_PENDING, or the user is
        gone or inactive) or PermissionDeniedError (GRANT_SAME_ADMIN: the admin who asked
        cannot confirm; GRANT_TO_SELF: nobody confirms a grant to themselves;
        GRANT_NOT_ADMIN: only an active admin confirms)."""
        with self.db.write() as conn:
            grant = self._pending(conn, grant_id)
            confirmer = conn.execute(select(users).where(_by_name(by))).first()
            if confirmer is None or not confirmer.active or \
                    Role.ADMIN not in _user(confirmer).roles:
                raise PermissionDeniedError("only an active admin confirms a grant",
                                            code="GRANT_NOT_ADMIN")
            if name_key(grant.requested_by) == name_key(by):
                raise PermissionDeniedError(
                    "a second admin must confirm this grant (you asked for it)",
                    code="GRANT_SAME_ADMIN")
            if name_key(grant.user_name) == name_key(by):
                raise PermissionDeniedError("nobody confirms a grant of roles to themselves",
                                            code="GRANT_TO_SELF")
            row = conn.execute(select(users).where(_by_name(grant.user_name))).first()
            if row is None or not row.active:
                raise ConflictError(f"user '{grant.user_name}' is gone or inactive",
                                    code="GRANT_NOT_PENDING")
            roles = _user(row).roles | {Role(r) for r in grant.roles}
            conn.execute(update(users).where(users.c.id == row.id).values(roles=sorted(roles)))
            conn.execute(update(role_grants).where(role_grants.c.id == grant_id).values(
                status="confirmed", decided_by=confirmer.name, decided_at=_now()))
            audit.write(conn, confirmer.name, "role_grant_confirm", row.name,
                        {"grant": grant_id, "roles": list(grant.roles),
                         "requested_by": grant.requested_by})
        return self.get(row.name)

    def refuse_grant(self, grant_id: int, by: str) -> None:
        """Refuse (or, by the admin who asked, withdraw) a pending grant."""
        with self.db.write() as conn:
            grant = self._pending(conn, grant_id)
            conn.execute(update(role_grants).where(role_grants.c.id == grant_id).values(
                status="refused", decided_by=by, decided_at=_now()))
            audit.write(conn, by, "role_grant_refuse", grant.user_name,
                        {"grant": grant_id, "roles": list(grant.roles),
                         "requested_by": grant.requested_by})

    @staticmethod
    def _pending(conn: Any, grant_id: int) -> Any:
        grant = conn.execute(select(role_grants).where(role_grants.c.id == grant_id)).first()
        if grant is None:
            raise NotFoundError(f"no grant {grant_id}", code="GRANT_NOT_FOUND")
        if grant.status != "pending":
            raise ConflictError(f"grant {grant_id} is already {grant.status}",
                                code="GRANT_NOT_PENDING")
        return grant

    def set_active(self, name: str, active: bool, *, by: str = "system") -> User:
        """Deactivate (or reactivate) a user; deactivation ends their sessions and tokens."""
        with self.db.write() as conn:
            row = conn.execute(select(users.c.id, users.c.name).where(_by_name(name))).first()
            if row is None:
                raise NotFoundError(f"no user '{shown_name(name)}'", code="USER_NOT_FOUND")
            conn.execute(update(users).where(users.c.id == row.id).values(active=active))
            if not active:
                conn.execute(delete(sessions).where(sessions.c.user_id == row.id))
            audit.write(conn, by, "user_active" if active else "user_deactivate", row.name,
                        None)
        return self.get(row.name)

    def set_language(self, name: str, language: str | None) -> User:
        """Store the language the user chose (None: follow the browser). Raises
        ValidationError (``LANGUAGE_UNKNOWN``) for a language without a catalogue."""
        from safeground import i18n

        if language is not None and not i18n.is_language(language):
            raise ValidationError([Problem("LANGUAGE_UNKNOWN", "user", "language", {
                "value": str(language)[:20], "expected": ", ".join(i18n.languages())})])
        with self.db.write() as conn:
            row = conn.execute(select(users.c.id).where(_by_name(name))).first()
            if row is None:
                raise NotFoundError(f"no user '{shown_name(name)}'", code="USER_NOT_FOUND")
            conn.execute(update(users).where(users.c.id == row.id).values(language=language))
        return self.get(name)

    def set_password(self, name: str, password: str, *, by: str = "system",
                     keep_session: str | None = None, detail: Any = None,
                     direct: bool = False) -> int:
        """A new password; every session and token of the user ends, except
        ``keep_session`` (the one a user changes their own password from). Returns how many
        ended. Only the user themselves or the local administrator (``direct``) sets an
        admin's password: an admin who could would sign in as the other admin and confirm
        their own grants (PermissionDeniedError, PASSWORD_OF_ADMIN)."""
        _check_password(password)
        with self.db.write() as conn:
            row = conn.execute(select(users).where(_by_name(name))).first()
            if row is None:
                raise NotFoundError(f"no user '{shown_name(name)}'", code="USER_NOT_FOUND")
            if Role.ADMIN in _user(row).roles and not direct and \
                    name_key(by) != name_key(row.name):
                raise PermissionDeniedError(
                    f"only {row.name} or the local administrator sets an admin's password",
                    code="PASSWORD_OF_ADMIN")
            conn.execute(update(users).where(users.c.id == row.id).values(
                password_hash=hash_password(password), password_changed_at=_now()))
            ending = delete(sessions).where(sessions.c.user_id == row.id)
            if keep_session is not None:
                ending = ending.where(sessions.c.token_hash != token_hash(keep_session))
            ended = conn.execute(ending).rowcount
            audit.write(conn, by, "user_password", row.name,
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
    def check_password(self, name: str, password: str,
                       remembered: Any = None) -> User | None:
        """The active user with this name (in any case) and password, or None (no audit: see
        ``login``).

        ``remembered`` (optional; ``web.auth.VerifiedCredentials``) spares the slow password
        hash for credentials verified a short while ago: it answers whether this name and
        password were verified against the stored hash the user has *now* (read here, on
        every call, with ``active``), so a changed password or a deactivated user is refused
        at once, in every process."""
        with self.db.read() as conn:
            row = conn.execute(select(users).where(_by_name(name))).first()
        if row is not None and remembered is not None and row.active and \
                remembered.known(name, password, row.password_hash):
            return _user(row)
        ok = verify_password(password, row.password_hash if row else _DUMMY_HASH)
        if row is None or not ok or not row.active:
            return None
        if remembered is not None:
            remembered.remember(name, password, row.password_hash)
        return _user(row)

    def login(self, name: str, password: str, *, kind: str = "cookie",
              client: str | None = None) -> tuple[User, str]:
        """Check the password and open a session (``cookie``) or an API token (``token``).
        Returns the user and the token (shown once; only its hash is stored). Both outcomes
        are written to the audit trail. Raises AuthenticationError."""
        user = self.check_password(name, password)
        if user is None:
            audit.record(self.db, shown_name(name), "login_failed", client, {"kind": kind})
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
