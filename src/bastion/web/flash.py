"""One-shot messages ("Release 1.0 of demo yanked.") kept in the server-side session
until the next page shows them: set before a redirect, shown once, then gone.

They live in ``web_sessions.flash`` (a JSON list), never in a cookie, so they need no
signing and cannot be forged or replayed. :func:`bastion.web.account_routes.page` takes
them for every page rendered under :class:`~bastion.web.session_route.SessionRoute`.
"""

from __future__ import annotations

import json
from typing import Literal

from starlette.requests import Request

from bastion.web.current_user import web_session

Level = Literal["success", "info", "warning"]
MAX_MESSAGES = 5  # a page never shows a pile of stale messages


async def flash(
    request: Request,
    message: str,
    level: Level = "success",
    link: tuple[str, str] | None = None,
) -> None:
    """Keep ``message`` (and an optional ``(href, text)`` link after it: a local path) for
    the next page this session sees."""
    row = await web_session(request)
    if row is None:
        return
    messages = json.loads(row.flash) if row.flash else []
    item = {"level": level, "message": message}
    if link is not None and link[0].startswith("/") and not link[0].startswith("//"):
        item.update(href=link[0], link_text=link[1])
    messages.append(item)
    row.flash = json.dumps(messages[-MAX_MESSAGES:])


async def take_flashes(request: Request) -> list[dict[str, str]]:
    """The messages waiting for this session, removed as they are read."""
    row = await web_session(request)
    if row is None or not row.flash:
        return []
    messages: list[dict[str, str]] = json.loads(row.flash)
    row.flash = None
    return messages
