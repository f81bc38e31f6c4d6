"""Scores of a plan run in the operations twin."""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np


class ReturnSeries:
    """People returned over time: call it with a date, iterate (date, cumulative) pairs."""

    def __init__(self, steps: Sequence[tuple[dt.date, int]]) -> None:
        self._steps = sorted(steps)
        self._dates = [d for d, _ in self._steps]
        self._cum = np.cumsum([n for _, n in self._steps]) if self._steps else np.zeros(0)

    def __call__(self, when: dt.date) -> int:
        k = bisect.bisect_right(self._dates, when)
        return int(self._cum[k - 1]) if k else 0

    def __iter__(self) -> Iterator[tuple[dt.date, int]]:
        return iter(zip(self._dates, (int(c) for c in self._cum), strict=True))

    @property
    def total(self) -> int:
        return int(self._cum[-1]) if len(self._cum) else 0

    def __int__(self) -> int:
        return self.total


@dataclass(frozen=True, slots=True)
class Casualties:
    killed: int
    injured: int
    civilian: int
    military: int
    deminer: int


@dataclass(frozen=True, slots=True)
class TwinMetrics:
    """Scores of a plan so far. Item counts are since the twin's start unless ``_before``."""

    people_returned: ReturnSeries
    casualties: Casualties
    accidents: int
    released_m2: dict[str, float]
    cleared_m2: float
    cleared_m2_with_eo: float
    items_found: int
    items_remaining: int
    items_in_accidents: int
    items_total: int
    items_found_before: int
    items_in_accidents_before: int
    completion_date: dt.date | None
    now: dt.date

    @property
    def share_cleared_with_eo(self) -> float:
        return self.cleared_m2_with_eo / self.cleared_m2 if self.cleared_m2 else 0.0
