"""The intake on both storage backends: SQLite and PostGIS (requirement 4 and 5 end to end)."""

from __future__ import annotations

import pyogrio

from safeground.intake import field_exports as fx
from safeground.intake import samples
from safeground.intake.export import export_gpkg
from safeground.intake.importer import import_path
from safeground.record.ledger import Ledger
from safeground.record.storage import Database

ORG = {"report_type": "organisation", "object_id": "ORG-1", "date_of_information": "2020-01-01",
       "organisation": "ORG-1", "author": "registrar", "name": "Field NGO", "kind": "ngo"}


def test_import_twice_approve_and_export(database_url, tmp_path):
    ledger = Ledger(Database.open(database_url))
    ledger.approve(ledger.submit([ORG], user="registrar").accepted, user="approver")
    path = fx.odk_csv_zip([samples.nts(i) for i in range(3)], tmp_path / "nts.zip")
    first = import_path(ledger, path, "alice", progress=False)
    again = import_path(ledger, path, "alice", progress=False)
    assert (first.accepted, first.rejected) == (15, 0)
    assert (again.accepted, again.already_imported) == (0, 15)
    ledger.approve(first.report_ids, user="approver")
    counts = export_gpkg(ledger, tmp_path / "out.gpkg")
    assert counts["hazardous_areas"] == 3
    assert len(pyogrio.read_dataframe(tmp_path / "out.gpkg", layer="evidence")) == 9
