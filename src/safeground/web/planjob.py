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
"""

from __future__ import annotations

import datetime as dt
import shutil
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from safeground import audit
from safeground.errors import ConflictError, NotFoundError, SafegroundError
from safeground.ledger import Ledger

#: Monte Carlo runs of each new plan for its completion forecast (``plan/forecast.csv``)
FORECAST_RUNS = 100

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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class PlanJobs:
    """The app's re-planning: ``start`` one job (refused while one runs), ``current`` to see
    how it goes, ``wait`` for it (the tests)."""

    def __init__(self, work_dir: Path | None) -> None:
        self.work_dir = work_dir
        self._lock = threading.Lock()
        self._job = PlanJob()
        self._thread: threading.Thread | None = None

    def current(self) -> PlanJob:
        with self._lock:
            return PlanJob(**asdict(self._job))

    def start(self, ledger: Ledger, user: str, *, start: dt.date, horizon_weeks: int,
              seconds: float, freeze_weeks: int) -> PlanJob:
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
            self._job = PlanJob("running", user, start.isoformat(), horizon_weeks,
                                _now())
            job = PlanJob(**asdict(self._job))
        self._thread = threading.Thread(
            target=self._run, args=(ledger, user, start, horizon_weeks, seconds, freeze_weeks),
            name="safeground-replan", daemon=True)
        self._thread.start()
        return job

    def wait(self, timeout: float | None = None) -> PlanJob:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.current()

    def _run(self, ledger: Ledger, user: str, start: dt.date, horizon_weeks: int,
             seconds: float, freeze_weeks: int) -> None:
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
            write_all(r.plan, fresh)
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


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
