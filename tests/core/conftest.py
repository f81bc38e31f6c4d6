import pytest
from helpers import base, load

from safeground.record.ledger import Ledger
from safeground.record.storage import Database
from safeground.settings import Settings


@pytest.fixture
def ledger(database_url: str) -> Ledger:
    """A fresh record on SQLite and on PostGIS."""
    db = Database.open(database_url)
    yield Ledger(db, Settings(database_url=database_url))
    db.close()


@pytest.fixture
def sqlite_ledger(tmp_path) -> Ledger:
    url = f"sqlite:///{tmp_path}/record.sqlite"
    db = Database.open(url)
    yield Ledger(db, Settings(database_url=url))
    db.close()


@pytest.fixture
def with_area(ledger: Ledger) -> Ledger:
    load(ledger, base())
    return ledger
