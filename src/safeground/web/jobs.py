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
* Jobs, their progress and results are rows of the database (``service_jobs``), so every
  worker of ``safeground serve --workers N`` and every server on the same database answers
  for every job, and the limits above count the jobs of all of them. A job is made by the
  process that was asked; if that process stops before the job ends, the job is failed
  (``JOB_FAILED``: ask again).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import secrets
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safeground.errors import ConflictError, NotFoundError, SafegroundError
from safeground.record.storage.schema import service_jobs as sj


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
    key: str                        # SHA-256 of what was asked (``key_hash``)
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

#: this server process, as the owner of the jobs it runs
PROCESS = f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"
#: seconds between a running job's signs of life, and after which a job without one is taken
#: for lost (its server stopped)
BEAT, STALE = 10.0, 60.0


class Heartbeat:
    """While a block runs, every ``BEAT`` seconds, set ``beat`` to now on the rows of
    ``table`` that ``where`` selects (a job this process runs), in a daemon thread."""

    def __init__(self, db: Any, table: Any, where: Any, every: float = BEAT) -> None:
        self.db, self.table, self.where, self.every = db, table, where, every
        self._stop = threading.Event()

    def __enter__(self) -> Heartbeat:
        threading.Thread(target=self._beat, daemon=True, name="safeground-heartbeat").start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()

    def _beat(self) -> None:
        from sqlalchemy import update

        while not self._stop.wait(self.every):
            try:
                with self.db.write() as conn:
                    conn.execute(update(self.table).where(self.where).values(beat=time.time()))
            except Exception:            # the next beat tries again; STALE allows a few
                logging.getLogger("safeground.web").warning("heartbeat not written",
                                                            exc_info=True)


def key_hash(key: Hashable) -> str:
    """What identifies a result across processes: the SHA-256 of the key's ``repr`` (tuples of
    strings and numbers: the same in every process)."""
    return hashlib.sha256(repr(key).encode("utf-8")).hexdigest()


class Jobs:
    """The service's background jobs (see the module), kept in the database's
    ``service_jobs`` table: any worker or server on the database sees every job and its
    result, the limits count the jobs of all of them, and a job runs in the process that
    started it (at most ``workers`` at once there). A job whose process stopped (no sign of
    life for ``STALE`` seconds, or the server shut down) is failed."""

    def __init__(self, db: Any, workers: int = 2, max_waiting: int = 8,
                 max_kept: int = 64) -> None:
        self.db = db
        self.owner = f"{PROCESS}/{secrets.token_hex(3)}"      # this app in this process
        self.workers, self.max_waiting, self.max_kept = workers, max_waiting, max_kept
        self._slots = threading.BoundedSemaphore(workers)
        self._events: dict[str, threading.Event] = {}

    def start(self, user: str, kind: str, params: dict[str, Any], key: Hashable,
              work: Work) -> tuple[Job, bool]:
        """The job making ``key`` for ``user``: one made before (its result kept), the one
        this user already has running for it, or a new one. Returns (job, started now).
        Raises JobLimitError or JobsBusyError."""
        from sqlalchemy import insert, select

        khash, now = key_hash(key), time.time()
        with self.db.write() as conn:
            self.db.serialise(conn, "service-jobs")
            self._lose_stale(conn, now)
            made = conn.execute(select(sj).where(sj.c.key_hash == khash, sj.c.state == "done")
                                .order_by(sj.c.asked_at.desc()).limit(1)).first()
            if made is not None:
                if made.user_name == user:
                    return _job(made), False
                row = self._row(user, kind, params, khash, now)     # the same result, theirs
                row.update(state="done", progress=1.0, step="done", started=row["asked"],
                           finished=row["asked"], output=made.output,
                           media_type=made.media_type, filename=made.filename)
                conn.execute(insert(sj).values(**row))
                self._trim(conn)
                return _job(row), False
            open_ = conn.execute(select(sj.c.id, sj.c.user_name, sj.c.key_hash, sj.c.state)
                                 .where(sj.c.state.in_(("waiting", "running")))).all()
            mine = [j for j in open_ if j.user_name == user]
            if mine:
                first = _job(conn.execute(select(sj).where(sj.c.id == mine[0].id)).one())
                if first.key == khash:
                    return first, False
                raise JobLimitError(
                    f"you have a job {first.state} ({first.kind}, asked at {first.asked}); "
                    "wait for it to end", details={"retry_after": 10, "job": first.to_dict()})
            if len(open_) >= self.workers + self.max_waiting:
                raise JobsBusyError("every worker is busy and the waiting line is full; ask "
                                    "again in a minute", details={"retry_after": 30})
            row = self._row(user, kind, params, khash, now)
            conn.execute(insert(sj).values(**row))
            self._trim(conn)
        self._events[row["id"]] = threading.Event()
        # a daemon thread that waits for a free slot: a server stopping does not wait for a
        # report being made (``stop`` marks it failed)
        threading.Thread(target=self._run, args=(row["id"], work), daemon=True,
                         name=f"safeground-job-{row['id']}").start()
        return _job(row), True

    def _row(self, user: str, kind: str, params: dict[str, Any], khash: str,
             now: float) -> dict[str, Any]:
        return {"id": secrets.token_urlsafe(12), "kind": kind, "params": params,
                "user_name": user, "key_hash": khash, "state": "waiting", "progress": 0.0,
                "step": "waiting for a worker", "asked": _now(), "started": None,
                "finished": None, "error": None, "output": None, "media_type": None,
                "filename": None, "info": None, "owner": self.owner, "beat": now,
                "asked_at": now}

    def _trim(self, conn: Any) -> None:
        """Keep the ``max_kept`` newest finished jobs (with the lock held)."""
        from sqlalchemy import delete, select

        ended = select(sj.c.id).where(sj.c.state.in_(("done", "failed"))) \
            .order_by(sj.c.asked_at.desc()).offset(self.max_kept)
        old = [r.id for r in conn.execute(ended)]
        if old:
            conn.execute(delete(sj).where(sj.c.id.in_(old)))
            for job_id in old:
                self._events.pop(job_id, None)

    @staticmethod
    def _lose_stale(conn: Any, now: float) -> None:
        """Jobs whose server stopped giving signs of life are failed (with the lock held)."""
        from sqlalchemy import update

        conn.execute(update(sj).where(sj.c.state.in_(("waiting", "running")),
                                      sj.c.beat < now - STALE).values(
            state="failed", finished=_now(), error=LOST))

    def get(self, job_id: str, user: str) -> Job:
        """The user's job (JOB_NOT_FOUND for another's or an unknown id)."""
        job = self._read(job_id)
        if job is None or job.user != user:
            raise NotFoundError(f"no job '{job_id[:40]}' of yours (jobs are kept a while "
                                "after they end)", code="JOB_NOT_FOUND")
        return job

    def _read(self, job_id: str) -> Job | None:
        from sqlalchemy import select

        with self.db.read() as conn:
            row = conn.execute(select(sj).where(sj.c.id == job_id)).first()
        if row is None:
            return None
        job = _job(row)
        if job.state in ("waiting", "running") and row.beat < time.time() - STALE:
            job.state, job.error = "failed", LOST
        return job

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
        """Wait for a job to end, made here or by another server (the tests, the
        benchmark)."""
        deadline = time.monotonic() + (timeout if timeout is not None else 1e9)
        while True:
            event = self._events.get(job_id)
            job = self._read(job_id)
            if job is None:
                raise NotFoundError(f"no job '{job_id[:40]}'", code="JOB_NOT_FOUND")
            left = deadline - time.monotonic()
            if job.state in ("done", "failed") or left <= 0:
                return job
            if event is not None:
                event.wait(min(left, 1.0))
            else:
                time.sleep(min(left, 0.2))

    def _set(self, job_id: str, **what: Any) -> None:
        """Update the job while it is open (a job failed meanwhile — its server stopping —
        stays failed)."""
        from sqlalchemy import update

        with self.db.write() as conn:
            conn.execute(update(sj).where(sj.c.id == job_id,
                                          sj.c.state.in_(("waiting", "running")))
                         .values(beat=time.time(), **what))

    def _run(self, job_id: str, work: Work) -> None:
        with Heartbeat(self.db, sj, sj.c.id == job_id), self._slots:
            self._work(job_id, work)

    def _work(self, job_id: str, work: Work) -> None:
        try:
            self._set(job_id, state="running", started=_now(), step="started", progress=0.05)

            def progress(fraction: float, step: str) -> None:
                self._set(job_id, progress=max(0.0, min(1.0, fraction)), step=step[:200])

            out = work(progress)
            self._set(job_id, state="done", progress=1.0, step="done", finished=_now(),
                      output=out.body, media_type=out.media_type, filename=out.filename,
                      info=out.info)
        except SafegroundError as err:
            self._fail(job_id, err.to_dict()["error"])
        except Exception as err:     # told to the user as JOB_FAILED, never lost
            self._fail(job_id, {"code": "JOB_FAILED", "message": f"{type(err).__name__}: {err}"})
        finally:
            event = self._events.get(job_id)
            if event is not None:
                event.set()

    def _fail(self, job_id: str, error: dict[str, Any]) -> None:
        try:
            self._set(job_id, state="failed", finished=_now(), error=error)
        except Exception:
            logging.getLogger("safeground.web").exception("job %s: failure not written",
                                                          job_id)

    def stop(self) -> None:
        """The server stops: the jobs this process was making are failed (they are daemon
        threads, ended with it)."""
        from sqlalchemy import update

        with self.db.write() as conn:
            conn.execute(update(sj).where(sj.c.owner == self.owner,
                                          sj.c.state.in_(("waiting", "running"))).values(
                state="failed", finished=_now(), error=LOST))


#: the error of a job whose server stopped before it ended
LOST = {"code": "JOB_FAILED", "message": "the server making it stopped before it ended; "
        "ask again"}


def _job(row: Any) -> Job:
    m = row if isinstance(row, dict) else row._mapping
    output = Output(bytes(m["output"]), m["media_type"], m["filename"], m.get("info")) \
        if m["state"] == "done" and m["output"] is not None else None
    return Job(m["id"], m["kind"], dict(m["params"]), m["user_name"], m["key_hash"],
               m["state"], float(m["progress"]), m["step"], m["asked"], m["started"],
               m["finished"], m["error"], output)


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

        html = pr.render_html(rep, title, map_svg=overview_map(ledger, first, last))
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
