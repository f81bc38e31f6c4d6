"""The RELand grid schema (Colombia, 1 km cells; Dulce Rubio et al. 2024) and its evaluation.

A grid CSV of this schema has one row per cell with ``LATITUD_Y``, ``LONGITUD_X``, a group
column (``Municipio``), ``mines_outcome`` (1 mine, 0 surveyed none, -1 unknown; optional when
only scoring) and the data set's own features. Any file of the schema can be fitted on and
scored, so the evaluation can be repeated on other departments.

Baselines. Colombia has no former line of contact: its conflict was fought between mobile armed
groups. The nearest proxy in the schema is the distance to coca cultivation (``coca_dist``),
where armed groups held territory and defended it with mines. The density baseline is a
Gaussian kernel density (3 km) of the positive cells of the training municipalities.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from pyproj import Transformer
from scipy.spatial import cKDTree

from safeground.risk import tuning
from safeground.risk.errors import invalid
from safeground.risk.evaluation import Scoreboard, leave_one_group_out
from safeground.risk.models import (
    PLAIN_LIGHTGBM,
    SIMPLE_LIGHTGBM,
    ModelConfig,
    RiskModel,
    fit_model,
)

LABEL = "mines_outcome"
GROUP = "Municipio"
LAT, LON = "LATITUD_Y", "LONGITUD_X"
NON_FEATURES = {LABEL, GROUP, LAT, LON, "geometry", "Unnamed: 0"}
#: few, standardised, readable features for the transparent baseline
LOGISTIC_FEATURES = ("elevation", "population_2020", "rwi", "roads_dist", "settlement_dist",
                     "buildings_dist", "waterways_dist", "coca_dist")
FRONTLINE_PROXY = "coca_dist"
#: kernel density (3 km) of the known positives of *other* groups: the spatial context feature
KNOWN_DENSITY = "known_mines_density_3km"
EFFORT_FEATURE = "roads_dist"
#: one-hot classes of the schema: a file without one of these columns has no cell of that class
ONE_HOT_PREFIXES = ("Vocacion_", "CLIMA_", "TIPO_RELIE_")
#: the flag of a missing Relative Wealth Index, derived from ``rwi`` when a file lacks it
RWI, RWI_MISSING = "rwi", "rwi_missing"
METRIC_CRS = "EPSG:9377"   # MAGNA-SIRGAS 2018 / Origen-Nacional (CTM12)


def load_grid(path: str | Path, require_label: bool = True) -> pd.DataFrame:
    """Read a RELand-schema grid CSV.

    Raises ValidationError (COLUMN_MISSING) when coordinates (or the label) are absent.
    """
    df = pd.read_csv(path)
    df = df.drop(columns=[c for c in df.columns if c.startswith("Unnamed: ")])
    needed = [LAT, LON] + ([LABEL] if require_label else [])
    for col in needed:
        if col not in df.columns:
            raise invalid("COLUMN_MISSING", where=Path(path).name, column=col)
    if RWI in df and RWI_MISSING not in df:
        df[RWI_MISSING] = df[RWI].isna().astype(int)
    return df


def feature_columns(df: pd.DataFrame) -> list[str]:
    """Every numeric column of the schema except label, group and coordinates."""
    return [c for c in df.columns
            if c not in NON_FEATURES and pd.api.types.is_numeric_dtype(df[c])]


def model_config(kind: str, df: pd.DataFrame, seed: int = 0, *,
                 bias_correction: bool = True, pooled: bool = False) -> ModelConfig:
    """The default configuration of each model kind on this schema.

    Logistic: the few readable ``LOGISTIC_FEATURES``. LightGBM: every feature except those
    constant within a group; ``pooled``: pooled with the logistic model (half the log-odds
    each). Both get the known-mines density (monotone increasing) when ``df`` carries it, and
    the distance to roads as the survey-effort proxy.
    """
    if kind == "logistic":
        feats = tuple(f for f in LOGISTIC_FEATURES if f in df)
    else:
        constant = set(group_constant_columns(df))
        feats = tuple(c for c in feature_columns(df) if c != KNOWN_DENSITY and c not in constant)
    monotone = {}
    if KNOWN_DENSITY in df:
        feats = (*feats, KNOWN_DENSITY)
        monotone = {KNOWN_DENSITY: 1}
    effort = EFFORT_FEATURE if bias_correction and EFFORT_FEATURE in df else None
    pool: tuple[str, ...] = ()
    if pooled and kind == "lightgbm":
        pool = model_config("logistic", df, seed, bias_correction=bias_correction).features
    return ModelConfig(kind=kind, features=feats, seed=seed, effort_feature=effort,
                       effort_scale_km=2.0, monotone=monotone, pool_features=pool,
                       zero_fill=ONE_HOT_PREFIXES)


#: the model kinds a grid can be fitted with (``risk fit --kind``), see ``kind_config``
KINDS = ("lightgbm", "logistic", "alone", "pooled", "inner-cv", "plain", "simple")
#: what ``lightgbm`` means: the configuration that did best on held-out municipalities and
#: departments (docs/risk-model.md, "Models that transfer")
DEFAULT_LIGHTGBM = "simple"


def resolve_kind(kind: str, pool: bool = True) -> str:
    """The concrete kind behind ``kind`` (``lightgbm``: the default); ``pool`` False turns a
    pooled or inner-CV choice into LightGBM alone. Raises ValidationError (RISK_MODEL_KIND)."""
    if kind not in KINDS:
        raise invalid("RISK_MODEL_KIND", value=kind, expected=", ".join(KINDS))
    k = DEFAULT_LIGHTGBM if kind == "lightgbm" else kind
    return "alone" if not pool and k in ("pooled", "inner-cv") else k


def kind_config(kind: str, df: pd.DataFrame, seed: int = 0, *,
                bias_correction: bool = True) -> ModelConfig:
    """The configuration of a concrete kind (not ``inner-cv``, which chooses between two)."""
    if kind == "logistic":
        return model_config("logistic", df, seed, bias_correction=bias_correction)
    if kind == "alone":
        return model_config("lightgbm", df, seed, bias_correction=bias_correction)
    if kind == "pooled":
        return model_config("lightgbm", df, seed, bias_correction=bias_correction, pooled=True)
    if kind == "plain":
        # every numeric column, labelled rows only, LightGBM's defaults, no bias weights
        return ModelConfig(kind="lightgbm", features=tuple(feature_columns(df)), seed=seed,
                           zero_fill=ONE_HOT_PREFIXES, unlabelled="drop", **PLAIN_LIGHTGBM)
    if kind == "simple":
        # the small LightGBM on every column, surveyed cells only
        return ModelConfig(kind="lightgbm", features=tuple(feature_columns(df)), seed=seed,
                           zero_fill=ONE_HOT_PREFIXES, unlabelled="drop", **SIMPLE_LIGHTGBM)
    raise invalid("RISK_MODEL_KIND", value=kind, expected=", ".join(KINDS))


def fit_kind(kind: str, train: pd.DataFrame, labels: np.ndarray, groups: np.ndarray | None,
             seed: int = 0, *, bias_correction: bool = True,
             group: str = GROUP, pool: bool = True) -> RiskModel:
    """Fit one model kind (``KINDS``) on grid rows carrying the known-mines density.

    ``inner-cv`` chooses by inner cross-validation over the training groups only
    (``tuning.select_by_inner_cv``) between two candidates fixed in advance: LightGBM alone, and
    LightGBM pooled with the logistic model. The choice and every candidate's inner score are
    kept in ``train_summary_["selection"]``.
    """
    kind = resolve_kind(kind, pool)
    if kind != "inner-cv":
        return fit_model(train, labels, kind_config(kind, train, seed,
                                                    bias_correction=bias_correction),
                         groups=groups)
    cfg = kind_config("alone", train, seed, bias_correction=bias_correction)
    selection = None
    if groups is not None and len(np.unique(groups)) >= 4:
        candidates = [cfg, kind_config("pooled", train, seed, bias_correction=bias_correction)]
        selection = tuning.select_by_inner_cv(
            train, labels, groups, candidates, seed=seed,
            prepare=lambda tr, te: with_known_density(tr, te, group))
        cfg = selection.config
    model = fit_model(train, labels, cfg, groups=groups)
    if selection is not None:
        model.train_summary_["selection"] = {
            **selection.to_dict(), "candidates": ["lightgbm", "lightgbm pooled with logistic"]}
    return model


def group_constant_columns(df: pd.DataFrame, group: str = GROUP) -> list[str]:
    """Features with one value per group (the municipal victim counts).

    Left out of LightGBM: in a model meant for unseen municipalities they can only teach it
    which municipality it is in, which does not transfer.
    """
    if group not in df or df[group].nunique() < 2:
        return []
    n = df.groupby(group)[feature_columns(df)].nunique().max()
    return [c for c in n.index if n[c] <= 1]


def metric_xy(df: pd.DataFrame) -> np.ndarray:
    t = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
    x, y = t.transform(df[LON].to_numpy(), df[LAT].to_numpy())
    return np.column_stack([x, y])


def density_baseline(train_xy: np.ndarray, train_pos: np.ndarray, test_xy: np.ndarray,
                     bandwidth_m: float = 3000.0) -> np.ndarray:
    """Gaussian kernel density of the training positives at the test cells."""
    pts = train_xy[train_pos]
    if len(pts) == 0:
        return np.zeros(len(test_xy))
    tree = cKDTree(pts)
    d, _ = tree.query(test_xy, k=min(64, len(pts)), distance_upper_bound=4 * bandwidth_m)
    d = np.atleast_2d(d.T).T if d.ndim == 1 else d
    k = np.exp(-0.5 * (d / bandwidth_m) ** 2)
    return np.where(np.isfinite(d), k, 0.0).sum(axis=1)


def with_known_density(train: pd.DataFrame, others: pd.DataFrame | None = None,
                       group: str = GROUP) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Add the known-mines density feature without leaking a cell's own group.

    Training cells see the positives of the *other* training groups (what a held-out group
    sees at prediction time); ``others`` (cells to score) see all training positives.
    """
    xy = metric_xy(train)
    pos = train[LABEL].to_numpy() == 1
    groups = train[group].astype(str).to_numpy() if group in train else np.zeros(len(train))
    dens = np.zeros(len(train))
    for g in np.unique(groups):
        m = groups == g
        dens[m] = density_baseline(xy[~m], pos[~m], xy[m])
    train = train.assign(**{KNOWN_DENSITY: dens})
    if others is not None:
        others = others.assign(**{KNOWN_DENSITY: density_baseline(xy, pos, metric_xy(others))})
    return train, others


def baseline_scores(train: pd.DataFrame, test: pd.DataFrame) -> dict[str, np.ndarray]:
    """The two baselines' scores of the test cells (higher = riskier)."""
    out = {}
    if FRONTLINE_PROXY in test:
        out["baseline: distance to front-line proxy (coca)"] = -test[FRONTLINE_PROXY].to_numpy()
    out["baseline: density of past events"] = density_baseline(
        metric_xy(train), train[LABEL].to_numpy() == 1, metric_xy(test))
    return out


def evaluate_leave_one_group_out(df: pd.DataFrame, kinds: tuple[str, ...] = ("logistic",
                                 "lightgbm"), seed: int = 0, group: str = GROUP,
                                 bias_correction: bool = True,
                                 progress: Callable[[str], None] | None = None,
                                 on_model: Callable[[str, str, RiskModel], None] | None = None,
                                 ) -> Scoreboard:
    """Leave one group (municipality) out: fit on the others, score the held-out group.

    Only groups with at least one positive are held out (a metric needs them).
    """
    board = Scoreboard()
    labels = df[LABEL].to_numpy().astype(int)
    groups = df[group].astype(str).to_numpy()
    for name, tr, te in leave_one_group_out(groups, labels):
        train, test = with_known_density(df[tr], df[te], group)
        for kind in kinds:
            model = fit_kind(kind, train, labels[tr], groups[tr], seed,
                             bias_correction=bias_correction, group=group)
            board.add(name, kind, model.decision(test), labels[te])
            if on_model:
                on_model(name, kind, model)
        for bname, score in baseline_scores(train, test).items():
            board.add(name, bname, score, labels[te])
        if progress:
            progress(name)
    return board
