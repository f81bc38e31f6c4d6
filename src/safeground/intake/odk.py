"""ODK Central exports: the CSV zip (main table and one table per repeat) and OData JSON.

CSV zip: ``<formId>.csv`` holds one row per submission; columns are group paths joined by
``-`` (``hazardous_area-ha_classification``), geopoints split into ``-Latitude``,
``-Longitude``, ``-Altitude`` and ``-Accuracy`` columns, then ``KEY`` and the system columns
(``SubmissionDate``, ``ReviewState``, ``FormVersion``...). Each repeat has
``<formId>-<repeat>.csv`` whose rows carry ``PARENT_KEY`` (the submission's ``KEY``) and their
own ``KEY`` (``uuid:.../evidence[2]``).

OData JSON (``/v1/projects/{p}/forms/{f}.svc/Submissions``): ``value`` is a list of nested
objects; geo questions are GeoJSON with ``properties.accuracy``; with ``$expand=*`` repeats are
inline lists. ``__id`` is the submission's lasting id; ``meta.instanceID`` this version's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from safeground.intake.errors import FileProblem
from safeground.intake.limits import SafeZip, csv_rows
from safeground.intake.submissions import Submission, last_segment
from safeground.settings import Settings

_GEO_PARTS = {"Latitude": 0, "Longitude": 1, "Altitude": 2, "Accuracy": 3}
_SYSTEM = {"SubmissionDate", "KEY", "PARENT_KEY", "SubmitterID", "SubmitterName",
           "AttachmentsPresent", "AttachmentsExpected", "Status", "ReviewState", "DeviceID",
           "Edits", "FormVersion", "meta-instanceID", "meta-rootUuid", "meta-deprecatedID"}


def _decode(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileProblem("FILE_ENCODING", where, encoding="UTF-8",
                          reason=f"byte {exc.start}: {exc.reason}") from exc


def _rows(text: str, where: str, settings: Settings | None = None
          ) -> tuple[list[str], list[list[str]]]:
    rows = list(csv_rows(text, where, settings))
    if not rows:
        raise FileProblem("FILE_EMPTY", where)
    return rows[0], rows[1:]


@lru_cache(maxsize=64)
def _plan(header: tuple[str, ...]) -> tuple[tuple[tuple[int, str], ...],
                                            tuple[tuple[str, int, int, int, int], ...]]:
    """Which columns are questions (index, name) and which geopoints are split in four."""
    plain: list[tuple[int, str]] = []
    geo: dict[str, list[int]] = {}
    for i, col in enumerate(header):
        if col in _SYSTEM:
            continue
        parts = col.split("-")
        if len(parts) >= 2 and parts[-1] in _GEO_PARTS:
            geo.setdefault(parts[-2], [-1, -1, -1, -1])[_GEO_PARTS[parts[-1]]] = i
        else:
            plain.append((i, last_segment(col)))
    return tuple(plain), tuple((name, *idx) for name, idx in geo.items())  # type: ignore[misc]


def _flat(header: list[str], row: list[str]) -> dict[str, Any]:
    """A CSV row -> question name -> value; split geopoints joined back to ODK strings."""
    plain, geos = _plan(tuple(header))
    width = len(row)
    out: dict[str, Any] = {name: row[i] for i, name in plain if i < width and row[i] != ""}
    for name, *idx in geos:
        lat, lon, alt, acc = (row[i] if 0 <= i < width else "" for i in idx)
        if lat or lon:
            out[name] = f"{lat} {lon} {alt or 0} {acc or 0}" if acc else f"{lat} {lon}"
    return out


def _form_id_from_name(name: str) -> str:
    return Path(name).stem


def read_csv_zip(path: Path, settings: Settings | None = None
                 ) -> Iterator[Submission | FileProblem]:
    """Submissions of an ODK Central CSV zip. Yields ``FileProblem`` for rows or tables it cannot
    use (a repeat row whose submission is missing: ``REPEAT_ORPHAN``).

    Raises FileProblem when the zip itself is unreadable (or breaks the archive limits, see
    ``limits.SafeZip``) or holds no main table.
    """
    with SafeZip(path, settings) as zf:
        tables: dict[str, tuple[list[str], list[list[str]]]] = {}
        for info in zf.infos:
            n = info.filename
            if not n.lower().endswith(".csv"):
                continue
            where = f"{path.name}:{n[:80]}"
            tables[n] = _rows(_decode(zf.read(info), where), where, settings)
    mains = [n for n, (h, _) in tables.items() if "KEY" in h and "PARENT_KEY" not in h]
    if not mains:
        raise FileProblem("COLUMN_MISSING", path.name, column="KEY")
    main = min(mains, key=len)
    form_id = _form_id_from_name(main)
    yield from _assemble(path.name, form_id, main, tables)


def read_csv(path: Path, settings: Settings | None = None) -> Iterator[Submission | FileProblem]:
    """A lone ODK Central main table (no repeats)."""
    table = _rows(_decode(path.read_bytes(), path.name), path.name, settings)
    if "KEY" not in table[0]:
        raise FileProblem("COLUMN_MISSING", path.name, column="KEY")
    yield from _assemble(path.name, _form_id_from_name(path.name), path.name, {path.name: table})


def _assemble(label: str, form_id: str, main: str,
              tables: dict[str, tuple[list[str], list[list[str]]]]
              ) -> Iterator[Submission | FileProblem]:
    header, rows = tables[main]
    repeats: dict[str, dict[str, list[tuple[str, dict[str, Any]]]]] = {}
    orphans: list[FileProblem] = []
    for name, (h, body) in tables.items():
        if name == main or "PARENT_KEY" not in h:
            continue
        rname = _form_id_from_name(name).removeprefix(form_id + "-").split("-")[-1]
        pk = h.index("PARENT_KEY")
        for i, row in enumerate(body, start=2):
            if not any(row):
                continue
            parent = row[pk] if pk < len(row) else ""
            repeats.setdefault(parent.split("/")[0], {}).setdefault(rname, []).append(
                (f"{label}:{Path(name).name} row {i}", _flat(h, row)))
    col = {c: i for i, c in enumerate(header)}
    seen: set[str] = set()
    first: dict[str, str] = {}
    for i, row in enumerate(rows, start=2):
        if not any(row):
            continue
        where = f"{label}:{Path(main).name} row {i}" if label != Path(main).name \
            else f"{label} row {i}"
        if len(row) != len(header):
            yield FileProblem("SUBMISSION_MALFORMED", where,
                              reason=f"{len(row)} cells for {len(header)} columns")
            continue

        def cell(name: str, row: list[str] = row) -> str:
            j = col.get(name)
            return row[j] if j is not None else ""

        key = cell("KEY")
        instance = cell("meta-instanceID") or key
        if key in seen:
            yield FileProblem("DUPLICATE_IN_BATCH", where, "KEY", value=key, other=first[key])
            continue
        seen.add(key)
        first[key] = where
        reps = repeats.get(key, {})
        yield Submission(
            key=key, instance_id=instance, form_id=form_id,
            version=cell("FormVersion") or None, values=_flat(header, row),
            repeats={r: [v for _, v in items] for r, items in reps.items()},
            repeat_where={r: [w for w, _ in items] for r, items in reps.items()},
            submitted_at=cell("SubmissionDate") or None, where=where)
    for parent, reps in repeats.items():
        if parent not in seen:
            for items in reps.values():
                orphans.extend(FileProblem("REPEAT_ORPHAN", w, value=parent) for w, _ in items)
    yield from orphans


_CONTEXT = re.compile(r"/forms/([^/]+?)\.svc")


def read_odata(doc: dict[str, Any], label: str) -> Iterator[Submission | FileProblem]:
    """Submissions of one OData page (``{"value": [...]}``), repeats expanded inline."""
    m = _CONTEXT.search(str(doc.get("@odata.context", "")))
    form_id = m.group(1) if m else None
    values = doc.get("value")
    if not isinstance(values, list):
        raise FileProblem("COLUMN_MISSING", label, column="value")
    for i, item in enumerate(values, start=1):
        where = f"{label} value[{i}]"
        if not isinstance(item, dict) or "__id" not in item:
            yield FileProblem("SUBMISSION_MALFORMED", where, reason="no __id")
            continue
        yield odata_submission(item, form_id, where)


def odata_submission(item: dict[str, Any], form_id: str | None, where: str
                     ) -> Submission | FileProblem:
    """One OData submission; SUBMISSION_MALFORMED when its system parts are not objects."""
    system = item.get("__system") or {}
    meta = item.get("meta") or {}
    for name, part in (("__system", system), ("meta", meta)):
        if not isinstance(part, dict):
            return FileProblem("SUBMISSION_MALFORMED", where, name,
                               reason=f"'{name}' is not an object")
    flat: dict[str, Any] = {}
    repeats: dict[str, list[dict[str, Any]]] = {}
    _walk(item, flat, repeats)
    return Submission(
        key=str(item["__id"]), instance_id=str(meta.get("instanceID") or item["__id"]),
        form_id=form_id, version=system.get("formVersion"), values=flat, repeats=repeats,
        submitted_at=system.get("updatedAt") or system.get("submissionDate"), where=where)


def _walk(obj: dict[str, Any], flat: dict[str, Any],
          repeats: dict[str, list[dict[str, Any]]]) -> None:
    """Groups flattened, repeats gathered, depth first in document order, with a stack of
    our own rather than recursion (hostile files nest deep)."""
    stack: list[tuple[Iterator[tuple[str, Any]], dict[str, Any]]] = [(iter(obj.items()), flat)]
    while stack:
        items, into = stack[-1]
        step = next(items, None)
        if step is None:
            stack.pop()
            continue
        k, v = step
        if k.startswith("__") or "@odata" in k or k == "meta":
            continue
        if isinstance(v, list) and all(isinstance(x, dict) for x in v):
            entries = repeats.setdefault(k, [])
            subs = [{} for _ in v]
            entries.extend(subs)
            # each entry walked in turn, the first on top of the stack
            pairs = list(zip(v, subs, strict=True))
            stack.extend((iter(x.items()), sub) for x, sub in reversed(pairs))
        elif isinstance(v, dict) and not ("type" in v and "coordinates" in v):
            stack.append((iter(v.items()), into))
        elif v is not None:
            into[k] = v
