"""Local stand-ins for ODK Central and KoboToolbox on 127.0.0.1, answering in their formats.

They replay submissions written by ``safeground.intake.field_exports`` (OData JSON with
repeats expanded; Kobo's data JSON), honour the incremental filters the clients send, and page
the way the real servers do (``@odata.nextLink`` with ``$skiptoken``; Kobo's ``next`` URL).
Every request is logged so tests can check what the client asked.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from safeground.intake import field_exports as fx


class _Server:
    def __init__(self) -> None:
        self.requests: list[str] = []
        self.fail_next: int | None = None
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _send(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                owner.requests.append(self.path)
                if owner.fail_next:
                    status, owner.fail_next = owner.fail_next, None
                    return self._send(status, {"message": "server trouble", "code": status})
                status, body = owner.get(self)
                self._send(status, body)

            def do_POST(self):
                owner.requests.append(self.path)
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                status, out = owner.post(self, body)
                self._send(status, out)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def get(self, handler):  # pragma: no cover - overridden
        return 404, {}

    def post(self, handler, body):
        return 404, {}


class FakeCentral(_Server):
    """ODK Central: ``/v1/sessions`` and one project's OData Submissions feeds."""

    TOKEN = "central-session-token"

    def __init__(self, forms: dict, email="field@example.org", password="secret",
                 page_size_cap: int = 100) -> None:
        super().__init__()
        self.forms = forms            # form id -> list of Submission
        self.email, self.password = email, password
        self.cap = page_size_cap

    def post(self, handler, body):
        if handler.path == "/v1/sessions" and body.get("email") == self.email \
                and body.get("password") == self.password:
            return 200, {"token": self.TOKEN, "expiresAt": "2099-01-01T00:00:00Z"}
        return 401, {"message": "Could not authenticate with the provided credentials.",
                     "code": 401.2}

    def get(self, handler):
        if handler.headers.get("Authorization") != f"Bearer {self.TOKEN}":
            return 401, {"message": "Could not authenticate", "code": 401.2}
        parts = urlsplit(handler.path)
        m = re.fullmatch(r"/v1/projects/(\d+)/forms/([^/]+)\.svc/Submissions", parts.path)
        if not m or m.group(2) not in self.forms:
            return 404, {"message": "Could not find the resource you were looking for.",
                         "code": 404.1}
        form_id = m.group(2)
        q = {k: v[0] for k, v in parse_qs(parts.query).items()}
        subs = sorted(self.forms[form_id], key=lambda s: s.submitted_at)
        since = re.findall(r"__system/(?:submissionDate|updatedAt) gt (\S+)",
                           q.get("$filter", ""))
        if since:
            subs = [s for s in subs if s.submitted_at > since[0]]
        top = min(int(q.get("$top", self.cap)), self.cap)
        skip = 0
        if "$skiptoken" in q:
            token = json.loads(base64.b64decode(q["$skiptoken"][2:]))
            skip = token["offset"]
        page = subs[skip:skip + top]
        nxt = None
        if skip + top < len(subs):
            token = "01" + base64.b64encode(json.dumps({"offset": skip + top}).encode()).decode()
            rest = {k: v for k, v in q.items() if k != "$skiptoken"}
            nxt = f"{self.url}{parts.path}?{urlencode({**rest, '$skiptoken': token})}"
        count = len(subs) if q.get("$count") == "true" else None
        return 200, fx.odata_page(page, form_id, base=self.url, project=int(m.group(1)),
                                  next_link=nxt, count=count)


class FakeKobo(_Server):
    """KoboToolbox: ``/api/v2/assets/{uid}/data/`` with Token auth."""

    TOKEN = "kobo-api-token"

    def __init__(self, assets: dict, page_size_cap: int = 100) -> None:
        super().__init__()
        self.assets = assets          # uid -> list of Submission
        self.cap = page_size_cap

    def get(self, handler):
        if handler.headers.get("Authorization") != f"Token {self.TOKEN}":
            return 401, {"detail": "Authentication credentials were not provided."}
        parts = urlsplit(handler.path)
        m = re.fullmatch(r"/api/v2/assets/([^/]+)/data/?", parts.path)
        if not m or m.group(1) not in self.assets:
            return 404, {"detail": "Not found."}
        q = {k: v[0] for k, v in parse_qs(parts.query).items()}
        subs = sorted(self.assets[m.group(1)], key=lambda s: s.submitted_at)
        if "query" in q:
            cond = json.loads(q["query"]).get("_submission_time", {})
            if "$gt" in cond:
                subs = [s for s in subs if s.submitted_at > cond["$gt"]]
        limit = min(int(q.get("limit", self.cap)), self.cap)
        start = int(q.get("start", 0))
        page = subs[start:start + limit]
        nxt = f"{self.url}{parts.path}?{urlencode({**q, 'start': start + limit})}" \
            if start + limit < len(subs) else None
        return 200, fx.kobo_page(page, count=len(subs), next_url=nxt, start_id=start + 1)
