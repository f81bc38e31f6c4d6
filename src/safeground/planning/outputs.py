"""Plans written out: CSV and GeoPackage tables, a Gantt-style chart, a returns-over-time chart.

The GeoPackage holds one layer ``plan_areas`` (one feature per area: its polygon when the
instance carries one, else its centroid; with the team, activity and weeks planned) and one
layer ``settlement_returns`` (settlement points with the planned return date and what gates
it). Coordinates are the instance's metric CRS (EPSG:32638, UTM 38N, unless told). The same two
tables, without geometry, are written as ``plan_areas.csv`` and ``plan_settlements.csv`` (the
web app's plan tables read these). Both carry the authority's priority score (``priority.py``)
with its rank and, per area, the points each criterion gave, so the plan can be read beside
today's ranking and the ranking audited.
"""

from __future__ import annotations

import datetime as dt
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from shapely.geometry import Point

from safeground.i18n import DEFAULT, N_, _, languages, use
from safeground.planning.config import STAGES
from safeground.planning.plan import Plan
from safeground.planning.priority import area_frame, settlement_scores
from safeground.planning.uncertainty import Forecast
from safeground.record.cells import safe_frame

COLOURS = {"nts": "#4c78a8", "ts": "#f58518", "clearance": "#e45756"}
#: the activities' names in the charts' legends (translated when drawn)
ACTIVITIES = {"nts": N_("non-technical survey"), "ts": N_("technical survey"),
              "clearance": N_("clearance")}


def write_csv(plan: Plan, path: str | Path) -> Path:
    """The weekly plan: team_id, area_id, activity, week, week_start, days."""
    path = Path(path)
    safe_frame(plan.to_frame()).to_csv(path, index=False)
    return path


def area_table(plan: Plan) -> pd.DataFrame:
    """One row per area: classification, the teams and activities planned within the
    horizon, first and last week, the date work starts, expected release date (empty when not
    within the horizon: work the heuristic books after it only completes the picture), and its
    priority rank, score and points per criterion (``points_<criterion>``, as
    ``safeground plan priorities`` writes them)."""
    inst = plan.prepared.instance
    scores = area_frame(inst).set_index("area_id")
    points = [c for c in scores.columns if c.startswith("points_")]
    df = plan.to_frame()
    df = df[df.week < plan.prepared.horizon]      # work booked after the horizon is not planned
    rows = []
    grouped = dict(tuple(df.groupby("area_id"))) if not df.empty else {}
    for i, a in enumerate(inst.areas):
        g = grouped.get(a.id)
        wk = plan.outcome.area_release_week[i]
        rows.append({
            "area_id": a.id, "classification": a.classification,
            "remaining_m2": a.remaining_m2,
            "teams": ",".join(sorted(set(g.team_id))) if g is not None else "",
            "activities": ",".join(s for s in STAGES if g is not None and s in set(g.activity)),
            "first_week": int(g.week.min()) if g is not None else None,
            "last_week": int(g.week.max()) if g is not None else None,
            "start_date": (inst.start + timedelta(days=7 * int(g.week.min()))
                           if g is not None else None),
            "release_date": plan.date_of_week(wk) if wk < plan.prepared.horizon else None,
            "priority_rank": int(scores.at[a.id, "rank"]),
            "priority_score": float(scores.at[a.id, "score"]),
            **{c: float(scores.at[a.id, c]) for c in points},
            "geometry": a.geometry if a.geometry is not None else Point(a.x, a.y),
        })
    return pd.DataFrame(rows)


def settlement_table(plan: Plan) -> pd.DataFrame:
    """One row per settlement, earliest planned return first: its displaced people, how many
    the plan counts as able to return (the config's return share), its access areas, how many
    of them the plan releases within its horizon, the access area released last (the one the
    return waits for), and the week and date the plan lets its people return (empty when not
    within the plan; a settlement with no hazardous access area can return from the start), and
    its priority rank and score."""
    p = plan.prepared
    inst = p.instance
    scores = {s.id: s for s in settlement_scores(inst)}
    o = plan.outcome
    h = p.horizon
    area_ids = [a.id for a in inst.areas]
    rows = []
    for j, s in enumerate(inst.settlements):
        ar = p.settlement_areas[j]
        weeks = o.area_release_week[ar]
        done = weeks < h
        wk = float(o.settlement_return_week[j])
        within = wk < h
        last = ar[int(np.argmax(weeks))] if len(ar) and within else None
        rows.append({
            "settlement_id": s.id, "name": s.name,
            "displaced_population": int(s.displaced_population),
            "people_able_to_return": float(p.settlement_people[j]),
            "access_areas": len(ar),
            "access_areas_released": int(done.sum()),
            "last_access_area_id": area_ids[int(last)] if last is not None else "",
            "return_week": int(wk) if within else None,
            "return_date": plan.date_of_week(wk) if within else None,
            "priority_rank": scores[s.id].rank, "priority_score": scores[s.id].score,
        })
    df = pd.DataFrame(rows, columns=["settlement_id", "name", "displaced_population",
                                     "people_able_to_return", "access_areas",
                                     "access_areas_released", "last_access_area_id",
                                     "return_week", "return_date", "priority_rank",
                                     "priority_score"])
    df["return_week"] = df["return_week"].astype("Int64")
    order = np.lexsort((-df["displaced_population"].to_numpy(),
                        df["return_week"].fillna(np.iinfo(np.int64).max).to_numpy()))
    return df.iloc[order].reset_index(drop=True)


def write_tables(plan: Plan, out_dir: str | Path, prefix: str = "plan") -> dict[str, Path]:
    """``<prefix>_areas.csv`` (area_table without geometry) and ``<prefix>_settlements.csv``
    (settlement_table)."""
    out = Path(out_dir)
    areas = area_table(plan).drop(columns="geometry")
    areas["first_week"] = areas["first_week"].astype("Int64")
    areas["last_week"] = areas["last_week"].astype("Int64")
    paths = {"areas_csv": out / f"{prefix}_areas.csv",
             "settlements_csv": out / f"{prefix}_settlements.csv"}
    safe_frame(areas).to_csv(paths["areas_csv"], index=False)
    safe_frame(settlement_table(plan)).to_csv(paths["settlements_csv"], index=False)
    return paths


def outlook(plan_dir: str | Path) -> list[dict[str, float | int | str]] | None:
    """What the plan in ``plan_dir`` (as ``write_all`` wrote it) expects, calendar year by
    year: hazardous areas released and their km², settlements whose people can return and how
    many people, and the people able to return so far. A first row ``free at the start``
    counts the settlements no hazardous access area blocks (the plan does not free them); a
    last row ``not within the plan`` what it leaves. None when the folder holds no plan
    tables."""
    folder = Path(plan_dir)
    areas_csv, sett_csv = folder / "plan_areas.csv", folder / "plan_settlements.csv"
    if not (areas_csv.is_file() and sett_csv.is_file()):
        return None
    areas = pd.read_csv(areas_csv, keep_default_na=False, dtype={"release_date": str})
    sett = pd.read_csv(sett_csv, keep_default_na=False, dtype={"return_date": str})
    areas["year"] = areas["release_date"].str[:4]
    sett["year"] = sett["return_date"].str[:4].where(sett["access_areas"] > 0, "free")
    rows, so_far = [], 0.0
    for year in ["free", *sorted((set(areas.year) | set(sett.year)) - {"", "free"}), ""]:
        a, st = areas[areas.year == year], sett[sett.year == year]
        people = float(st.people_able_to_return.sum())
        if year:
            so_far += people
        label = {"free": "free at the start", "": "not within the plan"}.get(year, year)
        rows.append({"year": label, "areas_released": len(a),
                     "km2_released": float(a.remaining_m2.sum()) / 1e6,
                     "settlements_returning": len(st), "people_able_to_return": people,
                     "people_able_to_return_so_far": so_far if year else None})
    return rows


def write_gpkg(plan: Plan, path: str | Path, crs: str = "EPSG:32638") -> Path:
    """Plan layers in a GeoPackage (written with pyogrio)."""
    path = Path(path)
    if path.exists():
        path.unlink()
    areas = area_table(plan)
    for col in ("start_date", "release_date"):
        areas[col] = areas[col].astype(str).replace("None", "")
    gdf = gpd.GeoDataFrame(areas, geometry="geometry", crs=crs)
    gdf.to_file(path, layer="plan_areas", driver="GPKG", engine="pyogrio")
    inst = plan.prepared.instance
    table = settlement_table(plan)
    table["return_date"] = table["return_date"].astype(str).replace("None", "")
    at = {s.id: Point(s.x, s.y) for s in inst.settlements}
    sett = gpd.GeoDataFrame(table, geometry=[at[i] for i in table["settlement_id"]], crs=crs)
    sett.to_file(path, layer="settlement_returns", driver="GPKG", engine="pyogrio")
    return path


def gantt_chart(plan: Plan, path: str | Path, max_weeks: int | None = None) -> Path:
    """Teams down the side, weeks across, bars coloured by activity."""
    path = Path(path)
    df = plan.to_frame()
    horizon = max_weeks or plan.prepared.horizon
    df = df[df.week < horizon]
    teams = [t.id for t in plan.prepared.instance.teams]
    fig, ax = plt.subplots(figsize=(11, max(2.5, 0.25 * len(teams) + 1.5)))
    y = {t: i for i, t in enumerate(teams)}
    d = plan.prepared.days
    for act, g in df.groupby("activity"):
        ax.barh([y[t] for t in g.team_id], g.days / d, left=g.week, height=0.7,
                color=COLOURS.get(act, "grey"),
                label=_(ACTIVITIES[act]) if act in ACTIVITIES else act)
    if len(teams) <= 40:
        ax.set_yticks(range(len(teams)), teams, fontsize=7)
    ax.set_ylim(-1, len(teams))
    ax.invert_yaxis()
    ax.set_xlabel(_("week from plan start"))
    ax.set_title(_("Plan (%(method)s): team × week, by activity", method=plan.method))
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def returns_chart(plans: list[Plan], path: str | Path, weeks: int | None = None) -> Path:
    """People able to return over time, one line per plan."""
    path = Path(path)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for plan in plans:
        p = plan.prepared
        horizon = weeks or p.horizon
        w = np.arange(horizon + 1)
        sw = plan.outcome.settlement_return_week
        people = [(p.settlement_people * (sw < x)).sum() for x in w]
        ax.step(w, people, where="post", label=plan.method)
    ax.set_xlabel(_("week from plan start"))
    ax.set_ylabel(_("displaced people able to return"))
    ax.set_title(_("Returns over time"))
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_all(plan: Plan, out_dir: str | Path, prefix: str = "plan",
              crs: str = "EPSG:32638", provenance: dict[str, Any] | None = None
              ) -> dict[str, Path]:
    """``plan.json`` (``write_meta``), CSV (the weekly rows, and the area and settlement
    tables), GeoPackage, Gantt and returns charts into ``out_dir``. The charts are in
    English (``plan_gantt.png``) and in every other catalogue language (``plan_gantt.az.png``,
    see ``chart_path``)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {"meta": write_meta(plan, out / f"{prefix}.json", provenance),
             "csv": write_csv(plan, out / f"{prefix}.csv"),
             **write_tables(plan, out, prefix),
             "gpkg": write_gpkg(plan, out / f"{prefix}.gpkg", crs)}
    for lang in [DEFAULT, *(c for c in languages() if c != DEFAULT)]:
        tag = "" if lang == DEFAULT else f"_{lang}"
        with use(lang):
            files[f"gantt{tag}"] = gantt_chart(plan, chart_file(out, "gantt", lang, prefix))
            files[f"returns{tag}"] = returns_chart([plan],
                                                   chart_file(out, "returns", lang, prefix))
    return files


def chart_file(plan_dir: str | Path, name: str, lang: str, prefix: str = "plan") -> Path:
    """Where ``write_all`` writes chart ``name`` (gantt, returns) in language ``lang``."""
    suffix = "" if lang == DEFAULT else f".{lang}"
    return Path(plan_dir) / f"{prefix}_{name}{suffix}.png"


def chart_path(plan_dir: str | Path, name: str, lang: str, prefix: str = "plan") -> Path:
    """The chart to show in ``lang``: its own if written, else the English one (plans written
    before the charts were translated have only that)."""
    own = chart_file(plan_dir, name, lang, prefix)
    return own if own.is_file() else chart_file(plan_dir, name, DEFAULT, prefix)


def write_meta(plan: Plan, path: str | Path,
               provenance: dict[str, Any] | None = None) -> Path:
    """``plan.json``: what the plan was made for — its first day, horizon, method, when it
    was made — so that it can be made again alike (the web app re-plans after approvals);
    what it was made with — the weights (priority score and benefit), a hash of every
    planning setting, and, from ``provenance``, the record's version and the risk model
    (``record_version``, ``risk_model``: ``explain.record_version_of``,
    ``explain.risk_provenance``); and why the authority's top-ranked areas the plan does not
    release within its horizon wait (``unscheduled_priority_areas``,
    ``explain.explain_unscheduled``)."""
    from safeground.planning.explain import config_hash, explain_unscheduled, weights_used

    path = Path(path)
    inst = plan.instance
    prov = dict(provenance or {})
    prov.setdefault("risk_model", {"kind": "given", "detail": "each area's contamination "
                                   "probability as given to the planner"})
    path.write_text(json.dumps({
        "start": inst.start.isoformat(), "horizon_weeks": int(inst.horizon_weeks),
        "method": plan.method, "areas": len(inst.areas), "teams": len(inst.teams),
        "made": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "weights": weights_used(inst.config), "config_sha256": config_hash(inst.config),
        "record_version": prov.pop("record_version", None),
        "risk_model": prov.pop("risk_model", None), **prov,
        "unscheduled_priority_areas": explain_unscheduled(plan)}, indent=1, default=str),
        encoding="utf-8")
    return path


def read_meta(plan_dir: str | Path, prefix: str = "plan") -> dict[str, Any] | None:
    """What ``write_meta`` wrote in ``plan_dir``, or None (a plan written before it, or
    none)."""
    path = Path(plan_dir) / f"{prefix}.json"
    if not path.is_file():
        return None
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
        dt.date.fromisoformat(meta["start"])
        int(meta["horizon_weeks"])
    except (ValueError, KeyError, TypeError):
        return None
    return meta


def write_forecast(forecast: Forecast, path: str | Path) -> Path:
    """``forecast.csv``: per quantile (P10, P50, P90) the completion date and the people able
    to return by years 1, 3 and 5, with the runs and the share of cleared land that held EO."""
    path = Path(path)
    rows = [{**r, "runs": forecast.runs,
             "share_cleared_with_eo": round(forecast.share_cleared_with_eo, 4)}
            for r in forecast.rows()]
    safe_frame(pd.DataFrame(rows)).to_csv(path, index=False)
    return path


def read_forecast(plan_dir: str | Path) -> list[dict[str, str | float]] | None:
    """The rows of ``forecast.csv`` in ``plan_dir``, or None when it holds none."""
    path = Path(plan_dir) / "forecast.csv"
    if not path.is_file():
        return None
    return pd.read_csv(path, keep_default_na=False, dtype={"completion_date": str}).to_dict(
        "records")
