"""The operations twin: execute survey and clearance plans against the hidden truth.

``OperationsTwin(scenario, seed, start, teams)`` starts from what the record knows at the end of
the scenario's observation window. ``advance(orders, until)`` runs the plan day by day (an event
queue): each team works its orders in start order, one after the other; the work reveals the truth
and is written as report records (the same dicts as ``Scenario.report_records``):

* **NTS** (non-technical survey) of a hazardous area finds visible signs of contamination with a
  probability that grows with the number of items left; where it does, the area becomes (or stays)
  a CHA and only the land within 150 m of the signs is kept, the rest is *cancelled*; where it does
  not, the whole area is cancelled (isolated items may stay in cancelled land — residual risk).
* **TS** (technical survey) detects each item with probability 0.95 and *reduces* everything
  farther than 30 m from a detected item; an SHA with detected items becomes a CHA.
* **Clearance** advances in 30-day strips and *clears* them, finding each item inside with the
  asset's detection probability (manual 0.999, dog 0.995, machine 0.97); found items are
  reported (aggregated per 50 m cell, category and model, with ``quantity``). Clearance ordered
  on an SHA is preceded by a TS of the same team ("survey first, clear only where needed").

Meanwhile people keep moving (``exposure.py``): returnees, visitors, farmers and soldiers trigger
the items still in the ground, wherever they are — in open areas, in cancelled land, or in land
no survey ever suspected. Accidents create new CHAs when they happen outside open areas. The
people of a settlement return when every access area (in or within 1 km of the built-up area,
or on its access roads) is closed.

Item conservation: every true item is, at every moment, in the ground, found, or consumed by an
accident; ``TwinMetrics`` accounts for all of them.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from safeground.record.domain.settlements import AccessRule, access_areas, within_reach
from safeground.record.vocabulary import (
    DIRECT_CATEGORIES,
    AccidentContext,
    ActivityStatus,
    ActivityType,
    Asset,
    Contamination,
    EvidenceCategory,
    EvidenceSource,
    HazardClass,
    HazardStatus,
    LandUse,
    QaKind,
    QaResult,
    ReleaseKind,
    ReleaseMethod,
    Reliability,
    ReportType,
)
from safeground.scenario import contamination as C
from safeground.scenario.exposure import (
    ACCIDENT,
    CELL_M,
    FOUND,
    IN_GROUND,
    CellIndex,
    Sources,
    expose,
)
from safeground.scenario.fleet import DEFAULT_FLEET, ORG_NAME
from safeground.scenario.geo import sweep_cut
from safeground.scenario.metrics import Casualties, ReturnSeries, TwinMetrics
from safeground.scenario.observation import (
    RESIDENT_RATE,
    VISITOR_RATE,
    exposure_sources,
    write_accident,
    write_ordnance,
)
from safeground.scenario.observed import ObservedArea, ObservedSettlement
from safeground.scenario.plan import ALLOWED, ASSETS, TwinOrderError, TwinTeam, WorkOrder
from safeground.scenario.records import RecordBook, to_wgs_records
from safeground.scenario.terrain import LANDCOVER_CODES

if TYPE_CHECKING:
    from safeground.scenario.scenario import Scenario

DETECTION = {"manual": 0.999, "dog": 0.995, "machine": 0.97}
#: Chance that finding a mine injures the deminer (per mine), by asset.
DEMINING_ACCIDENT = {"manual": 1 / 4000, "dog": 1 / 6000, "machine": 0.0}
CHUNK_DAYS = 30
WEEK = 7
#: which areas a settlement waits on (the twin keeps the rule's default distances)
ACCESS_RULE = AccessRule()
#: land an accident in a closed area makes hazardous again, m (the ledger's default,
#: ``Settings.reopen_radius_m``)
REOPEN_RADIUS_M = 50.0
MIN_RELEASE_M2 = 100.0


@dataclass
class _Area:
    id: str
    name: str
    cls: HazardClass
    contamination: tuple[str, ...]
    original: shapely.Geometry
    remaining: shapely.Geometry
    settlement_id: str | None
    land_use: str
    admin_id: str | None
    beneficiaries: int
    factor: float
    items: np.ndarray
    direct: list[shapely.Geometry] = field(default_factory=list)
    evidence: int = 0
    known_items: int = 0
    status: HazardStatus = HazardStatus.OPEN
    reopened_m2: float = 0.0

    @property
    def remaining_m2(self) -> float:
        return 0.0 if self.remaining.is_empty else float(self.remaining.area)


@dataclass
class _Job:
    order: WorkOrder
    kind: str
    act_id: str
    began: dt.date
    rate: float
    last: dt.date


@dataclass
class _TeamState:
    team: TwinTeam
    queue: list[WorkOrder] = field(default_factory=list)
    job: _Job | None = None
    scheduled: bool = False


class OperationsTwin:
    """Execute survey and clearance plans against a scenario's hidden truth.

    ``teams=None`` gives the default fleet (``fleet.DEFAULT_FLEET``: 4 NTS, 4 TS, 8 manual,
    4 dog and 4 machine teams). Raises ``TwinOrderError`` for invalid teams or orders.
    """

    def __init__(self, scenario: Scenario, seed: int = 0, start: dt.date = dt.date(2021, 4, 1),
                 teams: Sequence[TwinTeam] | None = None, *, exposure: bool = True) -> None:
        self.scenario = scenario
        self.rng = np.random.default_rng([seed, scenario.config.seed])
        self.start = self.now = start
        self.truth = scenario.truth
        it = self.truth.items
        self.state = scenario.item_state.copy()
        minx, miny, _, _ = scenario.region.polygon.bounds
        self.index = CellIndex(it.x, it.y, (minx, miny))
        gone = np.flatnonzero(self.state != IN_GROUND)
        if len(gone):
            self.index.remove(gone)
        self.n_found_before = int((self.state == FOUND).sum())
        self.n_acc_before = int((self.state == ACCIDENT).sum())
        self.book = RecordBook(prefix=f"TWIN{seed}")
        self.book._counters = dict(scenario.book._counters)
        self.book._counters["HA"] = len(scenario.areas)
        self._new_teams: list[TwinTeam] = []
        if teams is None:
            teams = [TwinTeam(t.id, t.asset.value, t.productivity_m2_per_day, t.organisation_id)
                     for t in DEFAULT_FLEET]
        else:
            known = {r["object_id"] for r in scenario.book.records
                     if r["report_type"] == ReportType.TEAM}
            self._new_teams = [t for t in teams if t.id not in known]
        self.teams: list[TwinTeam] = list(teams)
        if len({t.id for t in self.teams}) != len(self.teams):
            raise TwinOrderError("team ids must be unique")
        self._teams = {t.id: _TeamState(t) for t in self.teams}
        self._build_areas()
        self._build_settlements()
        self._heap: list[tuple[dt.date, int, int, str, str]] = []
        self._seq = 0
        if exposure:   # off only where the scenario's own observation already ran it
            self._push(start + dt.timedelta(days=WEEK), 1, "expose", "")
        self._pending: list[dict] = []
        self.killed = self.injured = 0
        self.by_status = {"civilian": 0, "military": 0, "deminer": 0}
        self.accidents = 0
        self.released = {k.value: 0.0 for k in ReleaseKind}
        self.cleared_with_eo = 0.0
        self.completion_date: dt.date | None = None
        self._base_src: Sources | None = None

    # ------------------------------------------------------------ set-up ------------------

    def _build_areas(self) -> None:
        sc = self.scenario
        it = self.truth.items
        ev_by_area: dict[str, list[dict]] = {}
        act_area: dict[str, str] = {}
        known: dict[str, int] = {}
        for r in sc.book.records:
            if r["report_type"] == ReportType.EVIDENCE and r.get("hazardous_area_id"):
                ev_by_area.setdefault(r["hazardous_area_id"], []).append(r)
            elif r["report_type"] == ReportType.ACTIVITY and r.get("hazardous_area_id"):
                act_area[r["object_id"]] = r["hazardous_area_id"]
        for r in sc.book.records:   # items found so far, by the area of their activity
            if r["report_type"] == ReportType.ORDNANCE and r.get("activity_id") in act_area:
                aid = act_area[r["activity_id"]]
                known[aid] = known.get(aid, 0) + int(r.get("quantity", 1))
        # the record may already hold early operations (scenario/operations.py): start from
        # the land they left, the classification they reached and the areas they closed
        ops = getattr(sc, "operations", None)
        polys = [a.polygon for a in sc.areas]
        owner = np.full(len(it), -1, np.int64)
        if polys and len(it):
            # a tree of the items queried with the areas (ten times faster than the other way
            # round); an item on a shared edge belongs to the first area
            area_k, item_k = shapely.STRtree(shapely.points(it.x, it.y)).query(
                polys, predicate="intersects")
            owner[item_k[::-1]] = area_k[::-1]
        self.owner = owner
        order = np.argsort(owner, kind="stable")
        bounds = np.searchsorted(owner[order], np.arange(len(polys) + 1))
        self.areas: list[_Area] = []
        factors = self._factors(polys)
        for k, a in enumerate(sc.areas):
            evs = ev_by_area.get(a.id, [])
            direct = [r["geometry"] for r in evs if r["category"] in DIRECT_CATEGORIES]
            remaining = ops.remaining.get(a.id, a.polygon) if ops is not None else a.polygon
            cls = HazardClass(ops.classification.get(a.id, a.classification)) \
                if ops is not None else a.classification
            # starting from the record (after its early operations), an area with direct
            # evidence known by the start is a CHA, as the ledger's rule makes it (docs/domain.md
            # §2); the early operations themselves keep the classification first surveyed,
            # so the scenario's record does not depend on this
            if ops is not None and cls is HazardClass.SHA and any(
                    r["category"] in DIRECT_CATEGORIES
                    and r["date_of_information"] <= self.start.isoformat() for r in evs):
                cls = HazardClass.CHA
            area = _Area(
                a.id, a.name, cls, tuple(str(c) for c in a.contamination),
                a.polygon, remaining, a.settlement_id, str(a.land_use), a.admin_id,
                a.beneficiaries, float(factors[k]), order[bounds[k]:bounds[k + 1]],
                direct, len(evs), known.get(a.id, 0))
            if ops is not None and a.id in ops.remaining:
                area.status = HazardStatus.CLOSED if area.remaining_m2 < max(
                    1.0, 1e-4 * a.polygon.area) else HazardStatus.WORKED_ON
            self.areas.append(area)
        self.by_id = {a.id: k for k, a in enumerate(self.areas)}
        self._tree = shapely.STRtree([a.original for a in self.areas])

    def _factor(self, poly: shapely.Geometry) -> float:
        return float(self._factors([poly])[0])

    def _factors(self, polys: Sequence[shapely.Geometry]) -> np.ndarray:
        """Terrain factor of each area at its representative point: ``1 / (1 + slope/20)``,
        x 0.6 in forest, x 0.75 in built-up land."""
        if not len(polys):
            return np.zeros(0)
        ter = self.scenario.terrain
        pts = shapely.point_on_surface(np.asarray(polys, dtype=object))
        x, y = shapely.get_x(pts), shapely.get_y(pts)
        slope = np.nan_to_num(ter.sample(ter.slope, x, y).astype(float))
        cover = ter.sample(ter.landcover, x, y)
        mult = np.array([{LandUse.FOREST: 0.6, LandUse.BUILT_UP: 0.75}.get(
            LANDCOVER_CODES.get(int(c), LandUse.OTHER), 1.0) for c in cover])
        return 1.0 / (1.0 + slope / 20.0) * mult

    def _build_settlements(self) -> None:
        reg = self.scenario.region
        roads = [g for g, _ in reg.roads]
        road_tree = shapely.STRtree(roads) if roads else None
        self._settlements = []
        self.returned_pop = np.zeros(len(reg.settlements), np.int64)
        self._returns: list[tuple[dt.date, int]] = []
        self.area_to_settlements: dict[int, list[int]] = {}
        for j, s in enumerate(reg.settlements):
            ids = access_areas(ACCESS_RULE, self._tree, s.x, s.y, s.radius_m, road_tree)
            for k in ids:
                self.area_to_settlements.setdefault(k, []).append(j)
            self._settlements.append({"access": ids, "returned": not s.occupied, "date": None})
        for j in range(len(reg.settlements)):
            self._check_return(j, self.start)

    # ------------------------------------------------------------ observable API ----------

    @property
    def settlements(self) -> list[ObservedSettlement]:
        reg = self.scenario.region
        return [ObservedSettlement(s.id, s.name, (s.x, s.y), s.pre_conflict_population,
                                   s.displaced_population,
                                   tuple(self.areas[k].id for k in st["access"]),
                                   st["returned"], st["date"])
                for s, st in zip(reg.settlements, self._settlements, strict=True)]

    def observable_areas(self) -> list[ObservedArea]:
        out = []
        for a in self.areas:
            g = a.remaining if not a.remaining.is_empty else a.original
            p = g.representative_point()
            out.append(ObservedArea(
                a.id, a.name, a.cls.value, a.status.value, a.remaining_m2, float(a.original.area),
                a.remaining, (p.x, p.y), a.settlement_id, a.land_use, a.contamination,
                a.evidence, len(a.direct), a.known_items, a.factor, a.reopened_m2))
        return out

    def team_work(self) -> dict[str, tuple[WorkOrder | None, float, tuple[WorkOrder, ...]]]:
        """Per team id: the order it is working on (None when idle), its rate on it in m² a
        day (0 when idle) and the orders queued after it, in start order. A snapshot: changing
        it does not change the twin."""
        return {tid: (ts.job.order if ts.job else None, ts.job.rate if ts.job else 0.0,
                      tuple(sorted(ts.queue, key=lambda o: o.start)))
                for tid, ts in self._teams.items()}

    # ------------------------------------------------------------ running -----------------

    def _push(self, when: dt.date, prio: int, kind: str, key: str) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (when, prio, self._seq, kind, key))

    def _validate(self, orders: Sequence[WorkOrder]) -> None:
        for o in orders:
            ts = self._teams.get(o.team_id)
            if ts is None:
                raise TwinOrderError(f"unknown team {o.team_id!r}")
            if o.area_id not in self.by_id:
                raise TwinOrderError(f"unknown hazardous area {o.area_id!r}")
            if o.activity not in ALLOWED[ts.team.asset]:
                raise TwinOrderError(f"team {o.team_id} ({ts.team.asset}) cannot do "
                                     f"{o.activity!r}; allowed: {sorted(ALLOWED[ts.team.asset])}")

    def advance(self, orders: Sequence[WorkOrder], until: dt.date) -> list[dict[str, Any]]:
        """Execute ``orders`` (added to the teams' queues) up to ``until`` (exclusive).

        Returns the report records emitted, geometry in EPSG:4326. Raises ``TwinOrderError``.
        """
        self._validate(orders)
        first = len(self.book.records)
        for tid in sorted({t.id for t in self._new_teams}):
            t = self._teams[tid].team
            self.book.add(ReportType.TEAM, t.id, self.now, ORG_NAME.get(t.organisation_id,
                                                                        "ANAMA"), "registry",
                          organisation_id=t.organisation_id, name=t.id, asset=t.asset)
        self._new_teams = []
        for o in orders:
            self._teams[o.team_id].queue.append(o)
        for tid, ts in self._teams.items():
            ts.queue.sort(key=lambda o: o.start)
            if not ts.scheduled and ts.job is None and ts.queue:
                ts.scheduled = True
                self._push(max(self.now, ts.queue[0].start), 0, "team", tid)
        while self._heap and self._heap[0][0] < until:
            when, _, _, kind, key = heapq.heappop(self._heap)
            if kind == "expose":
                self._expose(when)
                self._push(when + dt.timedelta(days=WEEK), 1, "expose", "")
            else:
                self._team_event(key, when)
        self.now = max(self.now, until)
        return list(to_wgs_records(self.book.records[first:]))

    def run(self, orders: Sequence[WorkOrder], until: dt.date) -> TwinMetrics:
        """``advance`` then ``metrics``."""
        self.advance(orders, until)
        return self.metrics()

    # ------------------------------------------------------------ teams -------------------

    def _team_event(self, tid: str, when: dt.date) -> None:
        ts = self._teams[tid]
        ts.scheduled = False
        if ts.job is not None:
            self._work(ts, when)
            return
        while ts.queue:
            o = ts.queue[0]
            if o.start > when:
                ts.scheduled = True
                self._push(o.start, 0, "team", tid)
                return
            ts.queue.pop(0)
            if self._begin(ts, o, when):
                return

    def _begin(self, ts: _TeamState, o: WorkOrder, when: dt.date) -> bool:
        a = self.areas[self.by_id[o.area_id]]
        if a.status is HazardStatus.CLOSED or a.remaining_m2 < 1.0:
            return False
        kind = o.activity
        if kind == "clearance" and a.cls is HazardClass.SHA:
            kind = "ts"   # survey first; clearance follows on what is confirmed
            ts.queue.insert(0, WorkOrder(o.team_id, o.area_id, "clearance", when))
        t = ts.team
        rate = t.productivity_m2_per_day * (1.0 if kind == "nts" else a.factor)
        act = self.book.new_id("ACT")
        job = _Job(o, kind, act, when, rate, when)
        ts.job = job
        a.status = HazardStatus.WORKED_ON
        self._activity(job, ts.team, a, when, ActivityStatus.ONGOING)
        days = max(1, math.ceil(a.remaining_m2 / rate))
        if kind == "clearance":
            days = min(days, CHUNK_DAYS)
        ts.scheduled = True
        self._push(when + dt.timedelta(days=days), 0, "team", t.id)
        return True

    def _activity(self, job: _Job, team: TwinTeam, a: _Area, when: dt.date,
                  status: ActivityStatus) -> None:
        p = (a.remaining if not a.remaining.is_empty else a.original).representative_point()
        atype = {"nts": ActivityType.NTS, "ts": ActivityType.TS,
                 "clearance": ActivityType.CLEARANCE}[job.kind]
        self.book.add(ReportType.ACTIVITY, job.act_id, when, self._org(team), team.id,
                      geometry=p, activity_type=atype, organisation_id=team.organisation_id,
                      team_id=team.id, hazardous_area_id=a.id, asset=Asset(team.asset),
                      start_date=job.began,
                      end_date=when if status is ActivityStatus.COMPLETED else None,
                      status=status)

    @staticmethod
    def _org(team: TwinTeam) -> str:
        return ORG_NAME.get(team.organisation_id, team.organisation_id)

    def _work(self, ts: _TeamState, when: dt.date) -> None:
        job = ts.job
        assert job is not None
        a = self.areas[self.by_id[job.order.area_id]]
        done = True
        if a.remaining_m2 >= 1.0:
            if job.kind == "nts":
                self._nts(a, job, ts.team, when)
            elif job.kind == "ts":
                self._ts(a, job, ts.team, when)
            else:
                done = self._clear_chunk(a, job, ts.team, when)
        if done:
            self._activity(job, ts.team, a, when, ActivityStatus.COMPLETED)
            if job.kind == "clearance":
                self.book.add(ReportType.QA_VISIT, self.book.new_id("QA"), when, "ANAMA",
                              "QA officer", activity_id=job.act_id, kind=QaKind.QC,
                              result=QaResult.PASS, nonconformities=0)
            self._after_release(a, when)
            ts.job = None
            self._team_event(ts.team.id, when)
        else:
            days = max(1, min(CHUNK_DAYS, math.ceil(a.remaining_m2 / job.rate)))
            ts.scheduled = True
            self._push(when + dt.timedelta(days=days), 0, "team", ts.team.id)

    def _live(self, a: _Area, geom: shapely.Geometry) -> np.ndarray:
        idx = a.items[(self.state[a.items] == IN_GROUND) & (self.owner[a.items] ==
                                                            self.by_id[a.id])]
        if len(idx) == 0 or geom.is_empty:
            return idx
        it = self.truth.items
        return idx[shapely.contains_xy(geom, it.x[idx], it.y[idx])]

    def _keep_zone(self, a: _Area, idx: np.ndarray, radius: float) -> shapely.Geometry:
        it = self.truth.items
        parts = []
        if len(idx):
            cells = np.unique(np.column_stack([np.floor(it.x[idx] / CELL_M),
                                               np.floor(it.y[idx] / CELL_M)]), axis=0)
            centres = (cells + 0.5) * CELL_M
            parts.append(shapely.union_all(shapely.buffer(shapely.points(centres), radius,
                                                          quad_segs=3)))
        parts.extend(shapely.buffer(g, 50.0, quad_segs=3) for g in a.direct)
        return shapely.union_all(parts) if parts else shapely.Polygon()

    def _release(self, a: _Area, part: shapely.Geometry, kind: ReleaseKind,
                 method: ReleaseMethod, job: _Job, team: TwinTeam, when: dt.date,
                 depth: int | None = None, min_m2: float = MIN_RELEASE_M2) -> shapely.Geometry:
        if not part.is_valid:
            part = shapely.make_valid(part)
        # parts under 1 m² are projection slivers; they stay in the remaining land
        polys = [p for p in shapely.get_parts(part) if p.geom_type == "Polygon"
                 and p.area >= max(min_m2, 1.0)]
        if not polys:
            return shapely.Polygon()
        g = polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)
        self.book.add(ReportType.LAND_RELEASE, self.book.new_id("LR"), when, self._org(team),
                      team.id, geometry=g, activity_id=job.act_id, hazardous_area_id=a.id,
                      release=kind, method=method, depth_cm=depth,
                      qa_passed=True if kind is ReleaseKind.CLEARED else None)
        a.remaining = _clean(shapely.difference(a.remaining, g))
        self.released[kind.value] += g.area
        return g

    def _confirm(self, a: _Area, idx: np.ndarray, team: TwinTeam, when: dt.date) -> None:
        it = self.truth.items
        i = int(idx[self.rng.integers(len(idx))])
        pt = shapely.Point(it.x[i] + self.rng.normal(0, 5), it.y[i] + self.rng.normal(0, 5))
        self.book.add(ReportType.EVIDENCE, self.book.new_id("EV"), when, self._org(team), team.id,
                      geometry=pt, hazardous_area_id=a.id, category=EvidenceCategory.EO_OBSERVED,
                      source=EvidenceSource.OBSERVED, reliability=Reliability.HIGH,
                      description=f"{C.CATEGORIES[int(it.cat[i])].value} seen during survey")
        a.direct.append(pt)
        a.evidence += 1
        if a.cls is HazardClass.SHA:
            a.cls = HazardClass.CHA
            self._area_record(a, when, team)

    def _area_record(self, a: _Area, when: dt.date, team: TwinTeam | None = None,
                     new: bool = False) -> None:
        self.book.add(ReportType.HAZARDOUS_AREA, a.id, when, "ANAMA",
                      team.id if team else "accident investigation", geometry=a.original,
                      name=a.name, classification=a.cls, contamination=list(a.contamination),
                      settlement_id=a.settlement_id, admin_area_id=a.admin_id,
                      land_use=a.land_use, estimated_area_m2=round(a.original.area, 1),
                      beneficiaries=a.beneficiaries)

    def _nts(self, a: _Area, job: _Job, team: TwinTeam, when: dt.date) -> None:
        idx = self._live(a, a.remaining)
        it = self.truth.items
        keep = shapely.Polygon()
        if len(idx) and self.rng.random() < 1.0 - math.exp(-len(idx) / 5.0):
            dense = self.index.live[self.index.cell_of[idx]] >= 2
            visible = idx[dense | np.isin(it.cat[idx], [C.AT, C.UXO, C.SUB, C.AXO])]
            if len(visible):
                self._confirm(a, visible, team, when)
                keep = self._keep_zone(a, visible, 150.0)
        if keep.is_empty and a.direct:
            keep = self._keep_zone(a, np.zeros(0, int), 0.0)
        self._release(a, shapely.difference(a.remaining, keep), ReleaseKind.CANCELLED,
                      ReleaseMethod.NTS, job, team, when)

    def _ts(self, a: _Area, job: _Job, team: TwinTeam, when: dt.date) -> None:
        idx = self._live(a, a.remaining)
        seen = idx[self.rng.random(len(idx)) < 0.95]
        if len(seen):
            self._confirm(a, seen, team, when)
        keep = self._keep_zone(a, seen, 30.0)
        if a.direct and a.cls is HazardClass.SHA:
            # land kept around direct evidence is confirmed (docs/domain.md §2: SHA becomes CHA on
            # direct evidence), so a clearance order that follows clears it, where it would
            # otherwise survey the same SHA again, and again
            a.cls = HazardClass.CHA
            self._area_record(a, when, team)
        self._release(a, shapely.difference(a.remaining, keep), ReleaseKind.REDUCED,
                      ReleaseMethod.TS, job, team, when)

    def _clear_chunk(self, a: _Area, job: _Job, team: TwinTeam, when: dt.date) -> bool:
        days = max(1, (when - job.last).days)
        job.last = when
        target = job.rate * days
        final = a.remaining_m2 <= target * 1.005 + MIN_RELEASE_M2
        piece = a.remaining if final else sweep_cut(a.remaining, target)
        if not final and piece.area < 0.5 * target:   # degenerate cut: take what is left
            final, piece = True, a.remaining
        idx = self._live(a, piece)
        hit = self.rng.random(len(idx)) < DETECTION[team.asset]
        found = idx[hit]
        it = self.truth.items
        mines = np.isin(it.cat[found], [C.AP, C.AT])
        blast = mines & (self.rng.random(len(found)) < DEMINING_ACCIDENT[team.asset])
        for i in found[blast]:
            self._accident(int(i), when, AccidentContext.DEMINING, a)
        found = found[~blast]
        method = {"manual": ReleaseMethod.MANUAL, "dog": ReleaseMethod.DOG,
                  "machine": ReleaseMethod.MACHINE}[team.asset]
        if final:
            piece = a.remaining
        g = self._release(a, piece, ReleaseKind.CLEARED, method, job, team, when, depth=20,
                          min_m2=0.0 if final else MIN_RELEASE_M2)
        if len(found):
            self.state[found] = FOUND
            self.index.remove(found)
            a.known_items += len(found)
            self._report_found(found, job, team, when)
            self.cleared_with_eo += min(g.area, _cells(it.x[found], it.y[found]) * CELL_M ** 2)
        return final or a.remaining_m2 < 1.0

    def _report_found(self, found: np.ndarray, job: _Job, team: TwinTeam, when: dt.date) -> None:
        it = self.truth.items
        key = (np.floor(it.x[found] / 50.0).astype(np.int64) * (1 << 24)
               + np.floor(it.y[found] / 50.0).astype(np.int64)) * 64 \
            + it.cat[found].astype(np.int64) * 8 + it.model[found].astype(np.int64)
        _, first, counts = np.unique(key, return_index=True, return_counts=True)
        for i, n in zip(found[first], counts, strict=True):
            write_ordnance(self.rng, self.book, self.truth, int(i), job.act_id, when,
                           self._org(team), team.id, quantity=int(n))

    def _after_release(self, a: _Area, when: dt.date) -> None:
        # closed like the ledger closes it: below 1 m² or 1e-4 of the original area left
        if a.remaining_m2 < max(1.0, 1e-4 * a.original.area):
            a.status = HazardStatus.CLOSED
            for j in self.area_to_settlements.get(self.by_id[a.id], []):
                self._check_return(j, when)
            if all(x.status is HazardStatus.CLOSED for x in self.areas):
                self.completion_date = when
        else:
            a.status = HazardStatus.WORKED_ON

    def _check_return(self, j: int, when: dt.date) -> None:
        st = self._settlements[j]
        s = self.scenario.region.settlements[j]
        if st["date"] is not None or not s.occupied:
            return
        if all(self.areas[k].status is HazardStatus.CLOSED for k in st["access"]):
            st["returned"], st["date"] = True, when
            self.returned_pop[j] = s.displaced_population
            self._returns.append((when, s.displaced_population))

    # ------------------------------------------------------------ exposure ----------------

    def _sources(self, week_end: dt.date) -> Sources:
        """This week's exposure: soldiers fade out, returnees become residents."""
        reg = self.scenario.region
        if self._base_src is None:
            self._base_src = exposure_sources(reg)
            self._natives = np.array([0 if s.occupied else s.pre_conflict_population
                                      for s in reg.settlements])
            self._displaced = np.array([s.displaced_population for s in reg.settlements])
        base = self._base_src
        years = (week_end - self.scenario.config.ceasefire).days / 365.25
        rate = base.rate.copy()
        rate[base.military] *= math.exp(-years / 1.5)
        civ = base.settlement >= 0
        residents = self._natives + self.returned_pop
        away = np.maximum(self._displaced - self.returned_pop, 0)
        rate[civ] = (RESIDENT_RATE * residents + VISITOR_RATE * away)[base.settlement[civ]]
        return Sources(base.x, base.y, rate, base.spread, base.military, base.settlement)

    def _expose(self, week_end: dt.date) -> None:
        src = self._sources(week_end)
        events = expose(self.rng, self.index, self.state, self.truth.items.depth_cm, src,
                        week_end - dt.timedelta(days=WEEK), WEEK,
                        self.scenario.config.accident_beta)
        for e in events:
            k = self.owner[e.item]
            area = self.areas[k] if k >= 0 and self.areas[k].status is not HazardStatus.CLOSED \
                else None
            if e.kind == "accident":
                self.state[e.item] = IN_GROUND     # _accident consumes it with its bookkeeping
                self.index.live[self.index.cell_of[e.item]] += 1
                self._accident(e.item, e.date, AccidentContext.MILITARY if e.military
                               else AccidentContext.CIVILIAN, area, e.x, e.y)
            else:
                self._spot_find(e, area)

    def _accident(self, item: int, when: dt.date, context: AccidentContext, area: _Area | None,
                  x: float | None = None, y: float | None = None) -> None:
        it = self.truth.items
        x = float(it.x[item]) if x is None else x
        y = float(it.y[item]) if y is None else y
        self.state[item] = ACCIDENT
        self.index.remove(np.array([item]))
        if area is None or area.status is HazardStatus.CLOSED:
            k = int(self.owner[item])
            if k >= 0 and self.areas[k].status is HazardStatus.CLOSED:
                area = self._reopen(self.areas[k], x, y)
            else:
                area = self._new_area(x, y, when, int(it.cat[item]))
        else:
            area.direct.append(shapely.Point(x, y))
            area.evidence += 1
        from safeground.scenario.exposure import Event

        ev = Event(item, x, y, when, context is AccidentContext.MILITARY, -1, "accident")
        n0 = len(self.book.records)
        write_accident(self.rng, self.book, ev, int(it.cat[item]), area.id, context)
        for r in self.book.records[n0:]:
            if r["report_type"] == ReportType.VICTIM:
                if r["outcome"] == "killed":
                    self.killed += 1
                else:
                    self.injured += 1
                self.by_status[r["status"]] += 1
        self.accidents += 1
        self.book.add(ReportType.EVIDENCE, self.book.new_id("EV"), when, "ANAMA",
                      "accident investigation", geometry=shapely.Point(x, y),
                      hazardous_area_id=area.id, category=EvidenceCategory.ACCIDENT,
                      source=EvidenceSource.OBSERVED, reliability=Reliability.HIGH,
                      description=f"{context.value} accident")
        if area.cls is HazardClass.SHA:
            area.cls = HazardClass.CHA
            self._area_record(area, when)

    def _reopen(self, a: _Area, x: float, y: float) -> _Area:
        """An accident in a closed area's land reopens it, as the ledger does on the
        accident's evidence (``land_release.add_evidence``): the land within the reopening
        radius is hazardous again, the area a CHA; items there belong to it."""
        zone = shapely.Point(x, y).buffer(REOPEN_RADIUS_M)
        a.reopened_m2 += float(shapely.difference(zone, a.remaining).area)
        a.remaining = _clean(shapely.union(a.remaining, zone))
        a.status = HazardStatus.OPEN
        a.cls = HazardClass.CHA
        a.direct.append(shapely.Point(x, y))
        a.evidence += 1
        k = self.by_id[a.id]
        ids = np.flatnonzero(self._near(zone))
        ids = ids[(self.state[ids] == IN_GROUND) & (self.owner[ids] < 0)]
        self.owner[ids] = k
        a.items = np.union1d(a.items, ids)
        self.completion_date = None
        return a

    def _new_area(self, x: float, y: float, when: dt.date, cat: int) -> _Area:
        circle = shapely.Point(x, y).buffer(150.0, quad_segs=8)
        # land no area holds: not an open area's remaining land, nor a closed area's (an
        # accident there reopens it instead; the gate refuses a new area over an old one)
        hits = [self.areas[k].remaining if self.areas[k].status is not HazardStatus.CLOSED
                else self.areas[k].original
                for k in self._tree.query(circle, predicate="intersects")]
        poly = shapely.difference(circle, shapely.union_all(hits)) if hits else circle
        poly = _clean(poly, min_part_m2=1.0)
        if poly.is_empty:
            poly = circle
        ids = np.flatnonzero(self._near(poly))
        k = len(self.areas)
        ids = ids[(self.state[ids] == IN_GROUND)
                  & ((self.owner[ids] < 0) | np.isin(self.owner[ids], self._closed_ids()))]
        self.owner[ids] = k
        contam = {C.AP: Contamination.AP, C.AT: Contamination.AT, C.SUB: Contamination.CLUSTER,
                  C.IED: Contamination.IED}.get(cat, Contamination.ERW)
        ter = self.scenario.terrain
        lc = LANDCOVER_CODES.get(int(ter.sample(ter.landcover, np.array([x]), np.array([y]))[0]),
                                 LandUse.OTHER)
        a = _Area(self.book.new_id("HA"), "Accident site", HazardClass.CHA, (contam.value,), poly,
                  poly, None, str(lc), None, 0, self._factor(poly), ids,
                  [shapely.Point(x, y)], 1, 0)
        self.areas.append(a)
        self.by_id[a.id] = k
        self._tree = shapely.STRtree([q.original for q in self.areas])
        self._area_record(a, when)
        self.completion_date = None
        reg = self.scenario.region
        for j, s in enumerate(reg.settlements):
            st = self._settlements[j]
            if st["date"] is None and s.occupied and \
                    within_reach(ACCESS_RULE, s.x, s.y, s.radius_m, x, y):
                st["access"].append(k)
                self.area_to_settlements.setdefault(k, []).append(j)
        return a

    def _near(self, poly: shapely.Geometry) -> np.ndarray:
        it = self.truth.items
        minx, miny, maxx, maxy = poly.bounds
        box = (it.x >= minx) & (it.x <= maxx) & (it.y >= miny) & (it.y <= maxy)
        out = np.zeros(len(it), bool)
        cand = np.flatnonzero(box)
        out[cand[shapely.contains_xy(poly, it.x[cand], it.y[cand])]] = True
        return out

    def _closed_ids(self) -> np.ndarray:
        return np.array([k for k, a in enumerate(self.areas) if a.status is HazardStatus.CLOSED],
                        dtype=np.int64)

    def _spot_find(self, e, area: _Area | None) -> None:
        act = self.book.new_id("ACT")
        d = e.date + dt.timedelta(days=1)
        self.book.add(ReportType.ACTIVITY, act, d, "MES Demining Unit", "TEAM-EOD-01",
                      geometry=shapely.Point(e.x, e.y), activity_type=ActivityType.EOD_SPOT,
                      organisation_id="ORG-MES", team_id="TEAM-EOD-01",
                      hazardous_area_id=area.id if area else None, asset=Asset.EOD,
                      start_date=d, end_date=d, status=ActivityStatus.COMPLETED)
        write_ordnance(self.rng, self.book, self.truth, e.item, act, d, "MES Demining Unit",
                       "TEAM-EOD-01")
        if area is not None:
            area.known_items += 1

    # ------------------------------------------------------------ metrics -----------------

    def metrics(self) -> TwinMetrics:
        found = int((self.state == FOUND).sum())
        acc = int((self.state == ACCIDENT).sum())
        return TwinMetrics(
            people_returned=ReturnSeries(self._returns),
            casualties=Casualties(self.killed, self.injured, self.by_status["civilian"],
                                  self.by_status["military"], self.by_status["deminer"]),
            accidents=self.accidents,
            released_m2=dict(self.released),
            cleared_m2=self.released[ReleaseKind.CLEARED.value],
            cleared_m2_with_eo=self.cleared_with_eo,
            items_found=found - self.n_found_before,
            items_remaining=int((self.state == IN_GROUND).sum()),
            items_in_accidents=acc - self.n_acc_before,
            items_total=len(self.state),
            items_found_before=self.n_found_before,
            items_in_accidents_before=self.n_acc_before,
            completion_date=self.completion_date,
            now=self.now,
        )


def _clean(g: shapely.Geometry, min_part_m2: float = 1e-3) -> shapely.Geometry:
    """Valid polygonal remainder without the slivers differences leave (default < 1e-3 m²)."""
    if g.is_empty:
        return shapely.Polygon()
    if not g.is_valid:
        g = shapely.make_valid(g)
    parts = [q for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")
             for q in shapely.get_parts(p) if q.area > min_part_m2]
    if not parts:
        return shapely.Polygon()
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


def _cells(x: np.ndarray, y: np.ndarray) -> int:
    k = np.floor(x / CELL_M).astype(np.int64) * (1 << 24) + np.floor(y / CELL_M).astype(np.int64)
    return len(np.unique(k))


__all__ = ["ASSETS", "Casualties", "ObservedArea", "ObservedSettlement", "OperationsTwin",
           "ReturnSeries", "TwinMetrics", "TwinOrderError", "TwinTeam", "WorkOrder"]
