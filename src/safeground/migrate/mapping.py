"""The mapping file (TOML): which source layer becomes which report type, which source column
means which Safeground field, and how its values, dates and units translate.

The format is described in docs/migrate.md. ``load`` reads and checks a mapping file; a
mistake in it is a ``MIGRATE_MAPPING_INVALID`` error naming the place.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import safeground.migrate.catalogue  # noqa: F401 - registers the migration codes
from safeground.migrate.source import SourceError
from safeground.record.reports import HEADER_FIELDS, REPORT_SPECS, FieldSpec
from safeground.record.vocabulary import ReportType

UNITS = {"m2": 1.0, "ha": 10_000.0, "km2": 1_000_000.0}
HEADERS = ("date_of_information", "organisation", "author")


def norm(value: Any) -> str:
    """A label as compared with the mapping's labels: case-folded, spaces collapsed."""
    return re.sub(r"\s+", " ", str(value)).strip().casefold()


@dataclass(slots=True)
class FieldMap:
    """How one Safeground field is filled: from a column (with value, date and unit rules),
    as a constant, or from the id of another report made from the same row."""

    target: str
    column: str | None = None
    value: Any = None
    values: dict[str, Any] = field(default_factory=dict)   # norm(label) -> Safeground value
    split: str | None = None
    formats: tuple[str, ...] = ()
    unit: str | None = None
    prefix: str = ""
    same_row: str | None = None
    default: Any = None


@dataclass(slots=True)
class ReportMap:
    """One report made from each row of a layer (or from the rows matching ``when``)."""

    name: str
    type: ReportType
    id_prefix: str
    fields: dict[str, FieldMap]
    when_column: str | None = None
    when_values: frozenset[str] = frozenset()
    geometry: str = "yes"   # yes | no | point (a point inside the row's shape)


@dataclass(slots=True)
class GeometryMap:
    """Where the geometry of a table's rows comes from (GIS layers carry their own)."""

    x: str | None = None
    y: str | None = None
    wkt: str | None = None
    points: str | None = None     # a layer of polygon vertices, one row per vertex
    key: str | None = None        # its column naming the row's original id
    order: str | None = None      # its column giving the vertex order


@dataclass(slots=True)
class LayerMap:
    source: str
    id_column: str
    reports: list[ReportMap]
    headers: dict[str, FieldMap]
    crs: str | None = None
    geometry: GeometryMap | None = None
    custom: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    review: bool = False


@dataclass(slots=True)
class Mapping:
    name: str
    version: str
    layers: list[LayerMap]
    max_vertex_gap_m: float = 5000.0
    extent: tuple[float, float, float, float] | None = None
    path: str = ""

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"

    def to_review(self) -> list[str]:
        return [lm.source for lm in self.layers if lm.review]


def _bad(where: str, reason: str) -> SourceError:
    return SourceError("MIGRATE_MAPPING_INVALID", where, reason=reason)


def _field(target: str, spec: Any, where: str, fs: FieldSpec | None) -> FieldMap:
    if isinstance(spec, str):
        spec = {"column": spec}
    if not isinstance(spec, dict):
        raise _bad(where, f"'{target}' must be a column name or a table")
    known = {"column", "value", "values", "split", "format", "unit", "prefix", "same_row",
             "default", "review"}
    extra = set(spec) - known
    if extra:
        raise _bad(where, f"'{target}' has unknown keys {sorted(extra)}")
    if sum(k in spec for k in ("column", "value", "same_row")) != 1:
        raise _bad(where, f"'{target}' needs exactly one of column, value, same_row")
    fmts = spec.get("format", ())
    fmts = (fmts,) if isinstance(fmts, str) else tuple(fmts)
    unit = spec.get("unit")
    if unit is not None and unit not in UNITS:
        raise _bad(where, f"'{target}': unit '{unit}' is not one of {', '.join(UNITS)}")
    values = spec.get("values", {})
    if not isinstance(values, dict):
        raise _bad(where, f"'{target}': values must be a table of label = value")
    if fs is not None and fs.choices is not None:
        allowed = {c.value for c in fs.choices}
        wrong = [v for v in values.values() if str(v) not in allowed]
        if wrong:
            raise _bad(where, f"'{target}': {wrong[0]!r} is not one of {', '.join(allowed)}")
    split = spec.get("split")
    if split is None and fs is not None and fs.kind in ("ref", "choices") and "column" in spec:
        split = ","
    return FieldMap(target, spec.get("column"), spec.get("value"),
                    {norm(k): v for k, v in values.items()}, split, fmts, unit,
                    str(spec.get("prefix", "")), spec.get("same_row"), spec.get("default"))


def _report(raw: Any, where: str, id_column: str) -> ReportMap:
    if not isinstance(raw, dict):
        raise _bad(where, "a report must be a table")
    try:
        rtype = ReportType(raw.get("type"))
    except ValueError:
        raise _bad(where, f"type '{raw.get('type')}' is not a report type") from None
    spec = REPORT_SPECS[rtype]
    fields: dict[str, FieldMap] = {}
    for target, fspec in (raw.get("fields") or {}).items():
        fs = spec.field(target)
        if fs is None:
            raise _bad(where, f"'{target}' is not a field of a {rtype.value} report")
        fields[target] = _field(target, fspec, where, fs)
    oid = raw.get("object_id", {})
    prefix = oid.get("prefix", "") if isinstance(oid, dict) else str(oid)
    when = raw.get("when")
    geometry = str(raw.get("geometry", "yes" if spec.geometry else "no")).lower()
    geometry = {"true": "yes", "false": "no"}.get(geometry, geometry)
    if geometry not in ("yes", "no", "point"):
        raise _bad(where, f"geometry '{geometry}' is not yes, no or point")
    rm = ReportMap(str(raw.get("name", rtype.value)), rtype, str(prefix), fields,
                   geometry=geometry)
    if when is not None:
        if not isinstance(when, dict) or "column" not in when or "values" not in when:
            raise _bad(where, "when needs a column and a list of values")
        rm.when_column = str(when["column"])
        rm.when_values = frozenset(norm(v) for v in when["values"])
    return rm


def from_dict(data: dict[str, Any], path: str = "mapping") -> Mapping:
    """A mapping from its parsed TOML. Raises SourceError(MIGRATE_MAPPING_INVALID)."""
    head = data.get("mapping") or {}
    layers = []
    for i, raw in enumerate(data.get("layer") or [], start=1):
        where = f"{path} layer {i}"
        if not isinstance(raw, dict) or not raw.get("source") or not raw.get("id"):
            raise _bad(where, "each layer needs a source and an id column")
        if raw.get("skip"):
            continue
        reports = [_report(r, f"{where} ({raw['source']})", raw["id"])
                   for r in raw.get("report") or []]
        if not reports:
            raise _bad(where, f"layer '{raw['source']}' makes no report")
        names = [r.name for r in reports]
        if len(set(names)) != len(names):
            raise _bad(where, "two reports of one layer share a name; give each a name")
        headers = {}
        for h in HEADERS:
            spec = raw.get(h, head.get(h))
            if spec is None:
                raise _bad(where, f"'{h}' is not given for layer '{raw['source']}' "
                                  "nor in [mapping]")
            headers[h] = _field(h, spec if isinstance(spec, dict | str) and
                                (h == "date_of_information" or isinstance(spec, dict))
                                else {"value": spec}, where, None)
        for r in reports:
            for f in r.fields.values():
                if f.same_row and f.same_row not in names:
                    raise _bad(where, f"'{f.target}' names no report '{f.same_row}' of "
                                      "this layer")
        gm = raw.get("geometry")
        geometry = None
        if gm is not None:
            if not isinstance(gm, dict):
                raise _bad(where, "geometry must be a table (x/y, wkt or points)")
            geometry = GeometryMap(**{k: gm.get(k) for k in
                                      ("x", "y", "wkt", "points", "key", "order")})
        layers.append(LayerMap(str(raw["source"]), str(raw["id"]), reports, headers,
                               raw.get("crs"), geometry, tuple(raw.get("custom", ())),
                               tuple(raw.get("ignore", ())), bool(raw.get("review", False))))
    extent = head.get("extent")
    return Mapping(str(head.get("name", Path(path).stem)), str(head.get("version", "1")),
                   layers, float(head.get("max_vertex_gap_m", 5000.0)),
                   tuple(extent) if extent else None, path)  # type: ignore[arg-type]


def load(path: Path | str) -> Mapping:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourceError("FILE_UNREADABLE", path.name, reason="no such file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise _bad(path.name, str(exc)) from exc
    return from_dict(data, path.name)


assert set(HEADERS) <= set(HEADER_FIELDS)
