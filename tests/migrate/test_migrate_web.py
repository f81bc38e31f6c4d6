"""The source's own fields of a migrated object on its page in the web app."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from harness.migrate_sources import imsma_ng_xlsx
from safeground.migrate.mapping import load
from safeground.migrate.run import run
from safeground.migrate.source import Source
from safeground.record.ledger import Ledger
from safeground.record.storage import Database
from safeground.record.users import Users
from safeground.settings import Settings
from safeground.web import create_app

NG_MAP = Path(__file__).resolve().parents[2] / "examples" / "migrate" / "imsma_ng.toml"


def _client(app, name: str) -> TestClient:
    c = TestClient(app, raise_server_exceptions=False)
    r = c.post("/api/v1/auth/token", json={"name": name, "password": name + "-pw-123456"})
    assert r.status_code == 200, r.text
    c.headers["Authorization"] = f"Bearer {r.json()['token']}"
    return c


def test_custom_fields_from_the_source_are_shown_on_the_object_page(tmp_path):
    url = f"sqlite:///{tmp_path}/record.sqlite"
    ledger = Ledger(Database.open(url), Settings(database_url=url))
    path, _ = imsma_ng_xlsx(tmp_path)
    res = run(ledger, Source(path), load(NG_MAP), "records.officer", "ops.chief")
    assert res.approved
    users = Users(ledger.db)
    users.add("analyst", "analyst-pw-123456", ["analyst"])
    users.add("va", "va-pw-123456", ["victim_data"], direct=True)
    app = create_app(ledger.settings, ledger=ledger)
    page = _client(app, "analyst").get("/objects/hazardous_area/HA-1001")
    assert page.status_code == 200
    assert "Other fields from the source" in page.text and "Ağdam" in page.text
    page = _client(app, "analyst").get("/objects/accident/A-1")
    assert "Ramil" in page.text
    # a source field named like personal data only for those who may read victims' data
    assert "Home address" not in page.text and "Qaraqaya" not in page.text
    page = _client(app, "va").get("/objects/accident/A-1")
    assert "Qaraqaya 12" in page.text
    # an object migrated without custom fields has no such section
    page = _client(app, "analyst").get("/objects/victim/VA-1")
    assert "Other fields from the source" not in page.text
