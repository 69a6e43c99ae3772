"""A private index on the web side: pages and the JSON API need a session or a read token.

Signing in, static files, uploads (``/legacy/``, own authentication), the token API
(``/api/``, own authentication) and ``/metrics`` stay reachable. A browser without a
session is sent to the sign-in page; other clients get a 401 asking for Basic.
"""

from __future__ import annotations

from urllib.parse import quote

from packaging.utils import canonicalize_name
from starlette.requests import HTTPConnection
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from bastion.accounts.auth import AuthenticationRequired
from bastion.accounts.read_access import ReadAccess
from bastion.errors import BastionError
from bastion.serve.errors import plain_error
from bastion.simple.access import credentials
from bastion.web.urls import path_for

OPEN_PREFIXES = ("/account/", "/static/", "/legacy/", "/api/", "/metrics")
PROJECT_PREFIXES = ("/project/", "/pypi/")


def project_in_path(path: str) -> str | None:
    """The project a ``/project/<name>/…`` or ``/pypi/<name>/…`` path is about."""
    for prefix in PROJECT_PREFIXES:
        if path.startswith(prefix):
            name = path[len(prefix) :].split("/", 1)[0]
            return canonicalize_name(name) if name else None
    return None


def _is_browser(scope: Scope) -> bool:
    for key, value in scope["headers"]:
        if key == b"accept":
            return b"text/html" in value
    return False


class PrivateIndexMiddleware:
    """Pure ASGI: checks read access before the web app sees the request."""

    def __init__(self, app: ASGIApp, access: ReadAccess) -> None:
        self.app, self.access = app, access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(OPEN_PREFIXES):
            await self.app(scope, receive, send)
            return
        try:
            grant = await self.access.grant(*credentials(scope))
            name = project_in_path(path)
            if name is None:
                grant.check_unlimited("this page")
            else:
                grant.check(name)
        except AuthenticationRequired as exc:
            if scope["method"] == "GET" and _is_browser(scope):
                login = path_for(HTTPConnection(scope), "account.login")
                target = f"{login}?next={quote(path, safe='')}"
                await RedirectResponse(target, status_code=303)(scope, receive, send)
                return
            await plain_error(exc.status_code, exc.message, exc.headers)(scope, receive, send)
            return
        except BastionError as exc:
            await plain_error(exc.status_code, exc.message)(scope, receive, send)
            return
        await self.app(scope, receive, send)
