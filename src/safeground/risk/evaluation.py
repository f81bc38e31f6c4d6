"""Evaluation built in: spatial and forward-in-time hold-outs, never random splits.

Metrics (docs/domain.md §6): ROC-AUC and PR-AUC of positives against the cells they compete with,
and the share of held-out positives inside the top 5 / 10 / 20 % of the area ranked by risk —
always beside the two simple baselines a programme would use without a model: distance to the
former front line, and density of past events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from safeground.risk.errors import invalid

TOP_SHARES = (0.05, 0.10, 0.20)


def top_area_recall(score: np.ndarray, positives: np.ndarray, share: float,
                    area: np.ndarray | None = None) -> float:
    """Share of the positive mass (counts per cell) inside the top ``share`` of the area.

    Cells are ranked by ``score``; tied cells at the cut are counted pro rata, so a baseline
    that scores many cells alike is neither helped nor hurt by the order of the rows.
    """
    score = np.asarray(score, float)
    pos = np.asarray(positives, float)
    area = np.ones_like(score) if area is None else np.asarray(area, float)
    total_pos = pos.sum()
    if total_pos <= 0:
        return float("nan")
    budget = share * area.sum()
    frame = pd.DataFrame({"s": score, "a": area, "p": pos}).groupby("s", sort=True).sum()
    frame = frame.iloc[::-1]          # best score first; ties merged into one block
    cum_a = frame["a"].cumsum().to_numpy()
    before = np.concatenate([[0.0], cum_a[:-1]])
    take = np.clip((budget - before) / frame["a"].to_numpy(), 0.0, 1.0)
    return float((take * frame["p"].to_numpy()).sum() / total_pos)


def metrics(score: np.ndarray, labels: np.ndarray, counts: np.ndarray | None = None,
            area: np.ndarray | None = None) -> dict[str, float]:
    """ROC-AUC, PR-AUC and top-area recalls of one held-out set.

    ``labels``: 1 positive, 0 surveyed-empty, -1 unknown. When surveyed-empty cells exist the
    AUCs compare positives with them (the RELand convention); otherwise positives with all other
    cells (presence-background AUC). ``counts``: events per cell for the top-area shares
    (default: the positives).
    """
    score = np.asarray(score, float)
    labels = np.asarray(labels)
    pos = labels == 1
    neg = labels == 0 if (labels == 0).any() else labels != 1
    rows = pos | neg
    out: dict[str, float] = {"positives": float(pos.sum()), "cells": float(len(labels))}
    if pos.any() and neg.any():
        out["roc_auc"] = float(roc_auc_score(pos[rows], score[rows]))
        out["pr_auc"] = float(average_precision_score(pos[rows], score[rows]))
    else:
        out["roc_auc"] = out["pr_auc"] = float("nan")
    mass = pos.astype(float) if counts is None else np.asarray(counts, float)
    for s in TOP_SHARES:
        out[f"top{round(s * 100)}"] = top_area_recall(score, mass, s, area)
    return out


def leave_one_group_out(groups: np.ndarray, labels: np.ndarray | None = None,
                        min_positives: int = 1) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """(group, train mask, test mask) for each group holding ``min_positives`` positives.

    Raises ValidationError (RISK_GROUP_TOO_FEW).
    """
    groups = np.asarray(groups)
    uniq = pd.unique(groups)
    if len(uniq) < 2:
        raise invalid("RISK_GROUP_TOO_FEW", value=len(uniq))
    for g in sorted(uniq, key=str):
        test = groups == g
        if labels is not None and (np.asarray(labels)[test] == 1).sum() < min_positives:
            continue
        yield str(g), ~test, test


@dataclass
class Scoreboard:
    """Metrics per fold and per scorer (models and baselines)."""

    rows: list[dict[str, object]] = field(default_factory=list)
    pooled: dict[str, dict[str, list[np.ndarray]]] = field(default_factory=dict)

    def add(self, fold: str, scorer: str, score: np.ndarray, labels: np.ndarray,
            counts: np.ndarray | None = None) -> dict[str, float]:
        m = metrics(score, labels, counts)
        self.rows.append({"fold": fold, "scorer": scorer, **m})
        # pooled ranks are within-fold percentiles, so folds with other score scales mix
        pct = pd.Series(score).rank(pct=True).to_numpy()
        p = self.pooled.setdefault(scorer, {"score": [], "labels": [], "counts": []})
        p["score"].append(pct)
        p["labels"].append(np.asarray(labels))
        p["counts"].append(np.asarray(labels == 1, float) if counts is None else counts)
        return m

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def summary(self) -> pd.DataFrame:
        """Mean over folds (folds where the metric is defined), one row per scorer."""
        df = self.frame()
        cols = ["roc_auc", "pr_auc", "top5", "top10", "top20"]
        mean = df.groupby("scorer", sort=False)[cols].mean()
        mean["folds"] = df.groupby("scorer", sort=False)["fold"].nunique()
        return mean

    def pooled_summary(self) -> pd.DataFrame:
        """Metrics of all held-out cells together, ranked by within-fold percentile."""
        out = {}
        for scorer, p in self.pooled.items():
            out[scorer] = metrics(np.concatenate(p["score"]), np.concatenate(p["labels"]),
                                  np.concatenate(p["counts"]))
        return pd.DataFrame(out).T


Scorer = Callable[[np.ndarray, np.ndarray], np.ndarray]
