"""Security history: a project's or an account's audit events, newest first, by page."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from packaging.utils import canonicalize_name
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts.models import User
from bastion.audit.models import AuditEvent
from bastion.db.paging import Paged, offset
from bastion.errors import Forbidden


@dataclass(frozen=True)
class HistoryEvent:
    id: int
    time: datetime
    tag: str
    username: str | None
    project: str | None
    ip_address: str | None
    user_agent: str | None
    details: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["time"] = self.time.isoformat()
        return data


@dataclass(frozen=True)
class HistoryPage(Paged):
    events: list[HistoryEvent]
    total: int
    page: int
    per_page: int

    def to_json(self) -> dict[str, Any]:
        return {
            "events": [e.to_json() for e in self.events],
            "total": self.total,
            "page": self.page,
            "pages": self.pages,
            "per_page": self.per_page,
        }


async def _history(
    session: AsyncSession, where: ColumnElement[bool], page: int, per_page: int
) -> HistoryPage:
    total = (
        await session.execute(select(func.count()).select_from(AuditEvent).where(where))
    ).scalar_one()
    rows = (
        await session.execute(
            select(AuditEvent, User.username)
            .outerjoin(User, AuditEvent.user_id == User.id)
            .where(where)
            .order_by(AuditEvent.time.desc(), AuditEvent.id.desc())
            .offset(offset(page, per_page))
            .limit(per_page)
        )
    ).all()
    events = [
        HistoryEvent(
            id=e.id,
            time=e.time,
            tag=e.tag,
            username=username,
            project=e.project_name,
            ip_address=e.ip_address,
            user_agent=e.user_agent,
            details=dict(e.details or {}),
        )
        for e, username in rows
    ]
    return HistoryPage(events=events, total=int(total), page=page, per_page=per_page)


async def project_history(
    session: AsyncSession, name: str, *, page: int = 1, per_page: int = 50
) -> HistoryPage:
    """Every event about the project (uploads, yanks, deletions, restores, roles, critical)."""
    return await _history(
        session, AuditEvent.project_name == canonicalize_name(name), page, per_page
    )


async def user_history(
    session: AsyncSession, user_id: int, *, page: int = 1, per_page: int = 50
) -> HistoryPage:
    """Every event the user caused or that concerns their account (2FA, tokens, sign-ins)."""
    return await _history(session, AuditEvent.user_id == user_id, page, per_page)


async def check_can_view_project_history(session: AsyncSession, user: User, name: str) -> None:
    """Admins see every project's history; maintainers and owners their project's (even
    while it is deleted, since roles are kept)."""
    if user.is_admin:
        return
    from bastion.packaging.models import Project, Role

    role = await session.scalar(
        select(Role.role_name)
        .join(Project, Role.project_id == Project.id)
        .where(Project.normalized_name == canonicalize_name(name), Role.user_id == user.id)
    )
    if role is None:
        raise Forbidden(
            f"Only the maintainers and owners of '{name}' (and administrators) can see its "
            "security history."
        )
