"""The route class of the account pages: one database session per request, the session
cookie, redirects raised from dependencies, and a strict Content-Security-Policy.

Dependencies in :mod:`bastion.web.current_user` rely on what this class puts on
``request.state``; every router that uses them is built with ``route_class=SessionRoute``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bastion.web.session_cookies import clear_cookie, set_cookie

# Sign-in and account pages: only our own script, style and images; no framing, no
# plugins, forms post only to us. No third-party script can wrap navigator.credentials.
STRICT_CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    )
)


class Redirect(Exception):
    """Raised by a dependency to send the browser elsewhere (303 See Other)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


def _finish(request: Request, response: Response) -> Response:
    settings = request.app.state.services.settings
    new_cookie: str | None = getattr(request.state, "new_session_cookie", None)
    if new_cookie:
        set_cookie(response, settings, new_cookie)
    elif getattr(request.state, "clear_session_cookie", False):
        clear_cookie(response, settings)
    response.headers["Content-Security-Policy"] = STRICT_CSP
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


class SessionRoute(APIRoute):
    """Wraps each handler in a database session committed when the handler returns."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            services: Any = request.app.state.services
            async with services.db.session() as db:
                request.state.db = db
                try:
                    response = await handler(request)
                except Redirect as redirect:
                    response = RedirectResponse(redirect.url, status_code=303)
                except BaseException:
                    await db.rollback()
                    raise
                await db.commit()
            return _finish(request, response)

        return route
