"""Models that transfer: every variant against plain LightGBM and two baselines, on ground and
years the fit never saw, with a paired bootstrap over folds.

Splits of a grid file (RELand schema):

- ``municipality``: leave one municipality out;
- ``block``: the data set's own blockCV folds (``train_val_stream/blockCV/{train,val}-i.txt``:
  municipality lists), the folds whose held-out municipalities are in the file;
- ``region``: leave one region out — the municipalities cut into ``REGIONS`` contiguous bands
  by the longitude of their centre, a stand-in for a new department;
- ``transfer``: fit on the file, score another file (``test``: another department), or the data
  set's ``transfer`` folds when the file holds their municipalities.

Forward in time on dated events (``evaluate_events``): for each origin year Y, fit on what was
known by the end of Y (positives: the events of the three years before), score the events of
Y+1 .. the end year, over the study area of the event records.

Every variant is scored on the same folds as the reference, plain LightGBM (LightGBM's default
settings, every column of the file, surveyed cells only), and two baselines: the kernel density
of the known mines (past events), and the distance to buildings (grids) or to past events.
``compare`` gives each variant's mean over folds and a paired bootstrap interval of its
difference from the reference.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree
from scipy.stats import spearmanr
from sklearn.linear_model import LogisticRegression

from safeground.risk import reland
from safeground.risk.errors import invalid
from safeground.risk.evaluation import metrics

GRID_SPLITS = ("municipality", "block", "region", "transfer")
REFERENCE = "plain LightGBM"
KDE_BASELINE = "baseline: density of known mines"
BUILDINGS_BASELINE = "baseline: distance to buildings"
EVENT_KDE_BASELINE = "baseline: density of past events"
EVENT_DISTANCE_BASELINE = "baseline: distance to past events"
#: bands of municipalities of the ``region`` split
REGIONS = 4
#: metrics of the comparison table (top10 matters forward in time)
METRICS = ("roc_auc", "pr_auc", "top10", "top20")
BOOTSTRAP = 2000
#: spatial lag: mean of a cell's neighbours within this distance (same file)
LAG_RADIUS_M = 2500.0
#: self-exciting (space-time) kernel: Gaussian in space, exponential decay in time
SELF_EXCITING_BANDWIDTH_M = 2000.0
SELF_EXCITING_DECAY_YEARS = (1.0, 4.0)


# --- folds ------------------------------------------------------------------------------------

def name_key(name: object) -> str:
    """A municipality name compared without accents, case or the files' broken 'Ñ' (``¥``)."""
    text = str(name).replace("¥", "N").replace("Ñ", "N").replace("ñ", "n")
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).strip().upper()


def find_split_dir(grid_path: Path) -> Path | None:
    """The data set's ``train_val_stream`` folder near a grid file (up to three levels up)."""
    for parent in list(grid_path.resolve().parents)[:3]:
        cand = parent / "train_val_stream"
        if cand.is_dir():
            return cand
    return None


Fold = tuple[str, np.ndarray, np.ndarray]


def grid_folds(df: pd.DataFrame, split: str, split_dir: Path | None = None,
               group: str = reland.GROUP) -> list[Fold]:
    """(name, train mask, test mask) of a split of one grid file; only folds whose held-out
    cells hold mines and surveyed-empty cells (the AUCs need both).

    Raises ValidationError (RISK_SPLIT)."""
    labels = df[reland.LABEL].to_numpy()
    keys = df[group].map(name_key).to_numpy()
    folds: list[Fold] = []
    if split == "municipality":
        for g in sorted(set(keys)):
            te = keys == g
            folds.append((g, ~te, te))
    elif split == "region":
        xy = reland.metric_xy(df)
        centre = pd.Series(xy[:, 0]).groupby(keys).mean().sort_values()
        bands = np.array_split(centre.index.to_numpy(), min(REGIONS, len(centre)))
        for i, band in enumerate(bands):
            te = np.isin(keys, band)
            folds.append((f"region {i + 1} ({', '.join(sorted(band))})", ~te, te))
    elif split in ("block", "transfer"):
        folder = {"block": "blockCV", "transfer": "transfer"}[split]
        root = None if split_dir is None else split_dir / folder
        if root is None or not root.is_dir():
            raise invalid("RISK_SPLIT", value=split, reason="no train_val_stream/" + folder
                          + " folder beside the grid; give --split-dir")
        for val in sorted(root.glob("val-*.txt"), key=lambda p: int(p.stem.split("-")[1])):
            train_file = root / val.name.replace("val-", "train-")
            held = {name_key(n) for n in val.read_text(encoding="utf-8").splitlines() if n}
            te = np.isin(keys, list(held))
            tr = (np.isin(keys, [name_key(n) for n in train_file.read_text(
                encoding="utf-8").splitlines() if n]) if train_file.exists() else ~te) & ~te
            folds.append((f"{val.stem} ({', '.join(sorted(held))})", tr, te))
    else:
        raise invalid("RISK_SPLIT", value=split, reason="expected " + ", ".join(GRID_SPLITS))
    out = [(n, tr, te) for n, tr, te in folds
           if (labels[te] == 1).any() and (labels[te] == 0).any() and (labels[tr] == 1).any()]
    if not out:
        raise invalid("RISK_SPLIT", value=split,
                      reason="none of its held-out municipalities is in the file with mines "
                             "and surveyed cells; give a file of them with --test-grid")
    return out


# --- grid variants ----------------------------------------------------------------------------

GridVariant = Callable[[pd.DataFrame, pd.DataFrame, int], np.ndarray]


def _file_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in reland.feature_columns(df) if c != reland.KNOWN_DENSITY]


def _labelled(train: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    y = train[reland.LABEL].to_numpy()
    keep = y >= 0
    return train[keep], (y[keep] == 1).astype(int)


def _lgbm(X: pd.DataFrame, y: np.ndarray, seed: int, w: np.ndarray | None = None,
          **params: object) -> lgb.LGBMClassifier:
    m = lgb.LGBMClassifier(random_state=seed, n_jobs=1, verbose=-1, deterministic=True,
                           force_row_wise=True, **params)
    return m.fit(X.to_numpy(np.float64), y, sample_weight=w)


def _aligned(test: pd.DataFrame, cols: list[str]) -> np.ndarray:
    """Test rows in the training columns; one-hot columns it lacks are 0, others NaN."""
    out = pd.DataFrame(index=test.index)
    for c in cols:
        if c in test:
            out[c] = test[c]
        else:
            out[c] = 0.0 if c.startswith(reland.ONE_HOT_PREFIXES) else np.nan
    return out.to_numpy(np.float64)


def plain_lightgbm(train: pd.DataFrame, test: pd.DataFrame, seed: int,
                   cols: list[str] | None = None, w: np.ndarray | None = None,
                   **params: object) -> np.ndarray:
    """LightGBM's default settings on every column of the file, surveyed cells (1 vs 0)."""
    X, y = _labelled(train)
    cols = cols or _file_columns(train)
    m = _lgbm(X[cols], y, seed, w, **params)
    return m.predict_proba(_aligned(test, cols), raw_score=True)


def _with_lags(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """Each column's mean over the cell's neighbours within ``LAG_RADIUS_M`` (same file)."""
    xy = reland.metric_xy(df)
    tree = cKDTree(xy)
    pairs = tree.query_pairs(LAG_RADIUS_M, output_type="ndarray")
    n = len(df)
    i = np.concatenate([pairs[:, 0], pairs[:, 1]])
    j = np.concatenate([pairs[:, 1], pairs[:, 0]])
    count = np.bincount(i, minlength=n).astype(float)
    lagged = {}
    for c in cols:
        v = np.nan_to_num(df[c].to_numpy(np.float64), nan=float(np.nanmedian(df[c])))
        s = np.bincount(i, weights=v[j], minlength=n)
        lagged[f"lag_{c}"] = np.where(count > 0, s / np.maximum(count, 1), v)
    return df.assign(**lagged)


LAG_COLUMNS = ("elevation", "population_2020", "rwi", "buildings_dist", "roads_dist",
               "settlement_dist", "waterways_dist", "coca_dist", "edu_dist")


def lagged(train: pd.DataFrame, test: pd.DataFrame, seed: int) -> np.ndarray:
    cols = [c for c in LAG_COLUMNS if c in train]
    tr, te = _with_lags(train, cols), _with_lags(test, [c for c in cols if c in test])
    return plain_lightgbm(tr, te, seed, cols=_file_columns(train) + [f"lag_{c}" for c in cols])


def monotone(train: pd.DataFrame, test: pd.DataFrame, seed: int) -> np.ndarray:
    """Distances constrained to the direction they take in the training data (Spearman)."""
    X, y = _labelled(train)
    cols = _file_columns(train)
    cons = []
    for c in cols:
        if c.endswith("_dist"):
            r = spearmanr(X[c], y, nan_policy="omit").statistic
            cons.append(0 if not np.isfinite(r) or abs(r) < 0.02 else int(np.sign(r)))
        else:
            cons.append(0)
    return plain_lightgbm(train, test, seed, cols=cols, monotone_constraints=cons,
                          monotone_constraints_method="advanced")


def shift_weighted(train: pd.DataFrame, test: pd.DataFrame, seed: int) -> np.ndarray:
    """Training rows weighted towards the target area: the odds that a domain classifier
    (logistic, standardised columns) puts a row in the target file, clipped to [0.1, 10]."""
    X, _ = _labelled(train)
    cols = _file_columns(train)
    A = np.vstack([X[cols].to_numpy(np.float64), _aligned(test, cols)])
    mean = np.nanmean(A, axis=0)
    A = np.where(np.isnan(A), mean, A)
    sd = A.std(axis=0)
    Z = (A - mean) / np.where(sd > 0, sd, 1.0)
    d = np.r_[np.zeros(len(X)), np.ones(len(test))]
    clf = LogisticRegression(C=0.1, max_iter=2000).fit(Z, d)
    p = clf.predict_proba(Z[: len(X)])[:, 1]
    w = np.clip(p / (1 - p) * len(X) / max(len(test), 1), 0.1, 10.0)
    return plain_lightgbm(train, test, seed, cols=cols, w=w / w.mean())


def simple(train: pd.DataFrame, test: pd.DataFrame, seed: int) -> np.ndarray:
    """A small LightGBM: 4 leaves, 100 trees at 0.05, 50 rows a leaf."""
    return plain_lightgbm(train, test, seed, num_leaves=4, learning_rate=0.05,
                          min_child_samples=50)


def logistic_all(train: pd.DataFrame, test: pd.DataFrame, seed: int) -> np.ndarray:
    """A regularised logistic regression on every standardised column (surveyed cells)."""
    X, y = _labelled(train)
    cols = _file_columns(train)
    A = X[cols].to_numpy(np.float64)
    mean = np.nanmean(A, axis=0)
    mean = np.where(np.isfinite(mean), mean, 0.0)
    A = np.where(np.isnan(A), mean, A)
    sd = A.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    clf = LogisticRegression(C=0.1, max_iter=3000).fit((A - mean) / sd, y)
    B = _aligned(test, cols)
    B = np.where(np.isnan(B), mean, B)
    return clf.decision_function((B - mean) / sd)


def kind(name: str) -> GridVariant:
    """A project model kind (``reland.KINDS``) as a variant: its ``decision`` score."""
    def run(train: pd.DataFrame, test: pd.DataFrame, seed: int) -> np.ndarray:
        groups = train[reland.GROUP].astype(str).to_numpy()
        model = reland.fit_kind(name, train, train[reland.LABEL].to_numpy().astype(int),
                                groups, seed)
        return model.decision(test)
    return run


def kde_known_mines(train: pd.DataFrame, test: pd.DataFrame, seed: int) -> np.ndarray:
    return reland.density_baseline(reland.metric_xy(train),
                                   train[reland.LABEL].to_numpy() == 1, reland.metric_xy(test))


def distance_to_buildings(train: pd.DataFrame, test: pd.DataFrame, seed: int) -> np.ndarray:
    return -test["buildings_dist"].to_numpy(np.float64)


def _rank(x: np.ndarray) -> np.ndarray:
    return pd.Series(x).rank(pct=True).to_numpy()


@dataclass(frozen=True)
class Ensemble:
    """Mean of the within-fold percentile ranks of other variants (scored before it)."""

    parts: tuple[str, ...]

    def combine(self, scores: dict[str, np.ndarray]) -> np.ndarray:
        return np.mean([_rank(scores[p]) for p in self.parts], axis=0)


def _score(fn: object, scores: dict[str, np.ndarray], *args: object) -> np.ndarray:
    if isinstance(fn, Ensemble):
        return fn.combine(scores)
    return np.asarray(fn(*args), float)  # type: ignore[operator]


def grid_variants() -> dict[str, GridVariant]:
    """Every variant measured on grids, reference and baselines included (in table order)."""
    return {
        REFERENCE: plain_lightgbm,
        "project LightGBM alone (no pooling)": kind("alone"),
        "project LightGBM pooled with logistic": kind("pooled"),
        "project LightGBM, alone or pooled by inner CV": kind("inner-cv"),
        "project logistic (8 columns)": kind("logistic"),
        "plain LightGBM as a project model (plain)": kind("plain"),
        "simple LightGBM as a project model (simple)": kind("simple"),
        "plain + known-mines density": lambda tr, te, s: plain_lightgbm(
            tr, te, s, cols=[*_file_columns(tr), reland.KNOWN_DENSITY]),
        "plain without municipal counts": lambda tr, te, s: plain_lightgbm(
            tr, te, s, cols=[c for c in _file_columns(tr)
                             if c not in set(reland.group_constant_columns(tr))]),
        "plain + spatial lags (2.5 km)": lagged,
        "plain, monotone distances": monotone,
        "plain, covariate-shift weights": shift_weighted,
        "simple LightGBM (4 leaves)": simple,
        "logistic, all columns (C=0.1)": logistic_all,
        KDE_BASELINE: kde_known_mines,
        BUILDINGS_BASELINE: distance_to_buildings,
        "ensemble: plain + known-mines density": Ensemble((REFERENCE, KDE_BASELINE)),
        "ensemble: plain + simple + logistic all": Ensemble((
            REFERENCE, "simple LightGBM (4 leaves)", "logistic, all columns (C=0.1)")),
        "ensemble: plain + buildings distance": Ensemble((REFERENCE, BUILDINGS_BASELINE)),
    }


# --- comparison -------------------------------------------------------------------------------

@dataclass
class Comparison:
    """Per fold and variant: the metrics; ``table`` compares each with the reference."""

    title: str
    rows: list[dict[str, object]] = field(default_factory=list)

    def add(self, fold: str, variant: str, m: dict[str, float]) -> None:
        self.rows.append({"fold": fold, "variant": variant,
                          **{k: m.get(k, float("nan")) for k in METRICS}})

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def table(self, reference: str = REFERENCE, seed: int = 0,
              resamples: int = BOOTSTRAP) -> pd.DataFrame:
        """Mean of each metric over folds, and for ROC-AUC, top 20 % (and top 10 %) the mean
        difference from ``reference`` with a 95 % paired bootstrap interval over folds."""
        df = self.frame()
        names = list(dict.fromkeys(df["variant"]))
        order = ([n for n in names if not n.startswith("baseline:")]
                 + [n for n in names if n.startswith("baseline:")])
        mean = df.groupby("variant")[list(METRICS)].mean().reindex(order)
        mean["folds"] = df.groupby("variant")["fold"].nunique().reindex(order)
        ref = df[df["variant"] == reference].set_index("fold")
        rng = np.random.default_rng(seed)
        for metric in ("roc_auc", "top20", "top10"):
            lo, mid, hi = [], [], []
            for v in order:
                cur = df[df["variant"] == v].set_index("fold")[metric]
                d = (cur - ref[metric].reindex(cur.index)).dropna().to_numpy()
                a, b, c = paired_bootstrap(d, rng, resamples)
                lo.append(a)
                mid.append(b)
                hi.append(c)
            mean[f"d_{metric}"] = mid
            mean[f"d_{metric}_lo"] = lo
            mean[f"d_{metric}_hi"] = hi
        return mean


def paired_bootstrap(diffs: np.ndarray, rng: np.random.Generator,
                     resamples: int = BOOTSTRAP) -> tuple[float, float, float]:
    """(2.5 %, mean, 97.5 %) of the mean of per-fold differences, folds resampled."""
    d = np.asarray(diffs, float)
    if d.size == 0:
        return (math.nan, math.nan, math.nan)
    if d.size == 1 or np.all(d == d[0]):
        return (float(d[0]) if d.size == 1 else float(d.mean()), float(d.mean()),
                float(d[0]) if d.size == 1 else float(d.mean()))
    idx = rng.integers(0, d.size, size=(resamples, d.size))
    means = d[idx].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(d.mean()), float(np.percentile(means, 97.5))


def evaluate_grid(df: pd.DataFrame, folds: list[Fold], variants: dict[str, GridVariant],
                  seed: int = 0, title: str = "",
                  progress: Callable[[str], None] | None = None,
                  test: pd.DataFrame | None = None) -> Comparison:
    """Score every variant on every fold. With ``test`` (another file), one fold: fit on all of
    ``df``, score ``test``. The known-mines density never sees the held-out cells' labels."""
    comp = Comparison(title)
    runs: Iterator[tuple[str, pd.DataFrame, pd.DataFrame]]
    if test is not None:
        runs = iter([("other file", df, test)])
    else:
        runs = ((name, df[tr], df[te]) for name, tr, te in folds)
    for name, train_raw, test_raw in runs:
        train, held = reland.with_known_density(train_raw.reset_index(drop=True),
                                                test_raw.reset_index(drop=True))
        labels = held[reland.LABEL].to_numpy().astype(int) if reland.LABEL in held else None
        if labels is None:
            raise invalid("COLUMN_MISSING", where="test grid", column=reland.LABEL)
        scores: dict[str, np.ndarray] = {}
        for vname, fn in variants.items():
            scores[vname] = _score(fn, scores, train, held, seed)
            comp.add(name, vname, metrics(scores[vname], labels))
        if progress:
            progress(name)
    return comp


# --- forward in time on dated events ----------------------------------------------------------

def parse_origins(text: str) -> list[tuple[int, int]]:
    """``2004,2006:2012`` -> [(2004, 2008), (2006, 2012)]: the fit year and the last scored
    year (default: four years on). Raises ValidationError (RISK_SPLIT)."""
    out = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        try:
            a, _, b = part.partition(":")
            start = int(a)
            end = int(b) if b else start + 4
        except ValueError:
            raise invalid("RISK_SPLIT", value=part, reason="expected YEAR or YEAR:END") from None
        if end <= start:
            raise invalid("RISK_SPLIT", value=part, reason="the end must follow the origin")
        out.append((start, end))
    if not out:
        raise invalid("RISK_SPLIT", value=text, reason="expected YEAR or YEAR:END")
    return out


@dataclass
class EventFold:
    """One forward origin: training and scoring tables, cell centres, and what happened."""

    name: str
    X_train: pd.DataFrame
    y_train: np.ndarray
    X_test: pd.DataFrame
    counts: np.ndarray
    xy: np.ndarray
    past: pd.DataFrame          # target events known at the training date (features)
    known: pd.DataFrame         # target events known at the origin (scoring)
    train_date: pd.Timestamp
    origin: pd.Timestamp
    kde_train: np.ndarray
    kde_test: np.ndarray


EventVariant = Callable[[EventFold, int], np.ndarray]


def self_exciting(xy: np.ndarray, events: pd.DataFrame, at: pd.Timestamp,
                  decay_years: float,
                  bandwidth_m: float = SELF_EXCITING_BANDWIDTH_M) -> np.ndarray:
    """A space-time self-exciting intensity at the cells (after Mohler et al. 2011): each past
    event adds a Gaussian in space times exp(-age / decay) in time."""
    out = np.zeros(len(xy))
    if len(events) == 0:
        return out
    pts = events[["x", "y"]].to_numpy(np.float64)
    age = (at - pd.to_datetime(events["date"])).dt.days.to_numpy() / 365.25
    w = np.exp(-np.clip(age, 0, None) / decay_years) * events["weight"].to_numpy(np.float64)
    tree = cKDTree(pts)
    cells = cKDTree(xy)
    sdm = cells.sparse_distance_matrix(tree, 3 * bandwidth_m, output_type="coo_matrix")
    k = np.exp(-0.5 * (sdm.data / bandwidth_m) ** 2) * w[sdm.col]
    np.add.at(out, sdm.row, k)
    return out


def _distance_to(xy: np.ndarray, events: pd.DataFrame) -> np.ndarray:
    if len(events) == 0:
        return np.full(len(xy), 1e9)
    d, _ = cKDTree(events[["x", "y"]].to_numpy(np.float64)).query(xy)
    return d


def _se_frame(f: EventFold) -> tuple[pd.DataFrame, pd.DataFrame]:
    extra_tr = {f"selfexc_{d:g}y": self_exciting(f.xy, f.past, f.train_date, d)
                for d in SELF_EXCITING_DECAY_YEARS}
    extra_te = {f"selfexc_{d:g}y": self_exciting(f.xy, f.known, f.origin, d)
                for d in SELF_EXCITING_DECAY_YEARS}
    return f.X_train.assign(**extra_tr), f.X_test.assign(**extra_te)


def _event_lgbm(Xtr: pd.DataFrame, y: np.ndarray, Xte: pd.DataFrame, seed: int,
                **params: object) -> np.ndarray:
    m = _lgbm(Xtr, (y == 1).astype(int), seed, **params)
    return m.predict_proba(Xte[list(Xtr.columns)].to_numpy(np.float64), raw_score=True)


def _event_monotone(columns: object) -> list[int]:
    """+1 on event densities, -1 on distances to events: more evidence nearby never lowers
    risk."""
    return [1 if c.startswith("density_") else -1 if c.startswith("dist_") and
            c.split("_")[1] in ("accident", "find", "evidence") else 0 for c in columns]


def event_kind(name: str) -> EventVariant:
    from safeground.risk import forecast
    from safeground.risk.models import fit_model

    def run(f: EventFold, seed: int) -> np.ndarray:
        cfg = forecast.kind_config(name, list(f.X_train.columns), seed)
        return fit_model(f.X_train, f.y_train, cfg).decision(f.X_test)
    return run


def event_variants() -> dict[str, EventVariant]:
    def plain(f: EventFold, s: int) -> np.ndarray:
        return _event_lgbm(f.X_train, f.y_train, f.X_test, s)

    def plain_se(f: EventFold, s: int) -> np.ndarray:
        tr, te = _se_frame(f)
        return _event_lgbm(tr, f.y_train, te, s)

    def mono(f: EventFold, s: int) -> np.ndarray:
        return _event_lgbm(f.X_train, f.y_train, f.X_test, s,
                           monotone_constraints=_event_monotone(f.X_train.columns),
                           monotone_constraints_method="advanced")

    def simple_(f: EventFold, s: int) -> np.ndarray:
        return _event_lgbm(f.X_train, f.y_train, f.X_test, s, num_leaves=4,
                           learning_rate=0.05, min_child_samples=50)

    def simple_mono(f: EventFold, s: int) -> np.ndarray:
        return _event_lgbm(f.X_train, f.y_train, f.X_test, s, num_leaves=4,
                           learning_rate=0.05, min_child_samples=50,
                           monotone_constraints=_event_monotone(f.X_train.columns),
                           monotone_constraints_method="advanced")

    def se_only(f: EventFold, s: int) -> np.ndarray:
        return self_exciting(f.xy, f.known, f.origin, SELF_EXCITING_DECAY_YEARS[1])

    def kde(f: EventFold, s: int) -> np.ndarray:
        return f.kde_test

    def dist(f: EventFold, s: int) -> np.ndarray:
        return -_distance_to(f.xy, f.known)

    return {
        REFERENCE: plain,
        "project LightGBM alone (no pooling)": event_kind("alone"),
        "project LightGBM pooled with logistic": event_kind("pooled"),
        "project logistic": event_kind("logistic"),
        "plain + self-exciting features (1 y, 4 y)": plain_se,
        "plain, monotone on event densities and distances": mono,
        "simple LightGBM (4 leaves)": simple_,
        "simple LightGBM as a project model (simple)": event_kind("simple"),
        "simple LightGBM, monotone": simple_mono,
        "self-exciting intensity alone (4 y)": se_only,
        EVENT_KDE_BASELINE: kde,
        EVENT_DISTANCE_BASELINE: dist,
        "ensemble: plain + density of past events": Ensemble((REFERENCE, EVENT_KDE_BASELINE)),
        "ensemble: plain + self-exciting features + density": Ensemble((
            "plain + self-exciting features (1 y, 4 y)", EVENT_KDE_BASELINE)),
        "ensemble: simple + self-exciting intensity": Ensemble((
            "simple LightGBM (4 leaves)", "self-exciting intensity alone (4 y)")),
        "ensemble: simple + distance to past events": Ensemble((
            "simple LightGBM (4 leaves)", EVENT_DISTANCE_BASELINE)),
    }


def event_folds(directory: Path, origins: list[tuple[int, int]], step_m: float = 1000.0,
                horizon_years: float = 3.0,
                progress: Callable[[str], None] | None = None) -> Iterator[EventFold]:
    """The forward folds of Colombia's event records (``colombia`` study areas)."""
    from safeground.risk import colombia, forecast
    from safeground.risk import events as ev

    for start, end in origins:
        origin = pd.Timestamp(f"{start}-12-31")
        study = colombia.build_study(directory, origin.date(), step_m, until_year=end)
        X_tr, y_tr, b_tr, _ = forecast.training_table(study, origin.date(), horizon_years)
        b = study.builder(origin.date())
        cells = study.cells()
        X_te = b.frame()[cells].reset_index(drop=True)
        counts = study.counts(origin.date(), f"{end}-12-31")[cells]
        xy = study.grid.cell_xy()[cells]
        target = study.events[study.events["group"].isin(study.target_groups)]
        train_date = pd.Timestamp(b_tr.as_of)
        kde_tr = forecast.baseline_scores(study, b_tr, X_tr)[EVENT_KDE_BASELINE]
        kde_te = forecast.baseline_scores(study, b, X_te)[EVENT_KDE_BASELINE]
        name = f"fit to {start}, score {start + 1}-{end}"
        if progress:
            progress(name)
        yield EventFold(name, X_tr, y_tr, X_te, counts, xy, ev.known_at(target, train_date),
                        ev.known_at(target, origin), train_date, origin, kde_tr, kde_te)


def evaluate_events(folds: Iterator[EventFold], variants: dict[str, EventVariant],
                    seed: int = 0, title: str = "",
                    progress: Callable[[str], None] | None = None) -> Comparison:
    comp = Comparison(title)
    for f in folds:
        labels = np.where(f.counts > 0, 1, -1)
        scores: dict[str, np.ndarray] = {}
        for vname, fn in variants.items():
            scores[vname] = _score(fn, scores, f, seed)
            comp.add(f.name, vname, metrics(scores[vname], labels, f.counts))
            if progress:
                progress(f"{f.name}: {vname}")
    return comp


def pick(variants: dict, wanted: str | None) -> dict:
    """The variants whose names contain one of the comma-separated words of ``wanted`` (case
    aside), always with the reference and the baselines (and an ensemble's parts); None or
    "all": every variant."""
    if not wanted or wanted.strip().lower() == "all":
        return variants
    words = [w.strip().lower() for w in wanted.split(",") if w.strip()]
    keep = {k for k in variants
            if k == REFERENCE or k.startswith("baseline:") or any(w in k.lower() for w in words)}
    for k in list(keep):
        if isinstance(variants[k], Ensemble):
            keep |= set(variants[k].parts)
    return {k: v for k, v in variants.items() if k in keep}
