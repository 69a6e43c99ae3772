"""The read path's routes: ``/simple`` and ``/files``, each a bare ASGI app behind a prefix.

A prefix test instead of Starlette's regex routes keeps per-request routing to one
``str.startswith``; the apps parse their own paths.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from bastion.services import Services
from bastion.simple.files import FileServer
from bastion.simple.pages import SimplePages

_NO_CHANGES: dict[str, Any] = {}


class PrefixRoute(BaseRoute):
    """Hands every HTTP request whose path starts with ``prefix`` to ``app``.

    The app answers 404 itself for paths it does not know (``/simplex``), so the
    dispatcher in app.py never falls through to an unrouted request.
    """

    def __init__(self, prefix: str, app: ASGIApp) -> None:
        self.prefix = prefix
        self.app = app

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["path"].startswith(self.prefix):
            return Match.FULL, _NO_CHANGES
        return Match.NONE, _NO_CHANGES

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def make_routes(services: Services) -> list[BaseRoute]:
    settings = services.settings
    services.pages.configure(
        ttl=settings.simple_cache_ttl, max_files=settings.files_lookup_cache_size
    )
    return [
        PrefixRoute("/simple", SimplePages(services)),
        PrefixRoute("/files", FileServer(services)),
    ]
