"""Reading a legacy source: whatever GDAL reads through pyogrio (an Esri File Geodatabase as a
folder or zipped, GeoPackage, Shapefile, KML, GeoJSON) and spreadsheets (Excel, CSV).

A source is a set of named layers (feature classes, tables, sheets); a layer is a list of rows
(column -> value) with, for GIS layers, one geometry per row in the layer's own CRS.
"""

from __future__ import annotations

import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import safeground.migrate.catalogue  # noqa: F401 - registers the migration codes
from safeground.errors import SafegroundError
from safeground.record.problems import Problem

GIS_SUFFIXES = (".gdb", ".gpkg", ".shp", ".kml", ".geojson", ".json", ".fgb")
TABLE_SUFFIXES = (".xlsx", ".xlsm", ".csv")
EXPECTED = ".gdb folder, zipped .gdb, .gpkg, .shp, .kml, .geojson, .xlsx, .csv"


class SourceError(SafegroundError, ValueError):
    """A source (or a layer of it) that cannot be read, as a catalogue ``Problem``."""

    http_status = 422

    def __init__(self, code: str, where: str, field: str | None = None, **params: Any) -> None:
        self.problem = Problem(code, where, field, params)
        super().__init__(self.problem.message, code=code, details=[self.problem.to_dict()])


@dataclass(slots=True)
class Layer:
    """One layer of a source, read whole."""

    name: str
    columns: list[str]
    types: dict[str, str]
    rows: list[dict[str, Any]]
    geometries: Any = None           # a sequence of shapely geometries (or None), or None
    crs: str | None = None
    geometry_type: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rows)


def _gdb_in_zip(path: Path) -> str | None:
    """The path GDAL reads a File Geodatabase zipped in ``path`` by, or None."""
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            parts = name.split("/")
            for i, part in enumerate(parts):
                if part.lower().endswith(".gdb"):
                    return f"/vsizip/{path.resolve()}/{'/'.join(parts[:i + 1])}"
    return None


class Source:
    """A legacy source on disk. ``kind`` is ``gis`` (read by GDAL) or ``table`` / ``csv``."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        name = self.path.name
        if not self.path.exists():
            raise SourceError("FILE_UNREADABLE", name, reason="no such file or folder")
        suffix = self.path.suffix.lower()
        self.gdal_path: str | None = None
        if self.path.is_dir() and suffix == ".gdb":
            self.kind, self.gdal_path = "gis", str(self.path)
        elif suffix == ".zip":
            try:
                inner = _gdb_in_zip(self.path)
            except zipfile.BadZipFile as exc:
                raise SourceError("FILE_UNREADABLE", name, reason=str(exc)) from exc
            if inner is None:
                raise SourceError("MIGRATE_SOURCE_UNKNOWN", name, value=name, expected=EXPECTED)
            self.kind, self.gdal_path = "gis", inner
        elif suffix in GIS_SUFFIXES:
            self.kind, self.gdal_path = "gis", str(self.path)
        elif suffix in (".xlsx", ".xlsm"):
            self.kind = "table"
        elif suffix == ".csv":
            self.kind = "csv"
        else:
            raise SourceError("MIGRATE_SOURCE_UNKNOWN", name, value=name, expected=EXPECTED)
        self._sheets: dict[str, Any] | None = None
        self._cache: dict[str, Layer] = {}

    @property
    def name(self) -> str:
        return self.path.name

    def layer_names(self) -> list[str]:
        if self.kind == "gis":
            import pyogrio

            try:
                return [str(n) for n, _ in pyogrio.list_layers(self.gdal_path)]
            except Exception as exc:  # pyogrio raises its own DataSourceError family
                raise SourceError("FILE_UNREADABLE", self.name, reason=str(exc)[:200]) from exc
        if self.kind == "csv":
            return [self.path.stem]
        return list(self._workbook())

    def _workbook(self) -> dict[str, Any]:
        if self._sheets is None:
            import pandas as pd

            try:
                self._sheets = pd.read_excel(self.path, sheet_name=None, dtype=object,
                                             engine="openpyxl")
            except Exception as exc:  # openpyxl raises many types for a broken workbook
                raise SourceError("FILE_UNREADABLE", self.name, reason=str(exc)[:200]) from exc
        return self._sheets

    def read(self, layer: str) -> Layer:
        if layer in self._cache:
            return self._cache[layer]
        names = self.layer_names()
        if layer not in names:
            raise SourceError("MIGRATE_LAYER_UNKNOWN", self.name, value=layer,
                              expected=", ".join(names))
        out = self._read_gis(layer) if self.kind == "gis" else self._read_table(layer)
        self._cache[layer] = out
        return out

    def _read_gis(self, layer: str) -> Layer:
        import pyogrio

        try:
            info = pyogrio.read_info(self.gdal_path, layer=layer)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                df = pyogrio.read_dataframe(self.gdal_path, layer=layer,
                                            read_geometry=info["geometry_type"] is not None)
        except Exception as exc:  # pyogrio's DataSourceError / DataLayerError
            raise SourceError("FILE_UNREADABLE", f"{self.name} layer {layer}",
                              reason=str(exc)[:200]) from exc
        geoms = None
        if "geometry" in df.columns and info["geometry_type"] is not None:
            geoms = np.asarray(df.geometry.values, dtype=object)
            df = df.drop(columns="geometry")
        columns = [str(c) for c in df.columns]
        types = {str(c): str(t) for c, t in zip(info["fields"], info["dtypes"], strict=False)}
        return Layer(layer, columns, types, _records(df), geoms, info.get("crs"),
                     info["geometry_type"])

    def _read_table(self, layer: str) -> Layer:
        import pandas as pd

        if self.kind == "csv":
            try:
                df = pd.read_csv(self.path, dtype=str, keep_default_na=False,
                                 encoding="utf-8-sig")
            except (UnicodeDecodeError, pd.errors.ParserError) as exc:
                raise SourceError("FILE_UNREADABLE", self.name, reason=str(exc)[:200]) from exc
        else:
            df = self._workbook()[layer]
        df.columns = [str(c).strip() for c in df.columns]
        rows = _records(df)
        types = {c: _kind_of([r.get(c) for r in rows[:2000]]) for c in df.columns}
        return Layer(layer, list(df.columns), types, rows)


def _records(df: Any) -> list[dict[str, Any]]:
    """Rows as dicts, with missing values (NaN, NaT, empty text) as None."""
    obj = df.astype(object)
    obj = obj.where(obj.notna(), None)
    rows = obj.to_dict("records")
    for r in rows:
        for k, v in r.items():
            if v.__class__ is str and not v.strip():
                r[k] = None
    return rows


def _kind_of(values: list[Any]) -> str:
    import datetime as dt

    kinds = {type(v).__name__ for v in values if v is not None}
    if not kinds:
        return "empty"
    if kinds <= {"int", "float"}:
        return "number"
    if all(issubclass(type(v), dt.date) for v in values if v is not None):
        return "date"
    return "text" if kinds == {"str"} else "mixed"
