"""``make demo``: the whole system on an embedded SQLite record.

Today: create the record, write the example programme as report files, take them in through
the gate as the records officer, approve them as the operations chief (a different person),
print the status summary and what was known three months in, and export the hazardous areas.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from rich.console import Console

from safeground import example
from safeground.exchange import read_records, to_geojson
from safeground.ledger import Ledger
from safeground.settings import Settings
from safeground.storage import Database
from safeground.summary import status
from safeground.vocabulary import ReportStatus, ReportType


def _write_reports(records: list[dict], out: Path) -> Path:
    import shapely

    feats = []
    for rec in records:
        props = {k: v for k, v in rec.items() if k != "geometry"}
        geom = rec.get("geometry")
        feats.append({"type": "Feature", "properties": props,
                      "geometry": shapely.geometry.mapping(geom) if geom is not None else None})
    out.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return out


def run(workdir: Path, console: Console) -> Ledger:
    from safeground.cli import print_status

    workdir.mkdir(parents=True, exist_ok=True)
    db_path = workdir / "record.sqlite"
    for p in workdir.glob("record.sqlite*"):
        p.unlink()
    settings = Settings.from_env(database_url=f"sqlite:///{db_path}")
    ledger = Ledger(Database.open(settings.database_url), settings)
    console.rule("Safeground demo: the example programme")
    reports_file = _write_reports(example.records(), workdir / "example-reports.geojson")
    res = ledger.submit(read_records(reports_file), user="records.officer",
                        source=reports_file.name)
    console.print(f"Submitted {len(res.accepted)} reports ({len(res.rejected)} rejected at the "
                  "gate) as records.officer")
    pending = [r.id for r in ledger.reports(status=ReportStatus.SUBMITTED)]
    approved = ledger.approve(pending, user="ops.chief")
    console.print(f"Approved {len(approved.approved)} as ops.chief "
                  f"({len(approved.refused)} refused by the land release rules)")
    print_status(status(ledger))
    print_status(status(ledger, dt.date(2021, 3, 1)))
    out = workdir / "hazardous_areas.geojson"
    out.write_text(json.dumps(to_geojson(ledger.objects(ReportType.HAZARDOUS_AREA),
                                         ReportType.HAZARDOUS_AREA), default=str))
    console.print(f"Record: {db_path}   Hazardous areas exported to {out}")
    return ledger
