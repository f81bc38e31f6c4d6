"""``safeground risk ...``: fit, evaluate, score, map, explain and rank.

Two kinds of input, both read in place:

- a grid CSV of the RELand schema (``--grid``): fit on one file, score any other of the schema;
- dated events (``--events``): a directory of Colombia's yearly event files, report GeoJSON
  files, or a scenario output directory (its ``context/`` is used too); fit up to ``--as-of``,
  then map risk over any extent.

Library errors become a coded message and exit code 2 here, at the boundary.
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Annotated, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from safeground.cli_boundary import friendly
from safeground.record.cells import safe_frame
from safeground.risk import forecast, reland, sources, store
from safeground.risk.errors import invalid
from safeground.risk.grid import Grid

app = typer.Typer(help="Evidence-based contamination risk model: fit, evaluate, score, map, "
                       "explain.", no_args_is_help=True)
console = Console()

KindOpt = Annotated[str, typer.Option("--kind", help="logistic, lightgbm or both")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed of the fit")]
BiasOpt = Annotated[bool, typer.Option("--bias-correction/--no-bias-correction",
                                       help="Weight background by survey effort (roads)")]
NegativesOpt = Annotated[str, typer.Option(
    "--negatives", help="Negatives from the land released by the fit date without evidence: "
    "none (the default), searched (cleared or reduced by technical survey) or released (also "
    "land cancelled by non-technical survey, at half weight)")]
ReleasedFeaturesOpt = Annotated[bool | None, typer.Option(
    "--released-features/--no-released-features",
    help="Share of each cell released by the feature date (cleared, TS-reduced, NTS-cancelled) "
    "as features (default: FeatureConfig's)")]
AdjustOpt = Annotated[bool, typer.Option(
    "--release-adjustment/--no-release-adjustment",
    help="After the model, scale each cell's probability by its unreleased share plus a "
    "residual for cleared and TS-reduced ground (maps, ranks, explanations)")]
ResidualOpt = Annotated[float, typer.Option(
    "--released-residual", help="Residual probability assumed for cleared and TS-reduced "
    "ground (the release adjustment's assumption)")]


def _adjustment(on: bool, residual: float) -> Any:
    from safeground.risk.release import ReleaseAdjustment

    return ReleaseAdjustment(cleared=residual, reduced=residual) if on else None


def _meta_adjustment(meta: dict[str, Any]) -> Any:
    """The fit's release adjustment; models saved before it existed get the default."""
    from safeground.risk.release import ReleaseAdjustment

    if "release_adjustment" not in meta:
        return ReleaseAdjustment()
    return ReleaseAdjustment.from_dict(meta["release_adjustment"])


def _kinds(kind: str) -> tuple[str, ...]:
    if kind == "both":
        return ("logistic", "lightgbm")
    if kind not in ("logistic", "lightgbm"):
        raise invalid("RISK_MODEL_KIND", value=kind, expected="logistic, lightgbm, both")
    return (kind,)


def _table(df: pd.DataFrame, title: str) -> Table:
    t = Table(title=title)
    t.add_column("scorer")
    cols = [c for c in ("roc_auc", "pr_auc", "top5", "top10", "top20", "folds") if c in df]
    for c in cols:
        t.add_column(c, justify="right")
    for name, row in df.iterrows():
        t.add_row(str(name), *(f"{row[c]:.3f}" if c != "folds" else f"{int(row[c])}"
                               for c in cols))
    return t


def _extent(text: str) -> tuple[float, float, float, float]:
    try:
        parts = tuple(float(v) for v in text.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 4 or not (parts[0] < parts[2] and parts[1] < parts[3]):
        raise invalid("RISK_EXTENT", value=text)
    return parts  # type: ignore[return-value]


# --- fit --------------------------------------------------------------------------------------

@app.command()
@friendly
def fit(model_dir: Annotated[Path, typer.Option("--model-dir", help="Where to save the fit")],
        grid: Annotated[Path | None, typer.Option("--grid", help="Grid CSV (RELand schema)")]
        = None,
        events: Annotated[Path | None, typer.Option(
            "--events", help="Event files directory, report GeoJSON or scenario directory")]
        = None,
        context: Annotated[Path | None, typer.Option(
            "--context", help="Context layers directory (default: the scenario's)")] = None,
        db: Annotated[str | None, typer.Option(
            "--db", help="Learn from a Safeground record database (URL): its approved "
            "accidents, finds, evidence and hazardous areas; use with --context")] = None,
        as_of: Annotated[str | None, typer.Option(
            "--as-of", help="Fit on events known up to this date (YYYY-MM-DD)")] = None,
        horizon_years: Annotated[float, typer.Option(
            "--horizon-years", help="Positives: events of this many years before --as-of")]
        = 3.0,
        step: Annotated[float | None, typer.Option("--step", help="Grid step in metres")] = None,
        prior_share: Annotated[float | None, typer.Option(
            "--prior-share", help="Share of suspected land truly contaminated (calibration "
            "prior; default 0.03)")] = None,
        negatives: NegativesOpt = forecast.DEFAULT_NEGATIVES,
        released_features: ReleasedFeaturesOpt = None,
        release_adjustment: AdjustOpt = True,
        released_residual: ResidualOpt = 0.001,
        kind: KindOpt = "both", seed: SeedOpt = 0, bias_correction: BiasOpt = True) -> None:
    """Fit the models (seeded) and save them with their metadata in --model-dir."""
    kinds = _kinds(kind)
    adjustment = _adjustment(release_adjustment, released_residual)
    if grid is not None:
        df = reland.load_grid(grid)
        df, _ = reland.with_known_density(df)
        labels = df[reland.LABEL].to_numpy().astype(int)
        groups = df[reland.GROUP].astype(str).to_numpy() if reland.GROUP in df else None
        models = {k: reland.fit_kind(k, df, labels, groups, seed,
                                     bias_correction=bias_correction) for k in kinds}
        pos = df[labels == 1]
        meta = {"source": {"format": "grid", "path": str(grid)},
                "data_sha256": store.data_sha256([grid]), "seed": seed,
                "known_positives": {"lat": pos[reland.LAT].round(6).tolist(),
                                    "lon": pos[reland.LON].round(6).tolist()}}
    elif events is not None or db is not None:
        if as_of is None:
            raise invalid("FIELD_REQUIRED", field="--as-of")
        src = sources.detect(db if db is not None else events, context)
        study = _with_released_features(
            replace(sources.build_study(src, as_of, step),
                    negatives=forecast.check_negatives(negatives)), released_features)
        if prior_share is not None:
            if not 0 < prior_share < 1:
                raise invalid("RISK_PRIOR_SHARE", value=prior_share)
            study = replace(study, prior_share=prior_share)
        with console.status("building features and fitting..."):
            models = forecast.fit(study, as_of, horizon_years, kinds, seed, bias_correction)
        meta = {"source": src.to_dict(), "as_of": as_of, "horizon_years": horizon_years,
                "step_m": study.grid.step, "extent": list(study.grid.bounds),
                "feature_config": _feature_config(study), "negatives": negatives,
                "released_land": _released_summary(study, as_of),
                "release_adjustment": adjustment.to_dict() if adjustment else None,
                "data_sha256": src.fingerprint(), "seed": seed}
    else:
        raise invalid("FIELD_REQUIRED", field="--grid, --events or --db")
    path = store.save(model_dir, models, meta)
    for k, m in models.items():
        console.print(f"{k}: {m.train_summary_}")
    console.print(f"saved {path}")


def _with_released_features(study: forecast.Study, on: bool | None) -> forecast.Study:
    if on is None:
        return study
    return replace(study, features=replace(study.features, released_features=on))


def _released_summary(study: forecast.Study, as_of: str) -> dict[str, Any]:
    """Where the released land came from and how much of it (km² by kind) the fit date saw."""
    from safeground.risk.features import released_by_kind

    rel = study.released
    by_kind = released_by_kind(rel, as_of)
    return {"records": 0 if rel is None else len(rel),
            "km2_by_as_of": {k: round(float(g.area) / 1e6, 4) for k, g in by_kind.items()}}


def _feature_config(study: forecast.Study) -> dict[str, Any]:
    cfg = asdict(study.features)
    if cfg.get("field_step_m") is None:
        cfg["field_step_m"] = max(study.grid.step, 100.0)
    return cfg


# --- evaluate ---------------------------------------------------------------------------------

@app.command()
@friendly
def evaluate(grid: Annotated[Path | None, typer.Option(
                 "--grid", help="Grid CSV: leave one group (municipality) out")] = None,
             group_column: Annotated[str, typer.Option("--group-column")] = reland.GROUP,
             events: Annotated[Path | None, typer.Option(
                 "--events", help="Events: forward in time")] = None,
             context: Annotated[Path | None, typer.Option("--context")] = None,
             db: Annotated[str | None, typer.Option(
                 "--db", help="Events from a Safeground record database (URL): forward in "
                 "time")] = None,
             train_until: Annotated[str | None, typer.Option(
                 "--train-until", help="Fit on evidence up to this date")] = None,
             test_until: Annotated[str | None, typer.Option(
                 "--test-until", help="Score the events up to this date")] = None,
             horizon_years: Annotated[float | None, typer.Option(
                 "--horizon-years", help="Positives window before the fit date "
                 "(default: 3 years; 0.25 for a twin)")] = None,
             step: Annotated[float | None, typer.Option("--step")] = None,
             twin: Annotated[Path | None, typer.Option(
                 "--twin", help="Scenario directory: score against its hidden truth")] = None,
             negatives: NegativesOpt = forecast.DEFAULT_NEGATIVES,
             released_features: ReleasedFeaturesOpt = None,
             release_adjustment: AdjustOpt = True,
             released_residual: ResidualOpt = 0.001,
             kind: KindOpt = "both", seed: SeedOpt = 0, bias_correction: BiasOpt = True,
             json_out: Annotated[Path | None, typer.Option("--json", help="Write metrics")]
             = None,
             model_dir: Annotated[Path | None, typer.Option(
                 "--model-dir", help="Also record the metrics in this model's model.json")]
             = None) -> None:
    """Evaluate on spatial (leave one group out) or forward-in-time hold-outs, with baselines."""
    kinds = _kinds(kind)
    if grid is not None:
        df = reland.load_grid(grid)
        n = df[group_column].nunique()
        with Progress(console=console, transient=True) as prog:
            task = prog.add_task("leave one group out", total=n)
            board = reland.evaluate_leave_one_group_out(
                df, kinds, seed, group_column, bias_correction,
                progress=lambda name: prog.update(task, advance=1, description=name))
        title = f"leave one {group_column} out (mean over folds)"
    elif twin is not None:
        from safeground.risk import twin as tw

        with console.status("fitting on the observable record..."):
            board, _ = tw.evaluate(twin, step_m=step or 100.0, kinds=kinds, seed=seed,
                                   bias_correction=bias_correction,
                                   horizon_years=horizon_years or 0.25, negatives=negatives,
                                   released_features=released_features,
                                   adjustment=_adjustment(release_adjustment,
                                                          released_residual))
        title = f"scenario twin {twin}: cells with true items vs empty cells"
    elif events is not None or db is not None:
        if not (train_until and test_until):
            raise invalid("FIELD_REQUIRED", field="--train-until and --test-until")
        src = sources.detect(db if db is not None else events, context)
        study = _with_released_features(
            replace(sources.build_study(src, train_until, step),
                    negatives=forecast.check_negatives(negatives)), released_features)
        with console.status("fitting and scoring forward in time..."):
            board, _ = forecast.evaluate(study, train_until, test_until, horizon_years or 3.0,
                                         kinds, seed, bias_correction)
        title = f"forward in time: fit to {train_until}, events to {test_until}"
    else:
        raise invalid("FIELD_REQUIRED", field="--grid, --events, --db or --twin")
    summary = board.summary()
    console.print(_table(summary, title))
    if model_dir:
        store.write_metrics(model_dir, {"evaluation": title, "date": _now(),
                                        "summary": summary.to_dict(orient="index")})
    if json_out:
        json_out.write_text(json.dumps({
            "summary": store._jsonable(summary.to_dict(orient="index")),
            "pooled": store._jsonable(board.pooled_summary().to_dict(orient="index")),
            "folds": store._jsonable(board.frame().to_dict(orient="records"))}, indent=2),
            encoding="utf-8")


# --- score ------------------------------------------------------------------------------------

@app.command()
@friendly
def score(model_dir: Annotated[Path, typer.Option("--model-dir")],
          grid: Annotated[Path, typer.Option("--grid", help="Grid CSV to score")],
          out: Annotated[Path, typer.Option("--out", help="CSV to write")],
          kind: Annotated[str, typer.Option("--kind")] = "lightgbm") -> None:
    """Write a calibrated probability (and raw score) per row of a grid CSV."""
    models, meta = store.load(model_dir)
    model = _pick(models, kind)
    df = reland.load_grid(grid, require_label=False)
    known = meta.get("known_positives")
    if known and reland.KNOWN_DENSITY in model.features:
        ref = pd.DataFrame({reland.LAT: known["lat"], reland.LON: known["lon"]})
        ref[reland.LABEL] = 1
        df = df.assign(**{reland.KNOWN_DENSITY: reland.density_baseline(
            reland.metric_xy(ref), np.ones(len(ref), bool), reland.metric_xy(df))})
    res = pd.DataFrame({reland.LAT: df[reland.LAT], reland.LON: df[reland.LON],
                        "probability": model.predict(df), "score": model.decision(df)})
    if reland.GROUP in df:
        res.insert(2, reland.GROUP, df[reland.GROUP])
    safe_frame(res).to_csv(out, index=False)
    console.print(f"wrote {len(res)} rows to {out}")


def _pick(models: dict[str, Any], kind: str) -> Any:
    if kind not in models:
        raise invalid("RISK_MODEL_KIND", value=kind, expected=", ".join(models))
    return models[kind]


def _study_from_meta(meta: dict[str, Any]) -> forecast.Study:
    from safeground.risk.features import FeatureConfig

    if meta.get("source", {}).get("format") not in ("colombia", "reports", "record"):
        raise invalid("RISK_MODEL_DIR", value=str(meta.get("source")),
                      reason="only event-based models can map")
    src = sources.EventSource.from_dict(meta["source"])
    cfg = {k: tuple(v) if isinstance(v, list) else v for k, v in meta["feature_config"].items()}
    study = forecast.Study(grid=Grid.from_bounds(tuple(meta["extent"]), meta["step_m"],
                                                         src.crs),
                           events=src.load_events(), context=src.load_context(),
                           features=FeatureConfig(**cfg), released=sources.released_land(src))
    if src.format == "colombia":
        study = replace(study, frontline_proxy="dist_find_km")
    return study


# --- map --------------------------------------------------------------------------------------

@app.command("map")
@friendly
def map_(model_dir: Annotated[Path, typer.Option("--model-dir")],
         out: Annotated[Path, typer.Option("--out", help="Cloud-Optimised GeoTIFF to write")],
         resolution: Annotated[float, typer.Option("--resolution", help="Cell size, metres")]
         = 100.0,
         extent: Annotated[str | None, typer.Option(
             "--extent", help="minx,miny,maxx,maxy in the model CRS (default: the fit's)")]
         = None,
         as_of: Annotated[str | None, typer.Option(
             "--as-of", help="Evidence date (default: the fit's)")] = None,
         kind: Annotated[str, typer.Option("--kind")] = "lightgbm",
         scheduler: Annotated[str | None, typer.Option(
             "--scheduler", help="'local' (default), 'sync' or a Dask scheduler address")]
         = None,
         window: Annotated[int, typer.Option("--window", help="Window size in cells")] = 1024,
         ) -> None:
    """Write the risk surface as a Cloud-Optimised GeoTIFF, window by window on Dask."""
    from safeground.risk.surface import compute_surface

    parsed = _extent(extent) if extent else None
    models, meta = store.load(model_dir)
    model = _pick(models, kind)
    study = _study_from_meta(meta)
    bounds = parsed or tuple(meta["extent"])
    grid = Grid.from_bounds(bounds, resolution, study.grid.crs)
    date = as_of or meta["as_of"]
    with console.status(f"features for {grid.n_cells:,} cells as of {date}..."):
        builder = sources.study_on(study, grid).builder(date)
    with Progress(console=console, transient=True) as prog:
        task = prog.add_task("risk surface", total=None)
        res = compute_surface(builder, model, out, window_size=window, scheduler=scheduler,
                              progress=lambda i, n: prog.update(task, completed=i, total=n),
                              adjustment=_meta_adjustment(meta))
    console.print(f"wrote {res.path}: {res.cells:,} cells in {res.seconds:.1f} s "
                  f"({res.cells_per_second:,.0f} cells/s); COG valid: {res.cog_valid}")


# --- explain and rank -------------------------------------------------------------------------

def _areas_and_evidence(meta: dict[str, Any], areas: Path | None,
                        evidence: Path | None) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    if meta.get("source", {}).get("format") == "record" and areas is None and evidence is None:
        return sources.record_areas_and_evidence(sources.EventSource.from_dict(meta["source"]))
    reports = Path(meta.get("source", {}).get("events", "."))
    areas = areas or next(iter(sorted(reports.glob("*hazardous_area*.geojson"))), None)
    if areas is None:
        raise invalid("FIELD_REQUIRED", field="--areas")
    a = gpd.read_file(areas)
    ev_files = [evidence] if evidence else sorted(
        p for p in reports.glob("*.geojson") if any(k in p.stem for k in ("evidence",
                                                                          "accident",
                                                                          "ordnance")))
    frames = []
    for f in ev_files:
        g = gpd.read_file(f)
        if "report_type" in g and "category" not in g:
            g["category"] = g["report_type"]
        if "report_type" in g:
            g.loc[g["report_type"] == "ordnance", "category"] = "find"
            g.loc[g["report_type"] == "accident", "category"] = "accident"
        frames.append(g)
    e = (gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)
         if frames else gpd.GeoDataFrame({"category": []}, geometry=[], crs=a.crs))
    return a, e


@app.command()
@friendly
def rank(model_dir: Annotated[Path, typer.Option("--model-dir")],
         areas: Annotated[Path | None, typer.Option(
             "--areas", help="Hazardous areas (default: the fit's hazardous_area reports)")]
         = None,
         evidence: Annotated[Path | None, typer.Option("--evidence")] = None,
         rules: Annotated[Path | None, typer.Option("--rules", help="Evidence rule set (TOML)")]
         = None,
         resolution: Annotated[float | None, typer.Option("--resolution")] = None,
         kind: Annotated[str, typer.Option("--kind")] = "lightgbm",
         id_column: Annotated[str, typer.Option("--id-column")] = "object_id",
         out: Annotated[Path | None, typer.Option("--out", help="CSV to write")] = None) -> None:
    """Rank hazardous areas by expected contamination; propose SHA or CHA from the evidence."""
    table = _rank(model_dir, areas, evidence, rules, resolution, kind, id_column)
    show = table[[id_column, "rank", "expected_contaminated_m2", "mean_probability",
                  "proposed", "score"]]
    console.print(show.head(30).to_string(index=False))
    if out:
        safe_frame(table.assign(raising=table["raising"].map(json.dumps),
                                lowering=table["lowering"].map(json.dumps),
                                drivers=table["drivers"].map(json.dumps))).to_csv(out,
                                                                                 index=False)
        console.print(f"wrote {len(table)} areas to {out}")


def _rank(model_dir: Path, areas: Path | None, evidence: Path | None, rules: Path | None,
          resolution: float | None, kind: str, id_column: str) -> pd.DataFrame:
    from safeground.risk.areas import area_risk
    from safeground.risk.classification import EvidenceRules, classify

    models, meta = store.load(model_dir)
    model = _pick(models, kind)
    study = _study_from_meta(meta)
    a, e = _areas_and_evidence(meta, areas, evidence)
    a, e = a.to_crs(study.grid.crs), e.to_crs(study.grid.crs)
    grid = Grid.from_bounds(tuple(meta["extent"]), resolution or meta["step_m"], study.grid.crs)
    builder = sources.study_on(study, grid).builder(meta["as_of"])
    risk = area_risk(a, builder, model, id_column=id_column, adjustment=_meta_adjustment(meta))
    prob = dict(zip(risk[id_column], risk["mean_probability"], strict=True))
    cls = classify(a, e, EvidenceRules.load(rules), id_column=id_column, probability=prob)
    return risk.merge(cls, on=id_column, how="left")


@app.command()
@friendly
def explain(area: Annotated[str, typer.Argument(help="Hazardous area id")],
            model_dir: Annotated[Path, typer.Option("--model-dir")],
            areas: Annotated[Path | None, typer.Option("--areas")] = None,
            evidence: Annotated[Path | None, typer.Option("--evidence")] = None,
            rules: Annotated[Path | None, typer.Option("--rules")] = None,
            kind: Annotated[str, typer.Option("--kind")] = "lightgbm",
            id_column: Annotated[str, typer.Option("--id-column")] = "object_id") -> None:
    """Why an area scores as it does: top factors, expected contamination, SHA/CHA proposal."""
    table = _rank(model_dir, areas, evidence, rules, None, kind, id_column)
    row = table[table[id_column] == area]
    if row.empty:
        raise invalid("RISK_AREA_UNKNOWN", value=area)
    r = row.iloc[0]
    console.print(f"[bold]{area}[/]: rank {r['rank']} of {len(table)}, mean probability "
                  f"{r['mean_probability']:.3f}, expected contaminated area "
                  f"{r['expected_contaminated_m2']:,.0f} m² of {r['area_m2']:,.0f} m²")
    for label, key in (("raises risk", "raising"), ("lowers risk", "lowering")):
        for f in r[key]:
            console.print(f"  {label}: {f['feature']} = {f['value']:.3g} "
                          f"({f['log_odds']:+.3f} log-odds)")
    console.print(f"proposed: [bold]{r['proposed']}[/] (score {r['score']:.2f})")
    for d in r["drivers"][:8]:
        console.print(f"  {d['evidence']}: {d['category']} ({d['reliability']}) "
                      f"+{d['points']:.2f}")


def _now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@app.command()
@friendly
def propose(ranking: Annotated[Path, typer.Argument(help="The ranking `risk rank --out` wrote "
                                                          "(area-risk.csv)")],
            db: Annotated[str | None, typer.Option("--db", help="Database URL (default: "
                                                   "SAFEGROUND_DATABASE_URL)")] = None,
            user: Annotated[str | None, typer.Option(
                "--user", help="Who acts (an approver); or SAFEGROUND_TOKEN")] = None) -> None:
    """Bring the ranking's SHA / CHA proposals that differ from the record into the review
    queue as draft reports, for an approver to accept or reject (docs/web.md)."""
    from safeground.cli_boundary import acting_user, ledger_from, permission
    from safeground.record import audit
    from safeground.risk.proposals import PROPOSER, bring_in

    ledger = ledger_from(db)
    who = acting_user(ledger.db, user, permission("decide"), "risk propose")
    out = bring_in(ledger, ranking)
    audit.record(ledger.db, who.name, "classification_proposals", ranking.name,
                 {"submitted": len(out.submitted), "skipped": out.skipped,
                  "submitted_as": PROPOSER})
    console.print(f"{len(out.submitted)} classification proposals in the review queue "
                  f"(submitted as {PROPOSER}); {out.skipped} skipped (agreeing with the "
                  "record, closed or unknown areas, or brought in already); "
                  f"{len(out.rejected)} refused at the gate")
