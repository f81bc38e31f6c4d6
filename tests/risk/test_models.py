"""Positive-unlabelled models: calibration, explanations that add up, seeds, coded errors."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from safeground.errors import ValidationError
from safeground.risk import store
from safeground.risk.models import ModelConfig, effort_weights, fit_model

FEATURES = ("dist_front_km", "density", "dist_road_km")


def pu_data(seed: int = 0, n: int = 3000) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Truth depends on the front line and density; only a third of true cells are labelled,
    mostly near roads (search bias). Returns features, PU labels and the hidden truth."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"dist_front_km": rng.exponential(3, n), "density": rng.gamma(1, 1, n),
                      "dist_road_km": rng.exponential(2, n)})
    logit = 1.5 - 1.2 * X.dist_front_km + 0.8 * X.density
    truth = rng.random(n) < 1 / (1 + np.exp(-logit))
    seen = rng.random(n) < 0.6 * np.exp(-X.dist_road_km / 2)
    labels = np.where(truth & seen, 1, -1)
    return X, labels, truth


@pytest.mark.parametrize("kind", ["logistic", "lightgbm"])
def test_pu_model_ranks_hidden_truth_and_calibrates(kind):
    from sklearn.metrics import roc_auc_score

    X, labels, truth = pu_data()
    model = fit_model(X, labels, ModelConfig(kind=kind, features=FEATURES, seed=1,
                                             effort_feature="dist_road_km", n_estimators=80))
    p = model.predict(X)
    assert ((p >= 0) & (p <= 1)).all()
    assert model.calibrated_on_ == "pu" and 0 < model.label_frequency_ <= 1
    assert roc_auc_score(truth, model.decision(X)) > 0.75
    # Elkan-Noto: probabilities are of contamination, not of being labelled
    assert p.mean() > (labels == 1).mean()


@pytest.mark.parametrize("kind", ["logistic", "lightgbm"])
def test_contributions_add_up_to_the_log_odds(kind):
    X, labels, _ = pu_data(n=800)
    model = fit_model(X, labels, ModelConfig(kind=kind, features=FEATURES, n_estimators=30))
    c = model.contributions(X.head(50))
    assert list(c.columns) == [*FEATURES, "bias"]
    np.testing.assert_allclose(c.sum(axis=1), model.decision(X.head(50)), rtol=1e-6, atol=1e-6)


def test_fits_are_seeded():
    X, labels, _ = pu_data(n=800)
    cfg = ModelConfig(kind="lightgbm", features=FEATURES, seed=7, n_estimators=30)
    a, b = fit_model(X, labels, cfg), fit_model(X, labels, cfg)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_surveyed_negatives_calibrate_on_labelled_cells():
    X, labels, truth = pu_data(n=1500)
    labels = labels.copy()
    labels[(~truth) & (np.arange(len(labels)) % 3 == 0)] = 0
    model = fit_model(X, labels, ModelConfig(kind="logistic", features=FEATURES))
    assert model.calibrated_on_ == "surveyed" and model.label_frequency_ == 1.0


def test_negatives_can_weigh_like_positives_and_leave_the_calibration_pu():
    """Negatives from released land: weighed against a positive, not shared with the
    background; calibration stays positive-unlabelled (the prior sets the level)."""
    from safeground.risk.models import RiskModel

    X, labels, truth = pu_data(n=1500)
    labels = labels.copy()
    neg = np.flatnonzero((~truth) & (labels == -1))[:80]
    labels[neg] = 0
    strength = np.zeros(len(labels))
    strength[neg] = np.where(np.arange(len(neg)) % 2 == 0, 1.0, 0.5)
    cfg = ModelConfig(kind="logistic", features=FEATURES, effort_feature="dist_road_km",
                      negative_weight=1.0, negative_scale="positive", calibration_target="pu",
                      prior_share=0.2)
    w = RiskModel(cfg)._weights(X, labels, strength)
    np.testing.assert_allclose(w[neg], strength[neg])        # 1 or 0.5 of a positive's weight
    assert w[labels == -1].sum() == pytest.approx((labels == 1).sum())   # background balanced
    old = RiskModel(replace(cfg, negative_scale="background"))._weights(X, labels, strength)
    assert old[labels != 1].sum() == pytest.approx((labels == 1).sum())
    # there a negative weighs as much as an average unlabelled cell (times its strength)
    np.testing.assert_allclose(old[neg] / strength[neg], old[labels == -1].mean())
    model = fit_model(X, labels, cfg, reference=np.asarray(X.dist_front_km < 2),
                      negative_weights=strength)
    assert model.calibrated_on_ == "pu-prior" and model.train_summary_["surveyed_negatives"] == 80
    ref = np.asarray(X.dist_front_km < 2)
    assert model.predict(X[ref]).mean() == pytest.approx(0.2, abs=1e-3)
    assert fit_model(X, labels, replace(cfg, calibration_target="auto")).calibrated_on_ == \
        "surveyed"


def test_effort_weights_fall_with_distance_and_average_one():
    w = effort_weights(np.array([0.0, 1.0, 5.0, 10.0]), 2.0)
    assert np.all(np.diff(w) < 0) and w.mean() == pytest.approx(1.0)


@pytest.mark.parametrize(("labels", "code"), [
    (np.full(10, -1), "RISK_NO_POSITIVES"),
    (np.ones(10, int), "RISK_NO_BACKGROUND"),
    (np.array([1, 2] * 5), "RISK_LABEL_VALUE"),
])
def test_bad_labels_are_coded(labels, code):
    X, _, _ = pu_data(n=10)
    with pytest.raises(ValidationError) as exc:
        fit_model(X, labels, ModelConfig(kind="logistic", features=FEATURES))
    assert exc.value.code == code


def test_missing_feature_and_unknown_kind_are_coded():
    X, labels, _ = pu_data(n=100)
    with pytest.raises(ValidationError) as exc:
        fit_model(X.drop(columns="density"), labels,
                  ModelConfig(kind="logistic", features=FEATURES))
    assert exc.value.code == "RISK_FEATURE_MISSING"
    with pytest.raises(ValidationError) as exc:
        fit_model(X, labels, ModelConfig(kind="forest", features=FEATURES))
    assert exc.value.code == "RISK_MODEL_KIND"


def test_model_directory_round_trip(tmp_path):
    X, labels, _ = pu_data(n=600)
    models = {k: fit_model(X, labels, ModelConfig(kind=k, features=FEATURES, n_estimators=20))
              for k in ("logistic", "lightgbm")}
    csv = tmp_path / "data.csv"
    X.to_csv(csv)
    store.save(tmp_path / "m", models, {"data_sha256": store.data_sha256([csv]), "seed": 0})
    loaded, meta = store.load(tmp_path / "m")
    assert (tmp_path / "m" / "lightgbm.txt").exists()
    assert meta["models"]["lightgbm"]["config"]["features"] == list(FEATURES)
    assert len(meta["data_sha256"]) == 64 and "created" in meta
    for k in models:
        np.testing.assert_allclose(loaded[k].predict(X), models[k].predict(X))


def test_loading_an_empty_directory_is_not_found(tmp_path):
    from safeground.errors import NotFoundError

    with pytest.raises(NotFoundError):
        store.load(tmp_path)


def test_prior_share_sets_the_level_over_the_reference_without_changing_the_ranking():
    X, labels, _ = pu_data()
    ref = X["dist_front_km"].to_numpy() < 3          # "suspected land"
    cfg = ModelConfig(kind="lightgbm", features=FEATURES, seed=1, n_estimators=60,
                      prior_share=0.2)
    model = fit_model(X, labels, cfg, reference=ref)
    p = model.predict(X)
    assert model.calibrated_on_ == "pu-prior"
    assert p[ref].mean() == pytest.approx(0.2, abs=1e-3)
    # a shift of the log-odds: the order of the cells is the model's
    order = np.argsort(model.decision(X))
    assert np.all(np.diff(p[order]) >= -1e-12)
    # without a prior the Elkan-Noto estimate is kept
    assert fit_model(X, labels, replace(cfg, prior_share=None)).calibrated_on_ == "pu"


def test_pooled_lightgbm_explanations_add_up_and_models_round_trip(tmp_path):
    X, labels, _ = pu_data(n=1200)
    X = X.assign(extra=np.random.default_rng(3).normal(size=len(X)))
    cfg = ModelConfig(kind="lightgbm", features=FEATURES, n_estimators=30,
                      pool_features=("dist_front_km", "extra"), pool_weight=0.5)
    model = fit_model(X, labels, cfg)
    assert model.partner is not None and model.features == [*FEATURES, "extra"]
    c = model.contributions(X.head(40))
    np.testing.assert_allclose(c.sum(axis=1), model.decision(X.head(40)), rtol=1e-6, atol=1e-6)
    assert (c["extra"] != 0).any()
    store.save(tmp_path / "m", {"lightgbm": model}, {"seed": 0})
    loaded, meta = store.load(tmp_path / "m")
    assert meta["models"]["lightgbm"]["config"]["pool_features"] == ["dist_front_km", "extra"]
    np.testing.assert_allclose(loaded["lightgbm"].predict(X), model.predict(X))


@pytest.mark.parametrize("n_features", [3, 24])       # codes in one 64-bit word, or several
def test_deduplicated_tree_scores_equal_row_by_row_scores(n_features):
    from safeground.risk.models import DEDUP_MIN_ROWS

    rng = np.random.default_rng(5)
    names = tuple(f"f{i}" for i in range(n_features))
    X = pd.DataFrame(rng.normal(size=(3000, n_features)), columns=list(names))
    labels = np.where(X["f0"] + X["f1"] + rng.normal(size=3000) > 1.5, 1, -1)
    model = fit_model(X, labels, ModelConfig(kind="lightgbm", features=names, n_estimators=60,
                                             num_leaves=31))
    # a smooth field sampled finely: many repeated patterns, and a missing value
    t = np.linspace(-2, 2, DEDUP_MIN_ROWS * 2)
    A = np.column_stack([np.sin(t * (i + 1)) for i in range(n_features)]).astype(np.float32)
    A[7, 0] = np.nan
    np.testing.assert_array_equal(model.decision(A, raw=True),
                                  model.estimator.predict(A, raw_score=True))


@pytest.mark.parametrize("kind", ["logistic", "lightgbm"])
def test_probabilities_never_saturate_and_keep_the_order_of_the_scores(kind):
    # few labelled cells: Elkan-Noto's c is small, and dividing by it used to reach 1
    X, labels, _ = pu_data(n=3000)
    labels = np.where((labels == 1) & (np.arange(len(labels)) % 4 == 0), 1, -1)
    model = fit_model(X, labels, ModelConfig(kind=kind, features=FEATURES, n_estimators=60))
    assert model.calibrated_on_ == "pu" and model.label_frequency_ < 0.5
    z, p = model.decision(X), model.predict(X)
    assert p.max() < 1
    top = z >= np.quantile(z, 0.9)
    # within the top 10 %, the probabilities still tell the cells apart as the scores do
    assert len(np.unique(p[top])) >= 0.9 * len(np.unique(z[top]))
    order = np.argsort(z, kind="stable")
    assert (np.diff(p[order]) >= 0).all()


def test_missing_columns_one_hot_as_zero_numeric_imputed_or_refused():
    X, labels, _ = pu_data(n=800)
    X = X.assign(cls_a=(X.density > 1).astype(int), cls_b=(X.density <= 1).astype(int))
    cfg = ModelConfig(kind="lightgbm", features=(*FEATURES, "cls_a", "cls_b"), n_estimators=30,
                      zero_fill=("cls_",))
    model = fit_model(X, labels, cfg)
    gaps = model.missing_columns([*FEATURES, "cls_a"])
    assert gaps == {"zero": ["cls_b"], "imputed": []}
    np.testing.assert_allclose(model.decision(X.drop(columns="cls_b")),
                               model.decision(X.assign(cls_b=0)))
    imp = model.importance()
    weakest = min(FEATURES, key=imp.get)
    assert model.missing_columns([f for f in X.columns if f != weakest])["imputed"] == [weakest]
    np.testing.assert_allclose(model.decision(X.drop(columns=weakest)),
                               model.decision(X.assign(**{weakest: model.fill_[weakest]})))
    with pytest.raises(ValidationError) as err:
        model.missing_columns(["cls_a", "cls_b", weakest])
    assert err.value.problems[0].code == "RISK_FEATURE_MISSING"
