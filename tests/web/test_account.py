"""A signed-in user changes their own password: the current one and the new one twice, the
CLI's rules and hashing (``Users.set_password``), CSRF for cookie sessions, audited, and every
other session and token of the user ended."""

from __future__ import annotations

from sqlalchemy import select
from websupport import USERS, password

from safeground.record.storage.schema import users
from safeground.record.users import Users, csrf_token, verify_password

NEW = "a-new-long-password"


def _cookie_client(site, name: str, pw: str | None = None):
    c = site.client()
    r = c.post("/login", data={"name": name, "password": pw or password(name)},
               follow_redirects=False)
    assert r.status_code == 303, r.text
    return c, csrf_token(c.cookies.get("sg_session"))


def _change(c, csrf: str | None, current: str, new: str, again: str | None = None):
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    return c.post("/api/v1/me/password", headers=headers, json={
        "current_password": current, "new_password": new,
        "new_password_again": new if again is None else again})


def _hash(site, name: str) -> str:
    with site.ledger.db.read() as conn:
        return conn.execute(select(users.c.password_hash).where(users.c.name == name)).scalar()


def test_the_page_is_there_for_every_role_and_linked_from_every_page(site):
    for who in USERS:
        c = site.as_user(who)
        page = c.get("/account/password")
        assert page.status_code == 200, who
        assert 'id="password-form"' in page.text and 'src="/static/password.js"' in page.text
        assert 'href="/account/password"' in c.get("/dashboard").text
    assert site.client().get("/account/password", headers={"Accept": "text/html"},
                             follow_redirects=False).headers["location"] \
        == "/login?next=/account/password"


def test_changing_ones_password_ends_the_other_sessions_and_keeps_this_one(fresh_site):
    site = fresh_site
    here, csrf = _cookie_client(site, "clerk")
    elsewhere, _ = _cookie_client(site, "clerk")
    token = site.token("clerk")
    other_user = site.as_user("chief")
    before = _hash(site, "clerk")
    page = here.get("/account/password").text
    assert f'name="csrf-token" content="{csrf}"' in page
    # a cookie session needs the page's CSRF token
    r = _change(here, None, password("clerk"), NEW)
    assert r.status_code == 403 and r.json()["error"]["code"] == "CSRF_FAILED"
    # refused, in the one error envelope, naming the field; nothing changes
    for args, code, field in [((password("clerk"), NEW, NEW + "x"), "PASSWORD_MISMATCH",
                               "new_password_again"),
                              ((password("clerk"), "short", "short"), "PASSWORD_TOO_SHORT",
                               "password"),
                              (("not-my-password", NEW, NEW), "PASSWORD_WRONG",
                               "current_password")]:
        r = _change(here, csrf, *args)
        assert r.status_code == 422, r.text
        err = r.json()["error"]
        assert err["code"] == code and err["details"][0]["field"] == field, err
    assert _hash(site, "clerk") == before
    failed = site.audit("password_change_failed")
    assert [(e["user"], e["target"]) for e in failed] == [("clerk", "testclient")]
    # done
    r = _change(here, csrf, password("clerk"), NEW)
    assert r.status_code == 200, r.text
    assert r.json() == {"changed": "clerk", "sessions_ended": 2}
    assert here.get("/api/v1/me").status_code == 200                      # this session stays
    assert elsewhere.get("/api/v1/me").status_code == 401                 # the others end
    assert site.client().get("/api/v1/me", headers={
        "Authorization": f"Bearer {token}"}).status_code == 401
    assert other_user.get("/api/v1/me").status_code == 200                # others' stay
    # the CLI's hashing; the old password no longer signs in, the new one does
    stored = _hash(site, "clerk")
    assert stored != before and stored.startswith("scrypt$16384$8$1$")
    assert verify_password(NEW, stored) and not verify_password(password("clerk"), stored)
    assert Users(site.ledger.db).check_password("clerk", password("clerk")) is None
    assert site.client().post("/api/v1/auth/token", json={
        "name": "clerk", "password": NEW}).status_code == 200
    trail = site.audit("user_password")
    assert [(e["user"], e["target"]) for e in trail] == [("clerk", "clerk")]
    assert trail[0]["detail"] == {"self_service": True, "client": "testclient",
                                  "sessions_ended": 2}


def test_an_api_token_changes_its_users_password_and_stays_valid(fresh_site):
    site = fresh_site
    c = site.as_user("analyst")
    browser, _ = _cookie_client(site, "analyst")
    r = _change(c, None, password("analyst"), NEW)
    assert r.status_code == 200 and r.json()["sessions_ended"] == 1
    assert c.get("/api/v1/me").json()["name"] == "analyst"
    assert browser.get("/api/v1/me").status_code == 401


def test_the_one_password_path_is_set_password(fresh_site, monkeypatch):
    calls = []
    real = Users.set_password

    def spy(self, name, pw, **kw):
        calls.append((name, kw["by"]))
        return real(self, name, pw, **kw)

    monkeypatch.setattr(Users, "set_password", spy)
    r = _change(fresh_site.as_user("root"), None, password("root"), NEW)
    assert r.status_code == 200 and calls == [("root", "root")]


def test_wrong_current_passwords_are_rate_limited(fresh_site):
    c, csrf = _cookie_client(fresh_site, "chief")
    for _ in range(5):
        assert _change(c, csrf, "guess-guess-guess", NEW).status_code == 422
    r = _change(c, csrf, password("chief"), NEW)
    assert r.status_code == 429 and r.json()["error"]["code"] == "LOGIN_RATE_LIMITED"
    assert _hash(fresh_site, "chief").startswith("scrypt$")
    assert Users(fresh_site.ledger.db).check_password("chief", password("chief")) is not None
    assert len(fresh_site.audit("password_change_failed")) == 5
