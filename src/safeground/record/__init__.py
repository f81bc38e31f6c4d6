"""The record: the national mine action record as IMAS defines it, kept as dated field reports.

Reports are the only way the record changes (``reports`` describes every report type and its
fields, ``vocabulary`` the closed lists of choices). Each report passes the gate (``gate``,
``batch_gate``, ``validation``, ``geometry``) and waits, submitted, for a second person to
approve it; the ``ledger`` then folds approved reports, in date order, into the derived state
of every object, enforcing the land-release rules (``land_release``). Problems are coded
(``problems``); every write is audited (``audit``) and made by a known person (``users``);
``storage`` holds the schema and its migrations for SQLite and PostGIS, and ``domain`` the
typed values read back. Everything else in Safeground (intake, risk, planning, reports, web)
builds on this package, never the reverse.
"""
