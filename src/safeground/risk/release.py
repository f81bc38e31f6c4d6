"""Land already released: a post-model adjustment of the probabilities, and its explanation.

Land cleared to IMAS standard, or reduced by technical survey, has been searched: what remains
in it is a small residual, whatever the features around it say (the finds made while clearing
it raise the densities of finds there). The model's probability ``p`` of a cell is therefore
adjusted after the model, by the share of the cell released by the prediction date
(``FeatureBuilder.released_shares``, disjoint by kind: cleared, reduced, cancelled)::

    p' = p x (1 - s_cleared - s_reduced [- s_cancelled]) + min(p, r_cleared) s_cleared
         + min(p, r_reduced) s_reduced [+ min(p, r_cancelled) s_cancelled]

where ``r_<kind>`` is the residual probability assumed for released ground of that kind
(``ReleaseAdjustment``; an assumption, stated in docs/risk-model.md and configurable). The
adjustment only ever lowers a probability: where the model is already below the residual
(e.g. a model that learnt from the released-share features), it is kept. Land
cancelled by non-technical survey was not searched: by default (``cancelled=None``) it keeps
the model's probability. A cell with no released ground keeps ``p`` exactly.

The explanation stays additive: ``explain`` returns the model's per-feature contributions
(log-odds, adding up to the raw score), a ``calibration`` term (calibrated log-odds minus the
raw score) and a ``released land`` term (log-odds of ``p'`` minus those of ``p``), so the row
sums are the log-odds of the probability the surface shows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import logit

from safeground.risk.errors import invalid
from safeground.risk.features import RELEASE_KINDS
from safeground.risk.models import RiskModel

#: residual probability of contamination assumed for ground cleared, or reduced by technical
#: survey (an assumption: IMAS 09.10 clearance to a specified depth leaves at most a rare
#: missed item; set your own from your quality-management records)
RESIDUAL = 0.001
#: names of the explanation's extra terms
CALIBRATION_TERM = "calibration"
RELEASED_TERM = "released land"
#: probabilities are kept in [EPS, 1 - EPS] before taking log-odds
EPS = 1e-9


@dataclass(frozen=True, slots=True)
class ReleaseAdjustment:
    """Residual probability per kind of released ground; None: that kind is not adjusted."""

    cleared: float | None = RESIDUAL
    reduced: float | None = RESIDUAL
    cancelled: float | None = None

    def __post_init__(self) -> None:
        for kind in RELEASE_KINDS:
            r = getattr(self, kind)
            if r is not None and not 0.0 <= r < 1.0:
                raise invalid("RISK_RELEASE_RESIDUAL", value=str(r), kind=kind)

    def residuals(self) -> list[float | None]:
        return [getattr(self, k) for k in RELEASE_KINDS]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> ReleaseAdjustment | None:
        return None if d is None else cls(**d)


def adjust(p: np.ndarray, shares: np.ndarray, adjustment: ReleaseAdjustment | None
           ) -> np.ndarray:
    """``p`` adjusted for the released shares (cells x ``RELEASE_KINDS``); see module doc."""
    p = np.asarray(p, np.float64)
    if adjustment is None:
        return p
    s = np.asarray(shares, np.float64).reshape(len(p), len(RELEASE_KINDS))
    out = p.copy()
    for j, r in enumerate(adjustment.residuals()):
        if r is not None:
            out -= s[:, j] * np.maximum(p - r, 0.0)
    return np.clip(out, 0.0, 1.0)


def _log_odds(p: np.ndarray) -> np.ndarray:
    return logit(np.clip(np.asarray(p, np.float64), EPS, 1 - EPS))


def explain(model: RiskModel, X: pd.DataFrame | np.ndarray, shares: np.ndarray | None = None,
            adjustment: ReleaseAdjustment | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """Per-cell contributions that add up to the log-odds of the shown probability, and that
    probability. Columns: the model's features, ``bias``, ``calibration`` and, when an
    adjustment applies, ``released land``."""
    contrib = model.contributions(X)
    raw = contrib.sum(axis=1).to_numpy()
    p = model.predict(X)
    contrib[CALIBRATION_TERM] = _log_odds(p) - raw
    if adjustment is not None and shares is not None:
        q = adjust(p, shares, adjustment)
        contrib[RELEASED_TERM] = _log_odds(q) - _log_odds(p)
        p = q
    return contrib, p
