"""Scenario twin evaluation: does the model find the hidden contamination?

The scenario generator (``safeground.scenario``) writes what a programme could observe
(``reports/``, ``context/``) and, apart, the truth (``truth/items.gpkg``). The model is fitted on
the observable record only, forward in time (features at ``record_end - horizon``, the direct
evidence of the horizon as positives; with ``negatives="searched"`` land searched by
``record_end`` without evidence as negatives), then scores every cell from everything observed by
``record_end``. Truth enters only here, to score the ranking: ROC-AUC of cells holding at least
one true item still in the ground against cells holding none, and the share of those items in
the top 5 / 10 / 20 % of the area — beside the same two baselines.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from safeground.risk import forecast, sources
from safeground.risk.evaluation import Scoreboard
from safeground.risk.features import RELEASE_KINDS
from safeground.risk.grid import Grid
from safeground.risk.models import RiskModel
from safeground.risk.release import ReleaseAdjustment, adjust


def truth_counts(scenario_dir: str | Path, study: forecast.Study,
                 states: tuple[str, ...] = ("in_ground",)) -> np.ndarray:
    """True items per cell (row-major), counting items in the given states at record end."""
    items = gpd.read_file(Path(scenario_dir) / "truth" / "items.gpkg").to_crs(study.grid.crs)
    if "state_at_record_end" in items:
        items = items[items["state_at_record_end"].isin(states)]
    row, col, inside = study.grid.index_of(items.geometry.x.to_numpy(),
                                           items.geometry.y.to_numpy())
    out = np.zeros(study.grid.n_cells)
    np.add.at(out, row[inside] * study.grid.width + col[inside], 1.0)
    return out


def record_end(scenario_dir: str | Path) -> str:
    meta = json.loads((Path(scenario_dir) / "scenario.json").read_text(encoding="utf-8"))
    return str(meta["record_end"])


def twin_study(scenario_dir: str | Path, step_m: float = 100.0,
               negatives: str = forecast.DEFAULT_NEGATIVES,
               released_features: bool | None = None) -> forecast.Study:
    """The study of a scenario's observable record (``released_features`` None: the default of
    ``FeatureConfig``)."""
    study = replace(sources.build_study(sources.detect(scenario_dir), record_end(scenario_dir),
                                        step_m),
                    negatives=forecast.check_negatives(negatives))
    if released_features is not None:
        study = replace(study, features=replace(study.features,
                                                released_features=released_features))
    return study


def evaluate(scenario_dir: str | Path, *, step_m: float = 100.0, horizon_years: float = 0.25,
             kinds: tuple[str, ...] = ("logistic", "lightgbm"), seed: int = 0,
             bias_correction: bool = True, negatives: str = forecast.DEFAULT_NEGATIVES,
             released_features: bool | None = None,
             adjustment: ReleaseAdjustment | None = None,
             ) -> tuple[Scoreboard, dict[str, RiskModel]]:
    """Fit on the observable record, score against the hidden truth. With an ``adjustment``,
    each model is also scored after it (``<kind> + released land``: the adjusted probability)."""
    until = record_end(scenario_dir)
    study = twin_study(scenario_dir, step_m, negatives, released_features)
    models = forecast.fit(study, until, horizon_years, kinds, seed, bias_correction)
    b = study.builder(until)
    X = b.frame()
    counts = truth_counts(scenario_dir, study)
    labels = np.where(counts > 0, 1, -1)
    board = Scoreboard()
    shares = b.released_shares() if adjustment is not None else None
    for kind, model in models.items():
        board.add("twin", kind, model.decision(X), labels, counts)
        if shares is not None:
            board.add("twin", f"{kind} + released land",
                      adjust(model.predict(X), shares, adjustment), labels, counts)
    for name, score in forecast.baseline_scores(study, b, X).items():
        board.add("twin", name, score, labels, counts)
    return board, models


#: side of the unit of "contaminated ground" (m): a square holding at least one item. The
#: scenario's calibration figure (share of suspected land truly contaminated) uses the same.
TRUTH_CELL_M = 25.0


def contaminated_share(scenario_dir: str | Path, grid: Grid,
                       states: tuple[str, ...] = ("in_ground",)) -> np.ndarray:
    """Per cell of ``grid`` (row-major): the share of its area in 25 m squares holding an item."""
    items = gpd.read_file(Path(scenario_dir) / "truth" / "items.gpkg").to_crs(grid.crs)
    if "state_at_record_end" in items:
        items = items[items["state_at_record_end"].isin(states)]
    x, y = items.geometry.x.to_numpy(), items.geometry.y.to_numpy()
    sq = np.unique(np.column_stack([np.floor(x / TRUTH_CELL_M), np.floor(y / TRUTH_CELL_M)]),
                   axis=0)
    cx, cy = (sq[:, 0] + 0.5) * TRUTH_CELL_M, (sq[:, 1] + 0.5) * TRUTH_CELL_M
    row, col, inside = grid.index_of(cx, cy)
    out = np.zeros(grid.n_cells)
    np.add.at(out, row[inside] * grid.width + col[inside], TRUTH_CELL_M ** 2 / grid.cell_area_m2)
    return np.minimum(out, 1.0)


def calibration(scenario_dir: str | Path, model: RiskModel, *, step_m: float = 100.0,
                bins: int = 10, adjustment: ReleaseAdjustment | None = None,
                released_features: bool | None = None) -> dict[str, object]:
    """Predicted probability of contamination against the hidden truth.

    The probability of a cell is read as the expected share of its ground that is contaminated
    (what ``expected_contaminated_m2`` sums). Compared: the mean over suspected land (hazardous
    areas on record) and over the rest, the total contaminated area, and a reliability table
    (cells in ``bins`` equal-count bins of predicted probability: mean predicted, observed),
    and the same on the land released by the record end, by how (``released``: cells more
    than half released that way). ``adjustment``: the post-model release adjustment, if any.
    """
    until = record_end(scenario_dir)
    study = twin_study(scenario_dir, step_m, released_features=released_features)
    b = study.builder(until)
    p = model.predict(b.frame(model.features))
    shares = b.released_shares()
    p = adjust(p, shares, adjustment)
    obs = contaminated_share(scenario_dir, study.grid)
    sus = (np.zeros(study.grid.n_cells, bool) if study.reference is None
           else np.asarray(study.reference, bool))
    area = study.grid.cell_area_m2
    q = pd.qcut(pd.Series(p).rank(method="first"), bins, labels=False)
    table = pd.DataFrame({"predicted": p, "observed": obs, "bin": q}).groupby("bin").mean()
    return {
        "suspected": {"cells": int(sus.sum()), "predicted": float(p[sus].mean()),
                      "observed": float(obs[sus].mean())} if sus.any() else None,
        "elsewhere": {"cells": int((~sus).sum()), "predicted": float(p[~sus].mean()),
                      "observed": float(obs[~sus].mean())},
        "contaminated_km2": {"predicted": float(p.sum() * area / 1e6),
                             "observed": float(obs.sum() * area / 1e6)},
        "reliability": table,
        "released": {kind: {"cells": int(m.sum()), "predicted": float(p[m].mean()),
                            "observed": float(obs[m].mean())}
                     for kind, m in ((k, shares[:, j] > 0.5)
                                     for j, k in enumerate(RELEASE_KINDS)) if m.any()},
    }


def summary_table(board: Scoreboard) -> pd.DataFrame:
    return board.summary().drop(columns="folds")
