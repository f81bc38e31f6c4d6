"""A geometry column that is PostGIS ``geometry(Geometry, 4326)`` on PostgreSQL and WKB on SQLite.

Values in and out are shapely geometries in EPSG:4326. On PostgreSQL the driver sends hex EWKB
text, which PostGIS reads without a function call, and returns hex EWKB, which shapely reads.
"""

from __future__ import annotations

from typing import Any

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
        if value is None:
            return None
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
