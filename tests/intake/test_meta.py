"""GPS accuracy and the form version travel with each accepted report (reports.meta)."""

from safeground.intake import field_exports as fx
from safeground.intake import samples
from safeground.intake.importer import import_path
from safeground.record.ledger import Ledger
from safeground.record.storage import Database


def test_gps_accuracy_is_kept_with_accepted_reports(tmp_path):
    ledger = Ledger(Database.open(f"sqlite:///{tmp_path}/r.sqlite"))
    path = fx.odk_csv_zip([samples.nts(0)], tmp_path / "nts.zip")
    s = import_path(ledger, path, "alice", progress=False)
    assert s.accepted > 0
    areas = [r for r in ledger.reports() if r.type == "hazardous_area"]
    assert areas and all(r.meta["_gps_accuracy_m"] > 0 for r in areas)
    assert all(r.meta["_form"].startswith("sg_nts@") for r in areas)
