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
