"""Evaluation metrics and hold-outs (docs/domain.md §6): top-area shares, AUCs, no random splits."""

from __future__ import annotations

import numpy as np
import pytest

from safeground.errors import ValidationError
from safeground.risk.evaluation import (
    Scoreboard,
    leave_one_group_out,
    metrics,
    top_area_recall,
)


@pytest.mark.parametrize(("score", "positives", "share", "expected"), [
    # ten cells, the two positives ranked first: the top 20 % holds both
    ([9, 8, 7, 6, 5, 4, 3, 2, 1, 0], [1, 1, 0, 0, 0, 0, 0, 0, 0, 0], 0.2, 1.0),
    # top 10 % = one cell, holding one of two positives
    ([9, 8, 7, 6, 5, 4, 3, 2, 1, 0], [1, 1, 0, 0, 0, 0, 0, 0, 0, 0], 0.1, 0.5),
    # all cells tied: any 20 % of area holds 20 % of the positives, whatever the row order
    ([1] * 10, [1, 1, 0, 0, 0, 0, 0, 0, 0, 0], 0.2, 0.2),
    ([1] * 10, [0, 0, 0, 0, 0, 0, 0, 0, 1, 1], 0.2, 0.2),
    # counts: a cell with three events weighs three times
    ([3, 2, 1, 0], [3, 1, 0, 0], 0.25, 0.75),
])
def test_top_area_recall(score, positives, share, expected):
    assert top_area_recall(np.array(score), np.array(positives), share) == pytest.approx(expected)


def test_top_area_recall_uses_area_weights():
    # the best cell is half the area: the top 50 % is that one cell
    r = top_area_recall(np.array([2.0, 1.0, 0.0]), np.array([1, 1, 0]), 0.5,
                        area=np.array([2.0, 1.0, 1.0]))
    assert r == pytest.approx(0.5)


def test_metrics_compare_positives_with_surveyed_negatives_when_there_are_some():
    score = np.array([0.9, 0.8, 0.1, 0.2, 0.95])
    labels = np.array([1, 0, 0, -1, -1])
    m = metrics(score, labels)
    assert m["roc_auc"] == pytest.approx(1.0)       # unknown cells are left out of the AUC
    m2 = metrics(score, np.array([1, -1, -1, -1, -1]))
    assert m2["roc_auc"] == pytest.approx(0.75)     # presence-background when no negatives


def test_leave_one_group_out_holds_out_each_group_with_positives():
    groups = np.array(["a", "a", "b", "b", "c"])
    labels = np.array([1, 0, 0, 0, 1])
    folds = list(leave_one_group_out(groups, labels))
    assert [f[0] for f in folds] == ["a", "c"]
    for _, train, test in folds:
        assert not (train & test).any() and (train | test).all()


def test_leave_one_group_out_needs_two_groups():
    with pytest.raises(ValidationError) as exc:
        list(leave_one_group_out(np.array(["a", "a"])))
    assert exc.value.code == "RISK_GROUP_TOO_FEW"


def test_scoreboard_summarises_per_scorer():
    board = Scoreboard()
    for fold in ("a", "b"):
        board.add(fold, "model", np.array([0.9, 0.1, 0.2]), np.array([1, 0, 0]))
        board.add(fold, "baseline", np.array([0.1, 0.9, 0.2]), np.array([1, 0, 0]))
    s = board.summary()
    assert s.loc["model", "roc_auc"] == 1.0 and s.loc["baseline", "roc_auc"] == 0.0
    assert s.loc["model", "folds"] == 2
    assert set(board.pooled_summary().index) == {"model", "baseline"}
