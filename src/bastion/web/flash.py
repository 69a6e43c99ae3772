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


async def flash(request: Request, message: str, level: Level = "success") -> None:
    """Keep ``message`` for the next page this session sees."""
    row = await web_session(request)
    if row is None:
        return
    messages = json.loads(row.flash) if row.flash else []
    messages.append({"level": level, "message": message})
    row.flash = json.dumps(messages[-MAX_MESSAGES:])


async def take_flashes(request: Request) -> list[dict[str, str]]:
    """The messages waiting for this session, removed as they are read."""
    row = await web_session(request)
    if row is None or not row.flash:
        return []
    messages: list[dict[str, str]] = json.loads(row.flash)
    row.flash = None
    return messages
