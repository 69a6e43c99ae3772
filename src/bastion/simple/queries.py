"""Database reads for the simple API and file serving: plain rows in, plain values out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.packaging.models import File, JournalEntry, Project, Release
from bastion.protect.status import file_served, project_served, release_served


@dataclass(frozen=True, slots=True)
class ProjectRef:
    id: int
    name: str
    normalized_name: str
    last_serial: int
    status: str = "active"  # PEP 792 project status (only served projects are listed)
    status_reason: str | None = None


@dataclass(frozen=True, slots=True)
class FileRow:
    version: str
    filename: str
    path: str
    sha256: str
    size: int | None  # None: an upstream page did not say
    upload_time: datetime | None
    requires_python: str | None
    yanked: bool
    yanked_reason: str
    metadata_sha256: str | None


@dataclass(frozen=True, slots=True)
class ProjectListing:
    project: ProjectRef
    versions: list[str]
    files: list[FileRow]


@dataclass(frozen=True, slots=True)
class IndexEntry:
    name: str
    normalized_name: str
    last_serial: int


@dataclass(frozen=True, slots=True)
class StoredFile:
    """What serving ``/files/<path>`` needs to know about a file row."""

    project: str
    filename: str
    path: str
    sha256: str
    size: int
    metadata_sha256: str | None


async def project_ref(session: AsyncSession, normalized_name: str) -> ProjectRef | None:
    row = (
        await session.execute(
            select(
                Project.id,
                Project.name,
                Project.normalized_name,
                Project.last_serial,
                Project.status,
                Project.status_reason,
            ).where(Project.normalized_name == normalized_name, project_served())
        )
    ).one_or_none()
    return ProjectRef(*row) if row else None


async def project_serial(session: AsyncSession, normalized_name: str) -> int | None:
    """The project's last serial, or None if there is no such project."""
    value = await session.scalar(
        select(Project.last_serial).where(
            Project.normalized_name == normalized_name, project_served()
        )
    )
    return None if value is None else int(value)


async def project_serials(session: AsyncSession, names: Sequence[str]) -> dict[str, int]:
    """The last serial of each of these projects that exists (one query)."""
    rows = await session.execute(
        select(Project.normalized_name, Project.last_serial).where(
            Project.normalized_name.in_(names), project_served()
        )
    )
    return {name: int(serial) for name, serial in rows}


async def project_listing(session: AsyncSession, normalized_name: str) -> ProjectListing | None:
    """The project, all its versions and all its files (unsorted), read serial first.

    Reading the serial before the files means the files are never older than the serial
    they are cached under; a newer file just causes one extra render later.
    """
    project = await project_ref(session, normalized_name)
    if project is None:
        return None
    versions = list(
        await session.scalars(
            select(Release.version).where(Release.project_id == project.id, release_served())
        )
    )
    rows = await session.execute(
        select(
            Release.version,
            File.filename,
            File.path,
            File.sha256_digest,
            File.size,
            File.upload_time,
            func.coalesce(File.requires_python, Release.requires_python),
            Release.yanked,
            Release.yanked_reason,
            File.metadata_sha256,
        )
        .join(Release, File.release_id == Release.id)
        .where(Release.project_id == project.id, release_served(), file_served())
    )
    files = [FileRow(*tuple(row)) for row in rows]
    return ProjectListing(project=project, versions=versions, files=files)


async def global_serial(session: AsyncSession) -> int:
    """The newest serial anywhere: the journal's last id (or the highest project serial)."""
    row = (
        await session.execute(
            select(
                select(func.max(JournalEntry.id)).scalar_subquery(),
                select(func.max(Project.last_serial)).scalar_subquery(),
            )
        )
    ).one()
    return max(int(row[0] or 0), int(row[1] or 0))


async def index_entries(session: AsyncSession) -> list[IndexEntry]:
    rows = await session.execute(
        select(Project.name, Project.normalized_name, Project.last_serial)
        .where(project_served())
        .order_by(Project.normalized_name)
    )
    return [IndexEntry(*row) for row in rows]


def _sha256_in_path(path: str) -> str | None:
    """The digest in a content-addressed path ``ab/cd/<sha256>/<filename>``, if it is one."""
    parts = path.split("/")
    if len(parts) == 4 and len(parts[2]) == 64 and parts[2].startswith(parts[0] + parts[1]):
        return parts[2]
    return None


async def stored_file(session: AsyncSession, path: str) -> StoredFile | None:
    """The file row stored at ``path`` (with its project's name), if there is one.

    Looked up by the digest in the path (a unique, indexed column), then the exact path.
    """
    query = (
        select(
            Project.normalized_name,
            File.filename,
            File.path,
            File.sha256_digest,
            File.size,
            File.metadata_sha256,
        )
        .join(Release, File.release_id == Release.id)
        .join(Project, Release.project_id == Project.id)
        .where(
            File.path == path,
            file_served(),
            release_served(),
            project_served(),
        )
    )
    sha256 = _sha256_in_path(path)
    if sha256 is not None:
        query = query.where(File.sha256_digest == sha256)
    row = (await session.execute(query)).one_or_none()
    return StoredFile(*row) if row else None
