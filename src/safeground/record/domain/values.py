"""What every domain value shares: the fields the record keeps of every object, and the
conversion of a derived row into a typed value (``from_row``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

T = TypeVar("T")

#: derived columns every object carries besides its payload fields
COMMON = ("id", "organisation", "first_date", "last_date", "last_report_id")


@dataclass(frozen=True, slots=True, kw_only=True)
class Recorded:
    """What the record keeps of every object: the organisation of its newest report, the
    first and last dates of information, and the newest report folded in."""

    organisation: str | None = None
    first_date: dt.date | None = None
    last_date: dt.date | None = None
    last_report_id: int | None = None


def _convert(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _convert(inner[0], value) if inner else value
    if origin is tuple:
        (item, *_rest) = typing.get_args(tp)
        return tuple(_convert(item, v) for v in value)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp(value)
    if tp is dt.date and isinstance(value, str):
        return dt.date.fromisoformat(value)
    return value


def from_row(cls: type[T], row: dict[str, Any]) -> T:
    """Build a domain value from a derived row; unknown keys are ignored."""
    hints = typing.get_type_hints(cls)
    kwargs = {f.name: _convert(hints[f.name], row.get(f.name))
              for f in dataclasses.fields(cls)  # type: ignore[arg-type]
              if f.name in row}
    return cls(**kwargs)
