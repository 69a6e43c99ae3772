"""The read path's routes: ``/simple`` and ``/files``, each a bare ASGI app behind a prefix.

A prefix test instead of Starlette's router keeps per-request routing to one
``str.startswith`` in app.py; the apps parse their own paths.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.types import ASGIApp

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


def make_routes(services: Services, pages: SimplePages) -> list[PrefixRoute]:
    """``/simple`` served by ``pages`` and ``/files``, each answering 503 while the
    database is unreachable."""
    settings = services.settings
    services.pages.configure(
        ttl=settings.simple_cache_ttl, max_files=settings.files_lookup_cache_size
    )
    retry_after = settings.database_retry_after_seconds
    return [
        PrefixRoute("/simple", guard(pages, retry_after)),
        PrefixRoute("/files", guard(FileServer(services), retry_after)),
    ]
