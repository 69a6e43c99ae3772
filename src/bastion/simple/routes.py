"""The read path's routes: ``/simple`` and ``/files``, each a bare ASGI app behind a prefix.

A prefix test instead of Starlette's router keeps per-request routing to one
``str.startswith`` in app.py; the apps parse their own paths.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bastion.serve.unavailable import guard
from bastion.services import Services
from bastion.simple.files import FileServer
from bastion.simple.pages import SimplePages


@dataclass(frozen=True)
class PrefixRoute:
    """Every HTTP request whose path starts with ``prefix`` goes to ``app``.

    The app answers 404 itself for paths it does not know (``/simplex``), so the
    dispatcher in app.py never falls through to an unrouted request.
    """

    prefix: str
    app: ASGIApp


NOSNIFF = (b"x-content-type-options", b"nosniff")


def nosniff(app: ASGIApp) -> ASGIApp:
    """Every answer of ``app`` (pages, files, errors) says ``X-Content-Type-Options:
    nosniff``: a browser must not run an uploaded file as something else than its type."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_nosniff(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), NOSNIFF]
            await send(message)

        await app(scope, receive, send_nosniff)

    return wrapped


def make_routes(services: Services) -> list[PrefixRoute]:
    settings = services.settings
    services.pages.configure(
        ttl=settings.simple_cache_ttl, max_files=settings.files_lookup_cache_size
    )
    retry_after = settings.database_retry_after_seconds
    return [
        PrefixRoute("/simple", nosniff(guard(SimplePages(services), retry_after))),
        PrefixRoute("/files", nosniff(guard(FileServer(services), retry_after))),
    ]
