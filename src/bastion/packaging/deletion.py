"""Soft deletion of a file, a release or a whole project.

Nothing is removed: the row gets a tombstone (``deleted_at``, ``deleted_by_id``,
``delete_reason``) and every read path ignores it; rows, roles and blobs stay for
``Settings.deletion_retention_days`` so an admin can restore exactly what was there
(packaging.restore) until the purge job (packaging.purge) removes them.

Who may delete: owners (with the 2FA mandate's ``delete`` action). On a critical
project maintainers and owners are refused with "yank instead" guidance and only an
admin (or an operator at the command line) can delete, with a reason — unless a
private index turns ``critical_deletion_admin_only`` off.

The three entry points (project, release, file) find what they delete and add to the
caller's transaction through one shared step (:func:`_delete`): authorize, tombstone,
journal, audit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from packaging.utils import canonicalize_name
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.audit.events import RequestContext
from bastion.authz import Action, authorize
from bastion.clock import Clock
from bastion.config import Settings
from bastion.errors import BadRequest, NotFound
from bastion.packaging.changes import (
    Actor,
    Kind,
    Operator,
    Target,
    actor_id,
    clean_reason,
    live_project,
    live_release,
    record_change,
)
from bastion.packaging.models import File, Project, Release


@dataclass(frozen=True)
class DeletionResult:
    kind: Kind
    project: str  # normalised name
    version: str | None
    filename: str | None
    files: int  # files that went out of service with it
    serial: int
    deleted_at: datetime


def check_typed_name(project_name: str, typed: str) -> None:
    """The confirmation step of the UI: the project's name, typed by hand."""
    if canonicalize_name(typed.strip() or "-") != canonicalize_name(project_name):
        raise BadRequest(
            f"To confirm, type the project's name exactly: '{project_name}'. Nothing was deleted."
        )


def check_typed_version(version: str, typed: str) -> None:
    """The confirmation step for deleting a release: its version, typed by hand (PyPI's)."""
    if typed.strip() != version:
        raise BadRequest(f"To confirm, type the version exactly: '{version}'. Nothing was deleted.")


async def authorize_delete(
    session: AsyncSession,
    settings: Settings,
    clock: Clock,
    actor: Actor,
    project: Project,
    reason: str,
) -> str:
    """Raise unless ``actor`` may delete from ``project``; returns how they may ('owner'...)."""
    await authorize(session, settings, clock, actor, Action.DELETE, project, reason=reason)
    if isinstance(actor, Operator):
        return "operator"
    return "admin" if actor.user.is_admin else "owner"


async def _live_files(session: AsyncSession, release_ids: list[int]) -> int:
    if not release_ids:
        return 0
    rows = await session.scalars(
        select(File.id).where(File.release_id.in_(release_ids), File.deleted_at.is_(None))
    )
    return len(rows.all())


async def _delete(
    session: AsyncSession,
    target: Target,
    files: int,
    details: dict[str, Any],
    *,
    by: Actor,
    reason: str,
    settings: Settings,
    clock: Clock,
    context: RequestContext | None,
) -> DeletionResult:
    """Authorize ``by``, tombstone the row, journal it and audit it (``details``: the
    event's own, beside the reason and the authority)."""
    project = target.project
    how = await authorize_delete(session, settings, clock, by, project, reason)
    now = clock.now()
    row = target.row
    row.deleted_at = now
    row.deleted_by_id = actor_id(by)
    row.delete_reason = reason or None
    serial = await record_change(
        session,
        target,
        verbs=("remove", "delete"),
        by=by,
        when=now,
        context=context,
        **details,
        reason=reason,
        authority=how,
    )
    return DeletionResult(
        target.kind,
        project.normalized_name,
        target.version,
        target.filename,
        files,
        serial,
        now,
    )


async def delete_project(
    session: AsyncSession,
    name: str,
    *,
    by: Actor,
    reason: str = "",
    settings: Settings,
    clock: Clock,
    context: RequestContext | None = None,
) -> DeletionResult:
    """Tombstone the whole project (its releases, files and roles stay as they are)."""
    reason = clean_reason(reason)
    project = await live_project(session, name)
    release_ids = list(
        await session.scalars(
            select(Release.id).where(Release.project_id == project.id, Release.deleted_at.is_(None))
        )
    )
    files = await _live_files(session, release_ids)
    return await _delete(
        session,
        Target("project", project, project),
        files,
        {"releases": len(release_ids), "files": files},
        by=by,
        reason=reason,
        settings=settings,
        clock=clock,
        context=context,
    )


async def delete_release(
    session: AsyncSession,
    name: str,
    version: str,
    *,
    by: Actor,
    reason: str = "",
    settings: Settings,
    clock: Clock,
    context: RequestContext | None = None,
) -> DeletionResult:
    """Tombstone one release (its files go out of service with it)."""
    reason = clean_reason(reason)
    project = await live_project(session, name)
    release = await live_release(session, project, version)
    files = await _live_files(session, [release.id])
    return await _delete(
        session,
        Target("release", project, release, release.version),
        files,
        {"files": files},
        by=by,
        reason=reason,
        settings=settings,
        clock=clock,
        context=context,
    )


async def find_live_file(session: AsyncSession, filename: str) -> tuple[Project, Release, File]:
    """The file with this name, in service (it, its release and its project not deleted)."""
    row = (
        await session.execute(
            select(Project, Release, File)
            .join(Release, File.release_id == Release.id)
            .join(Project, Release.project_id == Project.id)
            .where(File.filename == filename.strip())
        )
    ).one_or_none()
    if row is None or any(r.deleted_at is not None for r in row):
        raise NotFound(f"There is no file named '{filename}' on this index.")
    project, release, file = row
    return project, release, file


async def delete_file(
    session: AsyncSession,
    filename: str,
    *,
    by: Actor,
    reason: str = "",
    settings: Settings,
    clock: Clock,
    context: RequestContext | None = None,
) -> DeletionResult:
    """Tombstone one file; its filename stays used for ever (FilenameRegistry)."""
    reason = clean_reason(reason)
    project, release, file = await find_live_file(session, filename)
    return await _delete(
        session,
        Target("file", project, file, release.version, file.filename),
        1,
        {"sha256": file.sha256_digest},
        by=by,
        reason=reason,
        settings=settings,
        clock=clock,
        context=context,
    )
