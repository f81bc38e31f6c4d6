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

from safeground.cli_boundary import DbOpt, UserOpt, friendly
from safeground.record.cells import safe_frame
from safeground.risk import forecast, reland, sources, store
from safeground.risk.errors import invalid
from safeground.risk.grid import Grid

app = typer.Typer(help="Evidence-based contamination risk model: fit, evaluate, score, map, "
                       "explain.", no_args_is_help=True)
console = Console()

KindOpt = Annotated[str, typer.Option(
    "--kind", help="Model kinds, comma-separated: lightgbm (the default configuration), "
    "logistic, alone (LightGBM without pooling), pooled (LightGBM pooled with the logistic "
    "model), plain (LightGBM's own settings), inner-cv (grids: alone or pooled, chosen by "
    "inner cross-validation); both = logistic,lightgbm")]
PoolOpt = Annotated[bool, typer.Option(
    "--pool/--no-pool", help="--no-pool: LightGBM is never pooled with the logistic model")]
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


def _kinds(kind: str, grid: bool = True) -> tuple[str, ...]:
    """The kinds of ``--kind`` (comma-separated; ``both``: logistic and lightgbm), checked
    against the kinds of the input (grid or events). Raises ValidationError (RISK_MODEL_KIND)."""
    allowed = reland.KINDS if grid else forecast.KINDS
    out: list[str] = []
    for k in (p.strip() for p in kind.split(",")):
        for name in (("logistic", "lightgbm") if k == "both" else (k,)):
            if name not in allowed:
                raise invalid("RISK_MODEL_KIND", value=name,
                              expected=", ".join((*allowed, "both")))
            if name not in out:
                out.append(name)
    return tuple(out)


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
        kind: KindOpt = "both", seed: SeedOpt = 0, bias_correction: BiasOpt = True,
        pool: PoolOpt = True) -> None:
    """Fit the models (seeded) and save them with their metadata in --model-dir."""
    kinds = _kinds(kind, grid is not None)
    adjustment = _adjustment(release_adjustment, released_residual)
    if grid is not None:
        df = reland.load_grid(grid)
        df, _ = reland.with_known_density(df)
        labels = df[reland.LABEL].to_numpy().astype(int)
        groups = df[reland.GROUP].astype(str).to_numpy() if reland.GROUP in df else None
        models = {k: reland.fit_kind(k, df, labels, groups, seed,
                                     bias_correction=bias_correction, pool=pool)
                  for k in kinds}
        pos = df[labels == 1]
        meta = {"source": {"format": "grid", "path": str(grid)},
                "data_sha256": store.data_sha256([grid]), "seed": seed, "pool": pool,
                "kinds": {k: reland.resolve_kind(k, pool) for k in kinds},
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
            models = forecast.fit(study, as_of, horizon_years, kinds, seed, bias_correction,
                                  pool)
        meta = {"pool": pool, "source": src.to_dict(), "as_of": as_of,
                "horizon_years": horizon_years,
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
        if m.train_summary_.get("missing_values"):
            console.print(f"  {k}: missing values stand in for the training median (logistic) "
                          "or take LightGBM's missing-value branch: "
                          f"{m.train_summary_['missing_values']}")
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
             split: Annotated[str | None, typer.Option(
                 "--split", help="With --grid: compare every model variant with plain "
                 "LightGBM and the baselines on municipality, block, region or transfer "
                 "hold-outs")] = None,
             split_dir: Annotated[Path | None, typer.Option(
                 "--split-dir", help="Folder of the block / transfer fold lists (default: a "
                 "train_val_stream folder near the grid)")] = None,
             test_grid: Annotated[Path | None, typer.Option(
                 "--test-grid", help="With --split transfer: fit on --grid, score this file "
                 "(another department)")] = None,
             origins: Annotated[str | None, typer.Option(
                 "--origins", help="With --events: compare every model variant forward in "
                 "time from these fit years, e.g. 2004,2006:2012,2008:2012 (YEAR:END; END "
                 "defaults to YEAR+4)")] = None,
             variants: Annotated[str | None, typer.Option(
                 "--variants", help="With --split/--origins: only the variants whose names "
                 "hold one of these comma-separated words (default: all)")] = None,
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
    """Evaluate on spatial (leave one group out) or forward-in-time hold-outs, with baselines.

    With --split (grid) or --origins (events): every model variant against plain LightGBM and
    the two baselines, mean over folds and a paired bootstrap interval of the difference."""
    if (grid is not None and split) or (events is not None and origins):
        _compare(grid, split, split_dir, test_grid, events, origins, variants, step,
                 horizon_years, seed, json_out)
        return
    kinds = _kinds(kind, grid is not None)
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


def _compare(grid: Path | None, split: str | None, split_dir: Path | None,
             test_grid: Path | None, events: Path | None, origins: str | None,
             wanted: str | None, step: float | None, horizon_years: float | None, seed: int,
             json_out: Path | None) -> None:
    from safeground.risk import transfer

    if grid is not None:
        if split not in transfer.GRID_SPLITS:
            raise invalid("RISK_SPLIT", value=split,
                          reason="expected " + ", ".join(transfer.GRID_SPLITS))
        df = reland.load_grid(grid)
        chosen = transfer.pick(transfer.grid_variants(), wanted)
        test = None
        if split == "transfer" and test_grid is not None:
            test = reland.load_grid(test_grid)
            folds: list = []
            title = f"transfer: fit on {grid.name}, score {test_grid.name}"
        else:
            folds = transfer.grid_folds(df, split, split_dir or transfer.find_split_dir(grid))
            title = f"{split} hold-outs of {grid.name} ({len(folds)} folds)"
        with Progress(console=console, transient=True) as prog:
            task = prog.add_task(split, total=len(folds) or 1)
            comp = transfer.evaluate_grid(
                df, folds, chosen, seed, title, test=test,
                progress=lambda n: prog.update(task, advance=1, description=n[:40]))
    else:
        years = transfer.parse_origins(origins or "")
        chosen = transfer.pick(transfer.event_variants(), wanted)
        title = (f"forward in time from {', '.join(str(a) for a, _ in years)} "
                 f"({(step or 1000.0):g} m cells)")
        with console.status("building features and fitting...") as status:
            comp = transfer.evaluate_events(
                transfer.event_folds(events, years, step or 1000.0, horizon_years or 3.0),
                chosen, seed, title, progress=lambda n: status.update(n))
    table = comp.table()
    wide = Console(width=max(console.width, 190))
    wide.print(_comparison_table(table, title, events is not None))
    if json_out:
        json_out.write_text(json.dumps({
            "title": title, "reference": transfer.REFERENCE,
            "summary": store._jsonable(table.to_dict(orient="index")),
            "folds": store._jsonable(comp.frame().to_dict(orient="records"))}, indent=2),
            encoding="utf-8")


def _comparison_table(df: pd.DataFrame, title: str, forward: bool) -> Table:
    t = Table(title=title + " — differences: variant minus plain LightGBM, mean [95 % paired "
              "bootstrap over folds]")
    t.add_column("variant")
    for c in ("ROC-AUC", "PR-AUC", "top 10 %", "top 20 %", "Δ ROC-AUC", "Δ top 20 %"):
        t.add_column(c, justify="right")
    if forward:
        t.add_column("Δ top 10 %", justify="right")
    t.add_column("folds", justify="right")

    def delta(row: pd.Series, m: str) -> str:
        if not np.isfinite(row[f"d_{m}"]):
            return "-"
        return f"{row[f'd_{m}']:+.3f} [{row[f'd_{m}_lo']:+.3f}, {row[f'd_{m}_hi']:+.3f}]"

    for name, row in df.iterrows():
        cells = [f"{row[m]:.3f}" for m in ("roc_auc", "pr_auc", "top10", "top20")]
        cells += [delta(row, "roc_auc"), delta(row, "top20")]
        if forward:
            cells.append(delta(row, "top10"))
        t.add_row(str(name), *cells, f"{int(row['folds'])}")
    return t


# --- score ------------------------------------------------------------------------------------

@app.command()
@friendly
def score(model_dir: Annotated[Path, typer.Option("--model-dir")],
          grid: Annotated[Path, typer.Option("--grid", help="Grid CSV to score")],
          out: Annotated[Path, typer.Option("--out", help="CSV to write")],
          kind: Annotated[str | None, typer.Option(
              "--kind", help="Which fitted model (default: lightgbm, else the only one)")]
          = None) -> None:
    """Write a calibrated probability and the raw score (which orders every row) per row of a
    grid CSV. One-hot class columns the file lacks count as 0, other numeric columns it lacks
    or leaves empty are imputed; both are said and recorded in the model directory."""
    models, meta = store.load(model_dir)
    name, model = _pick(models, kind)
    df = reland.load_grid(grid, require_label=False)
    known = meta.get("known_positives")
    if known and reland.KNOWN_DENSITY in model.features:
        ref = pd.DataFrame({reland.LAT: known["lat"], reland.LON: known["lon"]})
        ref[reland.LABEL] = 1
        df = df.assign(**{reland.KNOWN_DENSITY: reland.density_baseline(
            reland.metric_xy(ref), np.ones(len(ref), bool), reland.metric_xy(df))})
    gaps = model.missing_columns(df.columns)
    present = [f for f in model.features if f in df.columns]
    empty = {f: int(n) for f, n in df[present].isna().sum().items() if n}
    res = pd.DataFrame({reland.LAT: df[reland.LAT], reland.LON: df[reland.LON],
                        "probability": model.predict(df), "score": model.decision(df)})
    if reland.GROUP in df:
        res.insert(2, reland.GROUP, df[reland.GROUP])
    safe_frame(res).to_csv(out, index=False)
    if gaps["zero"]:
        console.print(f"{len(gaps['zero'])} one-hot columns not in the file, counted as 0: "
                      + ", ".join(gaps["zero"]))
    if gaps["imputed"]:
        console.print(f"{len(gaps['imputed'])} columns not in the file, imputed with the "
                      "training median: " + ", ".join(
                          f"{f}={model.fill_[f]:.4g}" for f in gaps["imputed"]))
    if empty:
        how = ("the training mean" if model.config.kind == "logistic"
               else "LightGBM's missing-value branch")
        console.print("missing values (rows) imputed with " + how + ": "
                      + ", ".join(f"{f} ({n})" for f, n in empty.items()))
    store.append_record(model_dir, "scored", {
        "date": _now(), "file": grid.name, "rows": len(res), "model": name,
        "zero_filled": gaps["zero"], "imputed": {f: model.fill_[f] for f in gaps["imputed"]},
        "missing_values": empty})
    console.print(f"wrote {len(res)} rows to {out}")


def _pick(models: dict[str, Any], kind: str | None) -> tuple[str, Any]:
    if kind is None:
        kind = "lightgbm" if "lightgbm" in models or len(models) != 1 else next(iter(models))
    if kind not in models:
        raise invalid("RISK_MODEL_KIND", value=kind, expected=", ".join(models))
    return kind, models[kind]


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
         resolution: Annotated[float, typer.Option(
             "--resolution", help="Cell size, metres (in a geographic --crs: degrees of "
             "resolution / 111,320)")] = 100.0,
         extent: Annotated[str | None, typer.Option(
             "--extent", help="minx,miny,maxx,maxy in --extent-crs (default: the fit's)")]
         = None,
         crs: Annotated[str | None, typer.Option(
             "--crs", help="CRS of the map, e.g. EPSG:4326 (default: the fit's)")] = None,
         extent_crs: Annotated[str | None, typer.Option(
             "--extent-crs", help="CRS of --extent (default: --crs, else the fit's)")] = None,
         as_of: Annotated[str | None, typer.Option(
             "--as-of", help="Evidence date (default: the fit's)")] = None,
         kind: Annotated[str | None, typer.Option("--kind")] = None,
         score_band: Annotated[bool, typer.Option(
             "--score-band/--no-score-band", help="Second band: the model's score (log-odds), "
             "which orders every cell even where probabilities are equal")] = True,
         scheduler: Annotated[str | None, typer.Option(
             "--scheduler", help="'local' (default), 'sync' or a Dask scheduler address")]
         = None,
         window: Annotated[int, typer.Option("--window", help="Window size in cells")] = 1024,
         ) -> None:
    """Write the risk surface as a Cloud-Optimised GeoTIFF, window by window on Dask: band 1
    the probability, band 2 the score."""
    from pyproj import CRS

    from safeground.risk.surface import compute_surface, warp_cog

    parsed = _extent(extent) if extent else None
    models, meta = store.load(model_dir)
    _, model = _pick(models, kind)
    study = _study_from_meta(meta)
    model_crs = study.grid.crs
    target = _crs(crs) if crs else model_crs
    reproject = not CRS.from_user_input(target).equals(CRS.from_user_input(model_crs))
    if parsed is None:
        parsed, from_crs = tuple(meta["extent"]), model_crs
    else:
        from_crs = _crs(extent_crs) if extent_crs else target
    target_bounds = _to_crs(parsed, from_crs, target)
    bounds = _to_crs(target_bounds, target, model_crs) if reproject else target_bounds
    grid = Grid.from_bounds(bounds, resolution, model_crs)
    date = as_of or meta["as_of"]
    with console.status(f"features for {grid.n_cells:,} cells as of {date}..."):
        builder = sources.study_on(study, grid).builder(date)
    work = out.with_name(out.stem + ".model-crs.tif") if reproject else out
    with Progress(console=console, transient=True) as prog:
        task = prog.add_task("risk surface", total=None)
        res = compute_surface(builder, model, work, window_size=window, scheduler=scheduler,
                              progress=lambda i, n: prog.update(task, completed=i, total=n),
                              adjustment=_meta_adjustment(meta), score_band=score_band)
    valid = res.cog_valid
    if reproject:
        step = resolution
        if CRS.from_user_input(target).is_geographic:
            step = resolution / 111_320.0
        try:
            valid, _ = warp_cog(work, out, target, target_bounds, step)
        finally:
            work.unlink(missing_ok=True)
    console.print(f"wrote {out} ({target}): {res.cells:,} cells in {res.seconds:.1f} s "
                  f"({res.cells_per_second:,.0f} cells/s); COG valid: {valid}")


def _crs(text: str) -> str:
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        return CRS.from_user_input(text).to_string()
    except CRSError:
        raise invalid("RISK_CRS", value=text) from None


def _to_crs(bounds: tuple[float, float, float, float], src: str,
            dst: str) -> tuple[float, float, float, float]:
    from pyproj import CRS
    from rasterio.warp import transform_bounds

    if CRS.from_user_input(src).equals(CRS.from_user_input(dst)):
        return bounds
    out = transform_bounds(src, dst, *bounds, densify_pts=21)
    if not all(np.isfinite(out)):
        raise invalid("RISK_EXTENT", value=",".join(str(b) for b in bounds))
    return out  # type: ignore[return-value]


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
         kind: Annotated[str | None, typer.Option("--kind")] = None,
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
          resolution: float | None, kind: str | None, id_column: str) -> pd.DataFrame:
    from safeground.risk.areas import area_risk
    from safeground.risk.classification import EvidenceRules, classify

    models, meta = store.load(model_dir)
    _, model = _pick(models, kind)
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
            kind: Annotated[str | None, typer.Option("--kind")] = None,
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
            db: DbOpt = None, user: UserOpt = None) -> None:
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
