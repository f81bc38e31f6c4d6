"""A geometry column that is PostGIS ``geometry(Geometry, 4326)`` on PostgreSQL and WKB on SQLite.

Values in and out are shapely geometries in EPSG:4326. On PostgreSQL the driver sends hex EWKB
text, which PostGIS reads without a function call, and returns hex EWKB, which shapely reads.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from sqlalchemy.types import LargeBinary, TypeDecorator, UserDefinedType


class _PostGISGeometry(UserDefinedType):
    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "geometry(Geometry,4326)"


class GeometryType(TypeDecorator):
    """Shapely geometry (EPSG:4326) stored natively in PostGIS, as WKB in SQLite."""

    impl = LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(_PostGISGeometry())
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value, dialect):
        if value is None or isinstance(value, Encoded):
            return value  # already encoded for this dialect by ``encode_many``
        if isinstance(value, bytes | bytearray | memoryview):
            value = shapely.from_wkb(bytes(value))
        if dialect.name == "postgresql":
            return shapely.to_wkb(shapely.set_srid(value, 4326), hex=True, include_srid=True)
        return shapely.to_wkb(value)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, memoryview):
            value = bytes(value)
        return shapely.from_wkb(value)


class _EncodedStr(str):
    """Hex EWKB already encoded for PostGIS."""


class EncodedBytes(bytes):
    """WKB already encoded for SQLite."""


Encoded = (_EncodedStr, EncodedBytes)


def encode_many(geoms: list[Any], dialect: str, marked: bool = True) -> list[Any]:
    """Encode many shapely geometries in one vectorised call (the write path's hot spot).

    ``marked`` values (``Encoded``) pass ``GeometryType`` untouched; unmarked SQLite WKB is
    plain ``bytes``, for a driver-level insert that needs no copy of each value."""
    if not geoms:
        return []
    arr = np.empty(len(geoms), dtype=object)
    arr[:] = geoms
    if dialect == "postgresql":
        present = np.array([g is not None for g in geoms], dtype=bool)
        arr[present] = shapely.set_srid(arr[present], 4326)
        out = shapely.to_wkb(arr, hex=True, include_srid=True)
        return [None if v is None else _EncodedStr(v) for v in out]
    out = shapely.to_wkb(arr)
    if not marked and dialect != "postgresql":
        return out.tolist()
    return [None if v is None else EncodedBytes(v) for v in out]
