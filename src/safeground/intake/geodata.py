"""Report records from any geodata file: GeoPackage, GeoJSON, Shapefile, KML, FlatGeobuf (all
through GDAL, by pyogrio) and CSV with a geometry, coordinate or MGRS column.

Columns are the header and payload fields of ``REPORT_SPECS`` (docs/report-format.md). A file
without a ``report_type`` column takes it from its layer name (a GeoPackage layer called
``hazardous_area``) or from the caller. Shapefile's ten-letter column names are matched back
to the field they cut (``date_of_in`` -> ``date_of_information``). Whatever the CRS, geometries
come out in EPSG:4326.

CSV geometry: a ``wkt``/``geometry`` column (WKT or GeoJSON), or ``longitude``/``latitude``
(also ``lon``/``lat``, ``x``/``y``, ``easting``/``northing``, in ``crs`` when given), or an
``mgrs`` column. Rows that are not valid UTF-8 are refused one by one (``FILE_ENCODING``), the
others kept.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import tempfile
import warnings
from collections.abc import Iterator
from itertools import repeat
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import shapely

from safeground.intake import geo
from safeground.intake.errors import FileProblem
from safeground.intake.limits import SafeZip, csv_rows
from safeground.record import geometry as sg_geo
from safeground.record.reports import HEADER_FIELDS, REPORT_SPECS, normal_name
from safeground.record.vocabulary import ReportType
from safeground.settings import Settings

OGR_SUFFIXES = (".gpkg", ".shp", ".kml", ".fgb", ".geojson", ".json", ".gml", ".zip")
_KNOWN = sorted({*HEADER_FIELDS, *(f.name for s in REPORT_SPECS.values() for f in s.fields)})
_COORDS = (("longitude", "latitude"), ("lon", "lat"), ("lng", "lat"), ("x", "y"),
           ("easting", "northing"))
_GEOM_COLS = ("wkt", "geometry", "geom", "the_geom")
_BAD_BYTES = re.compile(r"[\udc80-\udcff]")


def _rename(columns: list[str]) -> dict[str, str]:
    """Truncated (Shapefile) or differently cased column names -> field names."""
    out: dict[str, str] = {}
    for c in columns:
        low = normal_name(c)  # "Report Type", "Date of birth" too
        if low in _KNOWN:
            out[c] = low
            continue
        if len(c) == 10:
            # "organisati" cuts both organisation and organisation_id: the header field,
            # the shorter, is the one a Shapefile writer met first
            hits = sorted((k for k in _KNOWN if k.startswith(low)), key=len)
            if hits:
                out[c] = hits[0]
    return out


def row_submission_id(rec: dict[str, Any], label: str) -> str:
    """A stable id for a record of a file without submission ids: the hash of its content,
    so re-importing the same row adds nothing and an edited row comes in as new."""
    body = repr(sorted((k, v.wkb_hex if isinstance(v, shapely.Geometry) else str(v))
                       for k, v in rec.items() if not k.startswith("_")))
    return f"{label}:{hashlib.sha1(body.encode(), usedforsecurity=False).hexdigest()[:20]}"


#: what GDAL and shapely raise for a file or geometry they cannot read
_OGR_ERRORS = (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError,
               pyogrio.errors.FieldError, pyogrio.errors.GeometryError,
               pyogrio.errors.CRSError, pyogrio.errors.FeatureError,
               shapely.errors.ShapelyError, OSError, ValueError, TypeError, OverflowError)


def read_ogr(path: Path, report_type: str | None = None, layer: str | None = None,
             settings: Settings | None = None) -> Iterator[dict[str, Any] | FileProblem]:
    """Records of every layer (or one) of a GDAL vector file, reprojected to EPSG:4326.

    A zip (a zipped Shapefile or GeoPackage) is unpacked into a temporary folder first, within
    the archive limits (``limits.SafeZip``): GDAL never reads the archive itself.

    Raises FileProblem (FILE_UNREADABLE, the archive limits) when GDAL cannot open the file.
    """
    if path.suffix.lower() != ".zip":
        yield from _read_ogr(path, str(path), report_type, layer)
        return
    with tempfile.TemporaryDirectory(prefix="sg-unzip-") as tmp:
        with SafeZip(path, settings) as zf:
            # a zipped Esri file geodatabase: its (flat) folder of tables is unpacked as one
            gdb = any(".gdb/" in n.replace("\\", "/").lower() for n in zf.names())
            dest = Path(tmp) / "source.gdb" if gdb else Path(tmp)
            dest.mkdir(exist_ok=True)
            files = zf.extract(dest)
        if gdb:
            yield from _read_ogr(path, str(dest), report_type, layer)
            return
        sources = [f for f in files if f.suffix.lower() in (".shp", ".gpkg")]
        if not sources:
            raise FileProblem("FILE_EMPTY", path.name)
        yield from _read_ogr(path, str(sources[0].parent if len(sources) > 1 and all(
            f.suffix.lower() == ".shp" for f in sources) else sources[0]), report_type, layer)


def _read_ogr(path: Path, src: str, report_type: str | None,
              layer: str | None) -> Iterator[dict[str, Any] | FileProblem]:
    try:
        with warnings.catch_warnings():  # GDAL warns before it refuses a broken file
            warnings.simplefilter("ignore", RuntimeWarning)
            layers = [layer] if layer else [name for name, _ in pyogrio.list_layers(src)]
        # a Safeground GeoPackage holds report layers (named by report type) beside the
        # derived-state layers; the reports alone are the record, so only they are read
        reports = [n for n in layers if n in ReportType._value2member_map_]
        if reports and not report_type:
            layers = sorted(reports, key=list(ReportType._value2member_map_).index)
    except _OGR_ERRORS as exc:
        raise FileProblem("FILE_UNREADABLE", path.name, reason=str(exc)[:160]) from exc
    for name in layers:
        try:
            with warnings.catch_warnings():  # GDAL's notes on odd columns and geometries
                warnings.simplefilter("ignore", RuntimeWarning)
                warnings.simplefilter("ignore", UserWarning)
                df = pyogrio.read_dataframe(src, layer=name)
            if getattr(df, "crs", None) is not None and df.crs.to_epsg() != 4326:
                df = df.to_crs(4326)
        except _OGR_ERRORS as exc:
            raise FileProblem("FILE_UNREADABLE", f"{path.name}:{name}",
                              reason=str(exc)[:160]) from exc
        label = path.name if len(layers) == 1 else f"{path.name}:{name}"
        if len(df) == 0:
            yield FileProblem("LAYER_EMPTY", label, value=name)
            continue
        if path.suffix.lower() in (".kml", ".kmz"):
            df = df.drop(columns=[c for c in df.columns if c in _KML_SYSTEM])
        df = df.rename(columns=_rename([c for c in df.columns if c != "geometry"]))
        default_type = report_type or (name if name in ReportType._value2member_map_ else None)
        geoms = df.geometry.array if "geometry" in df else None
        cols = [c for c in df.columns if c != "geometry"]
        values = df[cols].astype(object).where(df[cols].notna(), None).to_dict("records")
        for i, rec in enumerate(values, start=1):
            if default_type and not rec.get("report_type"):
                rec["report_type"] = default_type
            rec = {k: v for k, v in rec.items() if v is not None}
            for k, v in list(rec.items()):
                if isinstance(v, np.ndarray):  # GDAL string lists (GeoJSON arrays)
                    rec[k] = v.tolist()
                elif hasattr(v, "isoformat"):
                    rec[k] = v.isoformat()[:10] if k in _DATE_FIELDS else v.isoformat()
            g = geoms[i - 1] if geoms is not None else None
            rec["geometry"] = g if g is not None and not g.is_empty else None
            rec["_where"] = f"{label} feature {i}"
            yield rec


#: columns GDAL's KML drivers add to every placemark; Safeground fields travel as ExtendedData
_KML_SYSTEM = {"Name", "Description", "id", "timestamp", "begin", "end", "altitudeMode",
               "tessellate", "extrude", "visibility", "drawOrder", "icon", "snippet"}
_DATE_FIELDS = {"date_of_information", "start_date", "end_date", "date_of_birth"}


def read_csv(path: Path, report_type: str | None = None, crs: str | None = None,
             settings: Settings | None = None) -> Iterator[dict[str, Any] | FileProblem]:
    """Records of a CSV file (see module docstring). Raises FileProblem when the file as a whole
    cannot be read or has no geometry columns while its report types need them."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileProblem("FILE_UNREADABLE", path.name, reason=str(exc)[:120]) from exc
    try:
        text, clean = data.decode("utf-8-sig"), True
    except UnicodeDecodeError:
        # keep the undecodable bytes as surrogates: their rows are refused one by one below
        text, clean = data.decode("utf-8-sig", errors="surrogateescape"), False
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv_rows(text, path.name, settings, delimiter=delimiter)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration as exc:
        raise FileProblem("FILE_EMPTY", path.name) from exc
    bad = None if clean else next((h for h in header if _BAD_BYTES.search(h)), None)
    if bad is not None:  # the header names every row's fields: the whole file is refused
        raise FileProblem("FILE_ENCODING", f"{path.name} row 1", encoding="UTF-8",
                          reason=f"column {bad.encode('utf-8', 'surrogateescape')[:30]!r}")
    names = [_rename([h]).get(h, h) for h in header]
    lower = [h.lower() for h in header]
    if "report_type" not in names and not report_type:
        raise FileProblem("COLUMN_MISSING", path.name, column="report_type")
    geom_col = next((lower.index(c) for c in _GEOM_COLS if c in lower), None)
    xy = next(((lower.index(a), lower.index(b)) for a, b in _COORDS
               if a in lower and b in lower), None)
    mgrs_col = lower.index("mgrs") if "mgrs" in lower else None
    crs_col = lower.index("crs") if "crs" in lower else None
    skip = {i for i in (geom_col, mgrs_col, crs_col, *(xy or ())) if i is not None}
    no_geometry_columns = geom_col is None and xy is None and mgrs_col is None
    columns = _plain_columns(text, delimiter, len(header)) if clean else None
    if columns is not None and xy is not None and not crs and geom_col is None \
            and mgrs_col is None and crs_col is None:
        fast = _plain_records(columns, names, header, xy, path.name, report_type)
        if fast is not None:
            yield from fast
            return
    if columns is not None:
        rows: list[Any] = list(zip(*columns, strict=True))
    else:
        rows = list(reader)
    try:
        points = _points(rows, xy, crs) if xy is not None else None
    except sg_geo.GeometryParseError as exc:
        raise FileProblem(exc.code, path.name, "crs", **exc.params) from exc
    width = len(header)
    # rows without a submission id get one from their text (see row_submission_id): the
    # SHA-1 of the header's text then the row's, each joined by \x1f
    has_id = "submission_id" in names
    head = "\x1f".join(header)
    sha1 = hashlib.sha1
    label = path.name
    keep = [i for i in range(width) if i not in skip]
    keep_names = [names[i] for i in keep]
    cells_of = itemgetter(*keep) if len(keep) > 1 else (lambda row: tuple(row[i] for i in keep))
    plain = geom_col is None and mgrs_col is None and crs_col is None and not crs
    for n, row in enumerate(rows, start=2):
        if not any(row):
            continue
        if len(row) != width:
            yield FileProblem("SUBMISSION_MALFORMED", f"{label} row {n}",
                              reason=f"{len(row)} cells for {width} columns")
            continue
        where = f"{label} row {n}"
        bad = None if clean else next((c for c in row if _BAD_BYTES.search(c)), None)
        if bad is not None:
            yield FileProblem("FILE_ENCODING", where, encoding="UTF-8",
                              reason=f"cell {bad.encode('utf-8', 'surrogateescape')[:30]!r}")
            continue
        cells = cells_of(row)
        rec: dict[str, Any] = dict(zip(keep_names, cells, strict=True)) if "" not in cells \
            else {k: c for k, c in zip(keep_names, cells, strict=True) if c != ""}
        if report_type and not rec.get("report_type"):
            rec["report_type"] = report_type
        if not has_id or not rec.get("submission_id"):
            digest = sha1((head + "\x1f".join(row)).encode(), usedforsecurity=False)
            rec["submission_id"] = f"row:{digest.hexdigest()[:20]}"
        rec["_where"] = where
        if plain:  # only coordinate columns, and this row's make a point
            p = points[n - 2] if points is not None else None
            if p is not None and p is not False:
                rec["geometry"] = p
                yield rec
                continue
        problem = None
        if geom_col is not None and row[geom_col].strip():
            rec["geometry"] = row[geom_col]
        elif mgrs_col is not None and row[mgrs_col].strip():
            try:
                rec["geometry"] = geo.mgrs_point(row[mgrs_col])
            except geo.GeoEncodingError as exc:
                problem = FileProblem(exc.code, where, "mgrs", **exc.params)
        elif points is not None:
            p = points[n - 2]
            if p is None:
                problem = FileProblem("GEO_ENCODING", where, header[xy[0]],  # type: ignore[index]
                                      value=f"{row[xy[0]]} {row[xy[1]]}",  # type: ignore[index]
                                      encoding="coordinate pair", reason="not two numbers")
            elif p is not False:
                rec["geometry"] = p
        elif no_geometry_columns and _needs_geometry(rec.get("report_type")):
            problem = FileProblem("COORDINATES_MISSING", where, "geometry",
                                  expected="wkt, longitude/latitude, x/y, easting/northing "
                                           "or mgrs")
        if crs_col is not None and row[crs_col].strip() and "geometry" in rec:
            rec["crs"] = row[crs_col].strip()
        elif crs and isinstance(rec.get("geometry"), str):
            rec["crs"] = crs
        if problem is not None:
            rec["_intake_problems"] = [problem.problem]
        yield rec


def _plain_columns(text: str, delimiter: str, width: int,
                   min_size: int = 1 << 20) -> list[list[str]] | None:
    """The columns (rows after the header) of a plain CSV text, parsed by pandas' C reader
    (three times as fast as the csv module): only when the text has no quotes, one record a
    line and ``width`` cells on every line, so that both readers must give the same cells.
    Else None."""
    if len(text) < min_size or '"' in text or "\x00" in text:  # small: not worth pandas
        return None
    if "\r" in text:  # lines may end in \r\n (as Python's csv module writes them), no other \r
        if text.count("\r") != text.count("\r\n"):
            return None
        text = text.replace("\r\n", "\n")
    body = text.split("\n", 1)[1] if "\n" in text else ""
    lines = body.count("\n") + (0 if body.endswith("\n") or not body else 1)
    if not lines or body.count(delimiter) != (width - 1) * lines or "\n\n" in body:
        return None
    import pandas as pd

    try:
        frame = pd.read_csv(io.StringIO(body), sep=delimiter, header=None, dtype=str,
                            na_filter=False, keep_default_na=False, skip_blank_lines=False,
                            quoting=csv.QUOTE_NONE, engine="c")
    except (ValueError, pd.errors.ParserError):
        return None
    if frame.shape != (lines, width):
        return None
    return [frame[c].tolist() for c in frame.columns]


def _plain_records(columns: list[list[str]], names: list[str], header: list[str],
                   xy: tuple[int, int], label: str, report_type: str | None
                   ) -> list[dict[str, Any]] | None:
    """The records ``read_csv``'s row loop makes from a plain file with coordinate columns,
    made column by column; None unless every cell outside the coordinates is filled and every
    row's coordinates are numbers (the loop's other cases)."""
    ix, iy = xy
    keep = [i for i in range(len(names)) if i not in xy]
    out_names = [names[i] for i in keep]
    out_cols = [columns[i] for i in keep]
    if any("" in col for col in out_cols):
        return None
    try:
        xs, ys = _floats(columns[ix]), _floats(columns[iy])
    except ValueError:
        return None
    m = len(xs)
    if report_type and "report_type" not in out_names:
        out_names.append("report_type")
        out_cols.append([report_type] * m)
    if "submission_id" not in names:
        head = "\x1f".join(header)
        sha1 = hashlib.sha1
        out_names.append("submission_id")
        out_cols.append(["row:" + sha1((head + row).encode(), usedforsecurity=False)
                         .hexdigest()[:20]
                         for row in map("\x1f".join, zip(*columns, strict=True))])
    out_names += ["_where", "geometry"]
    out_cols += [[f"{label} row {n}" for n in range(2, m + 2)],
                 shapely.points(xs, ys).tolist()]
    return list(map(dict, map(zip, repeat(out_names), zip(*out_cols, strict=True))))


def _needs_geometry(report_type: Any) -> bool:
    try:
        return REPORT_SPECS[ReportType(str(report_type))].geometry_required
    except ValueError:
        return False


def _points(rows: list[Any], xy: tuple[int, int], crs: str | None) -> list[Any]:
    """Coordinate columns -> Points in lon/lat, vectorised (a million rows take a second).
    ``False`` marks a row without coordinates, ``None`` a row whose coordinates are not numbers.
    """
    n = len(rows)
    ix, iy = xy
    try:  # numbers in every row
        xs, ys = _floats([r[ix] for r in rows]), _floats([r[iy] for r in rows])
        state = np.zeros(n, dtype=np.int8)
    except (IndexError, ValueError, TypeError):
        xs, ys, state = _coordinates(rows, xy)
    if crs:
        name = sg_geo.crs_name(crs)
        if name != "EPSG:4326":
            tr = sg_geo._transformer(name, "EPSG:4326")
            xs, ys = tr.transform(xs, ys)
    pts = shapely.points(xs, ys).tolist()
    if not state.any():
        return pts
    return [None if s == 2 else False if s == 1 else p
            for s, p in zip(state.tolist(), pts, strict=True)]


def _floats(texts: list[str]) -> np.ndarray:
    """``float()`` of each text. Raises ValueError (TypeError) when one is not a number."""
    return np.fromiter(map(float, texts), dtype=np.float64, count=len(texts))


def _coordinates(rows: list[Any], xy: tuple[int, int]
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x, y and a state per row (0 ok, 1 empty, 2 not numbers), row by row."""
    n = len(rows)
    xs = np.full(n, np.nan)
    ys = np.full(n, np.nan)
    state = np.zeros(n, dtype=np.int8)
    ix, iy = xy
    for k, row in enumerate(rows):
        try:
            a, b = row[ix].strip(), row[iy].strip()
        except IndexError:
            state[k] = 1
            continue
        if not a and not b:
            state[k] = 1
            continue
        try:
            xs[k], ys[k] = float(a.replace(",", ".")), float(b.replace(",", "."))
        except ValueError:
            state[k] = 2
    return xs, ys, state
