"""Property tests (hypothesis): area conservation, and as-of consistency whatever the order in
which reports are approved."""

import contextlib
import datetime as dt

import pytest
from helpers import activity, area_box, base, point, rec, release
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safeground.errors import TransitionError
from safeground.record import land_release as lr
from safeground.record.geometry import Projector
from safeground.record.vocabulary import ActivityType, EvidenceCategory, HazardClass, ReleaseKind
from safeground.settings import Settings

PROJ = Projector(32638)
SETTINGS = Settings()
KIND_ACTIVITY = {ReleaseKind.CANCELLED: ActivityType.NTS, ReleaseKind.REDUCED: ActivityType.TS,
                 ReleaseKind.CLEARED: ActivityType.CLEARANCE}

rects = st.tuples(st.floats(-0.2, 1.0), st.floats(0.05, 0.8), st.floats(-0.2, 1.0),
                  st.floats(0.05, 0.8))
steps = st.lists(st.tuples(st.sampled_from(list(ReleaseKind)), rects,
                           st.booleans()), min_size=1, max_size=12)


@settings(max_examples=150, deadline=None)
@given(steps)
def test_area_is_conserved_whatever_is_released(ops):
    """original + reopened = cancelled + reduced + cleared + remaining, after every step."""
    state = lr.open_area("HA-P", HazardClass.CHA, PROJ.to_metric(area_box()))
    for i, (kind, (x, w, y, h), reopen) in enumerate(ops):
        if reopen and state.status.value == "closed":
            state = lr.add_evidence(state, f"E{i}", EvidenceCategory.ACCIDENT,
                                    PROJ.to_metric(point(x, y)), SETTINGS)
        with contextlib.suppress(TransitionError):  # a refusal must leave the books balanced
            state = lr.release(state, kind=kind, activity_type=KIND_ACTIVITY[kind],
                               geometry=PROJ.to_metric(area_box(x, x + w, y, y + h)),
                               date=dt.date(2021, 1, 1), report_id=i, depth_cm=20,
                               qa_passed=True, settings=SETTINGS)
        assert abs(state.conservation_gap()) < 1e-6 * state.original_m2 + 1e-3
        assert state.remaining_m2 >= 0
        assert min(state.cancelled_m2, state.reduced_m2, state.cleared_m2) >= 0


def _story(d):
    """Reports about one area on nine distinct dates ``d`` (sorted)."""
    day = [x.isoformat() for x in d]
    return [
        *base(),
        activity("A-NTS", "nts", day[1]),
        release("L-C", "A-NTS", "cancelled", day[2], area_box(0, 0.2)),
        rec("evidence", "E-1", day[3], point(0.9, 0.9), hazardous_area_id="HA-1",
            category="eo_observed", source="observed", reliability="high"),
        activity("A-TS", "ts", day[4]),
        release("L-R", "A-TS", "reduced", day[5], area_box(0.2, 0.5)),
        activity("A-CL", "clearance", day[6]),
        release("L-CL", "A-CL", "cleared", day[7], area_box(0.5, 0.8)),
        rec("hazardous_area", "HA-1", day[8], beneficiaries=1234),
    ]


def _snapshot(ledger, as_of=None):
    a = ledger.get("hazardous_area", "HA-1", as_of=as_of)
    keep = ("classification", "status", "beneficiaries", "cancelled_m2", "reduced_m2",
            "cleared_m2", "remaining_m2")
    return {k: (round(a[k], 3) if isinstance(a[k], float) else a[k]) for k in keep}


dates = st.lists(st.integers(10, 400), min_size=8, max_size=8, unique=True).map(
    lambda xs: [dt.date(2021, 1, 1) + dt.timedelta(days=x) for x in [5, *sorted(xs)]])


@pytest.mark.slow
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(dates, st.randoms(use_true_random=False))
def test_as_of_is_the_same_whatever_the_approval_order(tmp_path_factory, days, rnd):
    from safeground.record.ledger import Ledger
    from safeground.record.storage import Database

    def ledger_at(name):
        url = f"sqlite:///{tmp_path_factory.mktemp(name)}/r.sqlite"
        return Ledger(Database.open(url), Settings(database_url=url))

    records = [r for r in _story(days) if r["report_type"] != "organisation"]
    ordered, shuffled = ledger_at("ordered"), ledger_at("shuffled")
    for ledger in (ordered, shuffled):
        org = ledger.submit(base()[:1], user="alice")
        ledger.approve(org.accepted, user="bob")
    ids = ordered.submit(records, user="alice").accepted
    assert not ordered.approve(ids, user="bob").refused
    queue = shuffled.submit(records, user="alice").accepted
    rnd.shuffle(queue)
    for _ in range(len(queue) + 1):  # approve one by one; a link not yet there waits a turn
        left = []
        for rid in queue:
            if shuffled.approve([rid], user="bob").refused:
                left.append(rid)
        queue = left
        if not queue:
            break
    assert queue == []
    assert _snapshot(shuffled) == _snapshot(ordered)
    for d in days[1:]:
        assert _snapshot(shuffled, d) == _snapshot(ordered, d)
