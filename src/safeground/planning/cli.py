"""``safeground plan``: make a plan, compare policies, forecast completion.

Thin commands over the planning functions; a ``SafegroundError`` becomes a coded message and
exit code 2 here, at the boundary.

    safeground plan make --synthetic 40 --horizon-weeks 26 --out plans/
    safeground plan make --areas areas.gpkg --settlements s.csv --teams teams.csv --out plans/
    safeground plan compare --synthetic 40 --milp
    safeground plan compare --twin --seeds 20 --years 5
    safeground plan forecast --synthetic 200 --runs 200 --what-if
    safeground plan priorities --db sqlite:///record.sqlite --context context/ --out ranks/
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from safeground.cli_boundary import friendly
from safeground.errors import ConfigError
from safeground.planning.config import load_config
from safeground.planning.instance import Instance, build_instance
from safeground.planning.synthetic import synthetic_instance

app = typer.Typer(help="Plan land release: which land first so the most people go home "
                       "safely soonest.", no_args_is_help=True)
console = Console()

Synthetic = Annotated[int | None, typer.Option(
    "--synthetic", help="Plan a seeded synthetic programme of this many areas instead of files")]
Seed = Annotated[int, typer.Option("--seed", help="Seed of the synthetic programme")]
Areas = Annotated[Path | None, typer.Option("--areas", help="Hazardous areas (CSV, GeoPackage, "
                                            "GeoJSON; metric CRS)")]
Settlements = Annotated[Path | None, typer.Option("--settlements", help="Settlements file")]
Teams = Annotated[Path | None, typer.Option("--teams", help="Teams file")]
Horizon = Annotated[int, typer.Option("--horizon-weeks", help="Planning horizon in weeks")]
Start = Annotated[str, typer.Option("--start", help="First day of the plan (YYYY-MM-DD)")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="Planning settings (TOML/JSON) "
                                                "laid over the defaults")]
Seconds = Annotated[float, typer.Option("--seconds", help="Local search time of the heuristic")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]
DbOpt = Annotated[str | None, typer.Option(
    "--db", help="Plan from a Safeground record database (URL): its open hazardous areas, "
                 "settlements and teams, as known today")]
RiskOpt = Annotated[Path | None, typer.Option(
    "--risk", help="With --db: a ranking from 'safeground risk rank --out' (each area's "
                   "mean_probability)")]
ContextOpt = Annotated[Path | None, typer.Option(
    "--context", help="With --db: context layers (as for 'safeground risk fit --context'); "
                      "their roads and settlements' radius_m decide which areas each "
                      "settlement waits on, their reconstruction layer the funded projects")]


def _table(path: Path | None) -> list[dict] | Any:
    if path is None:
        return []
    if not path.exists():
        raise ConfigError(f"file not found: {path}", code="PLAN_INSTANCE_INVALID")
    if path.suffix.lower() == ".csv":
        import pandas as pd

        return pd.read_csv(path)
    import geopandas as gpd

    return gpd.read_file(path, engine="pyogrio")


def _day(start: str) -> dt.date:
    try:
        return dt.date.fromisoformat(start)
    except ValueError as exc:
        raise ConfigError(f"--start '{start}' is not a date (YYYY-MM-DD)",
                          code="PLAN_CONFIG_INVALID") from exc


def _instance(synthetic: int | None, seed: int, areas: Path | None, settlements: Path | None,
              teams: Path | None, horizon: int, start: str, config: Path | None,
              budget: float | None = None, capacity: float | None = None) -> Instance:
    day = _day(start)
    cfg = load_config(config)
    if synthetic is not None:
        return synthetic_instance(synthetic, max(3, synthetic // 5),
                                  4 if synthetic <= 60 else max(4, synthetic // 50),
                                  horizon, seed, start=day, monthly_budget=budget,
                                  monthly_capacity_team_days=capacity, config=cfg)
    if areas is None or teams is None:
        raise ConfigError("give --areas and --teams (and --settlements), or --synthetic N",
                          code="PLAN_INSTANCE_INVALID")
    return build_instance(_table(areas), _table(settlements), _table(teams),
                          horizon_weeks=horizon, start=day, monthly_budget=budget,
                          monthly_capacity_team_days=capacity, config=cfg)


def _source(synthetic: int | None, seed: int, areas: Path | None, settlements: Path | None,
            teams: Path | None, horizon: int, start: str, config: Path | None,
            db: str | None, risk: Path | None, context: Path | None) -> Instance:
    """The instance a command works on: the record (``--db``, with ``--risk`` and
    ``--context``), else files or a synthetic programme."""
    if db is None:
        if risk is not None or context is not None:
            raise ConfigError("--risk and --context go with --db", code="PLAN_CONFIG_INVALID")
        return _instance(synthetic, seed, areas, settlements, teams, horizon, start, config)
    if synthetic is not None or areas is not None:
        raise ConfigError("--db plans the record: leave out --synthetic and --areas",
                          code="PLAN_CONFIG_INVALID")
    from safeground.cli_boundary import ledger_from
    from safeground.planning.record import instance_from_record, risk_from_ranking

    return instance_from_record(ledger_from(db), start=_day(start), horizon_weeks=horizon,
                                risk=risk_from_ranking(risk) if risk else None,
                                context=context, config=load_config(config))


def _print(rows: list[dict], title: str, as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps(rows, default=str))
        return
    table = Table(title=title)
    for key in rows[0] if rows else []:
        table.add_column(str(key))
    for r in rows:
        table.add_row(*[f"{v:,.3f}".rstrip("0").rstrip(".") if isinstance(v, float) else str(v)
                        for v in r.values()])
    console.print(table)


@app.command("make")
@friendly
def make(synthetic: Synthetic = None, seed: Seed = 0, areas: Areas = None,
         settlements: Settlements = None, teams: Teams = None, horizon_weeks: Horizon = 26,
         start: Start = "2021-04-01", config: ConfigOpt = None, seconds: Seconds = 5.0,
         method: Annotated[str, typer.Option(
             "--method", help="heuristic (greedy + local search), greedy or milp")] = "heuristic",
         time_limit: Annotated[float, typer.Option("--time-limit",
                                                   help="MILP time limit, s")] = 60.0,
         monthly_budget: Annotated[float | None, typer.Option(
             "--monthly-budget", help="US$ a month across all teams")] = None,
         monthly_capacity: Annotated[float | None, typer.Option(
             "--monthly-capacity", help="team-days a month across all teams")] = None,
         out: Annotated[Path, typer.Option("--out", help="Output folder")] = Path("plan"),
         scenario: Annotated[bool, typer.Option(
             "--scenario", help="Plan the generated default scenario (seed --seed) from what "
                                "its record knows")] = False,
         db: DbOpt = None, risk: RiskOpt = None, context: ContextOpt = None,
         previous: Annotated[Path | None, typer.Option(
             "--previous", help="Re-plan: the last plan.csv; work in progress on --start and "
                                "due within --freeze-weeks stays with its team")] = None,
         freeze_weeks: Annotated[int, typer.Option(
             "--freeze-weeks", help="With --previous: weeks of planned work held")] = 2,
         forecast_runs: Annotated[int, typer.Option(
             "--forecast-runs", help="Also write forecast.csv: P10 / P50 / P90 completion "
                                     "from this many Monte Carlo runs of the plan")] = 0,
         as_json: JsonOpt = False) -> None:
    """Make a dated plan (team x area x week) and write CSV, GeoPackage and charts."""
    from safeground.planning.heuristic import plan_heuristic

    if db is not None or previous is not None:
        if method != "heuristic" or synthetic is not None or areas is not None or scenario:
            raise ConfigError("--db / --previous plan the record with the heuristic: leave out "
                              "--method, --synthetic, --areas and --scenario",
                              code="PLAN_CONFIG_INVALID")
        _replan_record(db, risk, context, previous, freeze_weeks, horizon_weeks, start, config,
                       seconds, monthly_budget, monthly_capacity, out, forecast_runs, as_json)
        return

    if scenario:
        from safeground.planning.evaluation import plan_scenario
        from safeground.scenario import ScenarioConfig, generate

        plan = plan_scenario(generate(ScenarioConfig(seed=seed)),
                             start=dt.date.fromisoformat(start), horizon_weeks=horizon_weeks,
                             seconds=seconds)
        _report(plan, _write(plan, out, forecast_runs), as_json)
        return
    inst = _instance(synthetic, seed, areas, settlements, teams, horizon_weeks, start, config,
                     monthly_budget, monthly_capacity)
    if method not in ("heuristic", "greedy", "milp"):
        raise ConfigError(f"--method '{method}' is not one of heuristic, greedy, milp",
                          code="PLAN_CONFIG_INVALID")
    with _working(f"Planning {len(inst.areas):,} areas with {len(inst.teams):,} teams "
                  f"({method})..."):
        if method == "milp":
            from safeground.planning.milp import plan_milp

            plan = plan_milp(inst, time_limit=time_limit,
                             start=plan_heuristic(inst, seconds=min(seconds, 5.0)))
        else:
            plan = plan_heuristic(inst, seconds=seconds, local=method == "heuristic")
        files = _write(plan, out, forecast_runs)
    _report(plan, files, as_json)


def _replan_record(db: str | None, risk: Path | None, context: Path | None,
                   previous: Path | None,
                   freeze_weeks: int, horizon: int, start: str, config: Path | None,
                   seconds: float, budget: float | None, capacity: float | None, out: Path,
                   forecast_runs: int, as_json: bool) -> None:
    """Plan (or re-plan, holding work in progress) from the record as known on ``start``."""
    from safeground.cli_boundary import ledger_from
    from safeground.planning.explain import record_provenance
    from safeground.planning.record import risk_from_ranking
    from safeground.planning.replan import replan_from_record

    with _working("Planning from the record..."):
        ledger = ledger_from(db)
        r = replan_from_record(ledger, start=_day(start), horizon_weeks=horizon,
                               previous=previous,
                               risk=risk_from_ranking(risk) if risk else None,
                               context=context, freeze_weeks=freeze_weeks, seconds=seconds,
                               config=load_config(config), monthly_budget=budget,
                               monthly_capacity_team_days=capacity)
        files = _write(r.plan, out, forecast_runs, record_provenance(ledger, risk))
    extra = {}
    if previous is not None:
        extra = {"tasks_held_from_previous_plan": len(r.kept),
                 "teams_whose_next_task_changed": ", ".join(r.changed_teams) or "none"}
    _report(r.plan, files, as_json, extra)


def _write(plan: Any, out: Path, forecast_runs: int,
           provenance: dict[str, Any] | None = None) -> dict[str, Path]:
    """The plan's files, and ``forecast.csv`` when ``forecast_runs`` > 0."""
    from safeground.planning.outputs import write_all, write_forecast
    from safeground.planning.uncertainty import forecast

    files = write_all(plan, out, provenance=provenance)
    if forecast_runs > 0:
        files["forecast"] = write_forecast(forecast(plan, runs=forecast_runs), out / "forecast.csv")
    return files


def _report(plan: Any, files: dict[str, Path], as_json: bool,
            extra: dict[str, Any] | None = None) -> None:
    summary = {"method": plan.method, **plan.summary(), **(extra or {}),
               **{f"file_{k}": str(v) for k, v in files.items()}}
    if as_json:
        _print([summary], "Plan", True)
    else:
        _print([{"figure": k, "value": v} for k, v in summary.items()], "Plan", False)


@app.command("priorities")
@friendly
def priorities_cmd(synthetic: Synthetic = None, seed: Seed = 0, areas: Areas = None,
                   settlements: Settlements = None, teams: Teams = None,
                   start: Start = "2021-04-01", config: ConfigOpt = None,
                   db: DbOpt = None, risk: RiskOpt = None, context: ContextOpt = None,
                   top: Annotated[int, typer.Option("--top", help="Rows to print")] = 20,
                   out: Annotated[Path | None, typer.Option(
                       "--out", help="Folder for priorities_areas.csv and "
                                     "priorities_settlements.csv (every row)")] = None,
                   as_json: JsonOpt = False) -> None:
    """The authority's priority scores (its published criteria, the weights of the config's
    priorities), per hazardous area and per settlement, with each criterion's points."""
    from safeground.planning.priority import area_frame, settlement_frame, write_priorities

    inst = _source(synthetic, seed, areas, settlements, teams, 1, start, config, db, risk,
                   context)
    files = write_priorities(inst, out) if out is not None else {}
    areas_df, sett_df = area_frame(inst), settlement_frame(inst)
    if as_json:
        console.print_json(json.dumps({
            "areas": areas_df.head(top).to_dict("records"),
            "settlements": sett_df.head(top).to_dict("records"),
            **{f"file_{k}": str(v) for k, v in files.items()}}, default=str))
        return
    points = [c for c in areas_df.columns if c.startswith("points_")]
    rows = [{"rank": r["rank"], "area": r["area_id"], "score": r["score"],
             "class": r["classification"], "land use": r["land_use"],
             "points by criterion": " · ".join(f"{c[7:]} {r[c]:.1f}" for c in points if r[c])}
            for r in areas_df.head(top).to_dict("records")]
    _print(rows, f"Hazardous areas by priority (top {len(rows)} of {len(areas_df)})", False)
    rows = [{"rank": r["rank"], "settlement": r["name"] or r["settlement_id"],
             "score": r["score"], "displaced": r["displaced_population"],
             "people points": r["points_displaced_people"],
             "access areas": r["access_areas"],
             "their mean score": r["mean_access_area_score"]}
            for r in sett_df.head(top).to_dict("records")]
    _print(rows, f"Settlements by priority (top {len(rows)} of {len(sett_df)})", False)
    for k, v in files.items():
        console.print(f"{k}: {v}")


@app.command("rates")
@friendly
def rates_cmd(db: Annotated[str | None, typer.Option(
                  "--db", help="Database URL of the record (default: the configured one)")]
              = None, config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Each team asset's rate as the record's completed activities show it, and the rate plans
    from the record use (the config's where fewer than its record_min_activities)."""
    from safeground.cli_boundary import ledger_from
    from safeground.planning.productivity import measured_rates

    rates = measured_rates(ledger_from(db), config=load_config(config))
    rows = [r.row() for r in rates.values()]
    if as_json:
        console.print_json(json.dumps(rows))
        return
    _print([{"asset": r["asset"], "activities": r["activities"], "teams": r["teams"],
             "worked km²": f"{r['worked_m2'] / 1e6:,.2f}", "team-days": f"{r['team_days']:,.1f}",
             "measured m²/day": "-" if r["measured_m2_per_day"] is None
             else f"{r['measured_m2_per_day']:,.0f}",
             "config m²/day": f"{r['config_m2_per_day']:,.0f}",
             "plans use": f"{r['used_m2_per_day']:,.0f} ({r['source']})"} for r in rows],
           "Team rates: measured from the record's completed activities", False)


@app.command("compare")
@friendly
def compare(synthetic: Synthetic = None, seed: Seed = 0, areas: Areas = None,
            settlements: Settlements = None, teams: Teams = None, horizon_weeks: Horizon = 26,
            start: Start = "2021-04-01", config: ConfigOpt = None, seconds: Seconds = 5.0,
            milp: Annotated[bool, typer.Option("--milp", help="Also solve the MILP")] = False,
            time_limit: Annotated[float, typer.Option("--time-limit")] = 60.0,
            twin: Annotated[bool, typer.Option(
                "--twin", help="Run the policies on the operations twin instead")] = False,
            seeds: Annotated[int, typer.Option("--seeds", help="Twin seeds")] = 20,
            first_seed: Annotated[int, typer.Option(
                "--first-seed", help="First twin seed (to split the seeds across processes)")]
            = 0,
            years: Annotated[int, typer.Option("--years", help="Twin years")] = 5,
            period_weeks: Annotated[int, typer.Option("--period-weeks",
                                                      help="Re-planning period")] = 13,
            policies: Annotated[str, typer.Option(
                "--policies", help="Comma-separated policies")] =
            "weighted_score,tuned_ranking,nearest_first,greedy,optimised",
            out: Annotated[Path | None, typer.Option("--out", help="Write runs as JSON lines")]
            = None,
            runs_in: Annotated[list[Path] | None, typer.Option(
                "--runs", help="Summarise twin runs written by --out (repeatable) instead of "
                               "running the twin")] = None,
            as_json: JsonOpt = False) -> None:
    """Compare planners on one instance, or policies on the operations twin."""
    if runs_in:
        from safeground.planning.evaluation import runs_from_jsonl

        _twin_tables(runs_from_jsonl(runs_in), as_json)
        return
    from safeground.planning import policies as pol

    for name in policies.split(","):
        if name not in pol.POLICIES:
            raise ConfigError(f"unknown policy '{name}' (expected {', '.join(pol.POLICIES)})",
                              code="PLAN_CONFIG_INVALID")
    if twin:
        _compare_twin(range(first_seed, first_seed + seeds), years, period_weeks, seconds,
                      policies.split(","), out, as_json)
        return
    from safeground.planning.heuristic import plan_heuristic
    from safeground.planning.model import Prepared

    inst = _instance(synthetic, seed, areas, settlements, teams, horizon_weeks, start, config)
    # the heuristic and policies all start from the same prepared instance
    prep = Prepared(inst)
    rows = []
    for name in policies.split(","):
        o = pol.plan_policy(inst, name, seconds, prep).outcome
        rows.append({"planner": name, "objective_person_weeks": round(o.objective, 1),
                     "people_returned_in_horizon": o.people_returned_by(prep, prep.horizon)})
    if milp:
        from safeground.planning.milp import plan_milp

        m = plan_milp(inst, time_limit=time_limit, start=plan_heuristic(inst, seconds=seconds))
        rows.append({"planner": f"milp ({m.status}, {m.seconds:.0f} s, bound "
                                f"{m.bound:,.0f})",
                     "objective_person_weeks": round(m.objective, 1),
                     "people_returned_in_horizon": m.outcome.people_returned_by(
                         prep, prep.horizon)})
    _print(rows, "Planners on one instance (expected person-weeks in the horizon)", as_json)


def _compare_twin(seeds: range, years: int, period_weeks: int, seconds: float,
                  policies: list[str], out: Path | None, as_json: bool) -> None:
    from safeground.planning.evaluation import run_policy
    from safeground.scenario import ScenarioConfig, generate

    runs = []
    with _progress() as prog:
        job = prog.add_task("Generating the default scenario", total=len(seeds) * len(policies))
        scenario = generate(ScenarioConfig(seed=0))
        for s in seeds:
            for name in policies:
                prog.update(job, description=f"Twin seed {s}: {name}")
                r = run_policy(scenario, name, seed=s, years=years, period_weeks=period_weeks,
                               seconds=seconds)
                runs.append(r)
                prog.advance(job)
                if out is not None:
                    with out.open("a", encoding="utf-8") as f:
                        f.write(json.dumps(r.as_dict()) + "\n")
    _twin_tables(runs, as_json)


def _working(what: str) -> Any:
    """A spinner on standard error while a plan is made (standard output stays clean)."""
    return Console(stderr=True).status(what)


def _progress() -> Progress:
    """A progress bar on standard error (standard output stays clean for --json)."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=Console(stderr=True), transient=True)


def _twin_tables(runs: list, as_json: bool) -> None:
    """Mean and sd per policy, then each policy paired by seed with today's practice, and the
    optimised plan with the tuned ranking."""
    from safeground.planning.evaluation import SUMMARY_FIGURES, paired, summarise

    rows = summarise(runs)
    if as_json:
        _print(rows, "Policies on the operations twin (mean and sd over seeds)", True)
    else:   # one column per policy, one row per figure: readable in a terminal
        table = Table(title="Policies on the operations twin (mean ± sd over seeds)")
        table.add_column("figure")
        for r in rows:
            table.add_column(f"{r['policy']} ({r['runs']} runs)", justify="right")
        labels = {"share_cleared_with_eo": "share of cleared m² that held EO (25 m cells)",
                  "share_cleared_areas_with_eo": "share of cleared land in areas with EO"}
        for key in SUMMARY_FIGURES:
            fmt = "{:,.3f}" if key.startswith("share") else "{:,.0f}"
            table.add_row(labels.get(key, key),
                          *[f"{fmt.format(r[key + '_mean'])} ± {fmt.format(r[key + '_sd'])}"
                            if key + "_mean" in r else "-" for r in rows])
        table.add_row("runs completing the region",
                      *[str(r["completed_runs"]) for r in rows])
        console.print(table)
    names = list(dict.fromkeys(r.policy for r in runs))
    for base in ("weighted_score", "tuned_ranking"):
        if base not in names:
            continue
        for name in names:
            if name != base and (base == "weighted_score" or name == "optimised"):
                _print(paired(runs, base, name),
                       f"{name} against {base}, paired by seed (difference {name} − {base}, "
                       "95 % bootstrap interval)", as_json)


@app.command("forecast")
@friendly
def forecast_cmd(synthetic: Synthetic = None, seed: Seed = 0, areas: Areas = None,
                 settlements: Settlements = None, teams: Teams = None,
                 horizon_weeks: Horizon = 26, start: Start = "2021-04-01",
                 config: ConfigOpt = None, seconds: Seconds = 2.0,
                 runs: Annotated[int, typer.Option("--runs", help="Monte Carlo runs")] = 200,
                 what_if: Annotated[bool, typer.Option(
                     "--what-if", help="Also forecast more teams, dogs, machines, better NTS")]
                 = False,
                 db: DbOpt = None, risk: RiskOpt = None, context: ContextOpt = None,
                 replan: Annotated[str, typer.Option(
                     "--replan", help="Also forecast with re-planning as outcomes unfold: "
                                      "quarterly (every 13 weeks) or monthly (every 4), "
                                      "beside the plan followed as made")] = "none",
                 replan_runs: Annotated[int, typer.Option(
                     "--replan-runs", help="With --replan: Monte Carlo runs (each makes a "
                                           "plan every period)")] = 20,
                 years: Annotated[int, typer.Option(
                     "--years", help="With --replan: years each run goes on")] = 5,
                 as_json: JsonOpt = False,
                 scheduler: Annotated[str | None, typer.Option(
                     "--scheduler", help="A Dask scheduler address (tcp://host:8786) to run "
                     "the Monte Carlo runs on its workers (default: here); the results are "
                     "the same")] = None) -> None:
    """Monte Carlo completion forecast (P10 / P50 / P90) and what-if scenarios."""
    from safeground.planning.heuristic import plan_heuristic
    from safeground.planning.uncertainty import forecast
    from safeground.planning.uncertainty import what_if as what_if_fn

    periods = {"none": 0, "quarterly": 13, "monthly": 4}
    if replan not in periods:
        raise ConfigError(f"--replan '{replan}' is not one of none, quarterly, monthly",
                          code="PLAN_CONFIG_INVALID")
    if years < 1 or replan_runs < 1:
        raise ConfigError("--years and --replan-runs must be at least 1",
                          code="PLAN_CONFIG_INVALID")
    inst = _source(synthetic, seed, areas, settlements, teams, horizon_weeks, start, config,
                   db, risk, context)
    if what_if:
        with _progress() as prog:
            job = prog.add_task("What if", total=5)
            rows = what_if_fn(inst, runs=runs, seed=seed, seconds=seconds,
                              scheduler=scheduler,
                              on_variant=lambda name: (prog.update(job, description=name),
                                                       prog.advance(job)))
        _print(rows, "What if", as_json)
        return
    plan = plan_heuristic(inst, seconds=seconds, seed=seed)
    f = forecast(plan, runs=runs, seed=seed, scheduler=scheduler)
    if not periods[replan]:
        rows = f.rows()
        _print(rows, f"Forecast over {runs} runs (share of cleared land with EO "
                     f"{f.share_cleared_with_eo:.1%})", as_json)
        return
    from safeground.planning.uncertainty import forecast_replanning

    n_periods = -(-52 * years // periods[replan])
    with _progress() as prog:
        job = prog.add_task(f"Re-planning {replan}", total=replan_runs * n_periods)
        g = forecast_replanning(inst, runs=replan_runs, seed=seed,
                                period_weeks=periods[replan], years=years, seconds=seconds,
                                iterations=None, on_period=lambda r, p: prog.advance(job))
    rows = side_by_side(f, g, inst.start, years)
    _print(rows, f"Forecast: the plan followed as made ({runs} runs) and re-planned {replan} "
                 f"({replan_runs} runs over {years} years); share of cleared land with EO "
                 f"{f.share_cleared_with_eo:.1%} and {g.share_cleared_with_eo:.1%}", as_json)


def side_by_side(fixed: Any, replanned: Any, start: dt.date, years: int) -> list[dict]:
    """One row per quantile: completion and people able to return by each year, for the plan
    followed as made and re-planned (completion beyond the re-planned runs' years: 'after'
    their end)."""
    end = start + dt.timedelta(weeks=52 * years)
    rows = []
    for q in ("P10", "P50", "P90"):
        again = replanned.completion_date[q]
        row = {"quantile": q, "completion (plan as made)": fixed.completion_date[q],
               "completion (re-planned)": again or f"after {end.isoformat()}"}
        for y, v in fixed.people_returned.items():
            row[f"people year {y} (plan as made)"] = v[q]
            if y in replanned.people_returned:
                row[f"people year {y} (re-planned)"] = replanned.people_returned[y][q]
        rows.append(row)
    return rows
