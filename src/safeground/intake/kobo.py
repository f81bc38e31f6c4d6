"""KoboToolbox exports: the API/JSON export and the CSV export.

JSON (``/api/v2/assets/{uid}/data/?format=json``): ``{"count", "next", "results": [...]}``;
keys are group paths (``hazardous_area/ha_classification``); repeats are lists of dicts whose
keys carry the repeat path; ``_uuid`` is this version's instance id, ``meta/rootUuid`` the
lasting one; ``_geolocation`` is ``[lat, lon]`` of the first geopoint; ``__version__`` is
Kobo's own version id (the form's version travels in ``sg_form_version``).

CSV: ``;``-separated by default, headers with or without group paths; a geopoint comes both as
the ODK string and as ``_<name>_latitude``/``_longitude``/``_altitude``/``_precision`` columns;
select_multiple also as one 0/1 column per choice (``q/AP``), which are ignored. The CSV export
carries no repeats (use the JSON or XLS export for those).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from safeground.intake import geo
from safeground.intake.errors import FileProblem
from safeground.intake.limits import csv_rows
from safeground.intake.submissions import Submission, last_segment
from safeground.settings import Settings


def _submission(item: dict[str, Any], where: str) -> Submission:
    flat: dict[str, Any] = {}
    repeats: dict[str, list[dict[str, Any]]] = {}
    for k, v in item.items():
        if k.startswith("_") or k.startswith("meta/") or k.startswith("formhub/"):
            continue
        if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            repeats[last_segment(k)] = [
                {last_segment(kk): vv for kk, vv in x.items() if vv is not None} for x in v]
        elif v is not None:
            flat[last_segment(k)] = v
    if "_geolocation" in item:
        try:
            point = geo.kobo_geolocation(item["_geolocation"])
        except geo.GeoEncodingError:
            point = None
        if point is not None:
            flat.setdefault("_geolocation", point)
    instance = str(item.get("meta/instanceID") or item.get("_uuid") or item.get("_id"))
    if not instance.startswith("uuid:") and item.get("_uuid"):
        instance = "uuid:" + instance
    root = item.get("meta/rootUuid") or instance
    return Submission(key=str(root), instance_id=instance, form_id=None,
                      version=item.get("__version__"), values=flat, repeats=repeats,
                      submitted_at=item.get("_submission_time"), where=where)


def read_json(doc: Any, label: str) -> Iterator[Submission | FileProblem]:
    """Submissions of a Kobo data page (``{"results": [...]}``) or a plain list of them."""
    items = doc.get("results") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise FileProblem("COLUMN_MISSING", label, column="results")
    for i, item in enumerate(items, start=1):
        where = f"{label} results[{i}]"
        if not isinstance(item, dict) or not (item.get("_uuid") or item.get("meta/instanceID")):
            yield FileProblem("SUBMISSION_MALFORMED", where, reason="no _uuid or meta/instanceID")
            continue
        yield _submission(item, where)


def read_csv(path: Path, settings: Settings | None = None) -> Iterator[Submission | FileProblem]:
    """Submissions of a Kobo CSV export (``;`` or ``,`` separated)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileProblem("FILE_ENCODING", path.name, encoding="UTF-8",
                          reason=f"byte {exc.start}: {exc.reason}") from exc
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    rows = list(csv_rows(text, path.name, settings, delimiter=delimiter))
    if not rows:
        raise FileProblem("FILE_EMPTY", path.name)
    header = rows[0]
    if "_uuid" not in header:
        raise FileProblem("COLUMN_MISSING", path.name, column="_uuid")
    for i, row in enumerate(rows[1:], start=2):
        if not any(row):
            continue
        where = f"{path.name} row {i}"
        if len(row) != len(header):
            yield FileProblem("SUBMISSION_MALFORMED", where,
                              reason=f"{len(row)} cells for {len(header)} columns")
            continue
        item: dict[str, Any] = {}
        for col, value in zip(header, row, strict=True):
            if value == "" or (col.startswith("_") and col not in
                               ("_uuid", "_submission_time", "_id", "__version__")):
                continue
            if "/" in col and last_segment(col) not in _question_like(header):
                continue  # a select_multiple 0/1 column such as "ha_contamination/AP"
            item[col] = value
        yield _submission(item, where)


def _question_like(header: list[str]) -> set[str]:
    """Names that are questions: the last segment of a column whose parent is a group."""
    parents = {c.rsplit("/", 1)[0] for c in header if "/" in c}
    return {last_segment(c) for c in header if c not in parents and not _is_choice_col(c, header)}


def _is_choice_col(col: str, header: list[str]) -> bool:
    return "/" in col and col.rsplit("/", 1)[0] in header
