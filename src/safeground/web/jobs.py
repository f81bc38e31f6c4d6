"""Heavy outputs as background jobs: asked for, made in the background, polled, downloaded.

The programme report reads the whole record and draws its charts: seconds to a minute on a
national record. Made inside a request, a few viewers asking for it at once would hold the
web server's workers and database connections while everyone else waits. So it is never made
inside a request: asking for it starts a *job* (``POST /api/v1/jobs``, or
``GET /api/v1/programme-report``, which answers 202 with the job's address in ``Location``),
``GET /api/v1/jobs/{id}`` says how it goes, and ``GET /api/v1/jobs/{id}/result`` gives the
file once it is done.

* Results are kept, keyed by what was asked (kind and parameters), the record's version
  (``web.cache``) and the plan served: asking again for the same report of the same record
  gives the result made before, at once, whoever asks.
* Each user has at most one job waiting or running (``JOB_RUNNING``, 429; asking again for
  the same output while it is being made gives the same job); at most ``workers`` jobs run at
  once and at most ``max_waiting`` wait for a worker (``JOBS_BUSY``, 503, ``Retry-After``).
* A job is seen only by the user who asked for it (another's id is ``JOB_NOT_FOUND``); ids are
  random. Finished jobs are kept, results included, for the ``max_kept`` last of them.
"""

from __future__ import annotations

import datetime as dt
import secrets
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safeground.errors import ConflictError, NotFoundError, SafegroundError


class JobLimitError(SafegroundError, PermissionError):
    """This user already has a job waiting or running."""

    code = "JOB_RUNNING"
    http_status = 429


class JobsBusyError(SafegroundError, RuntimeError):
    """Every worker is busy and the waiting line is full: ask again shortly."""

    code = "JOBS_BUSY"
    http_status = 503


@dataclass(frozen=True, slots=True)
class Output:
    """A job's result: the bytes, their media type and the file name to give them."""

    body: bytes
    media_type: str
    filename: str
    #: what the job says of its result besides the file (an import's summary), or None
    info: dict[str, Any] | None = None


@dataclass
class Job:
    id: str
    kind: str
    params: dict[str, Any]
    user: str
    key: Hashable
    state: str = "waiting"          # waiting, running, done, failed
    progress: float = 0.0           # 0..1
    step: str = "waiting for a worker"
    asked: str = ""
    started: str | None = None
    finished: str | None = None
    error: dict[str, Any] | None = None
    output: Output | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "kind": self.kind, "params": self.params, "state": self.state,
            "progress": round(self.progress, 2), "step": self.step, "asked": self.asked,
            "started": self.started, "finished": self.finished, "error": self.error,
            "href": f"/api/v1/jobs/{self.id}"}
        if self.state == "done":
            out["result"] = f"/api/v1/jobs/{self.id}/result"
            if self.output is not None and self.output.info is not None:
                out["summary"] = self.output.info
        return out


#: what a job does: (report progress(fraction, step)) -> Output
Work = Callable[[Callable[[float, str], None]], Output]


class Jobs:
    """The app's background jobs (see the module)."""

    def __init__(self, workers: int = 2, max_waiting: int = 8, max_kept: int = 64) -> None:
        self.workers, self.max_waiting, self.max_kept = workers, max_waiting, max_kept
        self._slots = threading.BoundedSemaphore(workers)
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._done: dict[Hashable, str] = {}       # key -> id of the job that made it
        self._lock = threading.Lock()
        self._events: dict[str, threading.Event] = {}

    def start(self, user: str, kind: str, params: dict[str, Any], key: Hashable,
              work: Work) -> tuple[Job, bool]:
        """The job making ``key`` for ``user``: one made before (its result kept), the one
        this user already has running for it, or a new one. Returns (job, started now).
        Raises JobLimitError or JobsBusyError."""
        with self._lock:
            made = self._jobs.get(self._done.get(key, ""))
            if made is not None and made.state == "done":
                if made.user == user:
                    return self._copy(made), False
                job = self._new(user, kind, params, key)     # the same result, for this user
                job.state, job.progress, job.step = "done", 1.0, "done"
                job.started = job.finished = job.asked
                job.output = made.output
                return self._copy(job), False
            open_ = [j for j in self._jobs.values() if j.state in ("waiting", "running")]
            mine = [j for j in open_ if j.user == user]
            if mine:
                if mine[0].key == key:
                    return self._copy(mine[0]), False
                raise JobLimitError(
                    f"you have a job {mine[0].state} ({mine[0].kind}, asked at "
                    f"{mine[0].asked}); wait for it to end",
                    details={"retry_after": 10, "job": mine[0].to_dict()})
            if len(open_) >= self.workers + self.max_waiting:
                raise JobsBusyError("every worker is busy and the waiting line is full; ask "
                                    "again in a minute", details={"retry_after": 30})
            job = self._new(user, kind, params, key)
            self._events[job.id] = threading.Event()
            # a daemon thread that waits for a free slot: a server stopping does not wait
            # for a report being made
            threading.Thread(target=self._run, args=(job.id, work), daemon=True,
                             name=f"safeground-job-{job.id}").start()
            return self._copy(job), True

    def _new(self, user: str, kind: str, params: dict[str, Any], key: Hashable) -> Job:
        """With the lock held."""
        job = Job(secrets.token_urlsafe(12), kind, params, user, key, asked=_now())
        self._jobs[job.id] = job
        while len(self._jobs) > self.max_kept:
            old = next((i for i, j in self._jobs.items()
                        if j.state in ("done", "failed")), None)
            if old is None:
                break
            del self._jobs[old]
            self._events.pop(old, None)
            for k in [k for k, v in self._done.items() if v == old]:
                del self._done[k]
        return job

    @staticmethod
    def _copy(job: Job) -> Job:
        return Job(**{f: getattr(job, f) for f in job.__dataclass_fields__})

    def get(self, job_id: str, user: str) -> Job:
        """The user's job (JOB_NOT_FOUND for another's or an unknown id)."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.user != user:
                raise NotFoundError(f"no job '{job_id[:40]}' of yours (jobs are kept a while "
                                    "after they end)", code="JOB_NOT_FOUND")
            return self._copy(job)

    def result(self, job_id: str, user: str) -> Output:
        """The result of the user's finished job; JOB_NOT_DONE (409) before, JOB_FAILED (409,
        with the job's error in details) when it failed."""
        job = self.get(job_id, user)
        if job.state == "failed":
            raise ConflictError(f"the job failed: {(job.error or {}).get('message', '')}",
                                code="JOB_FAILED", details={"job": job.to_dict()})
        if job.state != "done" or job.output is None:
            raise ConflictError(f"the job is {job.state} ({job.step}); ask again when it is "
                                "done", code="JOB_NOT_DONE", details={"job": job.to_dict()})
        return job.output

    def wait(self, job_id: str, timeout: float | None = None) -> Job:
        """Wait for a job to end (the tests, the benchmark)."""
        event = self._events.get(job_id)
        if event is not None:
            event.wait(timeout)
        with self._lock:
            return self._copy(self._jobs[job_id])

    def _set(self, job_id: str, **what: Any) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                for k, v in what.items():
                    setattr(job, k, v)

    def _run(self, job_id: str, work: Work) -> None:
        with self._slots:
            self._work(job_id, work)

    def _work(self, job_id: str, work: Work) -> None:
        self._set(job_id, state="running", started=_now(), step="started", progress=0.05)

        def progress(fraction: float, step: str) -> None:
            self._set(job_id, progress=max(0.0, min(1.0, fraction)), step=step)

        try:
            out = work(progress)
            with self._lock:
                job = self._jobs.get(job_id)
                if job is not None:
                    job.state, job.progress, job.step = "done", 1.0, "done"
                    job.finished, job.output = _now(), out
                    self._done[job.key] = job_id
        except SafegroundError as err:
            self._set(job_id, state="failed", finished=_now(), error=err.to_dict()["error"])
        except Exception as err:     # told to the user as JOB_FAILED, never lost
            self._set(job_id, state="failed", finished=_now(),
                      error={"code": "JOB_FAILED", "message": f"{type(err).__name__}: {err}"})
        finally:
            event = self._events.get(job_id)
            if event is not None:
                event.set()


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# ------------------------------------------------------------------------ programme report
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def programme_report_work(ledger: Any, first: dt.date, last: dt.date, fmt: str, title: str,
                          plan_dir: Path | None) -> Work:
    """The programme report as a job's work: built, then written in ``fmt``."""

    def work(progress: Callable[[float, str], None]) -> Output:
        import json

        from safeground.reports import programme as pr

        progress(0.1, "reading the record")
        rep = pr.build(ledger, first, last, plan_dir)
        progress(0.8, f"writing the {fmt}")
        name = f"programme-report-{first}-{last}"
        if fmt == "json":
            from fastapi.encoders import jsonable_encoder

            body = json.dumps(jsonable_encoder(rep.to_dict()), ensure_ascii=False,
                              allow_nan=False, separators=(",", ":")).encode("utf-8")
            return Output(body, "application/json", f"{name}.json")
        if fmt == "xlsx":
            with tempfile.TemporaryDirectory(prefix="sg-job-") as tmp:
                path = pr.write_workbook(rep, Path(tmp) / "report.xlsx")
                return Output(Path(path).read_bytes(), XLSX, f"{name}.xlsx")
        from safeground.reports.maps import overview_map

        html = pr.render_html(rep, title, overview_map(ledger, first, last))
        if fmt == "pdf":
            from safeground.reports.pdf import html_to_pdf

            with tempfile.TemporaryDirectory(prefix="sg-job-") as tmp:
                path = html_to_pdf(html, Path(tmp) / "report.pdf")
                return Output(path.read_bytes(), "application/pdf", f"{name}.pdf")
        return Output(html.encode("utf-8"), "text/html; charset=utf-8", f"{name}.html")

    return work


def plan_stamp(plan_dir: Path | None) -> tuple[Any, ...]:
    """What identifies the plan served (its files' sizes and times), for a result's key."""
    if plan_dir is None or not plan_dir.is_dir():
        return ()
    return tuple(sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns)
                        for p in plan_dir.iterdir() if p.is_file()))


# ------------------------------------------------------------------------------- imports
#: rejections and review notes an import job's summary lists (the rejects file holds all)
SUMMARY_ITEMS = 100


def import_work(ledger: Any, path: Path, user: str, report_type: str | None,
                crs: str | None) -> Work:
    """An uploaded file imported through the gate (``intake.importer.import_path``) as a job's
    work: the result is the rejects file (CSV; only a header when nothing was refused), the
    summary goes with it (``Output.info``). The upload's folder is removed when it ends."""

    def work(progress: Callable[[float, str], None]) -> Output:
        import shutil

        from safeground.intake.importer import import_path

        rejects = path.parent / "rejects.csv"
        try:
            progress(0.1, "reading the file")

            def chunk(done: int, total: int) -> None:
                progress(0.1 + 0.75 * done / max(total, 1),
                         f"{done} of {total} records through the gate")

            summary = import_path(ledger, path, user, progress=False,
                                  report_type=report_type, crs=crs, rejects_path=rejects,
                                  on_chunk=chunk)
            progress(0.95, "writing the rejects file")
            info = summary.to_dict()
            for k in ("rejects_path", "timings"):
                info.pop(k, None)
            info["path"] = path.name
            info["report_ids"] = summary.report_ids[:SUMMARY_ITEMS]
            info["rejections_total"] = len(info["rejections"])
            info["rejections"] = info["rejections"][:SUMMARY_ITEMS]
            info["reviews"] = info["reviews"][:SUMMARY_ITEMS]
            body = rejects.read_bytes() if rejects.is_file() else b"_where,_problems\r\n"
            return Output(body, "text/csv; charset=utf-8",
                          f"{Path(path.name).stem}.rejects.csv", info)
        finally:
            shutil.rmtree(path.parent, ignore_errors=True)

    return work
