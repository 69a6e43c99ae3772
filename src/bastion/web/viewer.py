"""Who is looking at a page: the signed-in user behind the session cookie, for the header
(Account / Sign out) and the banners every page shows (the 2FA-mandate warning).

:class:`ViewerMiddleware` loads it once per GET of an HTML page, and only when the
request carries the session cookie: anonymous visitors and API clients cost nothing,
and ``/simple`` and ``/files`` never reach the web app at all. The lookup is read-only
(it never touches or deletes the session; :mod:`bastion.web.current_user` does that on
the account pages). :func:`bastion.web.templating.render` puts the viewer and its
banners into every template.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bastion.accounts.models import User
from bastion.accounts.session_models import WebSession
from bastion.accounts.sessions import COOKIE_NAME, SessionState, hash_session_id, is_expired
from bastion.accounts.twofactor.status import has_two_factor
from bastion.clock import today
from bastion.critical.mandate_notice import requirement
from bastion.critical.policy import critical_projects_of

if TYPE_CHECKING:
    from bastion.services import Services

log = logging.getLogger(__name__)

SCOPE_KEY = "bastion.viewer"
# Machine-facing paths: never personalised, never worth a lookup.
SKIP_PREFIXES = ("/static", "/legacy", "/pypi", "/api", "/metrics", "/simple", "/files")


@dataclass(frozen=True)
class Viewer:
    """The signed-in user as pages need them: plain values, no ORM object."""

    user_id: int
    username: str
    is_admin: bool
    csrf_token: str  # for the header's sign-out form
    critical_projects: list[str] = field(default_factory=list)  # owned or maintained
    banners: list[dict[str, Any]] = field(default_factory=list)


def mandate_banner(projects: list[str], services: Services) -> dict[str, Any]:
    """The warning banner for a maintainer of critical ``projects`` without 2FA."""
    sentence = requirement(projects, services.settings, today(services.clock))
    # base.html adds " Enable it at <a href=PATH>PATH</a>." with the route's path
    return {
        "level": "warning",
        "message": sentence,
        "route": "two_factor",
        "route_words": "Enable it at",
    }


async def load_viewer(
    session: AsyncSession, services: Services, raw_id: str | None
) -> Viewer | None:
    """The signed-in user (fully signed in, session live) behind a cookie value, or None."""
    if not raw_id or len(raw_id) > 128:
        return None
    row = await session.get(WebSession, hash_session_id(raw_id))
    if (
        row is None
        or row.user_id is None
        or row.state != SessionState.FULL.value
        or is_expired(row, services.settings, services.clock.now())
    ):
        return None
    user = await session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    critical = await critical_projects_of(session, user.id)
    banners = []
    if critical and not await has_two_factor(session, user.id):
        banners.append(mandate_banner(critical, services))
    return Viewer(
        user_id=user.id,
        username=user.username,
        is_admin=user.is_admin,
        csrf_token=row.csrf_secret,
        critical_projects=critical,
        banners=banners,
    )


def viewer_of(scope: Scope) -> Viewer | None:
    """The viewer the middleware found for this request (None: anonymous or not looked up)."""
    viewer: Viewer | None = scope.get(SCOPE_KEY)
    return viewer


def wants_viewer(scope: Scope) -> bool:
    path: str = scope["path"]
    return (
        scope["method"] in ("GET", "HEAD")
        and not path.startswith(SKIP_PREFIXES)
        and not path.endswith(".json")
    )


class ViewerMiddleware:
    """Looks up the viewer for page GETs that carry the session cookie (pure ASGI)."""

    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not wants_viewer(scope):
            await self.app(scope, receive, send)
            return
        raw_id = HTTPConnection(scope).cookies.get(COOKIE_NAME)
        if not raw_id:
            await self.app(scope, receive, send)
            return
        try:
            async with self.services.db.session() as session:
                scope[SCOPE_KEY] = await load_viewer(session, self.services, raw_id)
        except Exception:  # a page without its banner beats no page at all
            log.exception("could not look up the signed-in user")
            scope[SCOPE_KEY] = None
        if scope[SCOPE_KEY] is None:
            await self.app(scope, receive, send)
            return

        async def send_private(message: Message) -> None:
            # The page names the user and holds their CSRF token: no shared caching.
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "cache-control" not in headers:
                    headers["Cache-Control"] = "private, no-store"
            await send(message)

        await self.app(scope, receive, send_private)
