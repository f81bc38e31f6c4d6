"""The land release engine: how a hazardous area's land is cancelled, reduced and cleared.

Rules (IMAS 07.11 and docs/domain.md §2, practice to be checked against national standards):

* NTS cancels (SHA or CHA, but never over direct evidence); TS reduces; clearance or battle area
  clearance clears — and only a confirmed area (CHA), to a stated depth, after quality checks.
* Released land is subtracted from the remaining area. A polygon overlapping land already
  released (beyond a GPS tolerance) is refused: a cancelled part cannot later be cleared.
* Direct evidence (accident, item seen or found, detonation, marking, reliable records) turns
  an SHA into a CHA. Work on an area makes it "worked on"; when its remaining area is (nearly)
  zero it is closed, and only new direct evidence reopens it: the land around the evidence
  becomes hazardous again and counts as reopened.
* Conservation: original + reopened = cancelled + reduced + cleared + remaining, every area in
  the programme's metric CRS.

The engine is pure: every function takes an ``AreaState`` and returns a new one, or raises
``TransitionError`` with a coded problem; it never touches the database.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, replace

import shapely
from shapely.geometry.base import BaseGeometry

from safeground.errors import TransitionError
from safeground.record.problems import Problem
from safeground.record.vocabulary import (
    DIRECT_CATEGORIES,
    RELEASE_BY_ACTIVITY,
    ActivityStatus,
    ActivityType,
    EvidenceCategory,
    HazardClass,
    HazardStatus,
    ReleaseKind,
)
from safeground.settings import Settings

_EMPTY = shapely.Polygon()
_WORK = frozenset({ActivityType.TS, ActivityType.CLEARANCE, ActivityType.BAC})


@dataclass(frozen=True, slots=True)
class ReleasePart:
    """Land released from one area by one report (metric geometry)."""

    kind: ReleaseKind
    date: dt.date
    report_id: int
    geometry: BaseGeometry
    area_m2: float


@dataclass(frozen=True, slots=True)
class AreaState:
    """Everything the engine knows of one hazardous area; geometries in the metric CRS."""

    area_id: str
    classification: HazardClass
    status: HazardStatus
    perimeter: BaseGeometry
    remaining: BaseGeometry
    released: BaseGeometry
    original_m2: float
    cancelled_m2: float = 0.0
    reduced_m2: float = 0.0
    cleared_m2: float = 0.0
    reopened_m2: float = 0.0
    parts: tuple[ReleasePart, ...] = ()
    direct_evidence: tuple[tuple[str, BaseGeometry], ...] = ()
    active_work: frozenset[str] = frozenset()
    #: date of information of the newest report folded into this state
    last_event: dt.date = dt.date.min

    @property
    def remaining_m2(self) -> float:
        return float(self.remaining.area)

    @property
    def released_m2(self) -> float:
        return self.cancelled_m2 + self.reduced_m2 + self.cleared_m2

    def conservation_gap(self) -> float:
        """original + reopened - (released + remaining), in m²; ~0 when the books balance."""
        return self.original_m2 + self.reopened_m2 - self.released_m2 - self.remaining_m2

    # -- persistence of the engine state (JSON; geometries as hex WKB) ---------------------
    def dumps(self) -> bytes:
        return json.dumps({
            "area_id": self.area_id, "classification": self.classification.value,
            "status": self.status.value, "perimeter": self.perimeter.wkb_hex,
            "remaining": self.remaining.wkb_hex, "released": self.released.wkb_hex,
            "original_m2": self.original_m2, "cancelled_m2": self.cancelled_m2,
            "reduced_m2": self.reduced_m2, "cleared_m2": self.cleared_m2,
            "reopened_m2": self.reopened_m2,
            "parts": [[p.kind.value, p.date.isoformat(), p.report_id, p.geometry.wkb_hex,
                       p.area_m2] for p in self.parts],
            "direct_evidence": [[i, g.wkb_hex] for i, g in self.direct_evidence],
            "active_work": sorted(self.active_work), "last_event": self.last_event.isoformat(),
        }).encode()

    @classmethod
    def loads(cls, data: bytes) -> AreaState:
        d = json.loads(data)
        geo = shapely.from_wkb
        return cls(
            area_id=d["area_id"], classification=HazardClass(d["classification"]),
            status=HazardStatus(d["status"]), perimeter=geo(d["perimeter"]),
            remaining=geo(d["remaining"]), released=geo(d["released"]),
            original_m2=d["original_m2"], cancelled_m2=d["cancelled_m2"],
            reduced_m2=d["reduced_m2"], cleared_m2=d["cleared_m2"],
            reopened_m2=d["reopened_m2"],
            parts=tuple(ReleasePart(ReleaseKind(k), dt.date.fromisoformat(t), r, geo(g), a)
                        for k, t, r, g, a in d["parts"]),
            direct_evidence=tuple((i, geo(g)) for i, g in d["direct_evidence"]),
            active_work=frozenset(d["active_work"]),
            last_event=dt.date.fromisoformat(d["last_event"]),
        )


def _refuse(code: str, area_id: str, **params: object) -> TransitionError:
    problem = Problem(code, f"hazardous area {area_id}", None, dict(params))
    return TransitionError(problem.message, code=code, details=[problem.to_dict()])


def _clean(geom: BaseGeometry) -> BaseGeometry:
    """Polygonal and valid: what set operations return can hold lines and points."""
    if geom.geom_type in ("Polygon", "MultiPolygon") and geom.is_valid:
        return geom
    geom = shapely.make_valid(geom) if not geom.is_valid else geom
    polys = shapely.get_parts(geom)
    polys = [p for p in polys if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(polys) if polys else _EMPTY


def open_area(area_id: str, classification: HazardClass, perimeter: BaseGeometry) -> AreaState:
    """A new hazardous area, open, all of it remaining."""
    perimeter = _clean(perimeter)
    return AreaState(area_id=area_id, classification=classification, status=HazardStatus.OPEN,
                     perimeter=perimeter, remaining=perimeter, released=_EMPTY,
                     original_m2=float(perimeter.area))


def revise(state: AreaState, *, classification: HazardClass | None = None,
           perimeter: BaseGeometry | None = None) -> AreaState:
    """An update of the area's own attributes. The perimeter may change only before any land
    was released from it; a CHA goes back to SHA only if it holds no direct evidence."""
    if perimeter is not None and not perimeter.equals(state.perimeter):
        if state.parts or state.reopened_m2:
            raise _refuse("LR_GEOMETRY_AFTER_RELEASE", state.area_id, value=state.area_id)
        state = open_area(state.area_id, state.classification, perimeter)
    if classification is not None and classification != state.classification:
        if classification is HazardClass.SHA and state.direct_evidence:
            classification = HazardClass.CHA  # evidence outranks an older classification
        state = replace(state, classification=classification)
    return state


def add_evidence(state: AreaState, evidence_id: str, category: EvidenceCategory,
                 geometry: BaseGeometry, settings: Settings) -> AreaState:
    """Evidence linked to the area. Direct evidence makes it a CHA and reopens a closed area."""
    if category not in DIRECT_CATEGORIES:
        return state
    state = replace(state, classification=HazardClass.CHA,
                    direct_evidence=(*state.direct_evidence, (evidence_id, geometry)))
    if state.status is not HazardStatus.CLOSED:
        return state
    zone = geometry if geometry.area > 0 else geometry.buffer(settings.reopen_radius_m)
    added = zone.difference(state.remaining)
    return replace(state, status=HazardStatus.OPEN,
                   remaining=_clean(state.remaining.union(zone)),
                   released=_clean(state.released.difference(zone)),
                   reopened_m2=state.reopened_m2 + float(added.area))


def item_found(state: AreaState) -> AreaState:
    """An explosive item found by work in the area: the area is confirmed (CHA). The item was
    removed by the team, so a closed area is not reopened by it."""
    return replace(state, classification=HazardClass.CHA)


def activity(state: AreaState, activity_id: str, activity_type: ActivityType,
             status: ActivityStatus) -> AreaState:
    """An activity on the area changed status: TS or clearance under way -> worked on."""
    if state.status is HazardStatus.CLOSED and activity_type in _WORK \
            and status is ActivityStatus.ONGOING:
        raise _refuse("LR_AREA_CLOSED", state.area_id, value=state.area_id)
    if activity_type not in _WORK:
        return state
    work = set(state.active_work)
    if status is ActivityStatus.ONGOING:
        work.add(activity_id)
    else:
        work.discard(activity_id)
    new_status = state.status
    if state.status is not HazardStatus.CLOSED:
        new_status = HazardStatus.WORKED_ON if work else HazardStatus.OPEN
    return replace(state, active_work=frozenset(work), status=new_status)


def release(state: AreaState, *, kind: ReleaseKind, activity_type: ActivityType,
            geometry: BaseGeometry, date: dt.date, report_id: int,
            depth_cm: int | None, qa_passed: bool | None, settings: Settings) -> AreaState:
    """Release land from the area (a release product). Raises TransitionError when refused."""
    aid = state.area_id
    if state.status is HazardStatus.CLOSED:
        raise _refuse("LR_AREA_CLOSED", aid, value=aid)
    allowed = RELEASE_BY_ACTIVITY[kind]
    if activity_type not in allowed:
        raise _refuse("LR_METHOD_MISMATCH", aid, kind=kind.value,
                      activity_type=activity_type.value,
                      expected=", ".join(sorted(a.value for a in allowed)))
    if kind is ReleaseKind.CLEARED:
        if state.classification is HazardClass.SHA:
            raise _refuse("LR_CLEARANCE_ON_SHA", aid, value=aid)
        if depth_cm is None:
            raise _refuse("LR_DEPTH_REQUIRED", aid)
        if qa_passed is False:
            raise _refuse("LR_QA_REQUIRED", aid)
    if kind is ReleaseKind.CANCELLED:
        for ev_id, ev_geom in state.direct_evidence:
            hit = (geometry.intersection(ev_geom).area > 0 if ev_geom.area > 0
                   else geometry.intersects(ev_geom))
            if hit:
                raise _refuse("LR_CANCEL_OVER_DIRECT_EVIDENCE", aid, value=ev_id)
    geometry = _clean(geometry)
    tolerance = max(settings.release_overlap_tolerance_m2,
                    settings.release_overlap_tolerance_share * geometry.area)
    if not state.released.is_empty and geometry.intersects(state.released):
        overlap = geometry.intersection(state.released).area
        if overlap > tolerance:
            prev = next((p for p in state.parts if p.geometry.intersects(geometry)
                         and p.geometry.intersection(geometry).area > 0), None)
            raise _refuse("LR_ALREADY_RELEASED", aid, overlap_m2=overlap, kind=kind.value,
                          previous=prev.kind.value if prev else "released",
                          date=prev.date.isoformat() if prev else "?")
    part = _clean(geometry.intersection(state.remaining))
    if part.is_empty or part.area <= tolerance:
        raise _refuse("LR_OUTSIDE_AREA", aid, kind=kind.value)
    remaining = _clean(state.remaining.difference(part))
    area = float(part.area)
    new = replace(
        state,
        remaining=remaining,
        released=_clean(state.released.union(part)),
        parts=(*state.parts, ReleasePart(kind, date, report_id, part, area)),
        cancelled_m2=state.cancelled_m2 + (area if kind is ReleaseKind.CANCELLED else 0.0),
        reduced_m2=state.reduced_m2 + (area if kind is ReleaseKind.REDUCED else 0.0),
        cleared_m2=state.cleared_m2 + (area if kind is ReleaseKind.CLEARED else 0.0),
    )
    if remaining.area < max(settings.close_below_m2,
                            settings.close_below_share * (state.original_m2 + state.reopened_m2)):
        # the sliver left is accounted as released with the last product, so the books balance
        bucket = f"{kind.value}_m2"
        new = replace(new, remaining=_EMPTY, status=HazardStatus.CLOSED, active_work=frozenset(),
                      **{bucket: getattr(new, bucket) + float(remaining.area)})
    return new
