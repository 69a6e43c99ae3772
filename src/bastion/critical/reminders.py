"""The once-per-user mandate reminder: an email to each maintainer of a critical project
who still has no second factor, once ``Settings.mandate_enforced_from`` is set.

"Once" is kept by an audit event ``mandate:reminder`` per user: a user who has one is
never reminded again (the "now critical" email, when it told them the date, records
one too). Each reminder is committed as it is sent, so a failure half-way resends
nothing already sent.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts import notices
from bastion.accounts.mail import Mailer
from bastion.accounts.models import User
from bastion.audit.events import record
from bastion.audit.models import AuditEvent
from bastion.clock import Clock
from bastion.config import Settings
from bastion.critical.mandate_notice import affected_projects, requirement, two_factor_link
from bastion.critical.models import CriticalProject
from bastion.db.engine import Database
from bastion.packaging.models import Project, Role

log = logging.getLogger(__name__)

REMINDER_TAG = "mandate:reminder"


async def record_reminder(
    session: AsyncSession,
    user_id: int,
    projects: Sequence[str],
    settings: Settings,
    now: datetime,
) -> None:
    """Note that ``user_id`` was told about the mandate (the caller commits)."""
    enforced = settings.mandate_enforced_from
    record(
        session,
        tag=REMINDER_TAG,
        when=now,
        user_id=user_id,
        projects=list(projects),
        enforced_from=enforced.isoformat() if enforced else None,
    )


async def _candidates(session: AsyncSession) -> list[tuple[int, str, str]]:
    """Active users with a role on a critical project and no reminder yet, by id."""
    reminded = exists().where(AuditEvent.tag == REMINDER_TAG, AuditEvent.user_id == User.id)
    rows = await session.execute(
        select(User.id, User.username, User.email)
        .join(Role, Role.user_id == User.id)
        .join(Project, Project.id == Role.project_id)
        .join(CriticalProject, CriticalProject.normalized_name == Project.normalized_name)
        .where(User.is_active.is_(True), ~reminded)
        .distinct()
        .order_by(User.id)
    )
    return [(user_id, username, email) for user_id, username, email in rows.all()]


def reminder_message(
    username: str, projects: Sequence[str], settings: Settings, now: datetime
) -> tuple[str, str]:
    """Subject and body of the reminder email."""
    mail = notices.render(
        "mandate_reminder",
        settings,
        username=username,
        requirement=requirement(projects, settings, now.date()),
        link=two_factor_link(settings),
    )
    return mail.subject, mail.body


async def send_mandate_reminders(
    db: Database, *, settings: Settings, clock: Clock, mailer: Mailer
) -> int:
    """Remind every affected maintainer not yet reminded; returns emails sent.

    Does nothing while ``mandate_enforced_from`` is empty (announce-only). A failed
    delivery is logged and retried on the next run. Each reminder is sent, then recorded
    and committed on its own, so this takes the ``Database`` rather than a session.
    """
    if settings.mandate_enforced_from is None:
        return 0
    sent = 0
    async with db.session() as session:
        for user_id, username, email in await _candidates(session):
            projects = await affected_projects(session, user_id)
            if not projects:
                continue
            now = clock.now()
            subject, body = reminder_message(username, projects, settings, now)
            try:
                await mailer.send(email, subject, body)
            except Exception:
                log.exception("could not send the 2FA mandate reminder to user %s", user_id)
                continue
            await record_reminder(session, user_id, projects, settings, now)
            await session.commit()
            sent += 1
    return sent
