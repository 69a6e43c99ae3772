"""Tell a newly critical project's owners and maintainers, by email."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts.models import User
from bastion.config import Settings
from bastion.packaging.models import Project, Role

log = logging.getLogger(__name__)

# (to, subject, body) -> delivered; bastion.accounts.mail.Mailer.send fits.
Send = Callable[[str, str, str], Awaitable[None]]


async def maintainers_of(session: AsyncSession, name: str) -> list[tuple[str, str]]:
    """``(username, email)`` of the project's owners and maintainers (none if no project)."""
    rows = await session.execute(
        select(User.username, User.email)
        .join(Role, Role.user_id == User.id)
        .join(Project, Project.id == Role.project_id)
        .where(Project.normalized_name == name, User.is_active.is_(True))
        .order_by(User.username)
    )
    return [(username, email) for username, email in rows.all()]


def message(name: str, username: str, settings: Settings) -> tuple[str, str]:
    """Subject and body of the 'your project is now critical' email."""
    enforced: date | None = settings.mandate_enforced_from
    when = (
        f"from {enforced.isoformat()} on" if enforced
        else "once the index announces the date"
    )
    subject = f"[{settings.site_name}] {name} is now a critical project"
    body = (
        f"Hello {username},\n\n"
        f"The project {name}, which you maintain on {settings.site_name}, is now designated\n"
        "critical: it is among the most downloaded projects on the index.\n\n"
        "Everyone who uploads to or manages a critical project must use two-factor\n"
        f"authentication, {when}. Enable it at:\n\n"
        f"  {settings.base_url}/account/two-factor/\n\n"
        "API tokens created before you enabled two-factor authentication will stop\n"
        "working for this project; create new ones afterwards.\n"
    )
    return subject, body


async def notify_critical(
    session: AsyncSession, names: Iterable[str], settings: Settings, send: Send
) -> int:
    """Email every owner and maintainer of each name; returns messages sent.

    A failed delivery is logged and skipped: the designation stands either way.
    """
    sent = 0
    for name in names:
        for username, email in await maintainers_of(session, name):
            subject, body = message(name, username, settings)
            try:
                await send(email, subject, body)
                sent += 1
            except Exception:
                log.exception("could not email %s about critical project %s", email, name)
    return sent
