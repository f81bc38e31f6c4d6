"""Re-planning from the web app: an analyst asks, the plan is made again from the record.

One job at a time for the whole service (every worker and every server on the database: the
job's state is a row of the database), in a background thread (a national plan takes tens of
seconds, more than a request should wait). It does what ``safeground plan make --db ...
--previous ...`` does (``planning.replan.replan_from_record``): plans from the record as known
on the day asked for, with the risk ranking and context layers of the work directory when there
are (the access rule reads roads from them: ``planning.record.context_in``), holding the work
in progress of the plan already there. The new plan's files are written to a folder beside the
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
import secrets
import shutil
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from safeground.errors import ConflictError, NotFoundError, SafegroundError
from safeground.record import audit
from safeground.record.ledger import Ledger
from safeground.record.storage.schema import plan_jobs as pj
from safeground.web.jobs import PROCESS, STALE, Heartbeat

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
    """The service's re-planning: ``start`` one job (refused while one runs), ``current`` to
    see how it goes, ``wait`` for it (the tests).

    Its state is a row of the database's ``plan_jobs`` table, so that whichever worker or
    server is asked, one plan is made at a time and every one of them tells how it goes. The
    job runs in the process that started it; approvals gathered meanwhile (on any server) are
    written to the row, and that process starts the one more re-planning. A job whose process
    stopped (no sign of life for ``jobs.STALE`` seconds, or the server shut down) is failed,
    and a new one may start."""

    NAME = "plan"

    def __init__(self, work_dir: Path | None, follow_approvals: bool = True, *,
                 db: Any) -> None:
        self.work_dir = work_dir
        self.follow_approvals = follow_approvals
        self.db = db
        self.owner = f"{PROCESS}/{secrets.token_hex(3)}"      # this app in this process
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ the row
    def _load(self, conn: Any, lock: bool = False) -> tuple[PlanJob, Any]:
        from sqlalchemy import select

        q = select(pj).where(pj.c.name == self.NAME)
        if lock and self.db.dialect == "postgresql":
            q = q.with_for_update()
        row = conn.execute(q).first()
        if row is None:
            return PlanJob(), None
        job = PlanJob(**row.job)
        if job.state == "running" and (row.beat or 0) < time.time() - STALE:
            job.state, job.finished = "failed", job.finished or _now()
            job.error = dict(LOST_PLAN)
            job.queued = False
        return job, row

    def _save(self, conn: Any, job: PlanJob, row: Any, **extra: Any) -> None:
        from sqlalchemy import insert, update

        values = {"job": _plain(job.to_dict()), **extra}
        if row is None:
            conn.execute(insert(pj).values(name=self.NAME, **values))
        else:
            conn.execute(update(pj).where(pj.c.name == self.NAME).values(**values))

    def current(self) -> PlanJob:
        with self.db.read() as conn:
            return self._load(conn)[0]

    # ------------------------------------------------------------------ asking
    def start(self, ledger: Ledger, user: str, *, start: dt.date, horizon_weeks: int,
              seconds: float, freeze_weeks: int, trigger: str = "asked") -> PlanJob:
        """Start re-planning; OUTPUT_NOT_AVAILABLE (404) without a work directory,
        PLAN_JOB_RUNNING (409) while a job runs (on any server)."""
        if self.work_dir is None:
            raise NotFoundError("the web app was started without a work directory "
                                "(safeground serve --work-dir DIR), so it has nowhere to "
                                "write a plan", code="OUTPUT_NOT_AVAILABLE")
        with self.db.write() as conn:
            self.db.serialise(conn, "plan-job")
            job, row = self._load(conn, lock=True)
            if job.state == "running":
                raise ConflictError(f"a plan is being made (asked by {job.by} at "
                                    f"{job.started}); wait for it",
                                    code="PLAN_JOB_RUNNING", details=job.to_dict())
            job = self._claim(conn, row, user, start, horizon_weeks, trigger)
        self._launch(ledger, user, start, horizon_weeks, seconds, freeze_weeks)
        return job

    def follow(self, ledger: Ledger, user: str, report_ids: list[int]) -> PlanJob | None:
        """``user`` approved ``report_ids``: make the plan in the work directory again (see the
        module), or gather the approval for after the job running. None when there is no plan
        to follow (no work directory, no plan there, or the app does not follow approvals)."""
        if not self.follow_approvals or self.work_dir is None or not report_ids:
            return None
        newest = ledger.newest_date(report_ids)
        if newest is None:
            return None
        with self.db.write() as conn:
            self.db.serialise(conn, "plan-job")
            job, row = self._load(conn, lock=True)
            if job.state == "running":
                if row.next_newest is not None:
                    newest = max(newest, row.next_newest)
                job.queued = True
                self._save(conn, job, row, next_user=user, next_newest=newest)
                return job
            planned = self._follow_args(newest)
            if planned is None:
                return None
            start, weeks = planned
            job = self._claim(conn, row, user, start, weeks, "approval")
        self._launch(ledger, user, start, weeks, FOLLOW_SECONDS, FOLLOW_FREEZE_WEEKS)
        return job

    def _follow_args(self, newest: dt.date) -> tuple[dt.date, int] | None:
        """(first day, horizon) of the re-planning that follows approvals, or None without a
        plan in the work directory."""
        meta = _meta(self.work_dir)
        if meta is None:
            return None
        return max(dt.date.fromisoformat(meta["start"]), newest), int(meta["horizon_weeks"])

    def _claim(self, conn: Any, row: Any, user: str, start: dt.date, horizon_weeks: int,
               trigger: str) -> PlanJob:
        """In the locked transaction: the row says a job runs here, from now."""
        job = PlanJob("running", user, start.isoformat(), horizon_weeks, _now(),
                      trigger=trigger)
        self._save(conn, job, row, owner=self.owner, beat=time.time(), next_user=None,
                   next_newest=None)
        return job

    def _launch(self, ledger: Ledger, user: str, start: dt.date, horizon_weeks: int,
                seconds: float, freeze_weeks: int) -> None:
        """Once the row is claimed: start the job's thread."""
        self._thread = threading.Thread(
            target=self._run, args=(ledger, user, start, horizon_weeks, seconds, freeze_weeks),
            name="safeground-replan", daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> PlanJob:
        """Wait for the job running (here or on another server), and for those gathered
        approvals start after it."""
        deadline = time.monotonic() + (timeout if timeout is not None else 1e9)
        while True:
            thread = self._thread
            left = deadline - time.monotonic()
            if thread is not None and thread.is_alive() and left > 0:
                thread.join(min(left, 1.0))
            job = self.current()
            if job.state != "running" or deadline - time.monotonic() <= 0:
                return job
            if thread is None or not thread.is_alive():
                time.sleep(0.2)

    # ------------------------------------------------------------------ making it
    def _run(self, ledger: Ledger, user: str, start: dt.date, horizon_weeks: int,
             seconds: float, freeze_weeks: int) -> None:
        with Heartbeat(self.db, pj, (pj.c.name == self.NAME) & (pj.c.owner == self.owner)):
            self._make(ledger, user, start, horizon_weeks, seconds, freeze_weeks)

    def _make(self, ledger: Ledger, user: str, start: dt.date, horizon_weeks: int,
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
            self._finish(ledger, "done", summary=summary)
        except SafegroundError as err:
            shutil.rmtree(fresh, ignore_errors=True)
            self._finish(ledger, "failed", error=err.to_dict()["error"])
        except Exception as err:      # reported to the user as PLAN_JOB_FAILED, never lost
            shutil.rmtree(fresh, ignore_errors=True)
            self._finish(ledger, "failed", error={"code": "PLAN_JOB_FAILED",
                                                  "message": f"{type(err).__name__}: {err}"})

    def _finish(self, ledger: Ledger, state: str, **what: Any) -> None:
        """The job ends; approvals gathered meanwhile start one more, in the same
        transaction (nobody sees the plan idle between the two)."""
        after: tuple[str, dt.date, int] | None = None
        with self.db.write() as conn:
            self.db.serialise(conn, "plan-job")
            job, row = self._load(conn, lock=True)
            job.state, job.finished = state, _now()
            for k, v in what.items():
                setattr(job, k, v)
            nxt = (row.next_user, row.next_newest) if row is not None and \
                row.next_newest is not None else None
            self._save(conn, job, row, next_user=None, next_newest=None)
            if nxt is not None:              # approvals came in meanwhile: once more
                planned = self._follow_args(nxt[1])
                if planned is not None:
                    self._claim(conn, row, nxt[0], planned[0], planned[1], "approval")
                    after = (nxt[0], *planned)
        if after is not None:
            self._launch(ledger, after[0], after[1], after[2], FOLLOW_SECONDS,
                         FOLLOW_FREEZE_WEEKS)

    def stop(self) -> None:
        """The server stops: a plan this process was making is failed (its thread is a daemon,
        ended with it; the plan served stays as it was)."""
        with self.db.write() as conn:
            self.db.serialise(conn, "plan-job")
            job, row = self._load(conn, lock=True)
            if row is None or job.state != "running" or row.owner != self.owner:
                return
            job.state, job.finished, job.error, job.queued = "failed", _now(), \
                dict(LOST_PLAN), False
            self._save(conn, job, row, owner=None, next_user=None, next_newest=None)
        if self.work_dir is not None:
            shutil.rmtree(Path(self.work_dir) / "plan.new", ignore_errors=True)


#: the error of a re-planning whose server stopped before it ended
LOST_PLAN = {"code": "PLAN_JOB_FAILED", "message": "the server making the plan stopped before "
             "it ended; ask again"}


def _plain(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` as plain JSON (numbers of numpy and the like become Python numbers)."""
    import json

    def other(obj: Any) -> Any:
        return obj.item() if hasattr(obj, "item") else str(obj)

    return json.loads(json.dumps(value, default=other))


def _meta(work_dir: Path) -> dict[str, Any] | None:
    from safeground.planning.outputs import read_meta

    return read_meta(Path(work_dir) / "plan")


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
