"""Re-planning from the web app: an analyst asks, the plan is made again from the record.

One job at a time per app, in a background thread (a national plan takes tens of seconds, more
than a request should wait). It does what ``safeground plan make --db ... --previous ...``
does (``planning.replan.replan_from_record``): plans from the record as known on the day asked
for, with the risk ranking and context layers of the work directory when there are (the
access rule reads roads from them: ``planning.record.context_in``), holding the work in
progress of the plan already there. The new plan's files are written to a folder beside the
old one and swapped in only once complete, so the web app never serves half a plan; a failed
job leaves the old plan as it was. Each new plan comes with its completion forecast
(``forecast.csv``, 100 Monte Carlo runs). Each plan made is written to the audit trail.

The plan follows the record (``follow``): when reports are approved and the work directory
holds a plan, the app makes it again the same way — the same horizon, from the later of the
plan's first day and the newest date of information approved, holding work in progress —
unless the app was started with ``--no-follow-approvals``. Approvals while a plan is being made
are gathered into one more re-planning once it ends, so the plan always ends up made from
everything approved.
"""

from __future__ import annotations

import datetime as dt
import shutil
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from safeground.errors import ConflictError, NotFoundError, SafegroundError
from safeground.record import audit
from safeground.record.ledger import Ledger

#: Monte Carlo runs of each new plan for its completion forecast (``plan/forecast.csv``)
FORECAST_RUNS = 100
#: local search seconds and weeks of work held when the plan follows approvals
FOLLOW_SECONDS = 10.0
FOLLOW_FREEZE_WEEKS = 2

@dataclass
class PlanJob:
    """What the last re-planning asked for and how it went: ``state`` is idle (none yet),
    running, done or failed; ``summary`` the new plan's expected outcomes (done); ``error``
    the error envelope's body (failed)."""

    state: str = "idle"
    by: str | None = None
    start: str | None = None
    horizon_weeks: int | None = None
    started: str | None = None
    finished: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    #: "asked" (an analyst asked) or "approval" (reports approved by ``by``)
    trigger: str = "asked"
    #: approvals gathered while this job ran: they get one more re-planning after it
    queued: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class PlanJobs:
    """The app's re-planning: ``start`` one job (refused while one runs), ``current`` to see
    how it goes, ``wait`` for it (the tests)."""

    def __init__(self, work_dir: Path | None, follow_approvals: bool = True) -> None:
        self.work_dir = work_dir
        self.follow_approvals = follow_approvals
        self._lock = threading.Lock()
        self._job = PlanJob()
        self._thread: threading.Thread | None = None
        self._next: tuple[Ledger, str, dt.date] | None = None     # approvals gathered

    def current(self) -> PlanJob:
        with self._lock:
            return PlanJob(**asdict(self._job))

    def start(self, ledger: Ledger, user: str, *, start: dt.date, horizon_weeks: int,
              seconds: float, freeze_weeks: int, trigger: str = "asked") -> PlanJob:
        """Start re-planning; OUTPUT_NOT_AVAILABLE (404) without a work directory,
        PLAN_JOB_RUNNING (409) while a job runs."""
        if self.work_dir is None:
            raise NotFoundError("the web app was started without a work directory "
                                "(safeground serve --work-dir DIR), so it has nowhere to "
                                "write a plan", code="OUTPUT_NOT_AVAILABLE")
        with self._lock:
            if self._job.state == "running":
                raise ConflictError(f"a plan is being made (asked by {self._job.by} at "
                                    f"{self._job.started}); wait for it",
                                    code="PLAN_JOB_RUNNING", details=self._job.to_dict())
            return self._launch(ledger, user, start, horizon_weeks, seconds, freeze_weeks,
                                trigger)

    def follow(self, ledger: Ledger, user: str, report_ids: list[int]) -> PlanJob | None:
        """``user`` approved ``report_ids``: make the plan in the work directory again (see the
        module), or gather the approval for after the job running. None when there is no plan
        to follow (no work directory, no plan there, or the app does not follow approvals)."""
        if not self.follow_approvals or self.work_dir is None or not report_ids:
            return None
        newest = ledger.newest_date(report_ids)
        if newest is None:
            return None
        with self._lock:
            if self._job.state == "running":
                self._next = (ledger, user, newest if self._next is None
                              else max(newest, self._next[2]))
                self._job.queued = True
                return PlanJob(**asdict(self._job))
            return self._launch_follow(ledger, user, newest)

    def _launch_follow(self, ledger: Ledger, user: str, newest: dt.date) -> PlanJob | None:
        """With the lock held: start the re-planning that follows approvals."""
        meta = _meta(self.work_dir)
        if meta is None:
            return None
        start = max(dt.date.fromisoformat(meta["start"]), newest)
        return self._launch(ledger, user, start, int(meta["horizon_weeks"]), FOLLOW_SECONDS,
                            FOLLOW_FREEZE_WEEKS, "approval")

    def _launch(self, ledger: Ledger, user: str, start: dt.date, horizon_weeks: int,
                seconds: float, freeze_weeks: int, trigger: str) -> PlanJob:
        """With the lock held: mark a job running and start its thread."""
        self._job = PlanJob("running", user, start.isoformat(), horizon_weeks, _now(),
                            trigger=trigger)
        job = PlanJob(**asdict(self._job))
        self._thread = threading.Thread(
            target=self._run, args=(ledger, user, start, horizon_weeks, seconds, freeze_weeks),
            name="safeground-replan", daemon=True)
        self._thread.start()
        return job

    def wait(self, timeout: float | None = None) -> PlanJob:
        """Wait for the job running, and for those gathered approvals start after it."""
        while True:
            thread = self._thread
            if thread is None:
                break
            thread.join(timeout)
            if thread.is_alive() or thread is self._thread:
                break
        return self.current()

    def _run(self, ledger: Ledger, user: str, start: dt.date, horizon_weeks: int,
             seconds: float, freeze_weeks: int) -> None:
        from safeground.planning.explain import record_provenance
        from safeground.planning.outputs import write_all, write_forecast
        from safeground.planning.record import context_in, risk_from_ranking
        from safeground.planning.replan import replan_from_record
        from safeground.planning.uncertainty import forecast

        work = Path(self.work_dir)
        folder, fresh, stale = work / "plan", work / "plan.new", work / "plan.old"
        try:
            previous = folder / "plan.csv"
            ranking = work / "area-risk.csv"
            r = replan_from_record(
                ledger, start=start, horizon_weeks=horizon_weeks,
                previous=previous if previous.is_file() else None,
                risk=risk_from_ranking(ranking) if ranking.is_file() else None,
                context=context_in(work), freeze_weeks=freeze_weeks, seconds=seconds)
            shutil.rmtree(fresh, ignore_errors=True)
            write_all(r.plan, fresh, provenance=record_provenance(
                ledger, ranking if ranking.is_file() else None))
            write_forecast(forecast(r.plan, runs=FORECAST_RUNS), fresh / "forecast.csv")
            shutil.rmtree(stale, ignore_errors=True)
            if folder.exists():
                folder.rename(stale)
            fresh.rename(folder)
            shutil.rmtree(stale, ignore_errors=True)
            summary = {**r.plan.summary(), "tasks_held_from_previous_plan": len(r.kept),
                       "teams_whose_next_task_changed": r.changed_teams}
            audit.record(ledger.db, user, "plan_made", "/api/v1/plan/jobs",
                         {"start": start.isoformat(), "horizon_weeks": horizon_weeks,
                          "trigger": self.current().trigger,
                          **{k: summary[k] for k in ("people_returned_in_horizon",
                                                     "areas_released_in_horizon",
                                                     "tasks_held_from_previous_plan")}})
            self._finish("done", summary=summary)
        except SafegroundError as err:
            shutil.rmtree(fresh, ignore_errors=True)
            self._finish("failed", error=err.to_dict()["error"])
        except Exception as err:      # reported to the user as PLAN_JOB_FAILED, never lost
            shutil.rmtree(fresh, ignore_errors=True)
            self._finish("failed", error={"code": "PLAN_JOB_FAILED",
                                          "message": f"{type(err).__name__}: {err}"})

    def _finish(self, state: str, **what: Any) -> None:
        with self._lock:
            self._job.state = state
            self._job.finished = _now()
            for k, v in what.items():
                setattr(self._job, k, v)
            if self._next is not None:          # approvals came in meanwhile: once more
                ledger, user, newest = self._next
                self._next = None
                self._launch_follow(ledger, user, newest)


def _meta(work_dir: Path) -> dict[str, Any] | None:
    from safeground.planning.outputs import read_meta

    return read_meta(Path(work_dir) / "plan")


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
