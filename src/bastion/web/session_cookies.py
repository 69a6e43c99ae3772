"""The session cookie: how the browser carries a web session's id."""

from __future__ import annotations

from starlette.responses import Response

from bastion.accounts.sessions import COOKIE_NAME
from bastion.config import Settings


def set_cookie(response: Response, settings: Settings, raw_id: str) -> None:
    """HttpOnly, SameSite=Lax, Secure when the site is served over https."""
    response.set_cookie(
        COOKIE_NAME,
        raw_id,
        max_age=settings.session_absolute_hours * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.base_url.startswith("https://"),
    )


def clear_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        COOKIE_NAME,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.base_url.startswith("https://"),
    )
