"""Pull submissions straight from ODK Central and KoboToolbox, incrementally.

ODK Central: a session token (``POST /v1/sessions``), then the OData feed
``/v1/projects/{p}/forms/{f}.svc/Submissions`` with ``$expand=*`` (repeats inline),
``$filter`` on ``__system/submissionDate`` and ``__system/updatedAt`` (new and edited since
the last pull) and ``$top``; pages are followed through ``@odata.nextLink``.

KoboToolbox: ``/api/v2/assets/{uid}/data/?format=json`` with a ``Token`` header, a Mongo-style
``query`` on ``_submission_time``, ``limit``/``start``; pages are followed through ``next``.

Each pull returns the newest submission time it saw: the cursor of the next pull. A pull that
repeats submissions already taken in adds nothing (submission ids), so a lost cursor is safe.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from safeground.errors import SafegroundError
from safeground.intake import kobo, odk
from safeground.intake.importer import ImportSummary, take_in
from safeground.intake.submissions import Submission
from safeground.record.ledger import Ledger
from safeground.record.problems import Problem


class PullError(SafegroundError, ConnectionError):
    """The server refused or failed a request (code PULL_FAILED)."""

    code = "PULL_FAILED"
    http_status = 502


def _check(resp: httpx.Response) -> httpx.Response:
    if resp.status_code >= 400:
        reason = resp.text[:200].replace("\n", " ")
        p = Problem("PULL_FAILED", str(resp.request.url.copy_with(query=None)), None,
                    {"url": str(resp.request.url.copy_with(query=None)),
                     "status": resp.status_code, "reason": reason})
        raise PullError(p.message, details=[p.to_dict()])
    return resp


def _get(client: httpx.Client, url: str, **kw: Any) -> Any:
    try:
        resp = client.get(url, **kw)
    except httpx.HTTPError as exc:
        raise PullError(f"cannot reach {url}: {exc}") from exc
    try:
        return _check(resp).json()
    except json.JSONDecodeError as exc:
        raise PullError(f"{url} did not answer JSON") from exc


@dataclass
class OdkCentral:
    """A client of one ODK Central project."""

    base_url: str
    email: str
    password: str
    project: int = 1
    page_size: int = 250
    timeout: float = 30.0

    def _client(self) -> httpx.Client:
        client = httpx.Client(base_url=self.base_url.rstrip("/"), timeout=self.timeout)
        try:
            resp = client.post("/v1/sessions", json={"email": self.email,
                                                     "password": self.password})
        except httpx.HTTPError as exc:
            client.close()
            raise PullError(f"cannot reach {self.base_url}: {exc}") from exc
        if resp.status_code >= 400:
            client.close()
            _check(resp)
        client.headers["Authorization"] = f"Bearer {resp.json()['token']}"
        return client

    def submissions(self, form_id: str, since: str | None = None) -> Iterator[Submission]:
        """Every submission of the form made or edited after ``since`` (ISO time), oldest
        first. Raises PullError."""
        params: dict[str, Any] = {"$expand": "*", "$top": self.page_size, "$count": "true",
                                  "$orderby": "__system/submissionDate"}
        if since:
            params["$filter"] = (f"__system/submissionDate gt {since} or "
                                 f"__system/updatedAt gt {since}")
        client = self._client()
        try:
            url: str | None = f"/v1/projects/{self.project}/forms/{form_id}.svc/Submissions"
            page = 0
            while url:
                doc = _get(client, url, params=params if page == 0 else None)
                page += 1
                for item in doc.get("value", []):
                    yield odk.odata_submission(item, form_id,
                                               f"{form_id} page {page} {item.get('__id')}")
                url = doc.get("@odata.nextLink")
        finally:
            client.close()


@dataclass
class KoboToolbox:
    """A client of one KoboToolbox asset (form)."""

    base_url: str
    token: str
    asset_uid: str
    page_size: int = 1000
    timeout: float = 30.0

    def submissions(self, since: str | None = None) -> Iterator[Submission]:
        """Every submission after ``since`` (ISO time), oldest first. Raises PullError."""
        params: dict[str, Any] = {"format": "json", "limit": self.page_size,
                                  "sort": json.dumps({"_submission_time": 1})}
        if since:
            params["query"] = json.dumps({"_submission_time": {"$gt": since}})
        headers = {"Authorization": f"Token {self.token}"}
        with httpx.Client(base_url=self.base_url.rstrip("/"), timeout=self.timeout,
                          headers=headers) as client:
            url: str | None = f"/api/v2/assets/{self.asset_uid}/data/"
            page = 0
            while url:
                doc = _get(client, url, params=params if page == 0 else None)
                page += 1
                for sub in kobo.read_json(doc, f"{self.asset_uid} page {page}"):
                    if isinstance(sub, Submission):
                        yield sub
                url = doc.get("next")


@dataclass
class PullResult:
    summary: ImportSummary
    pulled: int
    cursor: str | None


def pull(ledger: Ledger, submissions: Iterator[Submission], user: str, label: str,
         since: str | None = None, progress: bool = False) -> PullResult:
    """Take pulled submissions in through the gate. Returns the summary and the new cursor."""
    subs = list(submissions)
    cursor = max([s.submitted_at for s in subs if s.submitted_at] + ([since] if since else []),
                 default=None)
    summary = ImportSummary(path=label, format="pull")
    take_in(ledger, subs, user, summary, progress=progress, source=label)
    return PullResult(summary, len(subs), cursor)


def load_cursor(state: Path, key: str) -> str | None:
    if not state.exists():
        return None
    return json.loads(state.read_text()).get(key)


def save_cursor(state: Path, key: str, cursor: str | None) -> None:
    data = json.loads(state.read_text()) if state.exists() else {}
    if cursor:
        data[key] = cursor
    state.write_text(json.dumps(data, indent=2, sort_keys=True))
