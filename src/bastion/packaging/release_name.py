"""Release the name of a purged critical project, so a new project may take it.

A critical project's row survives the purge (empty: no releases, no files) to keep its
name reserved, because installers that trusted it may ask for it again. Only an
administrator (an operator at the command line) may free it, with a reason; it is
audited. The critical designation stays with the name (designations are never removed),
so whoever registers it next is under the 2FA mandate from the first upload; the
filenames it used stay unusable for ever (the filename registry).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.audit.events import RequestContext, record
from bastion.errors import Conflict, NotFound
from bastion.packaging.changes import Actor, actor_id, actor_label, any_project, clean_reason
from bastion.packaging.models import Project, Release, Role
from bastion.packaging.tombstones import purged_since, restore_hint


@dataclass(frozen=True)
class ReleasedName:
    name: str
    deleted_at: datetime
    purged_at: datetime


async def release_name(
    session: AsyncSession,
    name: str,
    *,
    by: Actor,
    reason: str,
    when: datetime,
    context: RequestContext | None = None,
) -> ReleasedName:
    """Remove the emptied row (and its roles) that reserves ``name``; audited."""
    reason = clean_reason(reason, required="Give a reason for releasing the name (--reason).")
    project = await any_project(session, name)
    if project is None:
        raise NotFound(f"No project holds the name '{name}': it is free already.")
    normalized = project.normalized_name
    if project.deleted_at is None:
        raise Conflict(f"Project '{project.name}' is not deleted: its name is in use.")
    purged = await purged_since(session, normalized, project.deleted_at, kind="project")
    releases = await session.scalar(
        select(func.count()).select_from(Release).where(Release.project_id == project.id)
    )
    if purged is None or releases:
        raise Conflict(
            f"Project '{project.name}' is deleted but not purged: {restore_hint(normalized)}, "
            "or release the name once `bastion admin purge` has removed it after retention."
        )
    await session.execute(delete(Role).where(Role.project_id == project.id))
    await session.execute(delete(Project).where(Project.id == project.id))
    record(
        session,
        tag="project:release-name",
        when=when,
        context=context,
        user_id=actor_id(by),
        project_name=normalized,
        by=actor_label(by),
        reason=reason,
        deleted_at=project.deleted_at.isoformat(),
        purged_at=purged.isoformat(),
    )
    return ReleasedName(normalized, project.deleted_at, purged)
