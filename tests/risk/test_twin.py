"""Scenario twin: fitted on the observable record only, the model finds the hidden truth."""

from __future__ import annotations

import pytest

scenario = pytest.importorskip("safeground.scenario.scenario")


@pytest.fixture(scope="module")
def small_scenario(tmp_path_factory):
    from safeground.scenario.config import ScenarioConfig

    out = tmp_path_factory.mktemp("scenario")
    scenario.generate(ScenarioConfig.small(seed=1)).write(out)
    return out


def test_twin_ranks_true_contamination_above_empty_cells(small_scenario):
    from safeground.risk import twin

    board, models = twin.evaluate(small_scenario, step_m=200, horizon_years=0.25,
                                  kinds=("lightgbm",))
    s = board.summary()
    assert s.loc["lightgbm", "roc_auc"] > 0.7
    # the record, not the truth, trained the model: its positives are reported events only
    assert models["lightgbm"].train_summary_["positives"] < 200


def test_twin_probabilities_are_calibrated_against_the_truth(small_scenario):
    """The probability of a cell is read as the share of its ground that is contaminated.

    Tolerance: a factor of 2 on the level (suspected land, the rest, the total contaminated
    area) and on the top tenth of cells. Only the suspected-land level is anchored by the prior
    (3 % of suspected land); the rest and the shape of the reliability curve are the model's.
    """
    from scipy.stats import spearmanr

    from safeground.risk import forecast, sources, twin

    src = sources.detect(small_scenario)
    until = twin.record_end(small_scenario)
    study = sources.build_study(src, until, 200)
    model = forecast.fit(study, until, 0.25, ("lightgbm",), seed=0)["lightgbm"]
    assert model.calibrated_on_ == "pu-prior"
    c = twin.calibration(small_scenario, model, step_m=200)

    def within_2x(pair: dict) -> bool:
        return 0.5 <= pair["predicted"] / pair["observed"] <= 2.0

    assert within_2x(c["suspected"]) and within_2x(c["elsewhere"])
    assert within_2x(c["contaminated_km2"])
    rel = c["reliability"]
    assert spearmanr(rel["predicted"], rel["observed"]).statistic >= 0.8
    assert within_2x(rel.iloc[-1])
    # Elkan–Noto's constant had put whole suspected areas near 1; the prior keeps them sparse
    assert c["suspected"]["predicted"] < 0.2
