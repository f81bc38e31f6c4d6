"""Block-wise tree evaluation of raster windows (``treegrid``) against LightGBM's own predict."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from safeground.risk.models import ModelConfig, fit_model
from safeground.risk.treegrid import ZERO_BAND, GridTrees

H, W = 150, 223          # ragged: not a multiple of any block side


def window_features(seed: int, h: int = H, w: int = W) -> np.ndarray:
    """Cells (row-major) x 5 features like the surface's: three smooth fields (bilinear
    upsampling of coarse random fields), a piecewise-constant class and cell-level noise."""
    rng = np.random.default_rng(seed)
    ys, xs = np.linspace(0, 7, h), np.linspace(0, 9, w)
    cols = []
    for _ in range(3):
        coarse = rng.normal(size=(9, 11))
        r0, c0 = np.minimum(ys.astype(int), 7), np.minimum(xs.astype(int), 9)
        ty, tx = (ys - r0)[:, None], (xs - c0)[None, :]
        f = (coarse[r0][:, c0] * (1 - ty) * (1 - tx) + coarse[r0 + 1][:, c0] * ty * (1 - tx)
             + coarse[r0][:, c0 + 1] * (1 - ty) * tx + coarse[r0 + 1][:, c0 + 1] * ty * tx)
        cols.append(f)
    cols.append(np.floor(cols[0] * 2) / 2)                       # piecewise constant
    cols.append(rng.exponential(1, (h, w)))                      # rough: decided cell by cell
    return np.stack([c.ravel() for c in cols], axis=1).astype(np.float32)


def booster(seed: int, **params: object) -> lgb.Booster:
    rng = np.random.default_rng(seed)
    X = np.vstack([window_features(seed + s, 40, 50) for s in range(6)]).astype(np.float64)
    X[rng.random(X.shape) < 0.3] = 0.0                   # zeros: LightGBM's zero bin
    if params.pop("train_nan", False):
        X[rng.random(X.shape) < 0.05] = np.nan
    logit = X[:, 0] - 0.7 * np.nan_to_num(X[:, 1]) + 0.5 * np.nan_to_num(X[:, 4]) - 0.5
    y = (rng.random(len(X)) < 1 / (1 + np.exp(-np.nan_to_num(logit)))).astype(int)
    base = dict(objective="binary", num_leaves=15, learning_rate=0.1, min_data_in_leaf=10,
                verbose=-1, seed=seed, deterministic=True, num_threads=1)
    base.update(params)
    return lgb.train(base, lgb.Dataset(X, y), num_boost_round=60)


def tricky(A: np.ndarray, seed: int) -> np.ndarray:
    """A window with NaN, exact zeros and values inside LightGBM's zero band."""
    rng = np.random.default_rng(seed)
    A = A.copy()
    for val, share in ((np.nan, 0.01), (0.0, 0.02), (ZERO_BAND / 3, 0.01), (-1e-38, 0.01)):
        A[rng.random(A.shape) < share] = val
    A[2000:2300, 1] = np.nan                                     # a run of NaN: whole blocks
    return A


@pytest.mark.parametrize("params", [{}, {"train_nan": True}, {"zero_as_missing": True}])
def test_grid_scores_equal_lightgbm_predict(params):
    bst = booster(3, **dict(params))
    gt = GridTrees.from_booster(bst)
    assert gt is not None
    kinds = {n["missing_type"] for t in bst.dump_model()["tree_info"]
             for n in _nodes(t["tree_structure"])}
    expected = {"train_nan": {"NaN"}, "zero_as_missing": {"Zero"}}
    assert kinds & expected.get(next(iter(params), ""), {"None"})
    A = window_features(11)
    for X in (A, tricky(A, 5), np.asfortranarray(tricky(A, 6)), tricky(A, 7).astype(np.float64)):
        ref = bst.predict(X, raw_score=True)
        got = gt.raw(X, (H, W))
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)
        assert np.mean(got == ref) > 0.05           # most differ only in the last bits, if at all


def test_grid_scores_read_mapped_columns_and_any_window_shape():
    bst = booster(4)
    gt = GridTrees.from_booster(bst)
    for h, w in ((1, 1), (1, 37), (64, 64), (33, 65)):
        A = window_features(h * w, h, w)
        extra = np.column_stack([np.full(len(A), 9.0), A[:, ::-1]])   # features reversed
        ref = bst.predict(A, raw_score=True)
        np.testing.assert_allclose(gt.raw(extra, (h, w), columns=np.arange(5, 0, -1)), ref,
                                   rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="rows"):
        gt.raw(A, (h + 1, w))


def test_trees_without_splits_score_every_cell_alike():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 3))
    bst = lgb.train(dict(objective="binary", min_data_in_leaf=1000, verbose=-1, num_threads=1),
                    lgb.Dataset(X, (rng.random(200) < 0.3).astype(int)), num_boost_round=5)
    gt = GridTrees.from_booster(bst)
    A = window_features(0, 8, 9)[:, :3]
    np.testing.assert_allclose(gt.raw(A, (8, 9)), bst.predict(A, raw_score=True), atol=1e-12)


def test_categorical_splits_fall_back_to_lightgbm():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.integers(0, 6, 3000), rng.normal(size=3000)]).astype(float)
    y = (rng.random(3000) < np.where(np.isin(X[:, 0], [1, 4]), 0.7, 0.2)).astype(int)
    bst = lgb.train(dict(objective="binary", verbose=-1, num_threads=1),
                    lgb.Dataset(X, y, categorical_feature=[0]), num_boost_round=10)
    assert GridTrees.from_booster(bst) is None
    # a model with categorical splits still scores windows (LightGBM's own way)
    frame = pd.DataFrame({"cls": X[:, 0], "v": X[:, 1]})
    model = fit_model(frame, np.where(y == 1, 1, -1),
                      ModelConfig(kind="lightgbm", features=("cls", "v"), n_estimators=20,
                                  categorical=("cls",)))
    assert model._grid_evaluator() is None
    A = X[:2400].astype(np.float32)
    np.testing.assert_array_equal(model.decision(A, raw=True, shape=(40, 60)),
                                  model.estimator.predict(A, raw_score=True))


def test_model_window_decision_equals_row_decision_pooled_and_not():
    rng = np.random.default_rng(2)
    names = [f"f{i}" for i in range(5)]
    train = pd.DataFrame(np.vstack([window_features(s, 40, 50) for s in range(4)]),
                         columns=names)
    labels = np.where(train["f0"] + rng.normal(size=len(train)) > 1.0, 1, -1)
    A = window_features(21)
    A[:, [0, 2]] = tricky(A[:, [0, 2]], 8)          # NaN in tree features only (the logistic
    for pool in ((), ("f4", "f1")):
        # partner of a pool takes no NaN)
        cfg = ModelConfig(kind="lightgbm", features=tuple(names[:4]), n_estimators=40,
                          pool_features=pool)
        model = fit_model(train, labels, cfg)
        X = A[:, [names.index(f) for f in model.features]]
        rows = model.decision(X, raw=True)
        np.testing.assert_allclose(model.decision(X, raw=True, shape=(H, W)), rows,
                                   rtol=0, atol=1e-12)
        np.testing.assert_allclose(model.predict(X, shape=(H, W)), model.predict(X),
                                   rtol=1e-12, atol=1e-15)


def _nodes(node: dict) -> list[dict]:
    if "leaf_value" in node:
        return []
    return [node, *_nodes(node["left_child"]), *_nodes(node["right_child"])]
