"""Two ASGI middlewares that keep every answer in the error envelope, whatever the request.

* ``BodyLimitMiddleware`` refuses a request body over the limit with 413 ``BODY_TOO_LARGE``.
  A declared ``Content-Length`` over the limit is refused before anything is read; a body sent
  without one (chunked) is counted as it arrives and refused once it passes the limit, so no
  more than the limit (and one chunk) is ever held. The limit is the settings'
  ``max_request_bytes``, or ``max_upload_bytes`` for the file upload route.
* ``CatchAllMiddleware`` turns an exception nothing else handled into the envelope with 500
  ``INTERNAL_ERROR`` (logged with its traceback; no detail given out) and ends the request
  cleanly. Starlette's own last-resort handler re-raises after answering, for the server to
  log, and uvicorn then closes the client's connection; this one does not, so a keep-alive
  connection stays usable. Only when the answer had already begun (a failure half-way through
  a streamed file) is the error passed on: the server can then only close the connection.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from safeground.web.envelope import envelope

log = logging.getLogger("safeground.web")


class BodyTooLargeError(HTTPException):
    """Raised from ``receive`` when the body passes the limit. An HTTPException, so FastAPI's
    body reading passes it on rather than making it a 400."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large_message(limit))
        self.limit = limit


def too_large_message(limit: int) -> str:
    size = f"{limit / 2**20:g} MiB" if limit >= 2**20 else f"{limit} bytes"
    return f"the request body is larger than the server takes ({size})"


def too_large(limit: int) -> JSONResponse:
    return envelope("BODY_TOO_LARGE", too_large_message(limit), 413, {"limit": limit},
                    headers={"Connection": "close"})


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await too_large(limit)(scope, receive, send)
            return
        received = 0
        over = started = replaced = False

        async def counted() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    raise BodyTooLargeError(limit)
            return message

        async def guarded(message: Message) -> None:
            nonlocal started, replaced
            if replaced:
                return
            if over and not started:
                # whatever the app makes of the body it could not read: the 413
                replaced = started = True
                await too_large(limit)(scope, receive, send)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not over or started:
                raise
            await too_large(limit)(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers") or ():
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class CatchAllMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception:
            log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            await internal_error()(scope, receive, send)


def internal_error() -> JSONResponse:
    return envelope("INTERNAL_ERROR", "an unexpected error occurred; it was logged", 500)
