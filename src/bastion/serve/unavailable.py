"""503 while the database is unreachable: one response for the web app and the read path.

``guard(app, retry_after)`` wraps an ASGI app: an exception that says the database is
unreachable becomes ``503 Service Unavailable`` with ``Retry-After`` and a message in
the body and the status line, and is not raised further (the server would log it as a
crash and close the connection, which a client uploading a body sees as a reset). The
web app's last-resort handler writes the same :func:`unavailable_response` itself (its
error middleware answers before re-raising); the guard then only stops the exception.
"""

from __future__ import annotations

import logging

from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bastion.db.availability import database_unavailable
from bastion.serve.reason import reason_header

log = logging.getLogger(__name__)


def unavailable_message(retry_after: int) -> str:
    return (
        "The index cannot reach its database right now (it may be restarting); "
        f"nothing was changed. Please try again in {retry_after} seconds."
    )


def unavailable_response(retry_after: int) -> Response:
    message = unavailable_message(retry_after)
    name, value = reason_header(message)
    return PlainTextResponse(
        message + "\n",
        status_code=503,
        headers={
            "Retry-After": str(retry_after),
            name: value,
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def guard(app: ASGIApp, retry_after: int) -> ASGIApp:
    """``app`` answering 503 (not a dropped connection) when the database is unreachable."""

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def note_start(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await app(scope, receive, note_start)
        except Exception as exc:
            if scope["type"] != "http" or not database_unavailable(exc):
                raise
            log.warning("database unavailable: %s: %s", type(exc).__name__, exc)
            if not started:
                await unavailable_response(retry_after)(scope, receive, send)

    return guarded
