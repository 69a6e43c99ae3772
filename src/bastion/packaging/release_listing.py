"""Database reads for the JSON API: a project's releases with their files."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.packaging.models import File, Project, Release
from bastion.protect.status import file_served, project_served, release_served


@dataclass(frozen=True, slots=True)
class ProjectReleases:
    project: Project
    releases: list[Release]
    files: dict[int, list[File]]  # release id -> its files, by filename


async def project_releases(session: AsyncSession, normalized_name: str) -> ProjectReleases | None:
    """The project and its releases, with no files yet (see :func:`with_files`)."""
    project = await session.scalar(
        select(Project).where(Project.normalized_name == normalized_name, project_served())
    )
    if project is None:
        return None
    releases = list(
        await session.scalars(
            select(Release).where(Release.project_id == project.id, release_served())
        )
    )
    return ProjectReleases(project=project, releases=releases, files={})


async def with_files(
    session: AsyncSession, data: ProjectReleases, release_ids: list[int] | None = None
) -> ProjectReleases:
    """``data`` with the files of every release (or only of ``release_ids``) filled in."""
    query = (
        select(File)
        .join(Release, File.release_id == Release.id)
        .where(Release.project_id == data.project.id, release_served(), file_served())
        .order_by(File.filename)
    )
    if release_ids is not None:
        query = query.where(File.release_id.in_(release_ids))
    files: dict[int, list[File]] = defaultdict(list)
    for file in await session.scalars(query):
        files[file.release_id].append(file)
    return ProjectReleases(project=data.project, releases=data.releases, files=dict(files))
