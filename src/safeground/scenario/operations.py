"""Early operations: the survey and clearance teams did in the record window itself.

In the reference case operators were at work within weeks of the ceasefire — emergency
clearance round priority settlements and roads, survey, EOD spot tasks. ``run(scenario)`` plays
those months on the operations twin (``twin.py``) and writes what the teams reported into the
scenario's record: dated activities (ongoing, then completed), land cancelled / reduced /
cleared, the items found, evidence that confirms an area, QC visits.

* **Teams** are the default fleet (``fleet.DEFAULT_FLEET``), mobilising one after another from
  ``config.operations_start`` over ``config.operations_ramp_days``: machine and manual teams
  first (route and settlement clearance by the army's engineers and ANAMA), then dogs, TS and
  last the NTS teams (until then busy with the baseline survey the scenario already reports).
  Within an asset, MoD and ANAMA teams come before the commercial and NGO ones. Each works at
  ``config.operations_productivity`` of its planning productivity.
* **Tasking** is today's practice, in a simple form of its own (the scenario does not depend on
  ``safeground.planning``): every week, each mobilised team without work is given, in the order
  of a weighted priority score after ANAMA's published criteria, the next tasks it can do — about
  a week of work. NTS teams survey SHAs not yet surveyed; TS teams survey areas NTS has kept, or
  CHAs; manual, dog and machine teams clear CHAs.
* **What may be tasked**: an area already in the record on the day, and only after the last
  baseline event on it (finds, accidents, evidence): the baseline processes were simulated before
  any operation, so operations are fitted round them. The twin's exposure is off (the scenario's
  observation already ran it for this window).

The twin's random stream is its own (seed ``OPS_SEED`` with the scenario seed): deterministic
per scenario seed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import shapely

from safeground.record.vocabulary import Asset, ReportType
from safeground.scenario.fleet import DEFAULT_FLEET
from safeground.scenario.plan import TwinTeam, WorkOrder

if TYPE_CHECKING:
    from safeground.scenario.scenario import Scenario

#: Seed of the early operations' random stream (combined with the scenario's seed).
OPS_SEED = 2020
#: Tasking period: teams without work get new tasks once a week, about this many days' worth.
PERIOD_DAYS = 7
#: Order in which assets mobilise (DEFAULT: clearance first, survey last), then organisations.
ASSET_ORDER = (Asset.MACHINE, Asset.MANUAL, Asset.DOG, Asset.TS, Asset.NTS)
ORG_ORDER = ("ORG-MOD", "ORG-ANAMA", "ORG-DELTA", "ORG-SAFEPATH")
#: ANAMA's published priorities as rank-sum weights (the same defaults as planning's
#: priorities.toml): casualties, socio-economic, resettlement, reconstruction, food security,
#: other.
WEIGHTS = {"casualties": 6.0, "socio_economic": 5.0, "resettlement": 4.0,
           "reconstruction": 3.0, "food_security": 2.0, "other": 1.0}
CASUALTIES_FULL = 3.0        # casualties at which criterion 1 reaches 1.0
DISPLACED_FULL = 2000.0      # displaced people waiting at which criterion 3 reaches 1.0
SETTLEMENT_USES = {"built_up", "farmland", "water", "road"}
CLEARERS = {"manual", "dog", "machine"}


@dataclass
class EarlyOperations:
    """What the early operations left: read by ``OperationsTwin`` to start where they ended.

    ``remaining`` and ``classification`` hold the areas operations touched (remaining land in
    EPSG:32638); ``state`` is every true item's state at ``record_end`` (0 in the ground,
    1 found, 2 accident); ``mobilised`` the day each team started work.
    """

    start: dt.date
    end: dt.date
    mobilised: dict[str, dt.date]
    remaining: dict[str, shapely.Geometry]
    classification: dict[str, str]
    state: np.ndarray
    released_m2: dict[str, float]
    items_found: int
    records: int
    casualties: dict[str, int] = field(default_factory=dict)


def mobilisation(start: dt.date, ramp_days: int) -> dict[str, dt.date]:
    """The day each team of the default fleet starts work: evenly over ``ramp_days``."""
    fleet = sorted(DEFAULT_FLEET, key=lambda t: (ASSET_ORDER.index(t.asset),
                                                 ORG_ORDER.index(t.organisation_id), t.id))
    n = len(fleet)
    return {t.id: start + dt.timedelta(days=round(k * ramp_days / max(1, n - 1)))
            for k, t in enumerate(fleet)}


def run(sc: Scenario) -> EarlyOperations | None:
    """Play the early operations on ``sc`` and append their reports to ``sc.book``.

    Returns ``None`` when the window holds no operations (start on or after ``record_end``).
    """
    from safeground.scenario.twin import OperationsTwin

    cfg = sc.config
    start, end = cfg.operations_start, cfg.record_end
    if start >= end:
        return None
    mob = mobilisation(start, cfg.operations_ramp_days)
    teams = [TwinTeam(t.id, t.asset.value, t.productivity_m2_per_day * cfg.operations_productivity,
                      t.organisation_id) for t in DEFAULT_FLEET]
    twin = OperationsTwin(sc, seed=OPS_SEED, start=start, teams=teams, exposure=False)
    tasker = _Tasker(sc, twin, mob)
    now = start
    while now < end:
        until = min(end, now + dt.timedelta(days=PERIOD_DAYS))
        orders = tasker.orders(now, until)
        tasker.done(twin.advance(orders, until))
        now = until
    n = _merge(sc, twin)
    observed = {a.id: a for a in twin.observable_areas()}
    touched = {a.id for a in sc.areas
               if observed[a.id].remaining_m2 < observed[a.id].original_m2 - 1e-6
               or observed[a.id].classification != a.classification.value}
    m = twin.metrics()
    return EarlyOperations(
        start=start, end=end, mobilised=mob,
        remaining={k: observed[k].polygon for k in sorted(touched)},
        classification={k: observed[k].classification for k in sorted(touched)},
        state=twin.state.copy(), released_m2=dict(m.released_m2), items_found=m.items_found,
        records=n, casualties={"killed": m.casualties.killed, "injured": m.casualties.injured})


def _merge(sc: Scenario, twin) -> int:
    """Append the twin's records (EPSG:32638) to the scenario's book with its own submission
    ids, and carry the id counters over so later twins number on from them."""
    book = sc.book
    for r in twin.book.records:
        rec = dict(r)
        rec["submission_id"] = f"{book._prefix}-{len(book.records) + 1:07d}"
        book.records.append(rec)
    for k, v in twin.book._counters.items():
        book._counters[k] = max(book._counters.get(k, 0), v)
    return len(twin.book.records)


@dataclass(frozen=True, slots=True)
class _View:
    """What the tasking reads of an area (all of it in ``ObservedArea`` too)."""

    id: str
    classification: str
    land_use: str
    remaining_m2: float
    terrain_factor: float


class _Tasker:
    """Today's practice: a weighted priority score, teams given the next task they can do."""

    def __init__(self, sc: Scenario, twin, mobilised: dict[str, dt.date]) -> None:
        self.twin = twin
        self.mobilised = mobilised
        self.asset = {t.id: t.asset for t in twin.teams}
        self.rate = {t.id: t.productivity_m2_per_day for t in twin.teams}
        self.order = sorted(mobilised, key=lambda t: (mobilised[t], t))
        self.stage: dict[str, int] = {}
        areas = sc.areas
        self.known_from = {a.id: a.date for a in areas}
        # the last day a baseline record speaks of each area: operations are fitted after it
        last: dict[str, dt.date] = {}
        act_area: dict[str, str] = {}
        victims: dict[str, int] = {}
        acc_area: dict[str, tuple[str, dt.date]] = {}
        for r in sc.book.records:
            d = dt.date.fromisoformat(r["date_of_information"])
            aid = r.get("hazardous_area_id")
            if r["report_type"] == ReportType.HAZARDOUS_AREA:
                aid = r["object_id"]
            elif r["report_type"] == ReportType.ORDNANCE:
                aid = act_area.get(r.get("activity_id", ""))
            elif r["report_type"] == ReportType.VICTIM and r["accident_id"] in acc_area:
                victims[r["accident_id"]] = victims.get(r["accident_id"], 0) + 1
            if r["report_type"] == ReportType.ACTIVITY and aid:
                act_area[r["object_id"]] = aid
            if r["report_type"] == ReportType.ACCIDENT and aid:
                acc_area[r["object_id"]] = (aid, d)
            if aid:
                last[aid] = max(last.get(aid, d), d)
        self.ready = {a.id: max(a.date, last.get(a.id, a.date)) for a in areas}
        #: (date known, area id, victims) of each accident linked to an area
        self.accidents = sorted((d, aid, victims.get(acc, 0)) for acc, (aid, d)
                                in acc_area.items())
        roads = [g for g, _ in sc.region.roads]
        self.road: set[str] = set()
        if roads:
            tree = shapely.STRtree(roads)
            polys = [a.polygon for a in areas]
            hit, _ = tree.query(polys, predicate="intersects")
            self.road = {areas[int(i)].id for i in np.unique(hit)}
        self.settlements_of: dict[str, list[int]] = {}
        self.displaced: list[int] = []
        for j, s in enumerate(twin.settlements):
            self.displaced.append(s.displaced_population)
            for aid in s.access_area_ids:
                self.settlements_of.setdefault(aid, []).append(j)

    def _scores(self, now: dt.date, observed: list) -> dict[str, float]:
        casualties: dict[str, int] = {}
        for d, aid, n in self.accidents:
            if d > now:
                break
            casualties[aid] = casualties.get(aid, 0) + n
        waiting = [0 if s.returned else s.displaced_population for s in self.twin.settlements]
        total = sum(WEIGHTS.values())
        out = {}
        for a in observed:
            people = sum(waiting[j] for j in self.settlements_of.get(a.id, []))
            crit = {
                "casualties": min(1.0, casualties.get(a.id, 0) / CASUALTIES_FULL),
                "socio_economic": 1.0 if (a.id in self.road or a.land_use in
                                          {"road", "water", "infrastructure"}) else 0.0,
                "resettlement": min(1.0, people / DISPLACED_FULL)
                if a.land_use in SETTLEMENT_USES else 0.0,
                "reconstruction": 0.0,   # nothing funded and ready in the first months
                "food_security": 1.0 if a.land_use in {"farmland", "pasture"} else 0.0,
                "other": 1.0,
            }
            out[a.id] = 100.0 * sum(WEIGHTS[c] * v for c, v in crit.items()) / total
        return out

    def _task(self, asset: str, a) -> str | None:
        stage = self.stage.get(a.id, 0)
        if asset == "nts":
            return "nts" if a.classification == "SHA" and stage == 0 else None
        if asset == "ts":
            return "ts" if stage == 1 or (stage == 0 and a.classification == "CHA") else None
        return "clearance" if a.classification == "CHA" else None

    def orders(self, now: dt.date, until: dt.date) -> list[WorkOrder]:
        work = self.twin.team_work()
        held = {o.area_id for job, _, queue in work.values()
                for o in ((job,) if job else ()) + queue}
        free = [t for t in self.order if self.mobilised[t] < until
                and work[t][0] is None and not work[t][2]]
        if not free:
            return []
        # the twin's own area list (observable fields only): observable_areas() would draw a
        # representative point of every area every week
        observed = [_View(a.id, a.cls.value, a.land_use, a.remaining_m2, a.factor)
                    for a in self.twin.areas
                    if a.status.value != "closed" and a.remaining_m2 >= 1.0
                    and self.ready.get(a.id, dt.date.max) <= now]
        scores = self._scores(now, observed)
        ranked = sorted(observed, key=lambda a: (-scores[a.id], a.id))
        orders = []
        for tid in free:
            day = max(now, self.mobilised[tid])
            budget = float((until - day).days)
            asset = self.asset[tid]
            for a in ranked:
                if budget <= 0:
                    break
                if a.id in held:
                    continue
                kind = self._task(asset, a)
                if kind is None:
                    continue
                rate = self.rate[tid] * (1.0 if kind == "nts" else a.terrain_factor)
                orders.append(WorkOrder(tid, a.id, kind, day))
                held.add(a.id)
                budget -= a.remaining_m2 / rate
        return orders

    def done(self, records: list[dict]) -> None:
        for r in records:
            if r["report_type"] == "activity" and r.get("status") == "completed":
                kind = r.get("activity_type")
                aid = r.get("hazardous_area_id")
                if aid and kind in ("nts", "ts"):
                    self.stage[aid] = max(self.stage.get(aid, 0), 1 if kind == "nts" else 2)
