"""Article 7 report time: build the forms, render HTML, the workbook and the PDF.

    .venv/bin/python benchmarks/bench_treaty.py             # the small synthetic rectangle
    SG_BENCH_REGION=default .venv/bin/python benchmarks/bench_treaty.py   # ~10,000 km²

Loads the scenario's reports into a throwaway SQLite record through the gate, approves them,
then times each stage of ``safeground report article7`` for the scenario's busiest year and
prints the figures (no target: the report is made once a year).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import Counter
from pathlib import Path

from safeground.errors import ValidationError
from safeground.record.exchange import read_records
from safeground.record.ledger import Ledger
from safeground.record.storage import Database
from safeground.reports import treaty
from safeground.reports.pdf import html_to_pdf
from safeground.scenario import ScenarioConfig, generate


def main() -> None:
    region = os.environ.get("SG_BENCH_REGION", "small")
    t = time.perf_counter()
    scenario = generate(ScenarioConfig(seed=0) if region == "default"
                        else ScenarioConfig.small(seed=0))
    print(f"scenario ({region}): {len(scenario.book.records):,} reports, "
          f"{time.perf_counter() - t:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger(Database.open(f"sqlite:///{tmp}/record.sqlite"))
        t = time.perf_counter()
        scenario.write(Path(tmp) / "scn")
        accepted = []
        for path in sorted((Path(tmp) / "scn" / "reports").glob("*.geojson")):
            try:
                records = read_records(path)
            except ValidationError:              # a report type the region has none of
                continue
            accepted += ledger.submit(records, user="records.officer", source=path.name).accepted
        ledger.approve(accepted, user="ops.chief")
        print(f"record: {len(accepted):,} reports approved, {time.perf_counter() - t:.1f} s")
        years = Counter(r["date_of_information"][:4] for r in scenario.book.records)
        year = int(max(years, key=lambda y: years[y]))
        t = time.perf_counter()
        rep = treaty.build(ledger, year)
        built = time.perf_counter() - t
        t = time.perf_counter()
        html = treaty.render_html(rep)
        rendered = time.perf_counter() - t
        t = time.perf_counter()
        treaty.write_workbook(rep, Path(tmp) / "a.xlsx")
        book = time.perf_counter() - t
        t = time.perf_counter()
        pdf = html_to_pdf(html, Path(tmp) / "a.pdf")
        printed = time.perf_counter() - t
        print(f"year {year}: Form C {len(rep.form_c):,} areas, Form F {len(rep.form_f_release):,}"
              f" release rows, Form I {len(rep.form_i):,} rows")
        print(f"build {built:.2f} s, HTML {rendered:.2f} s ({len(html) / 1e3:,.0f} kB), "
              f"xlsx {book:.2f} s, PDF {printed:.2f} s ({pdf.stat().st_size / 1e3:,.0f} kB)")


if __name__ == "__main__":
    main()
