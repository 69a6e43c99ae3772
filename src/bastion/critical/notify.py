"""Tell a newly critical project's owners and maintainers, by email."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts import notices
from bastion.accounts.models import User
from bastion.accounts.twofactor.status import has_two_factor
from bastion.config import Settings
from bastion.critical.mandate_notice import two_factor_link
from bastion.packaging.models import Project, Role

log = logging.getLogger(__name__)

# (to, subject, body) -> delivered; bastion.accounts.mail.Mailer.send fits.
Send = Callable[[str, str, str], Awaitable[None]]


async def _people_of(session: AsyncSession, name: str) -> list[tuple[int, str, str]]:
    """``(user id, username, email)`` of the project's active owners and maintainers."""
    rows = await session.execute(
        select(User.id, User.username, User.email)
        .join(Role, Role.user_id == User.id)
        .join(Project, Project.id == Role.project_id)
        .where(Project.normalized_name == name, User.is_active.is_(True))
        .order_by(User.username)
    )
    return [(user_id, username, email) for user_id, username, email in rows.all()]


async def maintainers_of(session: AsyncSession, name: str) -> list[tuple[str, str]]:
    """``(username, email)`` of the project's owners and maintainers (none if no project)."""
    return [(username, email) for _, username, email in await _people_of(session, name)]


def message(
    name: str,
    username: str,
    settings: Settings,
    *,
    has_two_factor: bool = False,
    today: date | None = None,
    why: str = "it is among the most downloaded projects on the index",
) -> tuple[str, str]:
    """Subject and body of the 'your project is now critical' email.

    Without a second factor the body states the mandate date and where to enable one;
    with one, it says nothing changes for the user but old API tokens.
    """
    enforced: date | None = settings.mandate_enforced_from
    when = f"from {enforced.isoformat()} on" if enforced else "once the index announces the date"
    if enforced is not None and today is not None and today >= enforced:
        when = f"already now (since {enforced.isoformat()})"
    mail = notices.render(
        "critical_designated",
        settings,
        name=name,
        username=username,
        has_two_factor=has_two_factor,
        when=when,
        link=two_factor_link(settings),
        why=why,
    )
    return mail.subject, mail.body


async def notify_critical(
    session: AsyncSession,
    names: Iterable[str],
    settings: Settings,
    send: Send,
    *,
    now: datetime | None = None,
) -> int:
    """Email every owner and maintainer of each name; returns messages sent.

    A maintainer without a second factor is told the mandate date and the 2FA link;
    when the date is set, that email counts as their one mandate reminder (an audit
    event ``mandate:reminder``, committed here), so the daily reminder skips them.
    A failed delivery is logged and skipped: the designation stands either way.
    """
    from bastion.critical.policy import critical_reason
    from bastion.critical.reminders import record_reminder

    sent = 0
    for name in names:
        why = await critical_reason(session, name)
        for user_id, username, email in await _people_of(session, name):
            with_2fa = await has_two_factor(session, user_id)
            subject, body = message(
                name,
                username,
                settings,
                has_two_factor=with_2fa,
                today=now.date() if now else None,
                **({"why": why} if why else {}),
            )
            try:
                await send(email, subject, body)
                sent += 1
            except Exception:
                log.exception("could not email %s about critical project %s", email, name)
                continue
            if not with_2fa and settings.mandate_enforced_from is not None and now is not None:
                await record_reminder(session, user_id, [name], settings, now)
                await session.commit()
    return sent
