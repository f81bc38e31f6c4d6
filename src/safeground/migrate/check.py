"""The dry run: the plan of a migration checked as the gate would check it, written as an HTML
page and a CSV file a records officer can work through. Nothing is written to the record."""

from __future__ import annotations

import csv
import datetime as dt
import html
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import select

from safeground.migrate.mapping import Mapping
from safeground.migrate.source import Source
from safeground.migrate.transform import REFUSED, Finding, Plan, plan
from safeground.record import geometry as geo
from safeground.record.batch_gate import check_columns
from safeground.record.storage.schema import object_tables
from safeground.record.vocabulary import ReportType
from safeground.settings import Settings

CSV_COLUMNS = ("severity", "code", "layer", "original_id", "report_type", "field", "count",
               "message")


def known_ids(ledger: Any) -> dict[ReportType, set[str]]:
    """The ids the record already holds, by type (links may point to them)."""
    if ledger is None:
        return {}
    out: dict[ReportType, set[str]] = {}
    with ledger.db.read() as conn:
        for t in ReportType:
            table = object_tables[t]
            out[t] = set(conn.execute(select(table.c.id)).scalars())
    return out


def dry_run(source: Source, mapping: Mapping, settings: Settings | None = None,
            ledger: Any = None, today: dt.date | None = None) -> Plan:
    """The plan, with the records the gate would refuse moved to the findings."""
    settings = settings or Settings()
    p = plan(source, mapping, settings, known_ids(ledger))
    projector = geo.Projector(settings.utm_epsg)
    wheres = [f"{r['_source_file']} layer {r['_source_layer']} id {r['_original_id']}"
              for r in p.records]
    # the gate's own checks, column by column as Ledger.submit makes them for a large batch
    checked = check_columns(p.records, settings, projector, wheres, today)
    refused = {i: problems for i, (_, problems) in checked.others.items() if problems}
    kept = []
    for i, rec in enumerate(p.records):
        problems = refused.get(i)
        if not problems:
            kept.append(rec)
            continue
        stats = p.layers[rec["_source_layer"]]
        stats.reports[rec["report_type"]] -= 1
        stats.refused[rec["report_type"]] += 1
        p.findings += [Finding(REFUSED, pr, rec["_source_layer"], rec["_original_id"],
                               rec["report_type"]) for pr in problems]
    p.records = kept
    return p


def write_csv(p: Plan, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, CSV_COLUMNS)
        w.writeheader()
        for f in p.findings:
            w.writerow(f.to_row())


def write_html(p: Plan, path: Path, title: str = "Migration check") -> None:
    e = html.escape
    by_sev = Counter(f.severity for f in p.findings)
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(title)}</title>",
             "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}"
             ".refused{background:#fde2e2}.repaired{background:#e2f0fd}"
             ".warning{background:#fff6d6}</style></head><body>",
             f"<h1>{e(title)}</h1><p>Source <b>{e(p.source)}</b>, mapping <b>{e(p.mapping)}"
             f"</b>. A dry run: nothing was written to the record.</p>",
             f"<p id='totals'>{len(p.records):,} reports would be migrated; "
             f"{p.count('refused'):,} refused, {p.count('repaired'):,} repaired, "
             f"{p.count('warning'):,} warnings.</p>",
             "<h2>Layers</h2><table id='layers'><tr><th>Layer</th><th>Rows</th>"
             "<th>Reports</th><th>Refused</th><th>Mapped columns</th><th>Custom fields kept</th>"
             "<th>Columns left behind</th></tr>"]
    for name, s in p.layers.items():
        parts.append(f"<tr><td>{e(name)}</td><td>{s.rows:,}</td><td>"
                     f"{e(', '.join(f'{k}: {v:,}' for k, v in s.reports.items() if v))}</td><td>"
                     f"{e(', '.join(f'{k}: {v:,}' for k, v in s.refused.items() if v))}</td><td>"
                     f"{e(', '.join(s.mapped_columns))}</td><td>{e(', '.join(s.custom_columns))}"
                     f"</td><td>{e(', '.join(s.unmapped_columns))}</td></tr>")
    parts.append("</table><h2>Problems by code</h2><table id='codes'><tr><th>Code</th>"
                 "<th>Count</th></tr>")
    for code, n in sorted(p.codes().items()):
        parts.append(f"<tr><td>{e(code)}</td><td>{n:,}</td></tr>")
    parts.append("</table><h2>Findings</h2><table id='findings'><tr>"
                 + "".join(f"<th>{c}</th>" for c in CSV_COLUMNS) + "</tr>")
    for f in p.findings[:20_000]:
        row = f.to_row()
        parts.append(f"<tr class='{f.severity}'>" + "".join(
            f"<td>{e(str(row[c]))}</td>" for c in CSV_COLUMNS) + "</tr>")
    parts.append("</table>")
    if len(p.findings) > 20_000:
        parts.append(f"<p>{len(p.findings) - 20_000:,} more findings in the CSV file.</p>")
    parts.append(f"<p>{by_sev.get('refused', 0):,} refused findings.</p></body></html>")
    path.write_text("".join(parts), encoding="utf-8")
