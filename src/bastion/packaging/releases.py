"""Release service: add an uploaded file to a project, creating what is missing.

The caller holds one transaction around :func:`find_project`, the permission check,
:func:`check_filename_free` and :func:`add_file`, so an upload is all or nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from packaging.version import Version
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts.models import User
from bastion.audit.events import RequestContext, record
from bastion.errors import BadRequest
from bastion.packaging.changes import journal
from bastion.packaging.metadata import CoreMetadata
from bastion.packaging.models import File, FilenameRegistry, Project, Release, Role
from bastion.packaging.names import canonical_version, normalize_name
from bastion.packaging.tombstones import check_release_not_deleted


@dataclass(frozen=True)
class StoredFile:
    """An uploaded file already written to the store, ready to be recorded (the fields are
    named after the :class:`File` columns they fill)."""

    filename: str
    packagetype: str
    python_version: str
    size: int
    sha256_digest: str
    blake2_256_digest: str
    md5_digest: str
    path: str
    metadata_sha256: str | None = None
    metadata_blake2_256: str | None = None


@dataclass(frozen=True)
class UploadResult:
    project_name: str
    normalized_name: str
    version: str
    filename: str
    serial: int
    created_project: bool


def file_exists_message(filename: str, blake2_256: str, base_url: str) -> str:
    """PyPI's text; twine --skip-existing looks for "already exist" in it."""
    return (
        f"File already exists ('{filename}', with blake2_256 hash '{blake2_256}'). "
        f"See {base_url.rstrip('/')}/help/#file-name-reuse for more information."
    )


FILENAME_REUSED = "This filename has already been used, use a different version."


async def find_project(session: AsyncSession, name: str) -> Project | None:
    """The project with this name, compared in normalised form."""
    result = await session.execute(
        select(Project).where(Project.normalized_name == normalize_name(name))
    )
    return result.scalar_one_or_none()


async def check_filename_free(
    session: AsyncSession, filename: str, *, sha256: str, blake2_256: str, base_url: str
) -> None:
    """400 if this filename or these bytes were uploaded before, or the name was ever used."""
    existing = await session.execute(
        select(File.id).where(or_(File.filename == filename, File.sha256_digest == sha256))
    )
    if existing.first() is not None:
        raise BadRequest(file_exists_message(filename, blake2_256, base_url))
    used = await session.execute(
        select(FilenameRegistry.id).where(FilenameRegistry.filename == filename)
    )
    if used.first() is not None:
        raise BadRequest(FILENAME_REUSED)


async def _create_project(
    session: AsyncSession, user: User, name: str, when: datetime, context: RequestContext | None
) -> Project:
    project = Project(name=name, normalized_name=normalize_name(name), created=when, last_serial=0)
    session.add(project)
    await session.flush()
    session.add(Role(user_id=user.id, project_id=project.id, role_name=Role.OWNER))
    await journal(session, project, action="create", version=None, user_id=user.id, when=when)
    await journal(
        session, project, action=f"add {Role.OWNER} {user.username}", version=None,
        user_id=user.id, when=when,
    )
    record(
        session, tag="project:create", when=when, context=context, user_id=user.id,
        project_name=project.normalized_name, role=Role.OWNER,
    )
    return project


async def _get_or_create_release(
    session: AsyncSession,
    project: Project,
    user: User,
    version: str,
    meta: CoreMetadata,
    when: datetime,
) -> Release:
    canonical = canonical_version(version)
    result = await session.execute(
        select(Release).where(
            Release.project_id == project.id, Release.canonical_version == canonical
        )
    )
    release = result.scalar_one_or_none()
    if release is not None:
        check_release_not_deleted(project, release)
        return release
    release = Release(
        project_id=project.id,
        version=version,
        canonical_version=canonical,
        created=when,
        is_prerelease=Version(version).is_prerelease,
        requires_python=meta.requires_python,
        summary=meta.summary,
        description=meta.description,
        description_content_type=meta.description_content_type,
        meta=meta.info,
        uploader_id=user.id,
    )
    session.add(release)
    await session.flush()
    await journal(session, project, action="new release", version=version, user_id=user.id,
                   when=when)
    return release


async def add_file(
    session: AsyncSession,
    *,
    when: datetime,
    user: User,
    project: Project | None,
    version: str,
    meta: CoreMetadata,
    stored: StoredFile,
    context: RequestContext | None = None,
) -> UploadResult:
    """Record an uploaded file: project (if new, uploader becomes Owner), release, file,
    filename registry, journal, serial and the ``project:upload`` audit event."""
    created = project is None
    if project is None:
        project = await _create_project(session, user, meta.name, when, context)
    release = await _get_or_create_release(session, project, user, version, meta, when)
    session.add(File(
        release_id=release.id, requires_python=meta.requires_python, upload_time=when,
        uploader_id=user.id, **asdict(stored),
    ))
    session.add(FilenameRegistry(filename=stored.filename))
    serial = await journal(
        session, project, action=f"add {stored.python_version} file {stored.filename}",
        version=release.version, user_id=user.id, when=when,
    )
    record(
        session, tag="project:upload", when=when, context=context, user_id=user.id,
        project_name=project.normalized_name, version=release.version,
        filename=stored.filename, sha256=stored.sha256_digest, size=stored.size,
    )
    return UploadResult(
        project_name=project.name,
        normalized_name=project.normalized_name,
        version=release.version,
        filename=stored.filename,
        serial=serial,
        created_project=created,
    )


async def create_project(
    session: AsyncSession, user: User, name: str, when: datetime,
    context: RequestContext | None = None,
) -> Project:
    """A new project with ``user`` as its Owner (journal and ``project:create`` audit event);
    for callers that create a project before its first file (name protection's hold)."""
    return await _create_project(session, user, name, when, context)
