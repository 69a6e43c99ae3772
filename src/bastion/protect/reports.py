"""Malware reports from signed-in users, the trusted-reporter role, automatic quarantine.

Any signed-in user may report a project (or one release) as malware, once per project and
version while the report is open. A trusted reporter's report (a role admins grant) weighs
``report_trusted_weight`` in the review queue, and ``report_auto_quarantine_trusted``
distinct trusted reporters quarantine a project younger than ``report_young_project_days``
at once (the project's maintainers are told; an admin reviews it like any quarantine).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts.models import User
from bastion.accounts.notices import Notice
from bastion.accounts.users import get_user
from bastion.audit.events import RequestContext, record
from bastion.config import Settings
from bastion.errors import BadRequest, Conflict, NotFound
from bastion.packaging.changes import live_project, live_release
from bastion.packaging.models import Project
from bastion.protect.models import MalwareReport, TrustedReporter
from bastion.protect.notices import notices_to_maintainers
from bastion.protect.quarantine import set_project_status
from bastion.protect.status import ACTIVE, QUARANTINED

REASON_REQUIRED = "Say why you think this is malware: what it does, where you saw it."


@dataclass(frozen=True)
class ReportResult:
    id: int
    project: str  # normalised
    version: str | None
    trusted: bool
    quarantined: bool  # this report tipped the project into automatic quarantine
    # The maintainers' mail (after an automatic quarantine), to send once committed.
    notices: tuple[Notice, ...] = ()


async def is_trusted(session: AsyncSession, user_id: int) -> bool:
    return await session.get(TrustedReporter, user_id) is not None


def clean_report_reason(reason: str, max_length: int) -> str:
    text = (reason or "").strip()
    if not text:
        raise BadRequest(REASON_REQUIRED)
    if len(text) > max_length:
        raise BadRequest(f"The reason is too long: keep it under {max_length} characters.")
    return text


async def _trusted_reporters(session: AsyncSession, project_name: str) -> int:
    return int(
        await session.scalar(
            select(func.count(func.distinct(MalwareReport.reporter_id))).where(
                MalwareReport.project_name == project_name,
                MalwareReport.state == "open",
                MalwareReport.trusted.is_(True),
            )
        )
        or 0
    )


async def report_malware(
    session: AsyncSession,
    name: str,
    version: str | None,
    *,
    reporter: User,
    reason: str,
    settings: Settings,
    now: datetime,
    context: RequestContext | None = None,
) -> ReportResult:
    """Record a report; 404 for an unknown project or release, 409 for a repeat."""
    text = clean_report_reason(reason, settings.report_reason_max_length)
    project = await live_project(session, name)
    if project.status != ACTIVE and not reporter.is_admin:
        # Readers cannot see it; saying more would reveal a hidden project.
        raise NotFound(f"There is no project named '{name}' on this index.")
    if version:
        version = (await live_release(session, project, version)).version
    existing = await session.scalar(
        select(MalwareReport.id).where(
            MalwareReport.project_name == project.normalized_name,
            MalwareReport.version.is_(None) if not version else MalwareReport.version == version,
            MalwareReport.reporter_id == reporter.id,
            MalwareReport.state == "open",
        )
    )
    if existing is not None:
        raise Conflict(
            f"You have already reported {project.name}"
            f"{' ' + version if version else ''}; an administrator will review it."
        )
    trusted = await is_trusted(session, reporter.id)
    row = MalwareReport(
        project_name=project.normalized_name,
        version=version or None,
        reporter_id=reporter.id,
        trusted=trusted,
        reason=text,
        created=now,
        state="open",
    )
    session.add(row)
    await session.flush()
    record(
        session,
        tag="protect:report",
        when=now,
        context=context,
        user_id=reporter.id,
        project_name=project.normalized_name,
        version=version or None,
        trusted=trusted,
        report_id=row.id,
    )
    quarantined = trusted and await _auto_quarantine(session, settings, project, now)
    notices = (
        await notices_to_maintainers(
            session, project, settings, "reports_quarantine", project=project.name
        )
        if quarantined
        else ()
    )
    return ReportResult(
        row.id, project.normalized_name, version or None, trusted, quarantined, notices
    )


async def _auto_quarantine(
    session: AsyncSession, settings: Settings, project: Project, now: datetime
) -> bool:
    needed = settings.report_auto_quarantine_trusted
    if needed <= 0 or project.status != ACTIVE:
        return False
    if now - project.created > timedelta(days=settings.report_young_project_days):
        return False
    count = await _trusted_reporters(session, project.normalized_name)
    if count < needed:
        return False
    await set_project_status(
        session,
        project,
        QUARANTINED,
        f"reported as malware by {count} trusted reporters",
        when=now,
        user_id=None,
    )
    record(
        session,
        tag="protect:auto-quarantine",
        when=now,
        project_name=project.normalized_name,
        trusted_reports=count,
    )
    return True


async def set_trusted_reporter(
    session: AsyncSession,
    username: str,
    trusted: bool,
    *,
    by: str,
    now: datetime,
    by_user_id: int | None = None,
    context: RequestContext | None = None,
) -> bool:
    """Grant (or take away) the trusted-reporter role; False when nothing changed."""
    user = await get_user(session, username)
    if user is None:
        raise NotFound(f"There is no user named '{username}' on this index.")
    row = await session.get(TrustedReporter, user.id)
    if (row is not None) == trusted:
        return False
    if trusted:
        session.add(TrustedReporter(user_id=user.id, granted_at=now, granted_by=by))
    else:
        await session.delete(row)
    record(
        session,
        tag="protect:trusted-reporter:" + ("grant" if trusted else "revoke"),
        when=now,
        context=context,
        user_id=by_user_id,
        subject=user.username,
        by=by,
    )
    return True


async def trusted_reporters(session: AsyncSession) -> list[tuple[str, TrustedReporter]]:
    rows = await session.execute(
        select(User.username, TrustedReporter)
        .join(User, User.id == TrustedReporter.user_id)
        .order_by(User.username)
    )
    return [(name, row) for name, row in rows.all()]
