"""The tables of the record.

``reports`` holds every field report, immutable once written (only its decision columns are
set, once). The derived state — one table per object type — is generated from ``REPORT_SPECS``
so that the file format, the gate checks and the tables can never disagree: one column per
payload field, a real foreign key per reference, a geometry column where the report has one.
Hazardous areas carry the land release figures kept by the engine (``land_release.py``).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    func,
    text,
)

from safeground.record.reports import REPORT_SPECS
from safeground.record.storage.types import GeometryType
from safeground.record.vocabulary import ReportType

metadata = MetaData()

#: the reports whose submission id is unique: those that hold one and are not rejected
LIVE_SUBMISSION = "submission_id IS NOT NULL AND status <> 'rejected'"

reports = Table(
    "reports", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("report_type", String(32), nullable=False),
    Column("object_id", String(64), nullable=False),
    #: the hazardous area the report touches (its own id, or the one it links to), indexed so
    #: one area's history and as-of state are cheap
    Column("area_id", String(64)),
    Column("organisation", String(200), nullable=False),
    Column("author", String(200), nullable=False),
    Column("date_of_information", Date, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("geometry", GeometryType()),
    Column("status", String(16), nullable=False),
    Column("submitted_by", String(200), nullable=False),
    Column("submitted_at", DateTime, nullable=False),
    Column("decided_by", String(200)),
    Column("decided_at", DateTime),
    Column("decision_note", Text),
    Column("seq", Integer),  # approval order
    Column("problems", JSON, nullable=False),
    Column("source", String(500)),
    Column("submission_id", String(200)),
    Column("content_hash", String(64), nullable=False),
    #: what the field form said besides the fields: ``_``-prefixed keys of the record
    #: (``_gps_accuracy_m``, form id and version...), kept as they came
    Column("meta", JSON),
    Index("ix_reports_object", "object_id", "date_of_information"),
    Index("ix_reports_area", "area_id", "date_of_information"),
    Index("ix_reports_status", "status", "report_type"),
    # one live report per submission id, enforced here as well as at the gate (migration
    # 0005): two imports of one file at once store each record once. No index on
    # content_hash: the gate holds the hashes in memory (gate.py, migration 0004)
    Index("ux_reports_submission", "submission_id", unique=True,
          sqlite_where=text(LIVE_SUBMISSION), postgresql_where=text(LIVE_SUBMISSION)),
)

#: table name of each object type
TABLE_NAMES: dict[ReportType, str] = {
    ReportType.ORGANISATION: "organisations",
    ReportType.TEAM: "teams",
    ReportType.ADMIN_AREA: "admin_areas",
    ReportType.SETTLEMENT: "settlements",
    ReportType.HAZARDOUS_AREA: "hazardous_areas",
    ReportType.EVIDENCE: "evidence",
    ReportType.ACTIVITY: "activities",
    ReportType.LAND_RELEASE: "land_releases",
    ReportType.ORDNANCE: "ordnance_items",
    ReportType.ACCIDENT: "accidents",
    ReportType.VICTIM: "victims",
    ReportType.RISK_EDUCATION: "risk_education_sessions",
    ReportType.REFERRAL: "referrals",
    ReportType.QA_VISIT: "qa_visits",
}

_SQL_TYPES = {"str": lambda: Text(), "int": Integer, "float": Float, "bool": Boolean,
              "date": Date, "choice": lambda: String(40), "choices": JSON}

#: extra derived columns of hazardous areas, kept by the land release engine
AREA_COLUMNS = (
    Column("status", String(16), nullable=False),
    Column("original_m2", Float, nullable=False),
    Column("cancelled_m2", Float, nullable=False),
    Column("reduced_m2", Float, nullable=False),
    Column("cleared_m2", Float, nullable=False),
    Column("reopened_m2", Float, nullable=False),
    Column("remaining_m2", Float, nullable=False),
    Column("remaining_geometry", GeometryType()),
    Column("engine_state", LargeBinary),  # the engine's metric state, to apply the next report
)


def _object_table(rtype: ReportType) -> Table:
    spec = REPORT_SPECS[rtype]
    cols: list[Column] = [Column("id", String(64), primary_key=True)]
    for f in spec.fields:
        if f.kind == "ref":
            assert f.ref is not None
            cols.append(Column(f.name, String(64),
                               ForeignKey(f"{TABLE_NAMES[f.ref]}.id",
                                          name=f"fk_{TABLE_NAMES[rtype]}_{f.name}"),
                               index=True))
        else:
            cols.append(Column(f.name, _SQL_TYPES[f.kind]()))
    if spec.geometry:
        cols.append(Column("geometry", GeometryType()))
    cols += [Column("organisation", String(200)),
             Column("first_date", Date, nullable=False),
             Column("last_date", Date, nullable=False),
             Column("last_report_id", Integer, ForeignKey("reports.id"), nullable=False)]
    if rtype is ReportType.HAZARDOUS_AREA:
        cols += [c._copy() for c in AREA_COLUMNS]
    return Table(TABLE_NAMES[rtype], metadata, *cols)


object_tables: dict[ReportType, Table] = {t: _object_table(t) for t in ReportType}

audit_log = Table(
    "audit_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),
    Column("user", String(200), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(200)),
    Column("detail", JSON),
    #: where the action came from: ``web`` (the web app and the API), ``cli`` (the command
    #: line); empty for entries written before migration 0005 and by library callers
    Column("source", String(16)),
)

#: people who use the web app and the API, with their roles (safeground.record.users)
users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("roles", JSON, nullable=False),
    #: ``scrypt$n$r$p$salt$hash`` (base64): hashlib.scrypt with a per-user salt
    Column("password_hash", String(300), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("password_changed_at", DateTime, nullable=False),
    #: the language chosen for the web app (``en``, ``az``, ``ru``); NULL: the browser's
    #: (migration 0008)
    Column("language", String(16)),
)
#: one user per name whatever its case (names are ASCII: ``lower`` folds them on both backends)
Index("uq_users_name_lower", func.lower(users.c.name), unique=True)

#: a grant of a sensitive role (victim_data, admin) waiting for a second admin
#: (safeground.record.users: ``Users.set_roles``, ``confirm_grant``)
role_grants = Table(
    "role_grants", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_name", String(100), nullable=False, index=True),
    Column("roles", JSON, nullable=False),          # the roles to add
    Column("requested_by", String(200), nullable=False),
    Column("requested_at", DateTime, nullable=False),
    Column("status", String(16), nullable=False),   # pending, confirmed, refused
    Column("decided_by", String(200)),
    Column("decided_at", DateTime),
)

#: signed-in sessions and API tokens: only the SHA-256 of each random token is stored
sessions = Table(
    "sessions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE",
                                          name="fk_sessions_user_id"), nullable=False,
           index=True),
    Column("kind", String(16), nullable=False),  # cookie (the web UI) or token (API, QGIS)
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
)

# ------------------------------------------------------------------ the web service's state
# Kept in the database, not in a server's memory, so that every worker of ``safeground
# serve --workers N`` and every server on the same database (several machines) answer as one
# service (migration 0008). Times are seconds since the epoch (UTC), compared across machines.

#: failed sign-ins, one row per counter they count towards (``web.auth.LoginLimiter``):
#: ``key`` names the counter (account and address, address, account); rows older than the
#: limiter's window are deleted as new ones come
login_failures = Table(
    "login_failures", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(300), nullable=False),
    Column("at", Float, nullable=False),
    Index("ix_login_failures_key", "key", "at"),
    Index("ix_login_failures_at", "at"),
)

#: heavy outputs made in the background (``web.jobs``): state, progress and result
service_jobs = Table(
    "service_jobs", metadata,
    Column("id", String(40), primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("params", JSON, nullable=False),
    Column("user_name", String(200), nullable=False, index=True),
    #: SHA-256 of what was asked (kind, parameters, record version, plan served)
    Column("key_hash", String(64), nullable=False, index=True),
    Column("state", String(16), nullable=False),       # waiting, running, done, failed
    Column("progress", Float, nullable=False),
    Column("step", String(200), nullable=False),
    Column("asked", String(40), nullable=False),
    Column("started", String(40)),
    Column("finished", String(40)),
    Column("error", JSON),
    Column("output", LargeBinary),
    Column("media_type", String(200)),
    Column("filename", String(300)),
    Column("info", JSON),                              # what the job says of its result
    #: the server process making it, and when it last said it still was (a job whose server
    #: stopped saying so is failed)
    Column("owner", String(100), nullable=False),
    Column("beat", Float, nullable=False),
    Column("asked_at", Float, nullable=False),
)

#: the re-planning of the work directory's plan (``web.planjob``): one row per plan, so that
#: one plan is made at a time whichever server was asked
plan_jobs = Table(
    "plan_jobs", metadata,
    Column("name", String(40), primary_key=True),
    Column("job", JSON, nullable=False),               # ``PlanJob.to_dict()``
    Column("owner", String(100)),
    Column("beat", Float),
    #: approvals gathered while a plan was being made: who approved, the newest date
    Column("next_user", String(200)),
    Column("next_newest", Date),
)
