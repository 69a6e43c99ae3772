"""Bring back exactly what a deletion took: same rows, files, hashes, upload times, roles.

Restoring clears the tombstone of the one row that was deleted; what had been deleted
separately before (a file, a release) stays deleted. Admins and operators only.
Refused with a clear error when the blobs were purged (the rows with them, or the
files gone from storage) or the name now belongs to another project.

The three entry points (project, release, file) check what they restore and add to the
caller's transaction through one shared step (:func:`_restore`): blobs present, tombstone
cleared, journal, audit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.audit.events import RequestContext
from bastion.authz import Action, authorize
from bastion.clock import Clock
from bastion.config import Settings
from bastion.errors import Conflict, Gone, NotFound
from bastion.packaging.changes import (
    Actor,
    Kind,
    Target,
    any_project,
    any_release,
    record_change,
)
from bastion.packaging.models import File, FilenameRegistry, Project, Release
from bastion.packaging.names import normalize_name
from bastion.packaging.tombstones import purged_since, release_name_hint
from bastion.storage.interface import FileStore


@dataclass(frozen=True)
class RestoreResult:
    kind: Kind
    project: str
    version: str | None
    filename: str | None
    files: int
    serial: int


async def authorize_restore(
    session: AsyncSession, settings: Settings, clock: Clock, actor: Actor, name: str
) -> None:
    await authorize(session, settings, clock, actor, Action.RESTORE, None, name=name)


def _purged_error(what: str, when: datetime) -> Gone:
    return Gone(
        f"Cannot restore {what}: it was purged on {when.date().isoformat()} after the "
        f"retention period, and its files are gone for good."
    )


async def _files_to_serve(session: AsyncSession, release_ids: list[int]) -> list[File]:
    if not release_ids:
        return []
    return list(
        await session.scalars(
            select(File).where(File.release_id.in_(release_ids), File.deleted_at.is_(None))
        )
    )


async def _restore(
    session: AsyncSession,
    target: Target,
    what: str,
    files: list[File],
    details: dict[str, Any],
    *,
    by: Actor,
    clock: Clock,
    store: FileStore,
    context: RequestContext | None,
) -> RestoreResult:
    """Gone unless every file's blob is still in the store; else clear the tombstone,
    journal it and audit it (``details``: the event's own). ``what`` names the target in
    the error ("release 1.0 of 'demo'")."""
    missing = [f.filename for f in files if not await store.exists(f.path)]
    if missing:
        raise Gone(
            f"Cannot restore {what}: the stored files were purged: "
            f"{', '.join(sorted(missing))}. Nothing was restored."
        )
    row = target.row
    row.deleted_at = None
    row.deleted_by_id = None
    row.delete_reason = None
    serial = await record_change(
        session,
        target,
        verbs=("restore", "restore"),
        by=by,
        when=clock.now(),
        context=context,
        **details,
    )
    return RestoreResult(
        target.kind,
        target.project.normalized_name,
        target.version,
        target.filename,
        len(files),
        serial,
    )


async def restore_project(
    session: AsyncSession,
    name: str,
    *,
    by: Actor,
    settings: Settings,
    clock: Clock,
    store: FileStore,
    context: RequestContext | None = None,
) -> RestoreResult:
    """Undelete a project: it serves again what it served when it was deleted."""
    normalized = normalize_name(name)
    await authorize_restore(session, settings, clock, by, normalized)
    project = await any_project(session, normalized)
    purged = await purged_since(session, normalized, None, kind="project")
    if project is None:
        if purged is not None:
            raise _purged_error(f"project '{name}'", purged)
        raise NotFound(f"There is no deleted project named '{name}'.")
    if project.deleted_at is None:
        if purged is not None:
            raise Conflict(
                f"Cannot restore project '{name}': it was purged on "
                f"{purged.date().isoformat()} and the name now belongs to another project."
            )
        raise Conflict(f"Project '{project.name}' is not deleted: nothing to restore.")
    purged = await purged_since(session, normalized, project.deleted_at, kind="project")
    if purged is not None:  # a critical project: its emptied row keeps the name
        raise Gone(
            f"{_purged_error(f'project {project.name!r}', purged).message} Its name stays "
            f"reserved (it was critical); {release_name_hint(normalized)}."
        )
    release_ids = list(
        await session.scalars(
            select(Release.id).where(Release.project_id == project.id, Release.deleted_at.is_(None))
        )
    )
    files = await _files_to_serve(session, release_ids)
    details = {
        "deleted_at": project.deleted_at.isoformat(),
        "releases": len(release_ids),
        "files": len(files),
    }
    return await _restore(
        session,
        Target("project", project, project),
        f"project '{project.name}'",
        files,
        details,
        by=by,
        clock=clock,
        store=store,
        context=context,
    )


async def _live_parent(session: AsyncSession, name: str) -> Project:
    project = await any_project(session, name)
    if project is None:
        raise NotFound(f"There is no project named '{name}'.")
    if project.deleted_at is not None:
        raise Conflict(
            f"Project '{project.name}' is deleted: restore the project first "
            f"(bastion admin restore project {project.normalized_name})."
        )
    return project


async def restore_release(
    session: AsyncSession,
    name: str,
    version: str,
    *,
    by: Actor,
    settings: Settings,
    clock: Clock,
    store: FileStore,
    context: RequestContext | None = None,
) -> RestoreResult:
    normalized = normalize_name(name)
    await authorize_restore(session, settings, clock, by, normalized)
    project = await _live_parent(session, normalized)
    release = await any_release(session, project, version)
    if release is None:
        purged = await purged_since(session, normalized, None, kind="release", version=version)
        if purged is not None:
            raise _purged_error(f"release {version} of '{project.name}'", purged)
        raise NotFound(f"Project '{project.name}' has no release '{version}'.")
    if release.deleted_at is None:
        raise Conflict(f"Release {release.version} of '{project.name}' is not deleted.")
    files = await _files_to_serve(session, [release.id])
    return await _restore(
        session,
        Target("release", project, release, release.version),
        f"release {release.version} of '{project.name}'",
        files,
        {"files": len(files)},
        by=by,
        clock=clock,
        store=store,
        context=context,
    )


async def restore_file(
    session: AsyncSession,
    filename: str,
    *,
    by: Actor,
    settings: Settings,
    clock: Clock,
    store: FileStore,
    context: RequestContext | None = None,
) -> RestoreResult:
    filename = filename.strip()
    row = (
        await session.execute(
            select(Project, Release, File)
            .join(Release, File.release_id == Release.id)
            .join(Project, Release.project_id == Project.id)
            .where(File.filename == filename)
        )
    ).one_or_none()
    if row is None:
        used = await session.scalar(
            select(FilenameRegistry.id).where(FilenameRegistry.filename == filename)
        )
        if used is not None:
            raise Gone(
                f"Cannot restore '{filename}': it was purged after the retention period, "
                "and its file is gone for good."
            )
        raise NotFound(f"There is no file named '{filename}' on this index.")
    project, release, file = row
    await authorize_restore(session, settings, clock, by, project.normalized_name)
    if project.deleted_at is not None:
        raise Conflict(
            f"Project '{project.name}' is deleted: restore the project first "
            f"(bastion admin restore project {project.normalized_name})."
        )
    if release.deleted_at is not None:
        raise Conflict(
            f"Release {release.version} of '{project.name}' is deleted: restore it first "
            f"(bastion admin restore release {project.normalized_name} {release.version})."
        )
    if file.deleted_at is None:
        raise Conflict(f"File '{filename}' is not deleted.")
    return await _restore(
        session,
        Target("file", project, file, release.version, filename),
        f"'{filename}'",
        [file],
        {},
        by=by,
        clock=clock,
        store=store,
        context=context,
    )
