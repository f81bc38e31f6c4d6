"""Forward-in-time fitting and evaluation on a grid, from dated events and context layers.

The scheme never looks ahead. To predict the events after ``until`` the model is fitted on
features built from the events known at ``until - horizon`` with the events of
``(until - horizon, until]`` as positives; it then scores features built from everything known at
``until``. Evaluation counts the events of ``(until, test_until]`` per cell.

Negatives (``Study.negatives``; none by default, see docs/risk-model.md): a cell of land
released on or before ``until`` — most of its area searched by technical survey or cleared
(``searched``), or also cancelled by non-technical survey (``released``, the cancelled share
weighing less) — that holds no target event known at ``until`` is labelled 0 (surveyed, none)
instead of -1 (unlabelled). A cell with an accident, a find or direct evidence is never a
negative. Land released after ``until`` is not seen.

Baselines: distance to the former front line (``dist_frontline_km``; where a programme has no
front line a named proxy field), and the kernel density (3 km) of all past events.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import shapely

from safeground.risk import events as ev
from safeground.risk import fields
from safeground.risk.context import ContextLayers
from safeground.risk.errors import invalid
from safeground.risk.evaluation import Scoreboard
from safeground.risk.features import (
    RELEASED_FEATURES,
    FeatureBuilder,
    FeatureConfig,
    released_by_kind,
    window_share,
)
from safeground.risk.grid import Grid
from safeground.risk.models import (
    PLAIN_LIGHTGBM,
    SIMPLE_LIGHTGBM,
    ModelConfig,
    RiskModel,
    fit_model,
)

#: event groups whose events are contamination on the ground (targets of the forecast)
TARGET_GROUPS = ("accident", "find", "evidence")
#: default share of suspected land that is truly contaminated: under 3 % of the land cleared in
#: a 15-country comparison held explosive ordnance (GICHD). A programme sets its own
#: from its land release outcomes (``risk fit --prior-share``).
PRIOR_SHARE = 0.03
#: logistic baseline features, when present
LOGISTIC_FEATURES = ("dist_frontline_km", "dist_positions_km", "density_accident_5km",
                     "density_find_5km", "density_evidence_5km", "density_indirect_5km",
                     "dist_accident_km", "dist_find_km", "dist_roads_km", "slope_deg",
                     *RELEASED_FEATURES)

#: which released land gives negatives: none; land searched (technical survey reduced it, or it
#: was cleared); or all land released, land cancelled by non-technical survey included
NEGATIVE_MODES = ("none", "searched", "released")
#: release kinds of searched ground, negatives of full weight (land cancelled by non-technical
#: survey is "no evidence found", not searched: CANCELLED_WEIGHT, in the "released" mode only)
SEARCHED = ("cleared", "reduced")
#: weight of a cell of land cancelled by non-technical survey, relative to searched land
CANCELLED_WEIGHT = 0.5
#: weight of a negative relative to a positive (negatives are added beside the background,
#: which balances the positives: ``ModelConfig.negative_scale`` "positive")
NEGATIVE_WEIGHT = 1.0
#: a cell is a negative only if at least this share of its area was released
NEGATIVE_MIN_SHARE = 0.75
#: the default mode, chosen by measurement on the scenario twin (docs/risk-model.md): searched
#: negatives help the logistic model's ranking a little, not that of LightGBM (which maps and
#: rankings use); land cancelled by NTS hurts both
DEFAULT_NEGATIVES = "none"


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
    #: land released on record (``release``, ``date``, geometry in the grid's CRS) and how it
    #: gives negatives (``NEGATIVE_MODES``)
    released: pd.DataFrame | None = None
    negatives: str = DEFAULT_NEGATIVES
    negative_min_share: float = NEGATIVE_MIN_SHARE
    cancelled_weight: float = CANCELLED_WEIGHT
    negative_weight: float = NEGATIVE_WEIGHT
    #: how the probabilities are calibrated when there are negatives: "pu" keeps the
    #: positive-unlabelled calibration and the prior's level (negatives count as background
    #: there), "auto" calibrates positives against negatives (1 vs 0) — see models.py
    calibration_target: str = "pu"

    def cells(self) -> np.ndarray:
        return (np.ones(self.grid.n_cells, bool) if self.mask is None
                else np.asarray(self.mask, bool).ravel())

    def builder(self, as_of: dt.date | str) -> FeatureBuilder:
        return FeatureBuilder(self.grid, self.events, as_of, self.context, self.features,
                              self.released)

    def counts(self, after: dt.date | str, until: dt.date | str) -> np.ndarray:
        """Target events per cell in ``(after, until]`` (row-major, whole grid)."""
        sub = ev.between(self.events, after, until)
        sub = sub[sub["group"].isin(self.target_groups)]
        row, col, inside = self.grid.index_of(sub["x"].to_numpy(), sub["y"].to_numpy())
        out = np.zeros(self.grid.n_cells)
        np.add.at(out, row[inside] * self.grid.width + col[inside], 1.0)
        return out


def released_share(grid: Grid, geometries: object) -> np.ndarray:
    """Per cell of ``grid`` (row-major): the share of its area covered by the geometries
    (overlaps counted once)."""
    geoms = [g for g in np.asarray(geometries, dtype=object).ravel()
             if g is not None and not g.is_empty]
    if not geoms:
        return np.zeros(grid.n_cells)
    return window_share(grid, None, shapely.union_all(geoms)).ravel()


def check_negatives(mode: str) -> str:
    """``mode`` if it is one of ``NEGATIVE_MODES``. Raises ValidationError (RISK_NEGATIVES)."""
    if mode not in NEGATIVE_MODES:
        raise invalid("RISK_NEGATIVES", value=mode, expected=", ".join(NEGATIVE_MODES))
    return mode


def negative_weights(study: Study, until: dt.date | str) -> np.ndarray:
    """Weight of each cell (row-major, whole grid) as a negative of a fit at ``until``; 0: not
    a negative. See the module doc: released on or before ``until``, at least
    ``negative_min_share`` of the cell released, no target event known at ``until``."""
    check_negatives(study.negatives)
    out = np.zeros(study.grid.n_cells)
    if study.negatives == "none":
        return out
    by_kind = released_by_kind(study.released, until)
    share = released_share(study.grid, [by_kind[k] for k in SEARCHED if k in by_kind])
    out[share >= study.negative_min_share] = 1.0
    if study.negatives == "released" and study.cancelled_weight > 0:
        any_share = released_share(study.grid, list(by_kind.values()))
        out[(out == 0) & (any_share >= study.negative_min_share)] = study.cancelled_weight
    known = ev.known_at(study.events, until)
    known = known[known["group"].isin(study.target_groups)]
    row, col, inside = study.grid.index_of(known["x"].to_numpy(), known["y"].to_numpy())
    out[row[inside] * study.grid.width + col[inside]] = 0.0
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


#: the model kinds of event fits (``risk fit --kind``): ``lightgbm`` is ``DEFAULT_LIGHTGBM``;
#: ``alone`` the project's full LightGBM (200 trees of 15 leaves); ``pooled`` pools it with the
#: logistic model; ``plain`` is LightGBM's own settings, no bias weights;
#: ``simple`` a small LightGBM (``SIMPLE_LIGHTGBM``) with the bias weights
KINDS = ("lightgbm", "logistic", "alone", "pooled", "plain", "simple")
#: what ``lightgbm`` means: the configuration that did best forward in time and on held-out
#: ground, across splits (docs/risk-model.md, "Models that transfer")
DEFAULT_LIGHTGBM = "pooled"


def kind_config(kind: str, names: list[str], seed: int = 0, bias_correction: bool = True,
                pool: bool = True, **overrides: object) -> ModelConfig:
    """The configuration of a model kind (``KINDS``). Raises ValidationError (RISK_MODEL_KIND)."""
    if kind not in KINDS:
        raise invalid("RISK_MODEL_KIND", value=kind, expected=", ".join(KINDS))
    if kind == "lightgbm":
        kind = DEFAULT_LIGHTGBM
    if kind == "logistic":
        return model_config("logistic", names, seed, bias_correction, **overrides)
    if kind == "plain":
        return model_config("lightgbm", names, seed, False, **{**PLAIN_LIGHTGBM, **overrides})
    if kind == "simple":
        return model_config("lightgbm", names, seed, bias_correction,
                            **{**SIMPLE_LIGHTGBM, **overrides})
    if kind == "pooled" and pool:
        logistic = model_config("logistic", names, seed, bias_correction).features
        return model_config("lightgbm", names, seed, bias_correction,
                            **{"pool_features": logistic, **overrides})
    return model_config("lightgbm", names, seed, bias_correction, **overrides)


def training_table(study: Study, until: dt.date | str, horizon_years: float
                   ) -> tuple[pd.DataFrame, np.ndarray, FeatureBuilder, np.ndarray]:
    """Features at ``until - horizon`` and labels (1: a target event in the horizon; 0: land
    released by ``until`` without one, see ``negative_weights``; -1: unlabelled), and the
    weight of each row as a negative."""
    start = (pd.Timestamp(until) - pd.Timedelta(days=round(365.25 * horizon_years))).date()
    b = study.builder(start)
    cells = study.cells()
    X = b.frame()[cells].reset_index(drop=True)
    labels = np.where(study.counts(start, until)[cells] > 0, 1, -1)
    neg = negative_weights(study, until)[cells]
    neg[labels == 1] = 0.0
    labels[neg > 0] = 0
    return X, labels, b, neg


def fit(study: Study, until: dt.date | str, horizon_years: float = 3.0,
        kinds: tuple[str, ...] = ("logistic", "lightgbm"), seed: int = 0,
        bias_correction: bool = True, pool: bool = True) -> dict[str, RiskModel]:
    """Fit each model kind (``KINDS``) to predict the events that follow ``until`` (see
    module doc)."""
    X, labels, b, neg = training_table(study, until, horizon_years)
    ref = None if study.reference is None else \
        np.asarray(study.reference, bool).ravel()[study.cells()]
    over: dict[str, object] = {"calibration_target": study.calibration_target,
                               "negative_weight": study.negative_weight,
                               "negative_scale": "positive"}
    if study.prior_share is not None:
        over["prior_share"] = study.prior_share
    models = {k: fit_model(X, labels, kind_config(k, b.names, seed, bias_correction, pool,
                                                  **over),
                           negative_weights=neg)
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
