"""The intake's own coded problems, added to the one catalogue (``safeground.record.problems``).

Importing this module registers them; every intake module imports it first.
"""

from __future__ import annotations

from safeground.i18n import N_
from safeground.record import problems

CODES: dict[str, str] = {
    "FORM_UNKNOWN": N_("form '{value}' is not a Safeground form (expected one of {expected})"),
    "FORM_VERSION_UNKNOWN": N_("form '{form}' version '{value}' is not known (known: {expected}); "
                            "collect with the current form or convert the file"),
    "GEO_ENCODING": N_("'{value}' is not a valid {encoding}: {reason}"),
    "GPS_ACCURACY_POOR": N_("GPS accuracy is {value:.0f} m, worse than {limit:.0f} m"),
    "MGRS_INVALID": N_("'{value}' is not an MGRS grid reference: {reason}"),
    "COORDINATES_MISSING": N_("no geometry and no coordinate columns ({expected})"),
    "REPEAT_ORPHAN": N_("repeat row '{value}' belongs to no submission in this export"),
    "SUBMISSION_MALFORMED": N_("the submission cannot be read: {reason}"),
    "DUPLICATE_IN_BATCH": N_("submission '{value}' appears twice in this batch (first at {other})"),
    "PULL_FAILED": N_("the server at {url} answered {status}: {reason}"),
    "LAYER_EMPTY": N_("layer '{value}' holds no features"),
}

problems.register(CODES)
