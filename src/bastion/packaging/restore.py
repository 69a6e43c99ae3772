"""Bring back exactly what a deletion took: same rows, files, hashes, upload times, roles.

Restoring clears the tombstone of the one row that was deleted; what had been deleted
separately before (a file, a release) stays deleted. Admins and operators only.
Refused with a clear error when the blobs were purged (the rows with them, or the
files gone from storage) or the name now belongs to another project.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.audit.events import RequestContext, record
from bastion.authz import Action, authorize
from bastion.errors import Conflict, Gone, NotFound
from bastion.packaging.changes import (
    Actor,
    actor_id,
    actor_label,
    any_project,
    any_release,
    journal,
)
from bastion.packaging.models import File, FilenameRegistry, Project, Release
from bastion.packaging.names import normalize_name
from bastion.packaging.tombstones import purged_since, release_name_hint
from bastion.services import Services


@dataclass(frozen=True)
class RestoreResult:
    kind: str
    project: str
    version: str | None
    filename: str | None
    files: int
    serial: int


async def authorize_restore(
    session: AsyncSession, services: Services, actor: Actor, name: str
) -> None:
    await authorize(
        session, services.settings, services.clock, actor, Action.RESTORE, None, name=name
    )


def _purged_error(what: str, when: datetime) -> Gone:
    return Gone(
        f"Cannot restore {what}: it was purged on {when.date().isoformat()} after the "
        f"retention period, and its files are gone for good."
    )


async def _check_blobs(services: Services, what: str, files: list[File]) -> None:
    """Gone unless every file's blob is still in the store."""
    missing = [f.filename for f in files if not await services.store.exists(f.path)]
    if missing:
        raise Gone(
            f"Cannot restore {what}: the stored files were purged: {', '.join(sorted(missing))}. "
            "Nothing was restored."
        )


async def _files_to_serve(session: AsyncSession, release_ids: list[int]) -> list[File]:
    if not release_ids:
        return []
    return list(
        await session.scalars(
            select(File).where(File.release_id.in_(release_ids), File.deleted_at.is_(None))
        )
    )


def _clear(row: Project | Release | File) -> None:
    row.deleted_at = None
    row.deleted_by_id = None
    row.delete_reason = None


async def restore_project(
    services: Services, name: str, *, by: Actor, context: RequestContext | None = None
) -> RestoreResult:
    """Undelete a project: it serves again what it served when it was deleted."""
    normalized = normalize_name(name)
    async with services.db.transaction() as session:
        await authorize_restore(session, services, by, normalized)
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
                select(Release.id).where(
                    Release.project_id == project.id, Release.deleted_at.is_(None)
                )
            )
        )
        files = await _files_to_serve(session, release_ids)
        await _check_blobs(services, f"project '{project.name}'", files)
        deleted_at = project.deleted_at
        _clear(project)
        now = services.clock.now()
        serial = await journal(
            session, project, action="restore project", version=None, user_id=actor_id(by), when=now
        )
        record(
            session,
            tag="project:restore",
            when=now,
            context=context,
            user_id=actor_id(by),
            project_name=normalized,
            by=actor_label(by),
            deleted_at=deleted_at.isoformat(),
            releases=len(release_ids),
            files=len(files),
        )
        result = RestoreResult("project", normalized, None, None, len(files), serial)
    return result


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
    services: Services,
    name: str,
    version: str,
    *,
    by: Actor,
    context: RequestContext | None = None,
) -> RestoreResult:
    normalized = normalize_name(name)
    async with services.db.transaction() as session:
        await authorize_restore(session, services, by, normalized)
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
        await _check_blobs(services, f"release {release.version} of '{project.name}'", files)
        _clear(release)
        now = services.clock.now()
        serial = await journal(
            session,
            project,
            action="restore release",
            version=release.version,
            user_id=actor_id(by),
            when=now,
        )
        record(
            session,
            tag="project:release:restore",
            when=now,
            context=context,
            user_id=actor_id(by),
            project_name=normalized,
            version=release.version,
            by=actor_label(by),
            files=len(files),
        )
        result = RestoreResult("release", normalized, release.version, None, len(files), serial)
    return result


async def restore_file(
    services: Services, filename: str, *, by: Actor, context: RequestContext | None = None
) -> RestoreResult:
    filename = filename.strip()
    async with services.db.transaction() as session:
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
        await authorize_restore(session, services, by, project.normalized_name)
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
        await _check_blobs(services, f"'{filename}'", [file])
        _clear(file)
        now = services.clock.now()
        serial = await journal(
            session,
            project,
            action=f"restore file {filename}",
            version=release.version,
            user_id=actor_id(by),
            when=now,
        )
        record(
            session,
            tag="project:file:restore",
            when=now,
            context=context,
            user_id=actor_id(by),
            project_name=project.normalized_name,
            version=release.version,
            filename=filename,
            by=actor_label(by),
        )
        result = RestoreResult(
            "file", project.normalized_name, release.version, filename, 1, serial
        )
    return result
