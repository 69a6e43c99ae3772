"""The purge job: remove for good the tombstones (and their blobs) past retention.

A tombstone deleted at least ``Settings.deletion_retention_days`` ago is purged: its
rows (project, releases, files, roles) and its blobs (the file and its ``.metadata``).
FilenameRegistry entries are never removed, so a filename is never reused. A critical
project keeps its (empty) project row and roles for ever: its name stays reserved.

Rows go in one transaction first; blobs are deleted after the commit, so a crash
leaves at worst an orphan blob, never a row pointing to a missing file. That is why
:func:`purge` takes the database (like the orphan sweep) rather than a session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.audit.events import record
from bastion.critical.models import CriticalProject
from bastion.db.engine import Database
from bastion.packaging.models import File, Project, Release, Role
from bastion.protect.names import forget_name
from bastion.storage.interface import FileStore

METADATA_SUFFIX = ".metadata"


@dataclass(frozen=True)
class PurgeItem:
    """One tombstone the purge removes (or would remove, in a dry run)."""

    kind: str  # project | release | file
    project: str
    version: str | None
    filename: str | None
    deleted_at: datetime
    files: list[str] = field(default_factory=list)  # filenames whose blobs go
    keeps_name: bool = False  # a critical project: the row stays to reserve the name

    def describe(self) -> str:
        what = {
            "project": self.project,
            "release": f"{self.project} {self.version}",
            "file": f"{self.filename}",
        }[self.kind]
        extra = " (name stays reserved: critical)" if self.keeps_name else ""
        return (
            f"{self.kind} {what}: deleted {self.deleted_at.date().isoformat()}, "
            f"{len(self.files)} file(s){extra}"
        )


@dataclass(frozen=True)
class _Plan:
    items: list[PurgeItem]
    project_ids: list[int]  # rows removed entirely
    emptied_project_ids: list[int]  # critical: releases removed, row kept
    release_ids: list[int]
    file_ids: list[int]
    blob_paths: list[str]


def cutoff(now: datetime, retention_days: int) -> datetime:
    """What was deleted at or before this moment is past retention."""
    return now - timedelta(days=retention_days)


async def _files_of(session: AsyncSession, release_ids: list[int]) -> list[File]:
    if not release_ids:
        return []
    return list(
        await session.scalars(
            select(File).where(File.release_id.in_(release_ids)).order_by(File.filename)
        )
    )


def _blobs(files: list[File]) -> list[str]:
    return [p for f in files for p in (f.path, f.path + METADATA_SUFFIX)]


async def plan(session: AsyncSession, before: datetime) -> _Plan:
    """Everything deleted at or before ``before``, without changing anything."""
    items: list[PurgeItem] = []
    project_ids: list[int] = []
    emptied: list[int] = []
    release_ids: list[int] = []
    file_ids: list[int] = []
    blobs: list[str] = []
    critical = set(await session.scalars(select(CriticalProject.normalized_name)))

    gone_projects = list(
        await session.scalars(
            select(Project)
            .where(Project.deleted_at.is_not(None), Project.deleted_at <= before)
            .order_by(Project.normalized_name)
        )
    )
    whole: set[int] = set()
    for project in gone_projects:
        assert project.deleted_at is not None
        rel_ids = list(
            await session.scalars(select(Release.id).where(Release.project_id == project.id))
        )
        keeps = project.normalized_name in critical
        if keeps and not rel_ids:
            continue  # already purged; only the reserved name is left
        files = await _files_of(session, rel_ids)
        whole.add(project.id)
        (emptied if keeps else project_ids).append(project.id)
        release_ids += rel_ids
        file_ids += [f.id for f in files]
        blobs += _blobs(files)
        items.append(
            PurgeItem(
                "project",
                project.normalized_name,
                None,
                None,
                project.deleted_at,
                [f.filename for f in files],
                keeps,
            )
        )

    rows = (
        await session.execute(
            select(Release, Project.normalized_name)
            .join(Project, Release.project_id == Project.id)
            .where(Release.deleted_at.is_not(None), Release.deleted_at <= before)
            .order_by(Project.normalized_name, Release.id)
        )
    ).all()
    gone_releases: set[int] = set()
    for release, name in rows:
        if release.project_id in whole:
            continue
        assert release.deleted_at is not None
        files = await _files_of(session, [release.id])
        gone_releases.add(release.id)
        release_ids.append(release.id)
        file_ids += [f.id for f in files]
        blobs += _blobs(files)
        items.append(
            PurgeItem(
                "release",
                name,
                release.version,
                None,
                release.deleted_at,
                [f.filename for f in files],
            )
        )

    file_rows = (
        await session.execute(
            select(File, Release, Project.normalized_name)
            .join(Release, File.release_id == Release.id)
            .join(Project, Release.project_id == Project.id)
            .where(File.deleted_at.is_not(None), File.deleted_at <= before)
            .order_by(File.filename)
        )
    ).all()
    for file, release, name in file_rows:
        if release.project_id in whole or release.id in gone_releases:
            continue
        assert file.deleted_at is not None
        file_ids.append(file.id)
        blobs += _blobs([file])
        items.append(
            PurgeItem(
                "file", name, release.version, file.filename, file.deleted_at, [file.filename]
            )
        )
    return _Plan(items, project_ids, emptied, release_ids, file_ids, blobs)


async def purge(
    db: Database,
    store: FileStore,
    *,
    now: datetime,
    retention_days: int,
    dry_run: bool = False,
) -> list[PurgeItem]:
    """Purge every tombstone deleted ``retention_days`` or more before ``now`` (or, with
    ``dry_run``, only list them): the rows in one transaction, then their blobs."""
    async with db.transaction() as session:
        work = await plan(session, cutoff(now, retention_days))
        if dry_run or not work.items:
            return work.items
        if work.file_ids:
            await session.execute(delete(File).where(File.id.in_(work.file_ids)))
        if work.release_ids:
            await session.execute(delete(Release).where(Release.id.in_(work.release_ids)))
        if work.project_ids:
            await session.execute(delete(Role).where(Role.project_id.in_(work.project_ids)))
            await session.execute(delete(Project).where(Project.id.in_(work.project_ids)))
        for item in work.items:
            record(
                session,
                tag="project:purge",
                when=now,
                project_name=item.project,
                kind=item.kind,
                version=item.version,
                filename=item.filename,
                deleted_at=item.deleted_at.isoformat(),
                files=item.files,
                keeps_name=item.keeps_name,
            )
            if item.kind == "project" and not item.keeps_name:
                await forget_name(session, item.project)
    for path in work.blob_paths:
        await store.delete(path)
    return work.items
