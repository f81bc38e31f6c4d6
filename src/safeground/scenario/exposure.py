"""Exposure × density: where people walk, drive, farm and graze, and what they step on.

People are represented by *probes*: each probe is a person-trip landing at a point drawn around
an exposure source (a settlement's fields, a stretch of the former front patrolled by soldiers,
a military position). A probe triggers an item in its 25 m cell with probability
``1 - exp(-beta * n)`` where ``n`` counts the items still in the ground in that cell, and may
instead *find* a surface item and report it. The same model drives the accidents written to the
baseline record and those the operations twin produces later.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

#: Side of the cells used for item density (and for "truly contaminated" area).
CELL_M = 25.0

IN_GROUND, FOUND, ACCIDENT = 0, 1, 2

#: Person-trips one probe stands for: fewer, heavier probes keep the simulation fast while the
#: expected number of accidents (linear in trips × beta) stays the same.
PROBE_UNIT = 5.0


class CellIndex:
    """Items grouped by 25 m cell, with live counts of items still in the ground."""

    def __init__(self, x: np.ndarray, y: np.ndarray, origin: tuple[float, float]) -> None:
        self.x0, self.y0 = origin
        self.ncols = 1 << 22
        keys = self.keys(x, y)
        self.order = np.argsort(keys, kind="stable")
        self.ukeys, self.starts, counts = np.unique(keys[self.order], return_index=True,
                                                    return_counts=True)
        self.live = counts.astype(np.int32)
        self.cell_of = np.searchsorted(self.ukeys, keys)

    def keys(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        ix = np.floor((np.asarray(x) - self.x0) / CELL_M).astype(np.int64)
        iy = np.floor((np.asarray(y) - self.y0) / CELL_M).astype(np.int64)
        return ix * self.ncols + iy

    def lookup(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(cell index or -1, live count) for each point."""
        k = self.keys(x, y)
        j = np.searchsorted(self.ukeys, k)
        j = np.minimum(j, len(self.ukeys) - 1) if len(self.ukeys) else j
        ok = (len(self.ukeys) > 0) & (self.ukeys[j] == k) if len(self.ukeys) else np.zeros(
            len(k), bool)
        cell = np.where(ok, j, -1)
        count = np.where(ok, self.live[np.maximum(cell, 0)] if len(self.live) else 0, 0)
        return cell, count

    def remove(self, items: np.ndarray) -> None:
        np.subtract.at(self.live, self.cell_of[items], 1)

    def members(self, cell: int) -> np.ndarray:
        s = self.starts[cell]
        e = self.starts[cell + 1] if cell + 1 < len(self.starts) else len(self.order)
        return self.order[s:e]


@dataclass(frozen=True, slots=True)
class Sources:
    """Exposure sources: probes per day around each point, with a spread (metres)."""

    x: np.ndarray
    y: np.ndarray
    rate: np.ndarray
    spread: np.ndarray
    military: np.ndarray   # bool
    settlement: np.ndarray  # int index of the settlement or -1

    @staticmethod
    def concat(parts: list[Sources]) -> Sources:
        return Sources(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                         ("x", "y", "rate", "spread", "military", "settlement")))


@dataclass(frozen=True, slots=True)
class Event:
    item: int
    x: float
    y: float
    date: dt.date
    military: bool
    settlement: int
    kind: str            # "accident" or "find"


def expose(rng: np.random.Generator, index: CellIndex, state: np.ndarray, depth: np.ndarray,
           src: Sources, start: dt.date, days: int, beta: float,
           find_rate: float = 0.02) -> list[Event]:
    """Run ``days`` days of exposure from ``start``; mutate ``state`` and the index.

    Returns accidents and surface finds in date order.
    """
    if days <= 0 or len(src.x) == 0 or len(index.ukeys) == 0:
        return []
    n = rng.poisson(src.rate * days / PROBE_UNIT)
    who = np.repeat(np.arange(len(src.x)), n)
    if len(who) == 0:
        return []
    r = rng.gamma(2.0, src.spread[who] / 2.0)
    a = rng.uniform(0, 2 * np.pi, len(who))
    px = src.x[who] + r * np.cos(a)
    py = src.y[who] + r * np.sin(a)
    cell, count = index.lookup(px, py)
    hot = np.flatnonzero(count > 0)
    if len(hot) == 0:
        return []
    p_acc = 1.0 - np.exp(-beta * PROBE_UNIT * count[hot])
    u = rng.random(len(hot))
    acc = u < p_acc
    fnd = (~acc) & (rng.random(len(hot)) < min(1.0, find_rate * PROBE_UNIT))
    day = rng.integers(0, days, len(hot))
    events: list[Event] = []
    for j in np.argsort(day, kind="stable"):
        if not (acc[j] or fnd[j]):
            continue
        members = index.members(int(cell[hot[j]]))
        live = members[state[members] == IN_GROUND]
        if fnd[j]:
            live = live[depth[live] == 0]      # only surface items are seen
        if len(live) == 0:
            continue
        item = int(live[rng.integers(len(live))])
        state[item] = ACCIDENT if acc[j] else FOUND
        index.remove(np.array([item]))
        k = hot[j]
        events.append(Event(item, float(px[k]), float(py[k]),
                            start + dt.timedelta(days=int(day[j])), bool(src.military[who[k]]),
                            int(src.settlement[who[k]]), "accident" if acc[j] else "find"))
    return events
