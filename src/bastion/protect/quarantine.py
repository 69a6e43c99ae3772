"""Changing what is served: project status (hold, quarantine, release) and reserved names.

Each change journals (the project's serial moves, so every process's simple-page cache
sees it, this one as the transaction commits) and the caller adds the audit event.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.errors import BadRequest
from bastion.packaging.changes import journal
from bastion.packaging.models import Project
from bastion.packaging.names import normalize_name
from bastion.protect.models import ReservedName


async def set_project_status(
    session: AsyncSession,
    project: Project,
    status: str,
    reason: str | None,
    *,
    when: datetime,
    user_id: int | None,
) -> bool:
    """Give the project ``status`` (bastion.protect.status); False when it already had it."""
    if project.status == status and project.status_reason == reason:
        return False
    project.status = status
    project.status_reason = reason
    project.status_changed_at = when
    await journal(
        session, project, action=f"status {status}", version=None, user_id=user_id, when=when
    )
    return True


async def reserved_reason(session: AsyncSession, name: str) -> str | None:
    """Why nobody may create ``name`` (a rejected or forbidden name), or None."""
    row = await session.get(ReservedName, normalize_name(name))
    return None if row is None else row.reason


async def reserve_name(
    session: AsyncSession, name: str, reason: str, *, when: datetime, by: str
) -> None:
    """Keep ``name`` from ever being created again (idempotent; the first reason stays)."""
    normalized = normalize_name(name)
    if await session.get(ReservedName, normalized) is None:
        session.add(
            ReservedName(normalized_name=normalized, reason=reason, created=when, created_by=by)
        )
        await session.flush()


def reserved_message(name: str, reason: str) -> str:
    """Why a reserved name cannot be created (the message twine prints)."""
    return (
        f"The name '{name}' is not available on this index: an administrator has "
        f"reserved it ({reason}). Choose another name."
    )


async def check_not_reserved(session: AsyncSession, name: str) -> None:
    """400 when the name is reserved."""
    reason = await reserved_reason(session, name)
    if reason is not None:
        raise BadRequest(reserved_message(name, reason))


async def reserved_names(session: AsyncSession) -> list[ReservedName]:
    return list(await session.scalars(select(ReservedName).order_by(ReservedName.created)))
