"""Errors and coded problems of the risk model.

The codes join the one catalogue (``safeground.record.problems``) so CLI and API show them like any
other validation problem.
"""

from __future__ import annotations

from safeground.errors import NotFoundError, SafegroundError, ValidationError
from safeground.i18n import N_
from safeground.record import problems
from safeground.record.problems import Problem

problems.register({
    "RISK_NO_POSITIVES": N_("no positive cells (reliable evidence of contamination) to learn from"),
    "RISK_NO_BACKGROUND": N_("no unlabelled or negative cells to contrast the positives with"),
    "RISK_LABEL_VALUE": N_("label {value} is not one of 1 (contaminated), 0 (surveyed, none), "
                        "-1 (unknown)"),
    "RISK_FEATURE_MISSING": N_("feature '{column}' the model needs is not in the data"),
    "RISK_MODEL_KIND": N_("'{value}' is not a model kind (expected {expected})"),
    "RISK_MODEL_DIR": N_("'{value}' holds no fitted risk model ({reason})"),
    "RISK_EXTENT": N_("extent '{value}' is not 'minx,miny,maxx,maxy' with min < max"),
    "RISK_RESOLUTION": N_("resolution {value} must be positive and give at most {limit} cells"),
    "RISK_NO_EVENTS": N_("no events are known at {value}"),
    "RISK_GROUP_TOO_FEW": N_("spatial hold-out needs at least 2 groups, got {value}"),
    "RISK_RULES": N_("evidence rule set is invalid: {reason}"),
    "RISK_AREA_UNKNOWN": N_("hazardous area '{value}' is not in the area file"),
    "RISK_PRIOR_SHARE": N_("prior share {value} must be between 0 and 1 (exclusive)"),
    "RISK_NEGATIVES": N_("'{value}' is not a source of negatives (expected {expected})"),
    "RISK_CRS": N_("'{value}' is not a coordinate reference system (e.g. EPSG:4326)"),
    "RISK_SPLIT": N_("'{value}' is not a split of this evaluation ({reason})"),
    "RISK_RELEASE_RESIDUAL": N_("residual {value} of {kind} land must be at least 0 and below 1"),
})


class RiskError(SafegroundError):
    """Root of the risk model's own failures."""

    code = "RISK_ERROR"


class ModelNotFoundError(NotFoundError):
    """A model directory holds no fitted model."""

    code = "RISK_MODEL_DIR"


def invalid(code: str, where: str = "", field: str | None = None,
            **params: object) -> ValidationError:
    """Build a ValidationError holding one coded problem (raise it at the call site)."""
    return ValidationError([Problem(code, where=where, field=field, params=dict(params))])
