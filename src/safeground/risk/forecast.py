"""Forward-in-time fitting and evaluation on a grid, from dated events and context layers.

The scheme never looks ahead. To predict the events after ``until`` the model is fitted on
features built from the events known at ``until - horizon`` with the events of
``(until - horizon, until]`` as positives; it then scores features built from everything known at
``until``. Evaluation counts the events of ``(until, test_until]`` per cell.

Baselines: distance to the former front line (``dist_frontline_km``; where a programme has no
front line a named proxy field), and the kernel density (3 km) of all past events.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from safeground.risk import events as ev
from safeground.risk import fields
from safeground.risk.context import ContextLayers
from safeground.risk.evaluation import Scoreboard
from safeground.risk.features import FeatureBuilder, FeatureConfig
from safeground.risk.grid import Grid
from safeground.risk.models import ModelConfig, RiskModel, fit_model

#: event groups whose events are contamination on the ground (targets of the forecast)
TARGET_GROUPS = ("accident", "find", "evidence")
#: default share of suspected land that is truly contaminated: under 3 % of the land cleared in
#: a 15-country comparison held explosive ordnance (GICHD; issue 5). A programme sets its own
#: from its land release outcomes (``risk fit --prior-share``).
PRIOR_SHARE = 0.03
#: logistic baseline features, when present
LOGISTIC_FEATURES = ("dist_frontline_km", "dist_positions_km", "density_accident_5km",
                     "density_find_5km", "density_evidence_5km", "density_indirect_5km",
                     "dist_accident_km", "dist_find_km", "dist_roads_km", "slope_deg")


@dataclass(frozen=True, slots=True)
class Study:
    """A grid, the cells in the study area (mask, row-major) and the inputs."""

    grid: Grid
    events: pd.DataFrame
    context: ContextLayers | None = None
    mask: np.ndarray | None = None
    features: FeatureConfig = field(default_factory=FeatureConfig)
    target_groups: tuple[str, ...] = TARGET_GROUPS
    #: feature scored (negated) as the front-line baseline when no front line layer exists
    frontline_proxy: str = "dist_frontline_km"
    #: cells of suspected land (hazardous areas on record; row-major), the reference of the
    #: positive-unlabelled prior, and the prior share of that land truly contaminated
    reference: np.ndarray | None = None
    prior_share: float | None = None

    def cells(self) -> np.ndarray:
        return (np.ones(self.grid.n_cells, bool) if self.mask is None
                else np.asarray(self.mask, bool).ravel())

    def builder(self, as_of: dt.date | str) -> FeatureBuilder:
        return FeatureBuilder(self.grid, self.events, as_of, self.context, self.features)

    def counts(self, after: dt.date | str, until: dt.date | str) -> np.ndarray:
        """Target events per cell in ``(after, until]`` (row-major, whole grid)."""
        sub = ev.between(self.events, after, until)
        sub = sub[sub["group"].isin(self.target_groups)]
        row, col, inside = self.grid.index_of(sub["x"].to_numpy(), sub["y"].to_numpy())
        out = np.zeros(self.grid.n_cells)
        np.add.at(out, row[inside] * self.grid.width + col[inside], 1.0)
        return out


def model_config(kind: str, names: list[str], seed: int = 0,
                 bias_correction: bool = True, **overrides: object) -> ModelConfig:
    """Default configuration on event features; the effort proxy is the distance to roads."""
    feats = ([f for f in LOGISTIC_FEATURES if f in names] if kind == "logistic"
             else list(names))
    effort = "dist_roads_km" if bias_correction and "dist_roads_km" in names else None
    cat = ("landcover",) if "landcover" in feats and kind == "lightgbm" else ()
    if kind == "logistic" and "landcover" in feats:
        feats.remove("landcover")
    cfg = ModelConfig(kind=kind, features=tuple(feats), seed=seed, effort_feature=effort,
                      categorical=cat, prior_share=PRIOR_SHARE)
    return replace(cfg, **overrides) if overrides else cfg


def training_table(study: Study, until: dt.date | str,
                   horizon_years: float) -> tuple[pd.DataFrame, np.ndarray, FeatureBuilder]:
    """Features at ``until - horizon`` and PU labels (1: a target event in the horizon)."""
    start = (pd.Timestamp(until) - pd.Timedelta(days=round(365.25 * horizon_years))).date()
    b = study.builder(start)
    cells = study.cells()
    X = b.frame()[cells].reset_index(drop=True)
    labels = np.where(study.counts(start, until)[cells] > 0, 1, -1)
    return X, labels, b


def fit(study: Study, until: dt.date | str, horizon_years: float = 3.0,
        kinds: tuple[str, ...] = ("logistic", "lightgbm"), seed: int = 0,
        bias_correction: bool = True) -> dict[str, RiskModel]:
    """Fit each model kind to predict the events that follow ``until`` (see module doc)."""
    X, labels, b = training_table(study, until, horizon_years)
    ref = None if study.reference is None else \
        np.asarray(study.reference, bool).ravel()[study.cells()]
    over = {"prior_share": study.prior_share} if study.prior_share is not None else {}
    models = {k: fit_model(X, labels, model_config(k, b.names, seed, bias_correction, **over))
              for k in kinds}
    if ref is not None and ref.any():
        # the prior is matched on the features of the prediction date (see set_prior_reference)
        X_now = study.builder(until).frame()[study.cells()].reset_index(drop=True)[ref]
        for m in models.values():
            m.set_prior_reference(X_now)
    return models


def baseline_scores(study: Study, builder: FeatureBuilder, X: pd.DataFrame,
                    bandwidth_km: float = 3.0) -> dict[str, np.ndarray]:
    """Front-line (or proxy) distance and past-event density at the study cells."""
    out: dict[str, np.ndarray] = {}
    proxy = study.frontline_proxy
    if proxy in X:
        label = "front line" if proxy == "dist_frontline_km" else f"front-line proxy ({proxy})"
        out[f"baseline: distance to {label}"] = -X[proxy].to_numpy()
    known = ev.known_at(study.events, builder.as_of)
    dens = fields.density_per_km2(builder.field_grid, known["x"].to_numpy(),
                                  known["y"].to_numpy(), known["weight"].to_numpy(),
                                  bandwidth_km)
    xs, ys = study.grid.centres()
    full = fields.sample_bilinear(dens, builder.field_grid, xs, ys).ravel()
    out["baseline: density of past events"] = full[study.cells()]
    return out


def evaluate(study: Study, until: dt.date | str, test_until: dt.date | str,
             horizon_years: float = 3.0, kinds: tuple[str, ...] = ("logistic", "lightgbm"),
             seed: int = 0, bias_correction: bool = True,
             models: dict[str, RiskModel] | None = None) -> tuple[Scoreboard, dict[str, RiskModel]]:
    """Fit up to ``until``, score the events of ``(until, test_until]`` (one forward fold)."""
    models = models or fit(study, until, horizon_years, kinds, seed, bias_correction)
    b = study.builder(until)
    cells = study.cells()
    X = b.frame()[cells].reset_index(drop=True)
    counts = study.counts(until, test_until)[cells]
    labels = np.where(counts > 0, 1, -1)
    board = Scoreboard()
    fold = f"{pd.Timestamp(until).date()}..{pd.Timestamp(test_until).date()}"
    for kind, model in models.items():
        board.add(fold, kind, model.decision(X), labels, counts)
    for name, score in baseline_scores(study, b, X).items():
        board.add(fold, name, score, labels, counts)
    return board, models
