"""The migration's own coded problems, added to the one catalogue.

Importing this module registers them; every migration module imports it first.
"""

from __future__ import annotations

from safeground.i18n import N_
from safeground.record import problems

CODES: dict[str, str] = {
    "MIGRATE_SOURCE_UNKNOWN": N_("'{value}' is not a source migration can read "
                                 "(expected {expected})"),
    "MIGRATE_LAYER_UNKNOWN": N_("the source has no layer '{value}' (it has: {expected})"),
    "MIGRATE_COLUMN_UNKNOWN": N_("layer '{layer}' has no column '{value}'"),
    "MIGRATE_MAPPING_INVALID": N_("the mapping file is not valid: {reason}"),
    "MIGRATE_FIELD_UNMAPPED": N_("source column '{value}' of layer '{layer}' is mapped to nothing "
                              "and not kept as a custom field: its values are left behind"),
    "MIGRATE_VALUE_UNMAPPED": N_("'{value}' has no mapping onto {expected}"),
    "MIGRATE_DATE_FORMAT": N_("'{value}' is not a date in the declared format ({expected})"),
    "MIGRATE_UNIT_UNKNOWN": N_("'{value}' cannot be read as a number of {unit}"),
    "MIGRATE_ID_MISSING": N_("the row has no original id in column '{value}'"),
    "MIGRATE_DUPLICATE_ID": N_("original id '{value}' appears again in layer '{layer}' "
                            "(first at {other}); the later row is left out"),
    "MIGRATE_DUPLICATE_POLYGON": N_("the polygon is the same as that of '{other}' "
                                 "(a duplicate feature); the later row is left out"),
    "MIGRATE_LINK_DANGLING": N_("link '{value}' names no {target} in the source or the record"),
    "MIGRATE_LINK_SEVERAL": N_("links '{value}' name several {target}s; the first, '{other}', "
                               "is kept"),
    "MIGRATE_GEOM_REPAIRED": N_("geometry repaired: {repair}"),
    "MIGRATE_GEOM_REFUSED": N_("the geometry cannot be repaired: {reason}"),
    "MIGRATE_CRS_MISSING": N_("layer '{value}' declares no coordinate reference system; "
                           "state it with 'crs' in the mapping"),
    "MIGRATE_APPROVER_IS_RUNNER": N_("'{value}' runs the migration and cannot also approve it; "
                                  "name another person with --approver"),
}

problems.register(CODES)
