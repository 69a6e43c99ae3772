"""What a tombstone (a soft-deleted project or release) reserves, and until when.

A deleted project's name is not registrable while its tombstone exists (the
retention period; a critical project's emptied row survives the purge, so its name
stays reserved until an administrator releases it: ``bastion admin release-name``),
and a deleted release's version cannot take new files.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.audit.models import AuditEvent
from bastion.config import Settings
from bastion.critical.policy import is_critical
from bastion.errors import BadRequest, Forbidden
from bastion.packaging.models import Project, Release
from bastion.packaging.names import normalize_name

PURGE_TAG = "project:purge"


def retained_until(deleted_at: datetime, settings: Settings) -> datetime:
    """When a tombstone deleted at ``deleted_at`` becomes purgeable."""
    return deleted_at + timedelta(days=settings.deletion_retention_days)


def restore_hint(name: str) -> str:
    return f"an administrator can restore it (bastion admin restore project {name})"


def release_name_hint(name: str) -> str:
    return (
        "an administrator can release the name for a new project "
        f"(bastion admin release-name {name} --reason TEXT)"
    )


async def purged_since(
    session: AsyncSession, name: str, since: datetime | None, **match: str
) -> datetime | None:
    """When the purge job removed this project's (or release's, file's) rows, if it did."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.tag == PURGE_TAG, AuditEvent.project_name == normalize_name(name))
        .order_by(AuditEvent.time.desc())
    )
    if since is not None:
        query = query.where(AuditEvent.time >= since)
    for event in await session.scalars(query):
        details = event.details or {}
        if all(details.get(k) == v for k, v in match.items()):
            return event.time
    return None


async def check_project_not_deleted(
    session: AsyncSession, settings: Settings, project: Project | None
) -> None:
    """403 when ``project`` is a tombstone: its name is reserved, nobody uploads to it."""
    if project is None or project.deleted_at is None:
        return
    name = project.normalized_name
    if await is_critical(session, name):
        purged = await purged_since(session, name, project.deleted_at, kind="project")
        if purged is not None:
            raise Forbidden(
                f"The name '{project.name}' belonged to a critical project that was deleted "
                f"and then purged on {purged.date().isoformat()}: its files are gone and it "
                f"cannot be restored. The name stays reserved; {release_name_hint(name)}."
            )
        raise Forbidden(
            f"The name '{project.name}' belongs to a deleted critical project and can never "
            f"be registered by anyone else; {restore_hint(name)}."
        )
    until = retained_until(project.deleted_at, settings).date().isoformat()
    raise Forbidden(
        f"The name '{project.name}' belongs to a project deleted on "
        f"{project.deleted_at.date().isoformat()} and is reserved until {until}; "
        f"if it is yours, {restore_hint(name)}."
    )


def check_release_not_deleted(project: Project, release: Release) -> None:
    """400 when uploading to a deleted release: its version is reserved with it."""
    if release.deleted_at is None:
        return
    raise BadRequest(
        f"Release {release.version} of project '{project.name}' was deleted on "
        f"{release.deleted_at.date().isoformat()}; its version cannot be reused. Upload a new "
        f"version, or ask an administrator to restore it "
        f"(bastion admin restore release {project.normalized_name} {release.version})."
    )
