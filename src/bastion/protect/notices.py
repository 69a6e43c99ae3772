"""Who hears about a protection decision, and the mail they get.

Each protection email is a template of its own in ``accounts/templates/email/``
(``project_held``, ``scan_finding``, ``review_decision``, ``reports_quarantine``), rendered
here per person by :func:`bastion.accounts.notices.notice`. The decisions return the
notices; their callers send them after the commit with
:func:`bastion.accounts.notices.send_after` (an unreachable mail server is logged).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts.email_links import page_link
from bastion.accounts.models import User
from bastion.accounts.notices import Notice, notice
from bastion.config import Settings
from bastion.packaging.models import Project, Role


async def owners_of(session: AsyncSession, project: Project) -> list[User]:
    """The project's owners and maintainers, owners first."""
    rows = await session.execute(
        select(User, Role.role_name)
        .join(Role, Role.user_id == User.id)
        .where(Role.project_id == project.id, User.is_active.is_(True))
        .order_by(Role.role_name.desc(), User.username)
    )
    return [user for user, _role in rows.all()]


def notice_to(user: User, settings: Settings, template: str, /, **values: Any) -> Notice:
    """``template`` for ``user``, signed with a link to the site."""
    return notice(
        settings,
        user.email,
        template,
        user_id=user.id,
        username=user.username,
        home_link=page_link(settings, "home"),
        **values,
    )


async def notices_to_maintainers(
    session: AsyncSession, project: Project, settings: Settings, template: str, /, **values: Any
) -> tuple[Notice, ...]:
    """``template`` for each of the project's owners and maintainers."""
    return tuple(
        notice_to(user, settings, template, **values) for user in await owners_of(session, project)
    )
