"""The scenario's files and the twin's records go through the real report path.

Every report the scenario writes passes the gate and is approved by a second person; so are the
twin's activity, release, item, accident and area records (the land release rules included).
Runs on a real SQLite record.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

import shapely

from safeground.errors import ValidationError
from safeground.record.exchange import read_records
from safeground.record.ledger import Ledger
from safeground.record.storage import Database
from safeground.record.vocabulary import ReportStatus
from safeground.scenario.twin import OperationsTwin, WorkOrder
from safeground.settings import Settings


def _codes(rejected) -> Counter:
    return Counter(p.code for r in rejected for p in r.problems)


def test_scenario_and_twin_through_gate_and_approval(small, tmp_path):
    small.write(tmp_path / "scn")
    settings = Settings.from_env(database_url=f"sqlite:///{tmp_path / 'record.sqlite'}")
    ledger = Ledger(Database.open(settings.database_url), settings)
    submitted = 0
    for path in sorted((tmp_path / "scn" / "reports").glob("*.geojson")):
        try:
            records = read_records(path)
        except ValidationError as exc:
            assert exc.code == "FILE_EMPTY"   # a report type the small record lacks
            continue
        res = ledger.submit(records, user="records.officer", source=path.name)
        assert _codes(res.rejected) == Counter(), path.name
        submitted += len(res.accepted)
    assert submitted == len(small.book)
    assert any(r["report_type"] == "land_release" for r in small.book.records)
    pending = [r.id for r in ledger.reports(status=ReportStatus.SUBMITTED)]
    approved = ledger.approve(pending, user="ops.chief")
    assert approved.refused == [] and len(approved.approved) == submitted

    twin = OperationsTwin(small, seed=3, start=dt.date(2021, 4, 1))
    by = defaultdict(list)
    for t in twin.teams:
        by[t.asset].append(t)
    areas = sorted(twin.observable_areas(), key=lambda a: a.remaining_m2)[:60]
    orders = [WorkOrder(by["nts"][i % 4].id, a.id, "nts", dt.date(2021, 4, 1))
              for i, a in enumerate(areas)]
    recs = twin.advance(orders, dt.date(2021, 7, 1))
    clearers = by["manual"] + by["dog"] + by["machine"]
    still = [a for a in twin.observable_areas() if a.status != "closed"][:30]
    recs += twin.advance([WorkOrder(clearers[i % len(clearers)].id, a.id, "clearance",
                                    dt.date(2021, 7, 1)) for i, a in enumerate(still)],
                         dt.date(2022, 7, 1))
    raw = []
    for i, r in enumerate(recs):
        d = {k: v for k, v in r.items() if k != "geometry"}
        g = r["geometry"]
        d["geometry"] = shapely.geometry.mapping(g) if g is not None else None
        d["_where"] = f"twin record {i}"
        raw.append(d)
    res = ledger.submit(raw, user="records.officer", source="twin")
    assert _codes(res.rejected) == Counter()
    pending = [r.id for r in ledger.reports(status=ReportStatus.SUBMITTED)]
    approved = ledger.approve(pending, user="ops.chief")
    assert approved.refused == []
    assert {r["report_type"] for r in recs} >= {"activity", "land_release"}
