"""Accounts: user names unique whatever their case, the migration that makes them so, grants of
sensitive roles that need a second admin, and links and client addresses that do not trust
what a request says about itself (Host, X-Forwarded-For)."""

from __future__ import annotations

import pytest
import requests
import sqlalchemy as sa
from websupport import password

from safeground.errors import ConfigError, ConflictError, PermissionDeniedError, ValidationError
from safeground.record.storage import Database
from safeground.record.storage.schema import users as users_table
from safeground.record.users import Users, normalise_name


@pytest.mark.parametrize("raw, stored", [("Amina", "amina"), ("  ops.chief\n", "ops.chief"),
                                         ("R_2-d.2", "r_2-d.2")])
def test_names_are_stripped_and_folded(raw, stored):
    assert normalise_name(raw) == stored


@pytest.mark.parametrize("raw", ["admin\x00", "ad\nmin", "ad min", "x", "\u212aelvin",
                                 "amína", ".hidden", "a" * 101, "admin\u200b", ""])
def test_names_with_control_characters_or_other_scripts_are_refused(raw):
    with pytest.raises(ValidationError) as e:
        normalise_name(raw)
    assert e.value.code == "USER_NAME_INVALID"
    assert "\n" not in e.value.message and "\x00" not in e.value.message


def test_a_name_is_taken_whatever_its_case(fresh_site):
    users = Users(fresh_site.ledger.db)
    for twin in ("ROOT", "root\n", " Root "):
        with pytest.raises(ConflictError) as e:
            users.add(twin, "a-long-password", ["viewer"])
        assert e.value.code == "USER_EXISTS"
    root = fresh_site.as_user("root")
    r = root.post("/api/v1/users", json={"name": "Ops.Chief", "password": "a-long-password",
                                         "roles": ["approver"]})
    assert r.status_code == 201 and r.json()["name"] == "ops.chief"
    r = root.post("/api/v1/users", json={"name": "OPS.CHIEF", "password": "a-long-password",
                                         "roles": ["admin"]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "USER_EXISTS"
    # signing in works with any case of the name; the session is the stored name's
    c = fresh_site.client()
    r = c.post("/api/v1/auth/token", json={"name": "OPS.Chief", "password": "a-long-password"})
    assert r.status_code == 200 and r.json()["user"]["name"] == "ops.chief"


def test_the_database_refuses_a_name_differing_only_in_case(database_url):
    db = Database.open(database_url)
    row = {"roles": ["viewer"], "password_hash": "x", "active": True,
           "created_at": sa.func.now(), "password_changed_at": sa.func.now()}
    with db.write() as conn:
        conn.execute(sa.insert(users_table).values(name="amina", **row))
    with pytest.raises(sa.exc.IntegrityError), db.write() as conn:
        conn.execute(sa.insert(users_table).values(name="AMINA", **row))
    db.close()


def test_the_migration_cleans_existing_names(database_url):
    """Rows written before migration 0005: a trailing newline is removed; of two names equal
    but for case the older keeps it, the later is renamed, deactivated and signed out."""
    import datetime as dt

    from alembic import command
    from alembic.config import Config

    from safeground.record.storage.database import MIGRATIONS

    db = Database.open(database_url, migrate=False)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with db.write() as conn:
        if db.dialect == "postgresql":
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004")
    now = dt.datetime(2026, 11, 30)
    old = sa.table("users", sa.column("id"), sa.column("name"), sa.column("roles", sa.JSON),
                   sa.column("password_hash"), sa.column("active"), sa.column("created_at"),
                   sa.column("password_changed_at"))
    sess = sa.table("sessions", sa.column("token_hash"), sa.column("user_id"),
                    sa.column("kind"), sa.column("created_at"), sa.column("expires_at"))
    with db.write() as conn:
        for i, name in enumerate(["admin", "admin\n", "Ops.Chief", "ops.chief", "clerk\t"], 1):
            conn.execute(sa.insert(old).values(id=i, name=name, roles=["admin"],
                                               password_hash="x", active=True, created_at=now,
                                               password_changed_at=now))
            conn.execute(sa.insert(sess).values(token_hash=f"{i:064d}", user_id=i,
                                                kind="token", created_at=now,
                                                expires_at=now + dt.timedelta(days=3650)))
    db.migrate()
    with db.read() as conn:
        rows = {r.id: (r.name, r.active) for r in conn.execute(sa.select(users_table))}
        signed_in = set(conn.execute(sa.text("SELECT user_id FROM sessions")).scalars())
    assert rows == {1: ("admin", True), 2: ("admin-dup-2", False), 3: ("Ops.Chief", True),
                    4: ("ops.chief-dup-4", False), 5: ("clerk", True)}
    assert signed_in == {1, 3, 5}
    from safeground.record import audit

    trail = {(e["action"], e["target"], e["detail"]["was"])
             for e in audit.entries(db, 100) if e["user"] == "migration 0005"}
    assert trail == {("user_deactivate", "admin-dup-2", "admin\n"),
                     ("user_deactivate", "ops.chief-dup-4", "ops.chief"),
                     ("user_rename", "clerk", "clerk\t")}
    # the kept account signs in by any case of its name
    assert Users(db).get("OPS.CHIEF").name == "Ops.Chief"
    db.close()


# ---------------------------------------------------------------------- sensitive roles
def _second_admin(site, name: str = "root2") -> None:
    Users(site.ledger.db).add(name, password(name), ["admin"], by="test set-up", direct=True)


def test_an_admin_cannot_give_itself_victim_data_alone(fresh_site):
    root = fresh_site.as_user("root")
    r = root.put("/api/v1/users/root/roles", json={"roles": ["admin", "victim_data"]})
    assert r.status_code == 200
    body = r.json()
    assert body["roles"] == ["admin"]
    assert [g["roles"] for g in body["pending_grants"]] == [["victim_data"]]
    gid = body["pending_grants"][0]["id"]
    r = root.post(f"/api/v1/users/grants/{gid}/confirm")
    assert r.status_code == 403 and r.json()["error"]["code"] == "GRANT_SAME_ADMIN"
    assert root.get("/api/v1/me").json()["roles"] == ["admin"]
    # the request shows on the audit page for every admin
    page = root.get("/audit").text
    assert f'data-grant="{gid}"' in page and "victim_data" in page
    _second_admin(fresh_site)
    root2 = fresh_site.as_user("root2")
    r = root2.post(f"/api/v1/users/grants/{gid}/confirm")
    assert r.status_code == 200 and r.json()["roles"] == ["admin", "victim_data"]
    r = root2.post(f"/api/v1/users/grants/{gid}/confirm")
    assert r.status_code == 409 and r.json()["error"]["code"] == "GRANT_NOT_PENDING"
    entry = fresh_site.audit("role_grant_confirm")[-1]
    assert (entry["user"], entry["target"], entry["detail"]["requested_by"], entry["source"]) \
        == ("root2", "root", "root", "web")


def test_new_users_get_sensitive_roles_only_once_a_second_admin_confirms(fresh_site):
    _second_admin(fresh_site)
    root, root2 = fresh_site.as_user("root"), fresh_site.as_user("root2")
    r = root.post("/api/v1/users", json={"name": "newadmin", "password": "a-long-password",
                                         "roles": ["admin", "analyst"]})
    assert r.status_code == 201 and r.json()["roles"] == ["analyst"]
    gid = r.json()["pending_grants"][0]["id"]
    # the user asked for cannot confirm their own grant, even once an admin
    assert root2.get("/api/v1/users/grants").json()["grants"][0]["id"] == gid
    r = root2.post(f"/api/v1/users/grants/{gid}/refuse")
    assert r.status_code == 200
    assert Users(fresh_site.ledger.db).get("newadmin").roles == {"analyst"}
    r = root.put("/api/v1/users/newadmin/roles", json={"roles": ["admin"]})
    gid = r.json()["pending_grants"][0]["id"]
    assert r.json()["roles"] == []               # analyst taken away at once, admin waits
    with pytest.raises(PermissionDeniedError) as e:
        Users(fresh_site.ledger.db).confirm_grant(gid, "newadmin")
    assert e.value.code == "GRANT_NOT_ADMIN"
    r = root2.post(f"/api/v1/users/grants/{gid}/confirm")
    assert r.status_code == 200 and r.json()["roles"] == ["admin"]
    assert fresh_site.as_user("clerk").post(f"/api/v1/users/grants/{gid}/confirm"
                                            ).status_code == 403


def test_nobody_confirms_a_grant_to_themselves(fresh_site):
    _second_admin(fresh_site)
    r = fresh_site.as_user("root").put("/api/v1/users/root2/roles",
                                       json={"roles": ["admin", "victim_data"]})
    gid = r.json()["pending_grants"][0]["id"]
    r = fresh_site.as_user("root2").post(f"/api/v1/users/grants/{gid}/confirm")
    assert r.status_code == 403 and r.json()["error"]["code"] == "GRANT_TO_SELF"


def test_an_admin_cannot_take_over_another_admin_by_setting_their_password(fresh_site):
    _second_admin(fresh_site)
    users = Users(fresh_site.ledger.db)
    with pytest.raises(PermissionDeniedError) as e:
        users.set_password("root2", "taken-over-password", by="root")
    assert e.value.code == "PASSWORD_OF_ADMIN"
    assert users.check_password("root2", password("root2")) is not None
    users.set_password("clerk", "a-new-password", by="root")         # not an admin: allowed
    users.set_password("root2", "root2-new-password", by="ROOT2")   # their own
    users.set_password("root2", "recovered-password", by="local-admin:ops", direct=True)
    assert users.check_password("root2", "recovered-password") is not None


def test_direct_grants_are_alerts_on_the_audit_page(fresh_site):
    # the site's set-up made va and root directly, as the local administrator does
    page = fresh_site.as_user("root").get("/audit").text
    assert 'id="audit-alerts"' in page
    alerts = page.split('id="audit-alerts"')[1].split("</section>")[0]
    assert "role_grant_direct" in alerts and ">va<" in alerts and ">root<" in alerts


# ------------------------------------------------------------------- links and addresses
def test_links_never_come_from_the_host_header(fresh_site):
    r = fresh_site.as_user("root").get("/ogc", headers={"Host": "evil.example"})
    hrefs = [link["href"] for link in r.json()["links"]]
    assert hrefs and all(h.startswith("http://testserver/") for h in hrefs), hrefs
    from safeground.web import create_app

    app = create_app(fresh_site.ledger.settings, ledger=fresh_site.ledger,
                     public_url="https://imas.example.org/safeground/")
    from fastapi.testclient import TestClient

    c = TestClient(app)
    c.headers["Authorization"] = f"Bearer {fresh_site.token('analyst')}"
    body = c.get("/ogc/collections/hazardous_area_points/items?limit=1",
                 headers={"Host": "evil.example"}).json()
    assert all(link["href"].startswith("https://imas.example.org/safeground/ogc/")
               for link in body["links"]), body["links"]


@pytest.mark.parametrize("bad", ["ftp://x.org", "imas.example.org", "https://x.org/?a=1",
                                 "https://user:pw@x.org"])
def test_a_malformed_public_url_is_refused(fresh_site, bad):
    from safeground.web import create_app

    with pytest.raises(ConfigError) as e:
        create_app(fresh_site.ledger.settings, ledger=fresh_site.ledger, public_url=bad)
    assert e.value.code == "PUBLIC_URL_INVALID"


def test_forwarded_headers_are_believed_only_from_named_proxies():
    from safeground.web.cli import uvicorn_options

    assert uvicorn_options("127.0.0.1", 8000, []) == {
        "host": "127.0.0.1", "port": 8000, "proxy_headers": False, "forwarded_allow_ips": ""}
    opts = uvicorn_options("127.0.0.1", 8000, ["10.0.0.2", "10.0.1.0/24"])
    assert opts["proxy_headers"] is True and opts["forwarded_allow_ips"] == \
        "10.0.0.2,10.0.1.0/24"


def test_the_served_app_trusts_no_forwarded_header_and_no_host_by_default(live):
    """``safeground serve`` with its defaults, a real uvicorn on 127.0.0.1: a client there
    that says it is someone else is still 127.0.0.1, and links name the bound address."""
    r = requests.post(f"{live.base}/api/v1/auth/token",
                      json={"name": "chief", "password": "not-the-password"},
                      headers={"X-Forwarded-For": "10.1.2.3"}, timeout=30)
    assert r.status_code == 401
    entry = live.site.audit("login_failed")[-1]
    assert entry["target"] == "127.0.0.1" and entry["source"] == "web"
    r = requests.get(f"{live.base}/ogc", headers={"Host": "evil.example"}, timeout=30)
    assert {link["href"].split("/ogc")[0].split("/api")[0] for link in r.json()["links"]} == \
        {live.base}
