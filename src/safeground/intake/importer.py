"""``import_path``: any field or geodata file into the holding area, checked at the gate.

Detects the format, reads it into records (form submissions through their form spec, geodata
through its columns), submits them to the ledger in chunks, sorts each outcome into accepted /
needs review / rejected / already imported, and writes a rejects file the user can fix and
import again. Nothing is half-written: each record is stored whole (as a submitted report, or
as a rejected one with its problems) or, when the file itself cannot be read, not at all.

A large file goes in as a few transactions (chunks), each stored whole or not at all, so that
the web's writes wait for one chunk, never for the whole file. An import stopped part way
(the database stayed busy, Ctrl-C, a killed process) leaves whole chunks in the holding area
and says so: the summary's ``incomplete`` (``IMPORT_INCOMPLETE``: N of M records taken in, run
the same import again to finish), and the next import of the file notes that it finishes an
earlier one (``resumes``). Running it again adds only what is missing: records already taken
in are recognised by their submission ids.
"""

from __future__ import annotations

import csv
import json
import logging
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from sqlalchemy import select

from safeground.errors import DatabaseBusyError, ValidationError
from safeground.intake import geodata, kobo, odk, survey123
from safeground.intake.errors import FileProblem
from safeground.intake.limits import SafeZip, load_json
from safeground.intake.reconcile import Proposal, propose
from safeground.intake.submissions import Submission, to_records
from safeground.record import exchange
from safeground.record.cells import csv_dict
from safeground.record.ledger import Ledger, no_cyclic_gc
from safeground.record.problems import Problem
from safeground.record.storage.schema import audit_log
from safeground.record.validation import oversize_fields
from safeground.settings import Settings

log = logging.getLogger("safeground.intake")

FORMATS = ("odk-csv-zip", "odk-csv", "odk-odata", "kobo-json", "kobo-csv", "survey123",
           "geojson", "csv", "ogr", "reports")
SUFFIXES = (".zip", ".csv", ".json", ".geojson", ".gpkg", ".gdb", ".shp", ".kml", ".fgb", ".gml")
#: records per Ledger.submit call: the gate loads the holding area's ids and hashes once per
#: call, so a big file goes in a few large calls (at most MAX_CALLS), each a step of the bar
CHUNK = 20_000
MAX_CALLS = 5
#: times a chunk is tried while the database stays busy (each try waits up to the database's
#: ``busy_wait``, 60 s) before the import stops with IMPORT_INCOMPLETE
BUSY_TRIES = 3


@dataclass(slots=True)
class ImportSummary:
    """What became of every record of one file."""

    path: str
    format: str = ""
    accepted: int = 0
    needs_review: int = 0
    rejected: int = 0
    already_imported: int = 0
    report_ids: list[int] = field(default_factory=list)
    #: (where, problems) of every record or row refused
    rejections: list[tuple[str, list[Problem]]] = field(default_factory=list)
    #: (where, report id, reasons) of accepted records a reviewer should look at
    reviews: list[tuple[str, int, list[str]]] = field(default_factory=list)
    proposals: list[Proposal] = field(default_factory=list)
    rejects_path: str | None = None
    #: DUPLICATE_SUBMISSION notes of records already taken in (not stored again)
    duplicates: list[Problem] = field(default_factory=list)
    #: seconds spent reading, at the gate (Ledger.submit), reconciling, writing rejects
    timings: dict[str, float] = field(default_factory=dict)
    #: the problem that refused the whole file (nothing of it stored), else None
    file_problem: Problem | None = None
    #: reports written to the record: taken in, plus those the gate refused and kept
    stored: int = 0
    #: IMPORT_INCOMPLETE when the import stopped part way: run it again to finish
    incomplete: Problem | None = None
    #: what an earlier import of the same file left unfinished, which this one finishes
    resumes: str | None = None

    @property
    def reasons(self) -> Counter[str]:
        """Rejection codes and how often each occurred."""
        return Counter(p.code for _, probs in self.rejections for p in probs)

    @property
    def codes(self) -> set[str]:
        """Every code the import gave: rejections, duplicates and review notes."""
        return set(self.reasons) | {p.code for p in self.duplicates} | {
            c for _, _, reasons in self.reviews for c in _codes_in(reasons)}

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "format": self.format, "accepted": self.accepted,
                "needs_review": self.needs_review, "rejected": self.rejected,
                "already_imported": self.already_imported, "stored": self.stored,
                "refused": self.file_problem.to_dict() if self.file_problem else None,
                "reasons": dict(self.reasons),
                "rejects_path": self.rejects_path,
                "timings": {k: round(v, 3) for k, v in self.timings.items()},
                "incomplete": self.incomplete.to_dict() if self.incomplete else None,
                "resumes": self.resumes,
                "rejections": [{"where": w, "problems": [p.to_dict() for p in ps]}
                               for w, ps in self.rejections],
                "reviews": [{"where": w, "report_id": r, "reasons": rs}
                            for w, r, rs in self.reviews]}


def _codes_in(reasons: list[str]) -> set[str]:
    return {r.split(":", 1)[0] for r in reasons if r[:1].isupper() and ":" in r}


def detect(path: Path, settings: Settings | None = None) -> str:
    """The format of a file, from its suffix and a look inside (a zip's headers are checked
    against the limits here, before anything is unpacked).

    Raises FileProblem (FILE_FORMAT_UNKNOWN, FILE_UNREADABLE, FILE_ENCODING, the archive and
    JSON limits).
    """
    if path.is_dir():
        if path.suffix.lower() == ".gdb":  # an Esri file geodatabase is a folder GDAL reads
            return "ogr"
        if any(path.glob("*.geojson")):
            return "survey123"
        raise FileProblem("FILE_FORMAT_UNKNOWN", path.name, suffix="(folder)",
                          expected=", ".join(SUFFIXES))
    if not path.exists():
        raise FileProblem("FILE_UNREADABLE", path.name, reason="no such file")
    suffix = path.suffix.lower()
    if suffix == ".zip":
        with SafeZip(path, settings) as zf:
            names = [n.lower() for n in zf.names()]
        if any(n.endswith((".shp", ".gpkg")) or ".gdb/" in n for n in names):
            return "ogr"
        if any(n.endswith((".geojson", ".json")) for n in names):
            return "survey123"
        if any(n.endswith(".csv") for n in names):
            return "odk-csv-zip"
        raise FileProblem("FILE_EMPTY", path.name)
    if suffix in (".json", ".geojson"):
        doc = _load_json(path, settings)
        if isinstance(doc, dict) and isinstance(doc.get("value"), list):
            return "odk-odata"
        if (isinstance(doc, dict) and isinstance(doc.get("results"), list)) or \
                (isinstance(doc, list) and doc and isinstance(doc[0], dict)
                 and "_uuid" in doc[0]):
            return "kobo-json"
        if survey123.is_survey123(doc):
            return "survey123"
        if _is_report_file(doc):
            return "reports"
        return "geojson"
    if suffix == ".csv":
        try:
            with path.open("rb") as fh:
                first = fh.readline().decode("utf-8-sig", errors="replace")
        except OSError as exc:
            raise FileProblem("FILE_UNREADABLE", path.name, reason=str(exc)[:120]) from exc
        cols = {c.strip().strip('"') for c in first.replace(";", ",").split(",")}
        if {"KEY", "SubmissionDate"} <= cols:
            return "odk-csv"
        if "_uuid" in cols:
            return "kobo-csv"
        return "csv"
    if suffix in (".gpkg", ".shp", ".kml", ".fgb", ".gml"):
        return "ogr"
    raise FileProblem("FILE_FORMAT_UNKNOWN", path.name, suffix=suffix or "(none)",
                      expected=", ".join(SUFFIXES))


def _is_report_file(doc: Any) -> bool:
    """A FeatureCollection in the Safeground report format (docs/report-format.md)."""
    feats = doc.get("features") if isinstance(doc, dict) else None
    return isinstance(feats, list) and bool(feats) and all(
        isinstance(f, dict) and isinstance(f.get("properties"), dict)
        and "report_type" in f["properties"] for f in feats[:50])


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise FileProblem("FILE_UNREADABLE", path.name, reason=str(exc)[:120]) from exc


def _load_json(path: Path, settings: Settings | None = None) -> Any:
    """A JSON file within the limits (a file over the size limit is refused unread)."""
    size = path.stat().st_size if path.is_file() else 0
    limit = (settings or Settings()).intake_max_json_bytes
    if size > limit:
        raise FileProblem("FILE_TOO_LARGE", path.name, value=f"{size / (1 << 20):,.0f} MiB",
                          limit=f"{limit / (1 << 20):,.0f} MiB", what="a JSON file")
    return load_json(_read_bytes(path), path.name, settings)


def read_items(path: Path, fmt: str, report_type: str | None = None, crs: str | None = None,
               settings: Settings | None = None
               ) -> Iterator[Submission | dict[str, Any] | FileProblem]:
    """The raw items of a file: submissions, records or row problems. Raises FileProblem."""
    if fmt == "odk-csv-zip":
        yield from odk.read_csv_zip(path, settings)
    elif fmt == "odk-csv":
        yield from odk.read_csv(path, settings)
    elif fmt == "odk-odata":
        yield from odk.read_odata(_load_json(path, settings), path.name)
    elif fmt == "kobo-json":
        yield from kobo.read_json(_load_json(path, settings), path.name)
    elif fmt == "kobo-csv":
        yield from kobo.read_csv(path, settings)
    elif fmt == "survey123":
        yield from survey123.read(path, settings)
    elif fmt == "reports":  # the plain Safeground report format: JSON types kept exactly
        # (detect has parsed it within the limits)
        try:
            yield from exchange.read_records(path)
        except ValidationError as exc:
            p = exc.problems[0]
            raise FileProblem(p.code, p.where, p.field, **p.params) from exc
    elif fmt == "csv":
        yield from geodata.read_csv(path, report_type, crs, settings)
    else:  # geojson and every GDAL format
        yield from geodata.read_ogr(path, report_type, settings=settings)


def records_of(items: Iterable[Submission | dict[str, Any] | FileProblem]
               ) -> tuple[list[dict[str, Any]], list[Problem], dict[str, list[str]]]:
    """Items -> (records for the gate, row problems without a record, review notes by where).

    Records the intake already knows to be broken carry ``_intake_problems`` and a geometry the
    gate cannot read, so the gate refuses and keeps them with everything they held.
    """
    records: list[dict[str, Any]] = []
    orphans: list[Problem] = []
    notes: dict[str, list[str]] = {}
    if isinstance(items, list) and items and items[0].__class__ is dict \
            and set(map(type, items)) == {dict}:
        # records only (a geodata file): all kept as they are but for the few marked broken
        # or without a submission id
        broken = [r.get("_intake_problems") for r in items]
        subs = [r.get("submission_id") for r in items]
        if broken.count(None) == len(items) and all(subs):
            return items, orphans, notes
    for item in items:
        if isinstance(item, FileProblem):
            orphans.append(item.problem)
        elif isinstance(item, Submission):
            conv = to_records(item)
            orphans += conv.problems.get(-1, [])
            for i, rec in enumerate(conv.records):
                if i in conv.problems:
                    _mark_broken(rec, conv.problems[i])
                if i in conv.notes:
                    notes[rec["_where"]] = [f"{p.code}: {p.message}" for p in conv.notes[i]]
                records.append(rec)
        else:
            if item.get("_intake_problems"):
                _mark_broken(item, item.pop("_intake_problems"))
            if not item.get("submission_id"):
                item["submission_id"] = geodata.row_submission_id(item, "row")
            records.append(item)
    return records, orphans, notes


def _mark_broken(rec: dict[str, Any], problems: list[Problem]) -> None:
    rec["_intake_problems"] = [p.to_dict() for p in problems]
    if not isinstance(rec.get("geometry"), str):
        raw = problems[0].params.get("value") if problems else None
        rec["geometry"] = f"UNREADABLE ({raw})"


def import_path(ledger: Ledger, path: str | Path, user: str, progress: bool = True, *,
                report_type: str | None = None, crs: str | None = None,
                rejects_path: str | Path | None = None, source: str | None = None,
                chunk: int | None = None, reconcile: bool = True) -> ImportSummary:
    """Import one file (or Survey123 folder) into the holding area; see the module docstring.

    Never raises for bad input: a file that cannot be read at all gives a summary with one
    rejection and nothing stored.
    """
    path = Path(path)
    summary = ImportSummary(path=str(path))
    start = time.perf_counter()
    settings = ledger.settings
    with no_cyclic_gc():
        try:
            summary.format = detect(path, settings)
            items = list(read_items(path, summary.format, report_type, crs, settings))
        except FileProblem as exc:
            return refuse(summary, exc.problem, rejects_path)
        except Exception as exc:
            return refuse(summary, unexpected(exc, path.name), rejects_path)
        summary.timings["read"] = time.perf_counter() - start
        return take_in(ledger, items, user, summary, progress=progress,
                       source=source or path.name, chunk=chunk, reconcile=reconcile,
                       rejects_path=rejects_path or path.with_name(path.stem + ".rejects.csv"))


#: re-raise what ``unexpected`` would turn into IMPORT_FAILED (the hostile-file tests set it,
#: so that a file no reader handles fails them)
STRICT = False


def unexpected(exc: BaseException, label: str) -> Problem:
    """IMPORT_FAILED for an error no reader expected (a bug, or input nobody foresaw): logged
    with its traceback, and the file refused whole, never a traceback for the user."""
    if STRICT:
        raise exc
    log.error("unexpected error while importing %s", label, exc_info=exc)
    return Problem("IMPORT_FAILED", label, None, {"reason": type(exc).__name__})


def refuse(summary: ImportSummary, problem: Problem,
           rejects_path: str | Path | None = None) -> ImportSummary:
    """Refuse the whole file: one rejection, nothing stored, a rejects file naming why."""
    summary.file_problem = problem
    summary.rejections.append((problem.where, [problem]))
    summary.rejected = 1
    _write_rejects(summary, [], Path(summary.path), rejects_path)
    return summary


def take_in(ledger: Ledger, items: Iterable[Submission | dict[str, Any] | FileProblem],
            user: str, summary: ImportSummary, *, progress: bool = False,
            source: str | None = None, chunk: int | None = None, reconcile: bool = True,
            rejects_path: str | Path | None = None) -> ImportSummary:
    """Submit read items to the ledger and fill ``summary`` (shared by files and pulls)."""
    label = Path(summary.path).name
    start = time.perf_counter()
    try:
        records, orphans, notes = records_of(items)
    except Exception as exc:
        return refuse(summary, unexpected(exc, label), rejects_path)
    summary.timings["convert"] = time.perf_counter() - start
    start = time.perf_counter()
    for p in orphans:
        summary.rejections.append((p.where, [p]))
        summary.rejected += 1
    if not records and not orphans and not summary.format.startswith("pull"):
        return refuse(summary, Problem("FILE_EMPTY", label), rejects_path)
    rejected_records: list[dict[str, Any]] = []
    # a row with an oversize field is rejected before the gate (which keeps what it refuses);
    # its rejects row keeps the other fields and the start of the long one
    limit = ledger.settings.max_field_chars
    oversize = {id(rec): probs for rec in records if (probs := oversize_fields(rec, limit))}
    if oversize:
        for rec in records:
            if (probs := oversize.get(id(rec))) is not None:
                summary.rejections.append((rec["_where"], probs))
                summary.rejected += 1
                cut = {k: v[:200] + "…" if isinstance(v, str) and len(v) > limit else v
                       for k, v in rec.items()}
                rejected_records.append({**cut, "_problems": probs})
        records = [rec for rec in records if id(rec) not in oversize]
    accepted: list[tuple[dict[str, Any], int]] = []
    size = chunk or max(CHUNK, -(-len(records) // MAX_CALLS))
    calls = -(-len(records) // size)
    source = source or label
    summary.resumes = unfinished(ledger, source)
    done = 0
    for k, batch in enumerate(_progress(records, size, progress, label), start=1):
        try:
            res = _submit_chunk(ledger, batch, user, source, {
                "chunk": k, "of": calls, "records": len(records)})
        except (DatabaseBusyError, KeyboardInterrupt) as exc:  # this chunk: rolled back whole
            reason = exc.code if isinstance(exc, DatabaseBusyError) else "interrupted"
            summary.incomplete = Problem("IMPORT_INCOMPLETE", label, None, {
                "value": label, "done": done, "total": len(records), "reason": reason})
            break
        done += len(batch)
        summary.stored += len(res.accepted) + sum(r.report_id is not None for r in res.rejected)
        if not res.rejected and not res.duplicates:  # every record taken in
            accepted += zip(batch, res.accepted, strict=True)
            continue
        refused = {r.where: r for r in res.rejected}
        dup = dict(res.duplicates)
        ids = iter(res.accepted)
        for rec in batch:
            where = rec["_where"]
            if where in dup:
                summary.already_imported += 1
                summary.duplicates.append(Problem(
                    "DUPLICATE_SUBMISSION", where, "submission_id",
                    {"value": rec.get("submission_id"),
                     "other": dup[where] if dup[where] > 0 else "in this batch"}))
            elif where in refused:
                probs = [Problem.from_dict(d) for d in rec.get("_intake_problems", [])]
                probs += [p for p in refused[where].problems
                          if not (probs and p.code == "GEOM_UNPARSABLE")]
                summary.rejections.append((where, probs))
                summary.rejected += 1
                rejected_records.append({**rec, "_problems": probs})
            else:
                accepted.append((rec, next(ids)))
    summary.report_ids = [rid for _, rid in accepted]
    summary.timings["gate"] = time.perf_counter() - start
    start = time.perf_counter()
    proposals = propose(ledger, accepted) if reconcile else []
    summary.timings["reconcile"] = time.perf_counter() - start
    summary.proposals = proposals
    by_id = {p.report_id: p for p in proposals if p.needs_review}
    reviewed = summary.needs_review
    for rec, rid in accepted if notes or by_id else ():
        reasons = list(notes.get(rec["_where"], []))  # "CODE: message" strings
        prop = by_id.get(rid)
        if prop is not None:
            reasons += [f"{prop.action} {prop.target}: {r}" for r in prop.reasons]
        if reasons:
            summary.reviews.append((rec["_where"], rid, reasons))
            summary.needs_review += 1
    summary.accepted += len(accepted) - (summary.needs_review - reviewed)
    if rejects_path is not None:
        _write_rejects(summary, rejected_records, Path(summary.path), rejects_path)
    return summary


def _submit_chunk(ledger: Ledger, batch: list[dict[str, Any]], user: str, source: str,
                  part: dict[str, Any]) -> Any:
    """``Ledger.submit`` of one chunk; a chunk that found the database busy (another large
    writer, e.g. an import of its own) is tried again, BUSY_TRIES times in all."""
    for attempt in range(1, BUSY_TRIES + 1):
        try:
            return ledger.submit(batch, user=user, source=source, audit_detail=part)
        except DatabaseBusyError:
            if attempt == BUSY_TRIES:
                raise
    raise AssertionError("unreachable")


def unfinished(ledger: Ledger, source: str) -> str | None:
    """What the newest import of ``source`` left undone, when it stopped before its last
    chunk (its process killed, the database busy...), else None."""
    with ledger.db.read() as conn:
        detail = conn.execute(select(audit_log.c.detail).where(
            audit_log.c.action == "submit", audit_log.c.target == source[:200])
            .order_by(audit_log.c.id.desc()).limit(1)).scalar()
    if not isinstance(detail, dict) or not isinstance(detail.get("chunk"), int) \
            or detail["chunk"] >= detail.get("of", 0):
        return None
    return (f"an earlier import of {source} stopped after part {detail['chunk']} of "
            f"{detail['of']} ({detail.get('records', '?')} records in all); this run takes in "
            "the rest")


def _progress(records: list[dict[str, Any]], chunk: int, show: bool,
              label: str) -> Iterator[list[dict[str, Any]]]:
    chunks = [records[i:i + chunk] for i in range(0, len(records), chunk)]
    if not show or not chunks:
        yield from chunks
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), transient=False) as bar:
        task = bar.add_task(f"importing {label}", total=len(records))
        for c in chunks:
            yield c
            bar.advance(task, len(c))


def _cell(value: Any) -> Any:
    if isinstance(value, shapely.Geometry):
        return value.wkt
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return value


def _write_rejects(summary: ImportSummary, rejected: list[dict[str, Any]], path: Path,
                   target: str | Path | None) -> None:
    """Rejected records in the exchange CSV format (``wkt`` geometry), each with its problems,
    so the user can fix them and import the file again."""
    if not summary.rejections:
        return
    out = Path(target) if target else path.with_name(path.stem + ".rejects.csv")
    fields: list[str] = ["_where", "_problems"]
    rows: list[dict[str, Any]] = []
    for rec in rejected:
        row = {k: _cell(v) for k, v in rec.items()
               if k not in ("geometry", "_problems", "_intake_problems", "_where")}
        geom = rec.get("geometry")
        if geom is not None and not (isinstance(geom, str) and geom.startswith("UNREADABLE")):
            row["wkt"] = _cell(geom)
        row["_where"] = rec["_where"]
        row["_problems"] = " | ".join(f"{p.code}: {p.message}" for p in rec["_problems"])
        rows.append(row)
    stored = {r["_where"] for r in rows}
    for where, probs in summary.rejections:
        if where not in stored:
            rows.append({"_where": where,
                         "_problems": " | ".join(f"{p.code}: {p.message}" for p in probs)})
    for r in rows:
        fields += [k for k in r if k not in fields]
    for target_path in (out, Path.cwd() / out.name):  # beside the input, else here
        try:
            target_path.parent.mkdir(parents=True, exist_ok=True)
            with target_path.open("w", newline="", encoding="utf-8") as fh:
                w = csv.DictWriter(fh, fieldnames=fields)
                w.writeheader()
                w.writerows(map(csv_dict, rows))
        except OSError:
            continue
        summary.rejects_path = str(target_path)
        return
