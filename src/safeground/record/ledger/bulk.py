"""Storing many report rows at once: the rows of a batch column by column, and on SQLite one
driver ``executemany`` that bypasses SQLAlchemy's per-row parameter handling.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection

from safeground.record.batch_gate import (
    meta_of,
)
from safeground.record.gate import Block
from safeground.record.storage.schema import reports
from safeground.record.storage.types import encode_many
from safeground.record.vocabulary import (
    ReportStatus,
)

_BIG_INSERT = 10_000  # rows: an insert this large gets a larger page cache for its duration
_BIG_INSERT_CACHE_KIB = 512 * 1024


def insert_many_sqlite(conn: Connection, columns: dict[str, Any], ids: list[int]) -> None:
    """One driver ``executemany`` for many report rows, bypassing SQLAlchemy's per-row
    parameter handling. Each value goes through its column type's bind processor — once for a
    value all rows share, once per distinct value where hashable — so what is stored is what
    ``insert(reports)`` would store; payload text made by the gate (``payload_json``) is used
    as it is. A value every row shares is written into the statement as a literal, so the
    driver binds only the columns that differ. A row whose submission id a live report holds
    already is skipped (``ON CONFLICT DO NOTHING``): the caller finds which."""
    dialect = conn.dialect
    n = len(ids)
    names = [c.name for c in reports.c if c.name != "id"]
    given: list[Any] = [ids]
    slots = ["?"]
    for name in names:
        proc = reports.c[name].type._cached_bind_processor(dialect)
        values = columns.get(name, _NOTHING)
        if isinstance(values, list) and values and _all_same(values):
            values = Same(values[0])  # e.g. the submission time, an empty problem list
        if name == "payload":
            texts = columns.get("payload_json")
            if isinstance(values, Same):
                values = [values.value] * n
            if isinstance(texts, Same):
                texts = [texts.value] * n
            texts = texts if texts is not None else [None] * n
            values = [t if t is not None else proc(v) for t, v in zip(texts, values, strict=True)]
        elif name == "geometry":  # WKB, as GeometryType writes it, in one vectorised call
            if isinstance(values, Same):
                values = [values.value] * n
            values = encode_many(values, "sqlite", marked=False)
        elif isinstance(values, Same):
            value = values.value if proc is None else proc(values.value)
            literal = _sql_literal(value)
            if literal is not None:
                slots.append(literal)
                continue
            values = [value] * n
        elif proc is not None:
            values = _processed(values, proc)
        given.append(values)
        slots.append("?")
    quote = dialect.identifier_preparer.quote
    sql = (f"INSERT INTO {quote(reports.name)} ({', '.join(quote(n) for n in ['id', *names])}) "
           f"VALUES ({', '.join(slots)}) ON CONFLICT DO NOTHING")
    params = list(zip(*given, strict=True))
    # the object index takes keys in random order: with SQLite's default 2 MB page cache a
    # large insert reads its pages again and again
    with big_cache(conn, n >= _BIG_INSERT):
        conn.exec_driver_sql(sql, params)


@contextmanager
def big_cache(conn: Connection, big: bool = True) -> Iterator[None]:
    """A larger SQLite page cache (up to 512 MiB, allocated as used) for the duration of a
    large write: indexes then stay in memory instead of being read again and again."""
    if not big or conn.dialect.name != "sqlite":
        yield
        return
    cache = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size = {-_BIG_INSERT_CACHE_KIB:d}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size = {int(cache):d}")


def _all_same(values: list[Any]) -> bool:
    """Every value is the first (or, for text and dates, equal to it)."""
    first = values[0]
    if first is None or first.__class__ in (str, dt.date):
        # == for these: the same text once stored
        return values.count(first) == len(values)
    return all(v is first for v in values)


@dataclass(frozen=True, slots=True)
class Same:
    """A column holding one value for every row."""

    value: Any


_NOTHING = Same(None)


def _sql_literal(value: Any) -> str | None:
    """``value`` as an SQLite literal when it is stored exactly as a bound value would be
    (text, whole numbers, NULL), else None."""
    if value is None:
        return "NULL"
    if value.__class__ is str and "\x00" not in value:
        return "'" + value.replace("'", "''") + "'"
    if value.__class__ is int:
        return str(value)
    return None


def report_columns(records: list[dict[str, Any]], blocks: list[Block], spots: list[np.ndarray],
             rows: dict[int, dict[str, Any]], n: int, user: str, now: dt.datetime,
             source: str | None) -> tuple[list[int], dict[str, Any]]:
    """The report rows to store, column by column in batch order: the blocks' records and the
    single records' rows (``_row`` / ``_rejected_row``). Returns their positions too."""
    if not blocks or not any(b.ks for b in blocks):
        order = sorted(rows)
        names = list(rows[order[0]]) if order else []
        if "payload_json" not in names and order:
            names.append("payload_json")  # made for accepted rows only
        return order, {k: [rows[i].get(k) for i in order] for k in names}
    stored = np.zeros(n, dtype=bool)
    for spot in spots:
        stored[spot] = True
    single = np.fromiter(rows, dtype=np.int64, count=len(rows))
    stored[single] = True
    order_arr = np.flatnonzero(stored)
    order = order_arr.tolist()
    m = len(order)
    slot = np.zeros(n, dtype=np.int64)
    slot[order_arr] = np.arange(m)
    same: dict[str, Any] = {
        "status": ReportStatus.SUBMITTED._value_, "submitted_by": user, "submitted_at": now,
        "problems": [], "source": source, "decided_by": None, "decided_at": None,
        "decision_note": None}
    columns: dict[str, Any] = {}
    names = ["report_type", "object_id", "area_id", "organisation", "author",
             "date_of_information", "payload", "geometry", *same, "submission_id",
             "content_hash", "meta", "payload_json"]
    for name in names:
        if not rows and name in same:
            columns[name] = Same(same[name])
            continue
        col = np.empty(m, dtype=object)
        for block, spot in zip(blocks, spots, strict=True):
            if not block.ks:
                continue
            at = slot[spot]
            if name in same:  # one object for every row (an empty list: stored once as "[]")
                col[at] = _objects([same[name]] * len(at))
                continue
            col[at] = _objects(_block_column(records, block, name))
        if rows:
            at = slot[single]
            col[at] = _objects([r.get(name) for r in rows.values()])
        columns[name] = col.tolist()
    return order, columns


def _block_column(records: list[dict[str, Any]], block: Block, name: str) -> list[Any]:
    g, ks = block.group, block.ks
    whole = len(ks) == len(g.index)
    if name == "report_type":
        return [g.rtype._value_] * len(ks)
    if name == "area_id":
        return block.areas
    if name == "meta":
        return [meta_of(records[g.index[k]], g.meta_keys[k]) if g.meta_keys[k] else None
                for k in ks]
    col = {"object_id": g.object_ids, "organisation": g.organisations, "author": g.authors,
           "date_of_information": g.dates, "payload": g.payloads, "geometry": g.geometries,
           "submission_id": g.submission_ids, "content_hash": g.hashes,
           "payload_json": g.payload_texts}[name]
    return col if whole else [col[k] for k in ks]


def _objects(values: list[Any]) -> np.ndarray:
    """An object array of ``values`` (lists stay elements, not rows)."""
    return np.fromiter(values, dtype=object, count=len(values))


def _processed(values: list[Any], proc: Any) -> list[Any]:
    first = values[0]
    if all(v is first for v in values):  # e.g. the submission time, an empty problem list
        return [proc(first)] * len(values)
    if set(map(type, values)) <= {dt.date, str, type(None)}:
        # values equal only when written alike: one processor call per distinct value
        table = {v: proc(v) for v in set(values)}
        return list(map(table.__getitem__, values))
    seen: dict[Any, Any] = {}
    out = []
    for v in values:
        if isinstance(v, dt.datetime) and v.tzinfo is not None:
            out.append(proc(v))  # equal instants in other zones are written differently
            continue
        try:
            p = seen[(v.__class__, v)]
        except KeyError:
            p = seen[(v.__class__, v)] = proc(v)
        except TypeError:  # a dict or list: JSON text of its own, bar the empty ones
            p = proc(v) if v else seen.get((v.__class__, None)) or \
                seen.setdefault((v.__class__, None), proc(v))
        out.append(p)
    return out
