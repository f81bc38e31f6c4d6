"""From a source and a mapping to the records the gate takes in, with every finding on the way:
values without a mapping, dates and units, geometry faults (repaired, and said, or refused with
a code), links held as text resolved to real links, duplicates.

Nothing here writes to the record: ``plan`` is what ``check`` reports and ``run`` submits.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

import safeground.migrate.catalogue  # noqa: F401 - registers the migration codes
from safeground.migrate.mapping import UNITS, FieldMap, LayerMap, Mapping, ReportMap, norm
from safeground.migrate.source import Layer, Source
from safeground.record import geometry as geo
from safeground.record.problems import Problem
from safeground.record.reports import REPORT_SPECS, FieldSpec
from safeground.record.vocabulary import ReportType
from safeground.settings import Settings

REFUSED, REPAIRED, WARNING = "refused", "repaired", "warning"
TYPE_ORDER = {t: i for i, t in enumerate(ReportType)}
_BAD_ID = re.compile(r"[^A-Za-z0-9_.:-]+")
_TRUE = {"1", "true", "yes", "y", "да", "bəli", "beli", "x", "pass", "passed"}
_FALSE = {"0", "false", "no", "n", "нет", "xeyr", "fail", "failed"}
_EXCEL_EPOCH = dt.date(1899, 12, 30)


@dataclass(slots=True)
class Finding:
    """One thing the check found: ``refused`` (the row's report is not migrated),
    ``repaired`` (migrated after the repair named) or ``warning`` (migrated, something left
    out). ``count`` rows alike are counted in one finding (values without a mapping)."""

    severity: str
    problem: Problem
    layer: str
    original_id: str | None = None
    report_type: str | None = None
    count: int = 1

    def to_row(self) -> dict[str, Any]:
        p = self.problem
        return {"severity": self.severity, "code": p.code, "layer": self.layer,
                "original_id": self.original_id or "", "report_type": self.report_type or "",
                "field": p.field or "", "count": self.count, "message": p.message}


@dataclass(slots=True)
class LayerStats:
    rows: int = 0
    reports: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    mapped_columns: list[str] = field(default_factory=list)
    custom_columns: list[str] = field(default_factory=list)
    unmapped_columns: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Plan:
    """The records a migration would submit, in dependency order, and what was found."""

    source: str
    mapping: str
    records: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    layers: dict[str, LayerStats] = field(default_factory=dict)

    def by_type(self) -> Counter[str]:
        return Counter(r["report_type"] for r in self.records)

    def count(self, severity: str) -> int:
        return sum(f.count for f in self.findings if f.severity == severity)

    def codes(self) -> Counter[str]:
        c: Counter[str] = Counter()
        for f in self.findings:
            c[f.problem.code] += f.count
        return c


def submission_id(source: str, layer: str, original_id: str, report: str) -> str:
    """Stable over runs: the same source file, layer, original id and report of the row."""
    digest = hashlib.sha256(f"{source}\x1f{layer}\x1f{original_id}\x1f{report}".encode())
    return "migrate:" + digest.hexdigest()[:32]


def object_id(prefix: str, original: Any) -> str:
    text = _BAD_ID.sub("-", str(original).strip().strip("{}")).strip("-")
    return (prefix + text)[:64]


def parse_date(value: Any, formats: tuple[str, ...]) -> dt.date | None:
    """A date from a datetime, an Excel serial number or text in one of ``formats`` (strptime
    patterns, ``iso`` or ``excel``; none declared: ISO and Excel serials)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    fmts = formats or ("iso", "excel")
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        if "excel" in fmts and 1 <= float(value) < 200_000:
            return _EXCEL_EPOCH + dt.timedelta(days=int(value))
        return None
    text = str(value).strip()
    for f in fmts:
        try:
            if f == "iso":
                return dt.date.fromisoformat(text[:10])
            if f == "excel":
                if re.fullmatch(r"\d{4,6}(\.0+)?", text):
                    return _EXCEL_EPOCH + dt.timedelta(days=int(float(text)))
                continue
            return dt.datetime.strptime(text, f).date()
        except ValueError:
            continue
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value) if np.isfinite(value) else None
    text = str(value).strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        return float(text)
    except ValueError:
        return None


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


class _Context:
    """What one layer's rows share while they are mapped."""

    def __init__(self, plan: Plan, lm: LayerMap, layer: Layer, source: Source) -> None:
        self.plan, self.lm, self.layer, self.source = plan, lm, layer, source
        self.unmapped: dict[tuple[str, str, str], Finding] = {}
        self.cache: dict[int, dict[Any, Any]] = {}

    def find(self, severity: str, code: str, oid: str | None, rtype: str | None,
             fld: str | None = None, **params: Any) -> None:
        where = f"{self.source.name} layer {self.lm.source}" + (f" id {oid}" if oid else "")
        self.plan.findings.append(Finding(severity, Problem(code, where, fld, params),
                                          self.lm.source, oid, rtype))

    def value_unmapped(self, fm: FieldMap, raw: Any, expected: str, rtype: str,
                       oid: str, severity: str) -> None:
        key = (fm.column or fm.target, str(raw), rtype)
        found = self.unmapped.get(key)
        if found is not None:
            found.count += 1
            return
        where = f"{self.source.name} layer {self.lm.source} column {fm.column}"
        f = Finding(severity, Problem("MIGRATE_VALUE_UNMAPPED", where, fm.target,
                                      {"value": str(raw)[:80], "expected": expected}),
                    self.lm.source, oid, rtype)
        self.unmapped[key] = f
        self.plan.findings.append(f)


def _convert(fm: FieldMap, fs: FieldSpec | None, raw: Any, ctx: _Context, oid: str,
             rtype: str) -> tuple[Any, bool]:
    """(value, ok) of one field from one raw source value. ``ok`` False: the value could not
    be mapped (a finding is made); the caller refuses the report if the field is required.

    Values mapped once are remembered per field: code lists and dates repeat."""
    cache = ctx.cache.get(id(fm))
    if cache is None:
        cache = ctx.cache[id(fm)] = {}
    key = (raw.__class__, raw)
    try:
        value = cache[key]
    except (KeyError, TypeError):
        pass
    else:
        return (list(value) if value.__class__ is list else value), True
    value, ok = _convert_one(fm, fs, raw, ctx, oid, rtype)
    if ok and len(cache) < 100_000:
        with contextlib.suppress(TypeError):
            cache[key] = value
    return value, ok


def _convert_one(fm: FieldMap, fs: FieldSpec | None, raw: Any, ctx: _Context, oid: str,
                 rtype: str) -> tuple[Any, bool]:
    kind = fs.kind if fs is not None else ("date" if fm.target == "date_of_information"
                                           else "str")
    severity = REFUSED if (fs is None or fs.required) else WARNING
    if fm.values:
        key = norm(raw)
        if kind == "choices" and fm.split:
            parts = [p for p in (norm(x) for x in str(raw).split(fm.split)) if p]
            out = []
            for p in parts:
                if p in fm.values:
                    out.append(fm.values[p])
                elif fs and fs.choices and p in {c.value.casefold() for c in fs.choices}:
                    out.append(next(c.value for c in fs.choices if c.value.casefold() == p))
                else:
                    ctx.value_unmapped(fm, p, _expected(fs, fm), rtype, oid, severity)
                    return None, False
            return sorted(set(out)), True
        if key in fm.values:
            raw = fm.values[key]
        elif fs is not None and fs.choices is not None and \
                key not in {c.value.casefold() for c in fs.choices}:
            ctx.value_unmapped(fm, raw, _expected(fs, fm), rtype, oid, severity)
            return None, False
    if kind in ("choice", "choices"):
        assert fs is not None and fs.choices is not None
        items = [str(raw)] if kind == "choice" else \
            [x for x in (s.strip() for s in str(raw).split(fm.split or ",")) if x]
        out = []
        for item in items:
            match = next((c.value for c in fs.choices if c.value.casefold() == norm(item)), None)
            if match is None:
                ctx.value_unmapped(fm, item, _expected(fs, fm), rtype, oid, severity)
                return None, False
            out.append(match)
        return (out[0] if kind == "choice" else sorted(set(out))), True
    if kind == "date":
        day = parse_date(raw, fm.formats)
        if day is None:
            ctx.find(severity, "MIGRATE_DATE_FORMAT", oid, rtype, fm.target, value=str(raw)[:40],
                     expected=", ".join(fm.formats or ("iso", "excel")))
            return None, False
        return day.isoformat(), True
    if kind in ("int", "float"):
        num = _number(raw)
        if num is None:
            ctx.find(severity, "MIGRATE_UNIT_UNKNOWN", oid, rtype, fm.target,
                     value=str(raw)[:40], unit=fm.unit or "a number")
            return None, False
        num *= UNITS[fm.unit] if fm.unit else 1.0
        return (round(num) if kind == "int" else num), True
    if kind == "bool":
        if isinstance(raw, bool):
            return raw, True
        key = norm(raw)
        if key in _TRUE or key in ("1.0",):
            return True, True
        if key in _FALSE or key in ("0.0",):
            return False, True
        ctx.value_unmapped(fm, raw, "yes / no", rtype, oid, severity)
        return None, False
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return (raw if isinstance(raw, str) else _jsonable(raw)), True


def _expected(fs: FieldSpec | None, fm: FieldMap) -> str:
    if fs is not None and fs.choices is not None:
        return f"{fs.name} ({', '.join(c.value for c in fs.choices)})"
    return fm.target


class _Geometry:
    """The geometry checks and repairs of one layer, in lon/lat."""

    def __init__(self, mapping: Mapping, settings: Settings) -> None:
        self.extent = mapping.extent or settings.extent
        self.gap = mapping.max_vertex_gap_m
        self.projector = geo.Projector(settings.utm_epsg)
        self.seen: dict[tuple[str, bytes], str] = {}
        #: id(lon/lat polygon) -> (duplicate key, metric polygon), worked out by ``prepare``
        self.pre: dict[int, tuple[bytes, BaseGeometry]] = {}
        #: id(lon/lat geometry) of those found inside the extent by ``prepare``
        self.inside: set[int] = set()

    def prepare(self, geoms: Any, crs: str | None, ctx: _Context) -> tuple[Any, str] | None:
        """A whole layer's geometries in lon/lat at once, with what the polygon checks need
        worked out for all of them together (one call each instead of one per row)."""
        self.pre.clear()
        self.inside.clear()
        if crs is None or len(geoms) == 0:
            return None
        try:
            name = geo.crs_name(crs)
        except geo.GeometryParseError:
            return None  # each row is refused with the code in ``fix``
        arr = np.asarray(geoms, dtype=object)
        present = np.array([isinstance(g, BaseGeometry) for g in arr], dtype=bool)
        out = np.full(len(arr), None, dtype=object)
        if present.any():
            lonlat = shapely.force_2d(arr[present].astype(object))
            if name != "EPSG:4326":
                lonlat = geo.reproject(lonlat, name, "EPSG:4326")  # type: ignore[arg-type]
            out[present] = lonlat
            minx, miny, maxx, maxy = self.extent
            b = shapely.bounds(lonlat)
            inside = (b[:, 0] >= minx) & (b[:, 2] <= maxx) & (b[:, 1] >= miny) & \
                (b[:, 3] <= maxy)
            for g, ok in zip(lonlat.tolist(), inside.tolist(), strict=True):
                if ok:
                    self.inside.add(id(g))
            poly = np.array([g.geom_type in ("Polygon", "MultiPolygon") for g in lonlat])
            if poly.any():
                idx = np.flatnonzero(present)[poly]
                polys = lonlat[poly]
                keys = shapely.to_wkb(shapely.normalize(
                    shapely.set_precision(polys, 1e-7, mode="pointwise")))
                metric = self.projector.to_metric(polys)  # type: ignore[arg-type]
                for k, i in enumerate(idx.tolist()):
                    self.pre[id(out[i])] = (keys[k], metric[k])
        return out, "EPSG:4326"

    def fix(self, g: Any, crs: str | None, ctx: _Context, oid: str, rm: ReportMap
            ) -> BaseGeometry | bool | None:
        """The geometry to store, None for none, or False when refused (finding made)."""
        rtype = rm.type.value
        spec = REPORT_SPECS[rm.type]
        if g is None or (isinstance(g, BaseGeometry) and g.is_empty):
            if spec.geometry_required:
                ctx.find(REFUSED, "GEOM_MISSING", oid, rtype, "geometry", report_type=rtype)
                return False
            return None
        if crs is None:
            ctx.find(REFUSED, "MIGRATE_CRS_MISSING", oid, rtype, "geometry",
                     value=ctx.lm.source)
            return False
        pre = self.pre.get(id(g))
        known_inside = id(g) in self.inside
        try:
            name = geo.crs_name(crs)
            g = geo.reproject(g, name, "EPSG:4326")
        except geo.GeometryParseError as exc:
            ctx.find(REFUSED, exc.code, oid, rtype, "geometry", **exc.params)
            return False
        if known_inside:  # finite and inside: prepare looked at the whole layer
            return self._shape(g, ctx, oid, rm, spec, pre)
        g = shapely.force_2d(g)
        coords = shapely.get_coordinates(g)
        if len(coords) == 0 or not np.all(np.isfinite(coords)):
            ctx.find(REFUSED, "GEOM_NOT_FINITE", oid, rtype, "geometry")
            return False
        minx, miny, maxx, maxy = self.extent
        x, y = coords[:, 0], coords[:, 1]

        def inside(a: np.ndarray, b: np.ndarray) -> bool:
            return bool(np.all((a >= minx) & (a <= maxx) & (b >= miny) & (b <= maxy)))

        if not inside(x, y):
            if inside(y, x):
                g = shapely.transform(g, lambda c: c[:, ::-1])
                ctx.find(REPAIRED, "MIGRATE_GEOM_REPAIRED", oid, rtype, "geometry",
                         repair="swap axes (latitude and longitude were swapped)")
            else:
                i = int(np.argmax(~((x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy))))
                ctx.find(REFUSED, "GEOM_OUTSIDE_EXTENT", oid, rtype, "geometry",
                         x=float(x[i]), y=float(y[i]), extent=list(self.extent))
                return False
        return self._shape(g, ctx, oid, rm, spec, pre)

    def _shape(self, g: BaseGeometry, ctx: _Context, oid: str, rm: ReportMap, spec: Any,
               pre: tuple[bytes, BaseGeometry] | None) -> BaseGeometry | bool:
        rtype = rm.type.value
        if rm.geometry == "point" or (spec.geometry == ("Point",) and g.geom_type != "Point"):
            if g.geom_type == "MultiPoint" and len(g.geoms) == 1:
                return g.geoms[0]
            return g.representative_point()
        if g.geom_type in ("Polygon", "MultiPolygon"):
            return self._polygon(g, ctx, oid, rtype, pre)
        return g

    def _polygon(self, g: BaseGeometry, ctx: _Context, oid: str, rtype: str,
                 pre: tuple[bytes, BaseGeometry] | None = None) -> BaseGeometry | bool:
        parts = list(g.geoms) if g.geom_type == "MultiPolygon" else [g]
        for part in parts:
            distinct = {(round(a, 9), round(b, 9))
                        for a, b in shapely.get_coordinates(part.exterior).tolist()}
            if len(distinct) < 3:
                ctx.find(REFUSED, "GEOM_TOO_FEW_VERTICES", oid, rtype, "geometry",
                         value=len(distinct))
                return False
        original = g
        before = shapely.get_num_coordinates(g)
        g = shapely.remove_repeated_points(g, 1e-9)
        dropped = before - shapely.get_num_coordinates(g)
        if dropped:
            ctx.find(REPAIRED, "MIGRATE_GEOM_REPAIRED", oid, rtype, "geometry",
                     repair=f"drop {dropped} repeated vertices")
        if g.geom_type == "MultiPolygon" and len(g.geoms) == 1:
            g = g.geoms[0]
        if not g.is_valid:
            reason = shapely.is_valid_reason(g)
            fixed = shapely.make_valid(g)
            polys = [p for p in getattr(fixed, "geoms", [fixed])
                     if p.geom_type in ("Polygon", "MultiPolygon")]
            fixed = shapely.union_all(polys) if polys else None
            if fixed is None or fixed.is_empty or fixed.area <= 0:
                ctx.find(REFUSED, "MIGRATE_GEOM_REFUSED", oid, rtype, "geometry",
                         reason=f"{reason}; make_valid leaves no area")
                return False
            g = fixed
            ctx.find(REPAIRED, "MIGRATE_GEOM_REPAIRED", oid, rtype, "geometry",
                     repair=f"make_valid ({reason})")
        metric = pre[1] if pre is not None else self.projector.to_metric(original)
        for part in (list(metric.geoms) if metric.geom_type == "MultiPolygon" else [metric]):
            ring = shapely.get_coordinates(part.exterior)
            gaps = np.hypot(*np.diff(ring, axis=0).T)
            if len(gaps) and gaps.max() > self.gap:
                ctx.find(REFUSED, "GEOM_VERTEX_GAP", oid, rtype, "geometry",
                         value=float(gaps.max()), limit=self.gap)
                return False
        key = (rtype, pre[0] if pre is not None else
               shapely.to_wkb(shapely.normalize(
                   shapely.set_precision(original, 1e-7, mode="pointwise"))))
        first = self.seen.get(key)
        if first is not None:
            ctx.find(REFUSED, "MIGRATE_DUPLICATE_POLYGON", oid, rtype, "geometry", other=first)
            return False
        self.seen[key] = oid
        return g


def _table_geometries(source: Source, lm: LayerMap, layer: Layer, ctx: _Context) -> list[Any]:
    gm = lm.geometry
    assert gm is not None
    rows = layer.rows
    if gm.wkt:
        out = []
        for r in rows:
            text = r.get(gm.wkt)
            try:
                out.append(shapely.from_wkt(str(text)) if text else None)
            except shapely.errors.ShapelyError:
                out.append(None)
        return out
    if gm.points:
        pts = source.read(gm.points)
        verts: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
        for p in pts.rows:
            x, y = _number(p.get(gm.x)), _number(p.get(gm.y))
            if p.get(gm.key) is None or x is None or y is None:
                continue
            verts[str(p[gm.key]).strip()].append((_number(p.get(gm.order)) or 0.0, x, y))
        out = []
        for r in rows:
            vs = sorted(verts.get(str(r.get(lm.id_column)).strip(), []))
            ring = [(x, y) for _, x, y in vs]
            if not ring:
                out.append(None)
                continue
            if ring[0] != ring[-1]:
                ring.append(ring[0])
            while len(ring) < 4:
                ring.append(ring[0])
            out.append(shapely.Polygon(ring))
        return out
    out = []
    for r in rows:
        x, y = _number(r.get(gm.x)) if r.get(gm.x) is not None else None, \
            _number(r.get(gm.y)) if r.get(gm.y) is not None else None
        out.append(shapely.Point(x, y) if x is not None and y is not None else None)
    return out


def plan(source: Source, mapping: Mapping, settings: Settings | None = None,
         known: dict[ReportType, set[str]] | None = None) -> Plan:
    """Map every row of every mapped layer; resolve links; return the records and findings.

    ``known`` holds the ids the record already has, by type (links may point to them)."""
    settings = settings or Settings()
    out = Plan(source.name, mapping.label)
    geometry = _Geometry(mapping, settings)
    pending: list[tuple[dict[str, Any], _Context, dict[str, tuple[FieldMap, Any]]]] = []
    for lm in mapping.layers:
        layer = source.read(lm.source)
        ctx = _Context(out, lm, layer, source)
        stats = out.layers.setdefault(lm.source, LayerStats())
        stats.rows += len(layer)
        _columns(lm, layer, ctx, stats)
        geoms = layer.geometries
        crs = lm.crs or layer.crs
        if lm.geometry is not None:
            geoms = _table_geometries(source, lm, layer, ctx)
            crs = lm.crs or "EPSG:4326"
        pre = geometry.prepare(geoms, crs, ctx) if geoms is not None else None
        if pre is not None:
            geoms, crs = pre
        seen_ids: dict[str, int] = {}
        custom = [c for c in lm.custom if c in layer.columns]
        for i, row in enumerate(layer.rows):
            original = row.get(lm.id_column)
            if original is None:
                ctx.find(REFUSED, "MIGRATE_ID_MISSING", f"row {i + 1}", None, lm.id_column,
                         value=lm.id_column)
                continue
            original = str(_jsonable(original)).strip()
            if isinstance(row.get(lm.id_column), float) and float(original).is_integer():
                original = str(int(float(original)))
            if original in seen_ids:
                ctx.find(REFUSED, "MIGRATE_DUPLICATE_ID", original, None, lm.id_column,
                         value=original, layer=lm.source, other=f"row {seen_ids[original]}")
                continue
            seen_ids[original] = i + 1
            headers = _headers(lm, row, ctx, original)
            if headers is None:
                continue
            g = geoms[i] if geoms is not None else None
            ids = {rm.name: object_id(rm.id_prefix, original) for rm in lm.reports}
            custom_values = {c: _jsonable(row.get(c)) for c in custom
                             if row.get(c) is not None}
            for rm in lm.reports:
                if rm.when_column is not None and norm(row.get(rm.when_column)) \
                        not in rm.when_values:
                    continue
                rec, links = _record(rm, row, ctx, original, ids, headers)
                if rec is None:
                    stats.refused[rm.type.value] += 1
                    continue
                if rm.geometry != "no":
                    fixed = geometry.fix(g, crs, ctx, original, rm)
                    if fixed is False:
                        stats.refused[rm.type.value] += 1
                        continue
                    if fixed is not None:
                        rec["geometry"] = fixed
                rec.update({"_source_file": source.name, "_source_layer": lm.source,
                            "_original_id": original, "_mapping": mapping.label})
                if custom_values:
                    rec["_custom"] = custom_values
                rec["submission_id"] = submission_id(source.name, lm.source, original, rm.name)
                pending.append((rec, ctx, links))
    _resolve_links(out, pending, known or {})
    return out


def _columns(lm: LayerMap, layer: Layer, ctx: _Context, stats: LayerStats) -> None:
    used = {lm.id_column, *lm.custom, *lm.ignore}
    if lm.geometry is not None:
        used |= {lm.geometry.x, lm.geometry.y, lm.geometry.wkt} - {None}  # type: ignore[arg-type]
    for fm in lm.headers.values():
        used.add(fm.column)  # type: ignore[arg-type]
    for rm in lm.reports:
        used.add(rm.when_column)  # type: ignore[arg-type]
        for fm in rm.fields.values():
            if fm.column is not None and fm.column not in layer.columns:
                raise_missing(ctx, fm.column)
            used.add(fm.column)  # type: ignore[arg-type]
    for name in [lm.id_column, *(fm.column for fm in lm.headers.values() if fm.column)]:
        if name not in layer.columns:
            raise_missing(ctx, name)
    stats.mapped_columns = [c for c in layer.columns if c in used and c not in lm.custom]
    stats.custom_columns = [c for c in layer.columns if c in lm.custom]
    stats.unmapped_columns = [c for c in layer.columns if c not in used]
    for c in stats.unmapped_columns:
        ctx.find(WARNING, "MIGRATE_FIELD_UNMAPPED", None, None, c, value=c, layer=lm.source)


def raise_missing(ctx: _Context, column: str) -> None:
    from safeground.migrate.source import SourceError

    raise SourceError("MIGRATE_COLUMN_UNKNOWN", f"{ctx.source.name} layer {ctx.lm.source}",
                      value=column, layer=ctx.lm.source)


def _headers(lm: LayerMap, row: dict[str, Any], ctx: _Context, oid: str
             ) -> dict[str, Any] | None:
    out = {}
    for name, fm in lm.headers.items():
        raw = fm.value if fm.column is None else row.get(fm.column)
        if raw is None:
            raw = fm.default
        if raw is None:
            ctx.find(REFUSED, "FIELD_REQUIRED", oid, None, name)
            return None
        value, ok = _convert(fm, None, raw, ctx, oid, lm.reports[0].type.value)
        if not ok:
            return None
        out[name] = value
    return out


def _record(rm: ReportMap, row: dict[str, Any], ctx: _Context, original: str,
            ids: dict[str, str], headers: dict[str, Any]
            ) -> tuple[dict[str, Any] | None, dict[str, tuple[FieldMap, Any]]]:
    rtype = rm.type.value
    spec = REPORT_SPECS[rm.type]
    rec: dict[str, Any] = {"report_type": rtype, "object_id": ids[rm.name], **headers}
    links: dict[str, tuple[FieldMap, Any]] = {}
    for name, fm in rm.fields.items():
        fs = spec.field(name)
        assert fs is not None
        if fm.same_row is not None:
            rec[name] = ids[fm.same_row]
            continue
        raw = fm.value if fm.column is None else row.get(fm.column)
        if raw is None:
            raw = fm.default
        if raw is None:
            continue
        if fs.kind == "ref":
            links[name] = (fm, raw)
            continue
        value, ok = _convert(fm, fs, raw, ctx, original, rtype)
        if ok:
            rec[name] = value
        elif fs.required:
            return None, links
    return rec, links


def _resolve_links(out: Plan, pending: list[tuple[dict[str, Any], _Context,
                                                  dict[str, tuple[FieldMap, Any]]]],
                   known: dict[ReportType, set[str]]) -> None:
    """Text links ("HA-1, HA-2") to the ids of objects in this source or the record, in the
    order of the types so a refused target refuses what needs it."""
    ids: dict[ReportType, set[str]] = {t: set(v) for t, v in known.items()}
    pending.sort(key=lambda p: TYPE_ORDER[ReportType(p[0]["report_type"])])
    for rec, ctx, links in pending:
        rtype = ReportType(rec["report_type"])
        spec = REPORT_SPECS[rtype]
        oid = rec["_original_id"]
        ok = True
        for f in spec.fields:  # same-row links: the other report must have gone through
            if f.kind == "ref" and f.name in rec and f.name not in links:
                assert f.ref is not None
                if rec[f.name] not in ids.get(f.ref, ()):
                    ctx.find(REFUSED, "MIGRATE_LINK_DANGLING", oid, rtype.value, f.name,
                             value=rec[f.name], target=f.ref.value)
                    ok = False
        for name, (fm, raw) in links.items():
            fs = spec.field(name)
            assert fs is not None and fs.ref is not None
            tokens = [t for t in (s.strip() for s in str(_jsonable(raw)).split(fm.split or ","))
                      if t]
            if isinstance(raw, float) and raw.is_integer():
                tokens = [str(int(raw))]
            have = ids.get(fs.ref, set())
            found = [c for c in (object_id(fm.prefix, t) for t in tokens) if c in have]
            found = list(dict.fromkeys(found))
            if not found:
                ctx.find(REFUSED if fs.required else WARNING, "MIGRATE_LINK_DANGLING", oid,
                         rtype.value, name, value=str(raw)[:80], target=fs.ref.value)
                if fs.required:
                    ok = False
                continue
            if len(found) > 1:
                ctx.find(WARNING, "MIGRATE_LINK_SEVERAL", oid, rtype.value, name,
                         value=", ".join(found)[:120], target=fs.ref.value, other=found[0])
            rec[name] = found[0]
        stats = out.layers[ctx.lm.source]
        if not ok:
            stats.refused[rtype.value] += 1
            continue
        ids.setdefault(rtype, set()).add(rec["object_id"])
        stats.reports[rtype.value] += 1
        out.records.append(rec)
