"""Spatial indexes of the derived record: what lets a box query read only the objects in the box.

* **PostgreSQL + PostGIS** — a GiST index on the ``geometry`` column of every object table
  that has one (migration 0007); a box query is ``geometry && ST_MakeEnvelope(...)``.
* **SQLite** — SQLite's own R*Tree module: one virtual table ``rtree_<table>`` per object
  table with a geometry, holding each object's bounding box (32-bit floats, rounded outwards
  by SQLite, so the box never misses), keyed by a stable integer from ``spatial_keys``
  (``kind``, ``object_id``) — never by the table's rowid, which ``VACUUM`` may renumber.
  The ledger writes the boxes in the same transaction as the objects (``write_boxes``, called
  by ``_write_workspace``); a trigger removes an object's box when the object is deleted
  (a batch undone). Migration 0007 creates them and fills them for existing rows.

The index is only a prefilter: the caller tests the exact geometry of each candidate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely
from sqlalchemy import Column, Connection, Float, Integer, MetaData, String, Table, select, text

from safeground.record.reports import REPORT_SPECS
from safeground.record.storage.schema import TABLE_NAMES, object_tables
from safeground.record.vocabulary import ReportType

#: object types with a geometry column (each has a spatial index)
SPATIAL_TYPES: tuple[ReportType, ...] = tuple(t for t in ReportType if REPORT_SPECS[t].geometry)

_meta = MetaData()
spatial_keys = Table("spatial_keys", _meta,
                     Column("id", Integer, primary_key=True),
                     Column("kind", String(32), nullable=False),
                     Column("object_id", String(64), nullable=False))
rtrees: dict[ReportType, Table] = {
    t: Table(f"rtree_{TABLE_NAMES[t]}", _meta, Column("id", Integer, primary_key=True),
             Column("minx", Float), Column("maxx", Float),
             Column("miny", Float), Column("maxy", Float))
    for t in SPATIAL_TYPES}


def gist_name(rtype: ReportType) -> str:
    return f"ix_{TABLE_NAMES[rtype]}_geometry_gist"


def create_sqlite(conn: Connection) -> None:
    """The key table, one R*Tree per spatial type and its delete trigger (SQLite)."""
    conn.execute(text("CREATE TABLE IF NOT EXISTS spatial_keys (id INTEGER PRIMARY KEY, "
                      "kind VARCHAR(32) NOT NULL, object_id VARCHAR(64) NOT NULL, "
                      "UNIQUE (kind, object_id))"))
    for t in SPATIAL_TYPES:
        name, rt = TABLE_NAMES[t], rtrees[t].name
        conn.execute(text(f"CREATE VIRTUAL TABLE IF NOT EXISTS {rt} "
                          "USING rtree(id, minx, maxx, miny, maxy)"))
        # the kind is a fixed word of this program, never user input
        conn.execute(text(
            f"CREATE TRIGGER IF NOT EXISTS spatial_delete_{name} AFTER DELETE ON {name} "
            f"BEGIN DELETE FROM {rt} WHERE id IN (SELECT id FROM spatial_keys "
            f"WHERE kind = '{t.value}' AND object_id = old.id); END"))


def drop_sqlite(conn: Connection) -> None:
    for t in SPATIAL_TYPES:
        conn.execute(text(f"DROP TRIGGER IF EXISTS spatial_delete_{TABLE_NAMES[t]}"))
        conn.execute(text(f"DROP TABLE IF EXISTS {rtrees[t].name}"))
    conn.execute(text("DROP TABLE IF EXISTS spatial_keys"))


def write_boxes(conn: Connection, rtype: ReportType, ids: Sequence[str],
                geoms: Sequence[Any]) -> None:
    """Set the R*Tree boxes of these objects (SQLite; nothing to do on PostGIS, whose GiST
    index follows the column). A missing or empty geometry removes the object's box."""
    if conn.dialect.name != "sqlite" or rtype not in rtrees or not ids:
        return
    arr = np.empty(len(geoms), dtype=object)
    if all(g is None or g.__class__ is bytes for g in geoms):
        arr[:] = shapely.from_wkb(np.asarray(geoms, dtype=object))  # one vectorised call
    else:
        arr[:] = [shapely.from_wkb(bytes(g)) if isinstance(g, bytes | bytearray | memoryview)
                  else g for g in geoms]
    bounds = shapely.bounds(arr)            # NaN for None and empty geometries
    kind = rtype.value
    # driver executemany: no per-row parameter handling for what may be a million boxes
    conn.exec_driver_sql("INSERT OR IGNORE INTO spatial_keys (kind, object_id) VALUES (?, ?)",
                         [(kind, i) for i in ids])
    rt = rtrees[rtype].name
    empty = np.isnan(bounds).any(axis=1)
    put = [(kind, oid, *b) for oid, b, e in zip(ids, bounds.tolist(), empty.tolist(),
                                                  strict=True) if not e]
    drop = [(kind, oid) for oid, e in zip(ids, empty.tolist(), strict=True) if e]
    if put:
        conn.exec_driver_sql(f"INSERT OR REPLACE INTO {rt} (id, minx, miny, maxx, maxy) "
                             "SELECT id, ?, ?, ?, ? FROM spatial_keys "
                             "WHERE kind = ? AND object_id = ?",
                             [(x0, y0, x1, y1, k, o) for k, o, x0, y0, x1, y1 in put])
    if drop:
        conn.exec_driver_sql(f"DELETE FROM {rt} WHERE id IN (SELECT id FROM spatial_keys "
                             "WHERE kind = ? AND object_id = ?)", drop)


def fill_sqlite(conn: Connection, chunk: int = 20_000) -> None:
    """Boxes for every existing object (the migration; also a repair)."""
    for t in SPATIAL_TYPES:
        table = object_tables[t]
        rows = conn.execute(select(table.c.id, table.c.geometry).order_by(table.c.id)).all()
        for i in range(0, len(rows), chunk):
            part = rows[i:i + chunk]
            write_boxes(conn, t, [r[0] for r in part], [r[1] for r in part])
