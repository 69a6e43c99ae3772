"""Who hears about a protection decision, and the mail they get.

Mail is sent after the decision is committed and never fails the request: an unreachable
mail server is logged (``bastion.accounts.notices.send``, template ``protection_notice``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts.mail import Mailer
from bastion.accounts.models import User
from bastion.accounts.notices import send as send_notice
from bastion.packaging.models import Project, Role


@dataclass(frozen=True)
class Notice:
    """One mail to one person."""

    user_id: int
    email: str
    subject: str
    body: str


async def owners_of(session: AsyncSession, project: Project) -> list[User]:
    """The project's owners and maintainers, owners first."""
    rows = await session.execute(
        select(User, Role.role_name)
        .join(Role, Role.user_id == User.id)
        .where(Role.project_id == project.id, User.is_active.is_(True))
        .order_by(Role.role_name.desc(), User.username)
    )
    return [user for user, _role in rows.all()]


async def notices_to_maintainers(
    session: AsyncSession, project: Project, subject: str, body: str
) -> list[Notice]:
    """The same message to each of the project's owners and maintainers."""
    return [
        Notice(user_id=u.id, email=u.email, subject=subject, body=body)
        for u in await owners_of(session, project)
    ]


async def send_all(mailer: Mailer, notices: list[Notice]) -> None:
    for notice in notices:
        await send_notice(
            mailer,
            notice.email,
            "protection_notice",
            user_id=notice.user_id,
            subject=notice.subject,
            body=notice.body,
        )


def signature(site_name: str, base_url: str) -> str:
    return f"\n\n-- \n{site_name} ({base_url.rstrip('/')}/)\n"
