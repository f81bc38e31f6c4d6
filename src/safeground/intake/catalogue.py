"""The intake's own coded problems, added to the one catalogue (``safeground.record.problems``).

Importing this module registers them; every intake module imports it first.
"""

from __future__ import annotations

from safeground.record import problems

CODES: dict[str, str] = {
    "FORM_UNKNOWN": "form '{value}' is not a Safeground form (expected one of {expected})",
    "FORM_VERSION_UNKNOWN": "form '{form}' version '{value}' is not known (known: {expected}); "
                            "collect with the current form or convert the file",
    "GEO_ENCODING": "'{value}' is not a valid {encoding}: {reason}",
    "GPS_ACCURACY_POOR": "GPS accuracy is {value:.0f} m, worse than {limit:.0f} m",
    "MGRS_INVALID": "'{value}' is not an MGRS grid reference: {reason}",
    "COORDINATES_MISSING": "no geometry and no coordinate columns ({expected})",
    "REPEAT_ORPHAN": "repeat row '{value}' belongs to no submission in this export",
    "SUBMISSION_MALFORMED": "the submission cannot be read: {reason}",
    "DUPLICATE_IN_BATCH": "submission '{value}' appears twice in this batch (first at {other})",
    "PULL_FAILED": "the server at {url} answered {status}: {reason}",
    "LAYER_EMPTY": "layer '{value}' holds no features",
}

problems.register(CODES)
