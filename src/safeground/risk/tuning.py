"""Choosing a model configuration by inner cross-validation, never on the held-out data.

An outer evaluation (leave one municipality out) must not see its held-out group while the
model is being configured. ``select_by_inner_cv`` therefore picks among a small set of
candidate configurations, fixed in advance, using only the training groups: they are split into
``folds`` blocks of whole groups; each candidate is fitted on all blocks but one and scored on
the one left out, with the same metrics the outer evaluation reports. The candidate with the
best mean criterion — (ROC-AUC + share of positives in the top 20 % of the area) / 2 — wins and
is refitted on all the training groups.

A ``prepare(train, test)`` hook recomputes features that depend on other groups' labels (the
known-mines density), so an inner held-out block never sees its own labels either.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from safeground.risk.evaluation import metrics
from safeground.risk.models import ModelConfig, fit_model

Prepare = Callable[[pd.DataFrame, pd.DataFrame], tuple[pd.DataFrame, pd.DataFrame]]


@dataclass(frozen=True, slots=True)
class Selection:
    """The chosen configuration and the inner-CV score of every candidate."""

    config: ModelConfig
    index: int
    scores: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"chosen": self.index, "inner_cv_criterion": [round(s, 4) for s in self.scores]}


def criterion(m: dict[str, float]) -> float:
    """What the selection maximises: mean of ROC-AUC and top-20 % recall (NaN-safe)."""
    vals = [v for v in (m.get("roc_auc"), m.get("top20")) if v is not None and np.isfinite(v)]
    return float(np.mean(vals)) if vals else float("nan")


def group_blocks(groups: np.ndarray, labels: np.ndarray, folds: int,
                 seed: int) -> list[np.ndarray]:
    """Whole groups dealt into ``folds`` blocks, balancing positives (a block needs some)."""
    rng = np.random.default_rng(seed)
    uniq = np.unique(groups)
    pos = np.array([(labels[groups == g] == 1).sum() for g in uniq])
    order = np.lexsort((rng.random(len(uniq)), -pos))      # most positives first, ties random
    k = max(2, min(folds, int((pos > 0).sum())))
    blocks: list[list[str]] = [[] for _ in range(k)]
    load = np.zeros(k)
    for i in order:                                         # greedy: fill the lightest block
        b = int(np.argmin(load))
        blocks[b].append(uniq[i])
        load[b] += pos[i] + 1e-3
    return [np.isin(groups, b) for b in blocks]


def select_by_inner_cv(df: pd.DataFrame, labels: np.ndarray, groups: np.ndarray,
                       candidates: Sequence[ModelConfig], *, folds: int = 4,
                       prepare: Prepare | None = None, seed: int = 0) -> Selection:
    """The candidate with the best mean inner-CV criterion (ties: the earlier candidate)."""
    labels = np.asarray(labels).astype(int)
    groups = np.asarray(groups)
    if len(candidates) == 1 or len(np.unique(groups)) < 3:
        return Selection(candidates[0], 0, (float("nan"),) * len(candidates))
    sums = np.zeros(len(candidates))
    n = np.zeros(len(candidates))
    for test in group_blocks(groups, labels, folds, seed):
        if not (labels[test] == 1).any() or not (labels[~test] == 1).any():
            continue
        train_df, test_df = df[~test], df[test]
        if prepare is not None:
            train_df, test_df = prepare(train_df, test_df)
        for i, cfg in enumerate(candidates):
            model = fit_model(train_df, labels[~test], cfg, groups=groups[~test])
            c = criterion(metrics(model.decision(test_df), labels[test]))
            if np.isfinite(c):
                sums[i] += c
                n[i] += 1
    scores = np.where(n > 0, sums / np.maximum(n, 1), -np.inf)
    best = int(np.argmax(scores))
    return Selection(candidates[best], best, tuple(float(s) for s in scores))


def variants(base: ModelConfig, overrides: Sequence[dict[str, Any]]) -> list[ModelConfig]:
    """``base`` with each set of field overrides (an empty dict keeps ``base``)."""
    return [replace(base, **o) for o in overrides]
