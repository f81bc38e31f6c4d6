"""``make demo``: the whole system on an embedded SQLite record.

1. Generate the default Karabakh-like scenario (``safeground.scenario``): ~10,000 km², 320
   settlements, ~700,000 displaced, hidden contamination and the field reports it produces.
2. Take every report file in through the gate as the records officer, and approve them as the
   operations chief (a different person) — the normal report path.
3. Print the programme status now and as known three months after the ceasefire; export the
   hazardous areas.
4. Fit the contamination risk model on the record's evidence known at the start of operations
   (with the scenario's context layers), map the risk surface (a Cloud-Optimised GeoTIFF) and
   rank the hazardous areas.
5. Plan two years of survey and clearance from the record and the risk ranking: a dated plan
   (team x area x week) as CSV and GeoPackage, with a Gantt chart and a returns chart.
6. Write the programme report for government and donors (HTML and Excel), with the plan's
   outlook year by year.
7. Unless ``--no-serve``, serve the web app on http://127.0.0.1:8000/ with the demo users
   (one per role, passwords made at random and printed; added before step 2, which acts as
   two of them).

``--example`` loads the small built-in example programme instead of the scenario.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from safeground import example
from safeground.cli_boundary import print_status
from safeground.errors import ValidationError
from safeground.record.exchange import read_records, to_geojson, write_reports
from safeground.record.ledger import Ledger
from safeground.record.storage import Database
from safeground.record.summary import status
from safeground.record.vocabulary import ReportStatus, ReportType
from safeground.reports import programme
from safeground.settings import Settings


def _scenario_files(workdir: Path, seed: int, console: Console) -> list[Path]:
    from safeground.scenario import ScenarioConfig, generate

    with console.status(f"Generating the default scenario (seed {seed})..."):
        scenario = generate(ScenarioConfig(seed=seed))
        scenario.write(workdir / "scenario")
    cal = scenario.calibration()
    console.print(f"Scenario: {cal.get('area_km2', 0):,.0f} km², "
                  f"{cal.get('settlements', 0):,} settlements, "
                  f"{cal.get('displaced_population', 0):,} displaced, "
                  f"{cal.get('hazardous_areas', 0):,} hazardous areas reported, "
                  f"{cal.get('released_km2', 0):,.1f} km² released by the first months' "
                  f"operations; hidden truth in {workdir / 'scenario' / 'truth'}")
    return sorted((workdir / "scenario" / "reports").glob("*.geojson"))


def take_in(ledger: Ledger, files: list[Path], user: str, console: Console) -> tuple[int, int]:
    """Submit report files through the gate, with a progress bar. Returns (accepted, rejected)."""
    accepted = rejected = 0
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("Taking reports in", total=len(files))
        for path in files:
            try:
                records = read_records(path)
            except ValidationError as exc:  # an empty file (no land released yet) is no failure
                if exc.code != "FILE_EMPTY":
                    raise
                progress.advance(task)
                continue
            res = ledger.submit(records, user=user, source=path.name)
            accepted += len(res.accepted)
            rejected += len(res.rejected)
            progress.advance(task)
    return accepted, rejected


def run(workdir: Path, console: Console, *, use_example: bool = False, seed: int = 1,
        serve: bool = False) -> Ledger:
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = workdir / "record.sqlite"
    for p in workdir.glob("record.sqlite*"):
        p.unlink()
    settings = Settings.from_env(database_url=f"sqlite:///{db_path}")
    ledger = Ledger(Database.open(settings.database_url), settings)
    if use_example:
        console.rule("Safeground demo: the example programme")
        files = [write_reports(example.records(), workdir / "example-reports.geojson")]
        past = dt.date(2021, 3, 1)
    else:
        console.rule("Safeground demo: a post-conflict region")
        files = _scenario_files(workdir, seed, console)
        past = dt.date(2021, 2, 10)
    from safeground.record.users import Permission
    from safeground.web.demo import add_demo_users, serve_demo, sign_in

    accounts = add_demo_users(ledger, console)
    officer = sign_in(ledger, "records.officer", accounts["records.officer"], Permission.SUBMIT)
    chief = sign_in(ledger, "ops.chief", accounts["ops.chief"], Permission.DECIDE)
    accepted, rejected = take_in(ledger, files, officer, console)
    console.print(f"Submitted {accepted:,} reports as {officer}; {rejected:,} rejected at "
                  "the gate with coded reasons (kept in the record)")
    pending = [r.id for r in ledger.reports(status=ReportStatus.SUBMITTED)]
    with console.status("Approving and deriving the record..."):
        approved = ledger.approve(pending, user=chief)
    console.print(f"Approved {len(approved.approved):,} as {chief} "
                  f"({len(approved.refused):,} refused by the land release rules)")
    print_status(status(ledger), console)
    print_status(status(ledger, past), console)
    out = workdir / "hazardous_areas.geojson"
    out.write_text(json.dumps(to_geojson(ledger.objects(ReportType.HAZARDOUS_AREA),
                                         ReportType.HAZARDOUS_AREA), default=str))
    console.print(f"Record: {db_path}   Hazardous areas exported to {out}")
    if not use_example:
        risk = _risk(workdir, settings.database_url, console)
        _plan(ledger, workdir, risk, console)
    html = workdir / "programme-report.html"              # for government and donors
    rep = programme.write(ledger, html,
                          dt.date(2021, 1, 1) if use_example else dt.date(2020, 11, 10),
                          dt.date.today(), xlsx=workdir / "programme-report.xlsx",
                          plan=None if use_example else workdir / "plan")  # with its outlook
    console.print(f"{programme.headline(rep)}; written to {html} and .xlsx")
    if serve:
        serve_demo(ledger, workdir, accounts, console)
    return ledger


START = dt.date(2021, 4, 1)


def _risk(workdir: Path, database_url: str, console: Console) -> dict[str, float]:
    """Fit on the record's approved evidence (with the scenario's context layers), map and
    rank; return area id -> mean probability."""
    from safeground.planning.record import risk_from_ranking
    from safeground.risk import cli as risk_cli

    console.rule("Risk model")
    models = workdir / "risk-model"
    risk_cli.fit(model_dir=models, db=database_url, context=workdir / "scenario" / "context",
                 as_of=START.isoformat(), horizon_years=0.25)
    risk_cli.map_(model_dir=models, out=workdir / "risk.tif", resolution=100.0)
    ranking = workdir / "area-risk.csv"
    risk_cli.rank(model_dir=models, out=ranking)
    return risk_from_ranking(ranking)


def _plan(ledger: Ledger, workdir: Path, risk: dict[str, float], console: Console) -> None:
    from safeground.planning.explain import record_provenance
    from safeground.planning.heuristic import plan_heuristic
    from safeground.planning.outputs import write_all, write_forecast
    from safeground.planning.productivity import measured_rates
    from safeground.planning.record import context_in, instance_from_record
    from safeground.planning.uncertainty import forecast

    console.rule("Plan: two years of survey and clearance")
    rates = measured_rates(ledger)
    console.print("Team rates (m² a working day; measured from the record's completed "
                  "activities, else the config's): " + ", ".join(
                      f"{r.asset} {r.used_m2_per_day:,.0f} ({r.source}, {r.activities} "
                      f"activities)" for r in rates.values()))
    inst = instance_from_record(ledger, start=START, horizon_weeks=104, risk=risk,
                                context=context_in(workdir))
    with console.status(f"Planning {len(inst.areas):,} areas, {len(inst.settlements):,} "
                        f"settlements, {len(inst.teams):,} teams..."):
        plan = plan_heuristic(inst, seconds=10.0)
    ranking = workdir / "area-risk.csv"
    files = write_all(plan, workdir / "plan", provenance=record_provenance(
        ledger, ranking if risk and ranking.is_file() else None))
    with console.status("Forecasting completion (100 Monte Carlo runs of the plan)..."):
        fc = forecast(plan, runs=100)
    files["forecast"] = write_forecast(fc, workdir / "plan" / "forecast.csv")
    summary = plan.summary()
    console.print(f"People able to return within two years: "
                  f"{summary['people_returned_in_horizon']:,.0f} "
                  f"({summary['settlements_returned_in_horizon']:,} settlements), of whom "
                  f"{summary['people_free_at_start']:,.0f} in settlements no hazardous area "
                  f"blocks and "
                  f"{summary['people_returned_in_horizon'] - summary['people_free_at_start']:,.0f}"
                  f" thanks to the plan; "
                  f"{summary['m2_released_in_horizon'] / 1e6:,.1f} km² released; "
                  f"expected casualties avoided: {summary['expected_casualties_avoided']:.1f}")
    console.print("Completion of the whole task with the recorded fleet, P10 / P50 / P90: "
                  + " / ".join(str(fc.completion_date[q]) for q in ("P10", "P50", "P90")))
    console.print("Plan files: " + ", ".join(str(p) for p in files.values()))
