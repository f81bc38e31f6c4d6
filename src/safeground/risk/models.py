"""Positive-unlabelled risk models: a transparent logistic baseline and LightGBM.

Positives are reliable (a mine was found or exploded there); everything else is *unlabelled*,
not negative — most of it was never searched (docs/domain.md §6). The models therefore:

1. learn to tell positives from background (unlabelled cells, plus surveyed-empty cells when a
   data set has them: RELand label 0);
2. correct for search bias: background cells are weighted by a survey-effort proxy, e.g.
   ``exp(-distance to road / 2 km)``, so the background is searched-looking land and the model
   cannot score "accessible" as "contaminated" (target-group background, Phillips et al. 2009);
3. calibrate on a held-out share of the training data (whole groups when groups are given):
   Platt or isotonic. With surveyed negatives, calibration is on labelled cells (1 vs 0) and
   gives P(contaminated | surveyed-like cell) — unless ``calibration_target`` is ``"pu"``: then
   negatives help discrimination only and are background in the calibration (negatives drawn
   from released land are no random sample of the land). Without them, calibration gives
   P(labelled | x) and the label frequency c turns it into
   P(contaminated | x) ≈ P(labelled | x) / c (Elkan & Noto, KDD 2008), applied as a shift of
   the log-odds by -log c: the same for sparse cells, and it never reaches 1, so probabilities
   keep the order of the scores (they stop at ``P_MAX``). With a prior
   share of contaminated land over reference cells (``prior_share``, e.g. 3 % of suspected
   land), c = mean P(labelled | x) over the reference cells / prior. Without one,
   Elkan–Noto's estimate c = mean P(labelled | x) over held-out positives is used; it assumes
   labelled positives are recognisable with certainty and, for sparse contamination, inflates
   probabilities (whole suspected areas near 1).

Missing inputs: a table lacking a one-hot class column (``zero_fill`` prefixes) has 0 there;
lacking another feature, the training median (``fill_``), unless the columns lacking carry more
than ``MAX_IMPUTED_IMPORTANCE`` of the model's importance (``missing_columns``). Missing values
are the training mean in the logistic model (no contribution) and LightGBM's own missing-value
branch in the trees. ``unlabelled="drop"`` learns from labelled rows only (1 against 0).

Both models explain each cell in log-odds units: LightGBM's exact TreeSHAP (``pred_contrib``),
and for the logistic model coefficient x standardised feature.

A LightGBM model may be *pooled* with a logistic model (``pool_features``): both are fitted on
the same rows, each is Platt-scaled on the calibration rows, and the score is the weighted mean
of the two calibrated log-odds (a logarithmic opinion pool). The pool is linear in both models'
log-odds, so its explanation is the weighted sum of TreeSHAP and the logistic contributions and
still adds up to the score.

Tree scores of many rows are exact but cheaper than row by row: the cells of a raster window
(``shape`` given) are walked block by block (``treegrid``: a block whose feature bounds all
fall on one side of a node's threshold takes one branch for all its cells); other large
inputs are de-duplicated by decision pattern (``_tree_decision_dedup``).
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from safeground.risk.errors import invalid
from safeground.risk.treegrid import GridTrees

KINDS = ("logistic", "lightgbm")
#: tree predictions of at least this many rows are de-duplicated by decision pattern
DEDUP_MIN_ROWS = 20_000
#: ... unless more than this share of the rows are distinct
DEDUP_MAX_SHARE = 0.6
#: probabilities stop just short of 1, so no two cells tie at certainty (rank by ``decision``)
P_MAX = 1.0 - 1e-6
#: a file may lack columns the model imputes, unless together they carry more than this share
#: of the model's importance: then it lacks what the model truly needs
MAX_IMPUTED_IMPORTANCE = 0.5
#: ``ModelConfig`` fields of LightGBM's own default settings (no subsampling, no regularisation)
PLAIN_LIGHTGBM: dict[str, Any] = {
    "n_estimators": 100, "learning_rate": 0.1, "num_leaves": 31, "min_child_samples": 20,
    "extra": {"subsample": 1.0, "subsample_freq": 0, "colsample_bytree": 1.0, "reg_lambda": 0.0}}
#: a small LightGBM (4 leaves, 100 trees at 0.05, 50 rows a leaf): fewer interactions to get
#: wrong on new ground
SIMPLE_LIGHTGBM: dict[str, Any] = {
    "n_estimators": 100, "learning_rate": 0.05, "num_leaves": 4, "min_child_samples": 50,
    "extra": {"subsample": 1.0, "subsample_freq": 0, "colsample_bytree": 1.0, "reg_lambda": 0.0}}


@dataclass(frozen=True, slots=True)
class ModelConfig:
    """Everything a fit depends on, saved with the model."""

    kind: str = "lightgbm"
    features: tuple[str, ...] = ()
    seed: int = 0
    calibration: str = "platt"          # or "isotonic"
    calibration_share: float = 0.25
    #: feature holding distance (km) to access, for the search-bias (effort) weights
    effort_feature: str | None = None
    effort_scale_km: float = 2.0
    #: weight of surveyed-empty cells (label 0): relative to an unlabelled background cell
    #: (``negative_scale`` "background": they share the background's weight, which balances the
    #: positives'), or relative to a positive ("positive": added beside the balanced background,
    #: so a few negatives on a large grid still count)
    negative_weight: float = 1.0
    negative_scale: str = "background"
    #: "auto": calibrate positives against surveyed negatives (1 vs 0) when there are some;
    #: "pu": always positive-unlabelled (negatives count as background; the prior sets the level)
    calibration_target: str = "auto"
    n_estimators: int = 200
    learning_rate: float = 0.05
    num_leaves: int = 15
    min_child_samples: int = 20
    logistic_c: float = 1.0
    categorical: tuple[str, ...] = ()
    #: LightGBM monotone constraints by feature name: +1 risk never falls as it grows, -1 never
    #: rises (domain knowledge, e.g. more known mines nearby never lowers risk)
    monotone: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    #: LightGBM only: pool with a logistic model on these features (see the module doc); ()
    #: for none. ``pool_weight`` is the logistic model's share of the pooled log-odds.
    pool_features: tuple[str, ...] = ()
    pool_weight: float = 0.5
    #: positive-unlabelled calibration: the share of the *reference* cells (suspected land)
    #: that is truly contaminated, a programme-level prior; None: Elkan–Noto's estimate
    prior_share: float | None = None
    #: columns starting with one of these (one-hot classes) count as 0 when a file lacks them
    zero_fill: tuple[str, ...] = ()
    #: "background": unlabelled rows (-1) are the background of the positive-unlabelled fit;
    #: "drop": only labelled rows are learnt from (1 against 0; needs surveyed negatives)
    unlabelled: str = "background"

    def __setstate__(self, state: list[Any]) -> None:
        # models pickled before the later fields existed: those take their defaults
        names = [f.name for f in fields(self)]
        values = dict(zip(names, state, strict=False))
        for f in fields(self):
            if f.name not in values:
                values[f.name] = (f.default_factory() if f.default_factory is not MISSING
                                  else f.default)
        for name in names:
            object.__setattr__(self, name, values[name])

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("features", "categorical", "pool_features", "zero_fill"):
            d[k] = list(d[k])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        d = dict(d)
        for k in ("features", "categorical", "pool_features", "zero_fill"):
            d[k] = tuple(d.get(k, ()))
        return cls(**d)

    @property
    def pooled(self) -> bool:
        return self.kind == "lightgbm" and bool(self.pool_features) and self.pool_weight > 0


def effort_weights(distance_km: np.ndarray, scale_km: float) -> np.ndarray:
    """Survey effort proxy: 1 at the road, falling as exp(-d / scale). Mean-normalised."""
    w = np.exp(-np.clip(np.nan_to_num(distance_km, nan=0.0), 0, None) / scale_km)
    return w / w.mean() if w.size and w.mean() > 0 else np.ones_like(w)


def _check_labels(labels: np.ndarray) -> None:
    bad = set(np.unique(labels).tolist()) - {-1, 0, 1}
    if bad:
        raise invalid("RISK_LABEL_VALUE", field="label", value=sorted(bad)[0])
    if not (labels == 1).any():
        raise invalid("RISK_NO_POSITIVES")
    if (labels == 1).all():
        raise invalid("RISK_NO_BACKGROUND")


class RiskModel:
    """A fitted PU model. ``predict`` gives calibrated probabilities of contamination."""

    def __init__(self, config: ModelConfig) -> None:
        if config.kind not in KINDS:
            raise invalid("RISK_MODEL_KIND", value=config.kind, expected=", ".join(KINDS))
        self.config = config
        self.features = list(config.features)
        #: pooled LightGBM: the logistic partner, its columns, and the pool's linear terms
        self.partner: RiskModel | None = None
        self.pool_: tuple[float, float, float] = (1.0, 0.0, 0.0)
        if config.pooled:
            self.features += [f for f in config.pool_features if f not in self.features]
        self._tree_cols = np.arange(len(config.features))
        self._pool_cols = np.array([self.features.index(f) for f in config.pool_features],
                                   dtype=np.int64)
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None
        self.estimator: Any = None
        self.calibrator: Any = None
        self.label_frequency_: float = 1.0
        self.logit_shift_: float = 0.0
        self.calibrated_on_: str = ""
        self.train_summary_: dict[str, Any] = {}
        #: value standing in for a column a file lacks (training median), per feature
        self.fill_: dict[str, float] = {}

    def __getstate__(self) -> dict[str, Any]:
        # caches derived from the booster are rebuilt where the model is used
        return {k: v for k, v in self.__dict__.items() if k not in ("_splits", "_grid_trees")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        # models saved before pooling existed
        self.__dict__.update(state)
        self.__dict__.setdefault("partner", None)
        self.__dict__.setdefault("logit_shift_", 0.0)
        self.__dict__.setdefault("pool_", (1.0, 0.0, 0.0))
        self.__dict__.setdefault("_tree_cols", np.arange(len(self.config.features)))
        self.__dict__.setdefault("_pool_cols", np.zeros(0, np.int64))
        self.__dict__.setdefault("fill_", {})

    # -- fitting ----------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, labels: np.ndarray, groups: np.ndarray | None = None,
            reference: np.ndarray | None = None,
            negative_weights: np.ndarray | None = None) -> RiskModel:
        """Fit on rows with labels 1 (positive), 0 (surveyed, none), -1 (unknown).

        ``reference``: rows of the land the ``prior_share`` refers to (suspected land), for the
        positive-unlabelled calibration; ignored without a prior or with surveyed negatives.
        ``negative_weights``: per row, the weight of a label-0 row relative to the others
        (times ``negative_weight``; e.g. land cancelled by non-technical survey weighs less
        than cleared land); default 1.

        Raises ValidationError (RISK_FEATURE_MISSING, RISK_LABEL_VALUE, RISK_NO_POSITIVES...).
        """
        labels = np.asarray(labels).astype(int)
        _check_labels(labels)
        if self.config.unlabelled == "drop" and (labels == 0).sum() >= 5:
            keep = labels >= 0
            X = X[keep] if isinstance(X, np.ndarray) else X.loc[keep]
            labels = labels[keep]
            groups = None if groups is None else np.asarray(groups)[keep]
            reference = None if reference is None else np.asarray(reference, bool)[keep]
            negative_weights = (None if negative_weights is None
                                else np.asarray(negative_weights, float)[keep])
        A = self._matrix(X)
        with np.errstate(all="ignore"):
            med = np.nanmedian(A, axis=0) if len(A) else np.zeros(A.shape[1])
        self.fill_ = {f: float(v) if np.isfinite(v) else 0.0
                      for f, v in zip(self.features, med, strict=True)}
        rng = np.random.default_rng(self.config.seed)
        cal = self._calibration_rows(labels, groups, rng)
        fit_rows = ~cal
        weights = self._weights(X, labels, negative_weights)
        s = (labels == 1).astype(int)
        self._fit_estimator(A[fit_rows][:, self._tree_cols], s[fit_rows], weights[fit_rows])
        if self.config.pooled:
            self._fit_pool(A, s, weights, fit_rows, cal, labels)
        self._fit_calibration(self.decision(A[cal], raw=True), labels[cal])
        self.train_summary_ = {"rows": len(labels), "positives": int(s.sum()),
                               "surveyed_negatives": int((labels == 0).sum()),
                               "unlabelled": int((labels == -1).sum()),
                               "calibration_rows": int(cal.sum()),
                               "missing_values": {f: int(n) for f, n in zip(
                                   self.features, np.isnan(A).sum(axis=0), strict=True) if n}}
        ref = None if reference is None else np.asarray(reference, bool)
        if self.calibrated_on_ == "pu" and self.config.prior_share and ref is not None \
                and ref.any():
            self.set_prior_reference(A[ref])
        return self

    def set_prior_reference(self, X_ref: pd.DataFrame | np.ndarray) -> None:
        """c from a class prior: mean P(labelled | x) over the reference land / prior share.

        ``X_ref``: features of the reference cells (suspected land) as the model will see them
        — forward-in-time fits pass the features of the prediction date, which hold the recent
        events the training features did not (no labels are used here).

        Elkan–Noto's estimate (mean P(labelled | x) over labelled positives) assumes the
        classifier can tell a labelled positive with certainty. Contamination is sparse even
        where risk is highest, so that mean is far below c there, and dividing by it pushed
        whole suspected areas to probability ~1. With a prior share π of the reference land,
        SCAR gives mean P(labelled) over it = c·π, hence this c.
        """
        prior = self.config.prior_share
        if not prior or self.calibrated_on_ not in ("pu", "pu-prior"):
            return
        g = self._calibrate(self.decision(X_ref, raw=isinstance(X_ref, np.ndarray)))
        lg = _logit(g)

        def gap(shift: float) -> float:
            return float(expit(lg + shift).mean()) - prior

        # a shift of the log-odds, not a division: for sparse cells it is the same as dividing
        # by c = exp(-shift), and it never saturates at 1 (nor needs c <= 1)
        self.logit_shift_ = float(brentq(gap, -50.0, 50.0)) if gap(-50) < 0 < gap(50) else 0.0
        self.label_frequency_ = float(np.exp(-self.logit_shift_))
        self.calibrated_on_ = "pu-prior"
        self.train_summary_["prior"] = {"share": prior, "reference_rows": len(g),
                                        "logit_shift": self.logit_shift_}

    def missing_columns(self, columns: Any) -> dict[str, list[str]]:
        """What a table with these columns lacks: ``zero`` (one-hot classes, counted as 0) and
        ``imputed`` (numeric columns, given the training median).

        Raises ValidationError (RISK_FEATURE_MISSING) when a lacking column has no stand-in, or
        the imputed ones carry more than ``MAX_IMPUTED_IMPORTANCE`` of the model's importance.
        """
        cols = set(columns)
        missing = [f for f in self.features if f not in cols]
        prefixes = tuple(self.config.zero_fill)
        zero = [f for f in missing if prefixes and f.startswith(prefixes)]
        imputed = [f for f in missing if f not in zero]
        for f in imputed:
            if f not in self.fill_:
                raise invalid("RISK_FEATURE_MISSING", column=f)
        if imputed:
            imp = self.importance()
            total = sum(imp.values())
            share = sum(imp.get(f, 0.0) for f in imputed) / total if total > 0 else 0.0
            if share > MAX_IMPUTED_IMPORTANCE:
                raise invalid("RISK_FEATURE_MISSING",
                              column=max(imputed, key=lambda f: imp.get(f, 0.0)))
        return {"zero": zero, "imputed": imputed}

    def _matrix(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        if isinstance(X, np.ndarray):
            return X.astype(np.float64, copy=False)
        gaps = self.missing_columns(X.columns)
        if gaps["zero"] or gaps["imputed"]:
            fill = {f: 0.0 for f in gaps["zero"]} | {f: self.fill_[f] for f in gaps["imputed"]}
            X = X.assign(**{f: np.full(len(X), v) for f, v in fill.items()})
        return X[self.features].to_numpy(np.float64)

    def _calibration_rows(self, labels: np.ndarray, groups: np.ndarray | None,
                          rng: np.random.Generator) -> np.ndarray:
        share = self.config.calibration_share
        pos = labels == 1
        if groups is not None and len(np.unique(groups)) >= 4:
            ug = np.unique(groups)
            for _ in range(20):   # whole groups held out, with positives on both sides
                pick = rng.choice(ug, size=max(1, round(share * len(ug))), replace=False)
                cal = np.isin(groups, pick)
                if pos[cal].sum() >= 5 and pos[~cal].sum() >= 5:
                    return cal
        cal = rng.random(len(labels)) < share
        if pos[cal].sum() < 2 or pos[~cal].sum() < 2:   # tiny data: stratify positives
            cal = np.zeros(len(labels), bool)
            for cls in (True, False):
                idx = np.flatnonzero(pos == cls)
                cal[rng.choice(idx, size=max(1, int(share * len(idx))), replace=False)] = True
        return cal

    def _weights(self, X: pd.DataFrame | np.ndarray, labels: np.ndarray,
                 negative_weights: np.ndarray | None = None) -> np.ndarray:
        w = np.ones(len(labels))
        cfg = self.config
        unl = labels == -1
        if cfg.effort_feature and isinstance(X, pd.DataFrame) and cfg.effort_feature in X:
            d = X[cfg.effort_feature].to_numpy(float)
            w[unl] = effort_weights(d[unl], cfg.effort_scale_km)
        neg = labels == 0
        w[neg] = cfg.negative_weight * (1.0 if negative_weights is None
                                        else np.asarray(negative_weights, float)[neg])
        bg = unl if cfg.negative_scale == "positive" else labels != 1
        # balance classes: the background weighs as much as the positives in total
        if bg.any():
            w[bg] *= (labels == 1).sum() / w[bg].sum()
        return w

    def _fit_estimator(self, A: np.ndarray, s: np.ndarray, w: np.ndarray) -> None:
        cfg = self.config
        if cfg.kind == "logistic":
            with np.errstate(all="ignore"):
                mean = np.nanmean(A, axis=0) if len(A) else np.zeros(A.shape[1])
            self.mean_ = np.where(np.isfinite(mean), mean, 0.0)
            A = _fill_nan(A, self.mean_)
            std = A.std(axis=0)
            self.std_ = np.where(std > 0, std, 1.0)
            Z = (A - self.mean_) / self.std_
            self.estimator = LogisticRegression(C=cfg.logistic_c, max_iter=2000)
            self.estimator.fit(Z, s, sample_weight=w)
            return
        cat = [self.features.index(c) for c in cfg.categorical if c in self.features]
        params = dict(objective="binary", n_estimators=cfg.n_estimators,
                      learning_rate=cfg.learning_rate, num_leaves=cfg.num_leaves,
                      min_child_samples=cfg.min_child_samples, subsample=0.8, subsample_freq=1,
                      colsample_bytree=0.8, reg_lambda=1.0, random_state=cfg.seed,
                      deterministic=True, force_row_wise=True, n_jobs=1, verbose=-1)
        if cfg.monotone:
            params["monotone_constraints"] = [int(cfg.monotone.get(f, 0)) for f in self.features]
            params["monotone_constraints_method"] = "advanced"
        params.update(cfg.extra)
        model = lgb.LGBMClassifier(**params)
        model.fit(A, s, sample_weight=w, categorical_feature=cat or "auto")
        self.estimator = model.booster_

    def _fit_pool(self, A: np.ndarray, s: np.ndarray, w: np.ndarray, fit_rows: np.ndarray,
                  cal: np.ndarray, labels: np.ndarray) -> None:
        """Fit the logistic partner on the same rows; Platt-scale both on the calibration rows."""
        cfg = self.config
        self.partner = RiskModel(replace(cfg, kind="logistic", features=cfg.pool_features,
                                         pool_features=(), monotone={}, categorical=()))
        P = A[:, self._pool_cols]
        self.partner._fit_estimator(P[fit_rows], s[fit_rows], w[fit_rows])
        rows, y, _ = _calibration_target(labels[cal], cfg.calibration_target)
        ag, bg = _platt(self._tree_raw(A[cal][rows][:, self._tree_cols]), y)
        al, bl = _platt(self.partner.decision(P[cal][rows], raw=True), y)
        wl = cfg.pool_weight
        self.pool_ = ((1 - wl) * ag, (1 - wl) * bg + wl * bl, wl * al)

    def _fit_calibration(self, raw: np.ndarray, labels: np.ndarray) -> None:
        rows, y, self.calibrated_on_ = _calibration_target(labels,
                                                           self.config.calibration_target)
        x = raw[rows]
        if self.config.calibration == "isotonic":
            self.calibrator = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1)
            self.calibrator.fit(x, y)
        else:
            self.calibrator = LogisticRegression(C=1e4, max_iter=1000)
            self.calibrator.fit(x.reshape(-1, 1), y)
        self.label_frequency_ = 1.0
        if self.calibrated_on_ == "pu":
            g = self._calibrate(x[y == 1])
            self.label_frequency_ = float(np.clip(g.mean(), 1e-6, 1.0)) if g.size else 1.0

    # -- prediction -------------------------------------------------------------------------
    def decision(self, X: pd.DataFrame | np.ndarray, raw: bool = False,
                 threads: int = 1, shape: tuple[int, int] | None = None) -> np.ndarray:
        """Uncalibrated score in log-odds (the ranking every metric uses).

        ``shape``: the rows of ``X`` are the cells of a raster window of this (rows, cols),
        row-major — trees are then evaluated block by block (``treegrid``; same scores).
        """
        A = X if raw else self._matrix(X)
        if self.config.kind == "logistic":
            # a missing value is the training mean: it adds nothing to the log-odds
            Z = (_fill_nan(np.asarray(A, dtype=np.float64), self.mean_) - self.mean_) / self.std_
            return Z @ self.estimator.coef_[0] + self.estimator.intercept_[0]
        A = np.asarray(A)
        grid = self._grid_evaluator() if shape is not None else None
        if grid is not None:
            z = grid.raw(A, shape, self._tree_cols)
        else:
            z = self._tree_raw(A if len(self._tree_cols) == A.shape[1]
                               else A[:, self._tree_cols], threads)
        if self.partner is None:
            return z
        a_tree, bias, a_log = self.pool_
        return a_tree * z + bias + a_log * self.partner.decision(A[:, self._pool_cols], raw=True)

    def _tree_raw(self, A: np.ndarray, threads: int = 1) -> np.ndarray:
        """The trees' raw log-odds of rows holding the tree features only."""
        if len(A) >= DEDUP_MIN_ROWS:
            return self._tree_decision_dedup(A, threads)
        return self.estimator.predict(A, raw_score=True, num_threads=threads)

    def _grid_evaluator(self) -> GridTrees | None:
        """The trees as ``treegrid.GridTrees`` (built once), None if some are unsupported."""
        if "_grid_trees" not in self.__dict__:
            self._grid_trees = GridTrees.from_booster(self.estimator)
        return self._grid_trees

    # -- exact de-duplicated tree prediction --------------------------------------------------
    def _split_points(self) -> list[tuple[np.ndarray, bool]]:
        """Per feature: the sorted thresholds the trees compare it with, and if categorical."""
        cached = getattr(self, "_splits", None)
        if cached is not None:
            return cached
        df = self.estimator.trees_to_dataframe()
        out = []
        for name in self.estimator.feature_name():
            sub = df[df["split_feature"] == name]
            numeric = sub[sub["decision_type"] == "<="]
            thr = np.unique(pd.to_numeric(numeric["threshold"], errors="coerce").dropna()
                            .to_numpy(np.float64))
            out.append((thr, bool((sub["decision_type"] == "==").any())))
        self._splits = out
        return out

    def _tree_decision_dedup(self, A: np.ndarray, threads: int) -> np.ndarray:
        """Tree scores of many rows, computing each distinct *decision pattern* once.

        A tree only asks ``x <= t``; two rows with the same number of thresholds below each
        feature value take every branch alike and score the same. Smooth fields sampled at a
        fine step repeat patterns heavily, so this is exact and several times faster.

        Each feature's code (thresholds below the value; NaN apart) takes a few bits; the codes
        are packed into 64-bit words, so a row's pattern is a short tuple of integers. With one
        word the word *is* the pattern; with more, rows are grouped by a hash of the words and
        every row's words are checked against its group's (on a collision the rows are scored
        one by one). Groups are formed by hashing (``pandas.factorize``), not sorting.
        """
        n = A.shape[0]
        words: list[np.ndarray] = []
        cur = np.zeros(n, np.uint64)
        used = 0
        for j, (thr, categorical) in enumerate(self._split_points()):
            if not categorical and thr.size == 0:
                continue                          # no tree asks about it: nothing to tell apart
            col = A[:, j]
            nan = np.isnan(col)
            if categorical:
                code = np.round(np.nan_to_num(col, nan=-1.0)).astype(np.int64) + 2
                code[nan] = 0
                if code.min(initial=0) < 0:       # negative categories: score row by row
                    return self.estimator.predict(A, raw_score=True, num_threads=threads)
                top = int(code.max(initial=0))
            else:
                code = np.searchsorted(thr, col, side="left").astype(np.int64)
                top = thr.size + 1
                if nan.any():
                    code[nan] = top
            bits = max(1, top.bit_length())
            if used + bits > 64:
                words.append(cur)
                cur, used = np.zeros(n, np.uint64), 0
            cur |= code.astype(np.uint64) << np.uint64(used)
            used += bits
        words.append(cur)
        if len(words) == 1:
            key = words[0]
        else:
            key = words[0].copy()
            mult = np.uint64(0x9E3779B97F4A7C15)
            with np.errstate(over="ignore"):
                for w in words[1:]:
                    key = key * mult + w
        inverse, uniq = pd.factorize(key, sort=False)
        if len(uniq) > DEDUP_MAX_SHARE * n:
            return self.estimator.predict(A, raw_score=True, num_threads=threads)
        rep = np.empty(len(uniq), np.int64)
        rep[inverse] = np.arange(n)               # any member of each group represents it
        if len(words) > 1 and any(not np.array_equal(w, w[rep][inverse]) for w in words):
            return self.estimator.predict(A, raw_score=True, num_threads=threads)
        return self.estimator.predict(A[rep], raw_score=True, num_threads=threads)[inverse]

    def _calibrate(self, raw: np.ndarray) -> np.ndarray:
        if isinstance(self.calibrator, IsotonicRegression):
            return self.calibrator.predict(raw)
        return self.calibrator.predict_proba(np.asarray(raw).reshape(-1, 1))[:, 1]

    def predict(self, X: pd.DataFrame | np.ndarray, threads: int = 1,
                shape: tuple[int, int] | None = None) -> np.ndarray:
        """Calibrated probability that a cell is contaminated, in [0, 1] (``shape``: see
        ``decision``)."""
        return self.probability(self.decision(X, raw=isinstance(X, np.ndarray),
                                              threads=threads, shape=shape))

    def probability(self, score: np.ndarray) -> np.ndarray:
        """Calibrated probabilities of ``decision`` scores (monotone; below 1, see ``P_MAX``)."""
        p = self._calibrate(score)
        if self.calibrated_on_ == "pu-prior":
            p = expit(_logit(p) + self.logit_shift_)
        elif self.label_frequency_ != 1.0:
            # Elkan–Noto's division by c, as a shift of the log-odds: the same for sparse cells,
            # and it never reaches 1, so cells keep the order of their scores
            p = expit(_logit(p) - np.log(self.label_frequency_))
        return np.clip(p, 0.0, P_MAX)

    def contributions(self, X: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        """Per-cell contribution of each feature to the log-odds, plus ``bias``.

        The row sums equal ``decision(X)``.
        """
        A = X if isinstance(X, np.ndarray) else self._matrix(X)
        if self.config.kind == "logistic":
            Z = (_fill_nan(np.asarray(A, np.float64), self.mean_) - self.mean_) / self.std_
            c = Z * self.estimator.coef_[0]
            bias = np.full((len(Z), 1), self.estimator.intercept_[0])
            vals = np.hstack([c, bias])
        else:
            A = np.asarray(A)
            tree = self.estimator.predict(A[:, self._tree_cols], pred_contrib=True,
                                          num_threads=1)
            if self.partner is None:
                vals = tree
            else:
                a_tree, bias, a_log = self.pool_
                vals = np.zeros((len(A), len(self.features) + 1))
                vals[:, self._tree_cols] += a_tree * tree[:, :-1]
                log = self.partner.contributions(A[:, self._pool_cols]).to_numpy()
                vals[:, self._pool_cols] += a_log * log[:, :-1]
                vals[:, -1] = a_tree * tree[:, -1] + bias + a_log * log[:, -1]
        return pd.DataFrame(vals, columns=[*self.features, "bias"])

    def importance(self) -> dict[str, float]:
        """Global weight of each feature: |coefficient| (logistic) or total gain (LightGBM)."""
        if self.config.kind == "logistic":
            vals = np.abs(self.estimator.coef_[0])
        else:
            vals = np.zeros(len(self.features))
            vals[self._tree_cols] = self.estimator.feature_importance(importance_type="gain")
        return dict(zip(self.features, (float(v) for v in vals), strict=True))


def _calibration_target(labels: np.ndarray,
                        target: str = "auto") -> tuple[np.ndarray, np.ndarray, str]:
    """Rows and target of the calibration: labelled cells (1 vs 0) when surveyed-empty cells
    exist (unless ``target`` is "pu"), else every row (labelled or not: positive-unlabelled)."""
    labelled = labels >= 0
    if target != "pu" and (labels == 0).sum() >= 5 and (labels[labelled] == 1).sum() >= 2:
        return labelled, labels[labelled].astype(int), "surveyed"
    return np.ones(len(labels), bool), (labels == 1).astype(int), "pu"


def _fill_nan(A: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``A`` with each NaN replaced by its column's value (a copy only when there are NaNs)."""
    nan = np.isnan(A)
    if not nan.any():
        return A
    return np.where(nan, np.broadcast_to(values, A.shape), A)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, np.float64), 1e-12, 1 - 1e-12)
    return np.log(p) - np.log1p(-p)


def _platt(raw: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Slope and intercept of a Platt scaling (log-odds = a * raw + b)."""
    lr = LogisticRegression(C=1e4, max_iter=1000).fit(np.asarray(raw).reshape(-1, 1), y)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def fit_model(X: pd.DataFrame, labels: np.ndarray, config: ModelConfig,
              groups: np.ndarray | None = None, reference: np.ndarray | None = None,
              negative_weights: np.ndarray | None = None) -> RiskModel:
    """Fit a ``RiskModel`` (see the module docstring for the PU treatment)."""
    return RiskModel(config).fit(X, labels, groups, reference, negative_weights)
