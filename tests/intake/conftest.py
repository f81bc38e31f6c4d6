"""Fixtures of the intake tests: a real SQLite record holding one organisation."""

from __future__ import annotations

import pytest

from safeground.record.ledger import Ledger
from safeground.record.storage import Database

ORG = {"report_type": "organisation", "object_id": "ORG-1", "date_of_information": "2020-01-01",
       "organisation": "ORG-1", "author": "registrar", "name": "Field NGO", "kind": "ngo"}


@pytest.fixture
def ledger(tmp_path) -> Ledger:
    db = Database.open(f"sqlite:///{tmp_path}/record.sqlite")
    led = Ledger(db)
    res = led.submit([ORG], user="registrar")
    led.approve(res.accepted, user="approver")
    return led
