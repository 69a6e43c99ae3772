"""Release service: add an uploaded file to a project, creating what is missing.

The caller holds one transaction around :func:`lock_project`, the permission check,
:func:`check_filename_free` and :func:`add_file`, so an upload is all or nothing.
:func:`lock_project` creates the project row if it is missing (``INSERT ... ON CONFLICT
DO NOTHING``, so parallel first uploads never collide) and locks it for the rest of the
transaction: uploads to one project take turns from there on, and each sees what the one
before it committed (its release, its filename).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from packaging.version import Version
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bastion.accounts.models import User
from bastion.audit.events import RequestContext, record
from bastion.db.upsert import dialect_name, upsert_statement
from bastion.errors import BadRequest
from bastion.packaging.changes import journal
from bastion.packaging.metadata import CoreMetadata
from bastion.packaging.models import File, FilenameRegistry, Project, Release, Role
from bastion.packaging.names import canonical_version, normalize_name
from bastion.packaging.tombstones import check_release_not_deleted
from bastion.protect.names import record_name


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
    # The same file (name and bytes) was already there: nothing changed (a retry).
    already_uploaded: bool = False


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


async def lock_project(session: AsyncSession, name: str, when: datetime) -> tuple[Project, bool]:
    """The project named ``name``, created if missing, locked until the transaction ends;
    and whether this call created it.

    The insert is the transaction's first write, so on SQLite it also takes the write
    lock before anything is read; on PostgreSQL the row lock (``FOR UPDATE``) makes the
    uploads to one project take turns, each seeing what the previous one committed.
    """
    insert = upsert_statement(dialect_name(session), Project, key=["normalized_name"])
    created_id = (
        await session.execute(
            insert.values(
                name=name, normalized_name=normalize_name(name), created=when, last_serial=0
            ).returning(Project.id)
        )
    ).scalar_one_or_none()
    project = (
        await session.execute(
            select(Project)
            .where(Project.normalized_name == normalize_name(name))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    return project, created_id is not None


async def check_filename_free(
    session: AsyncSession, filename: str, *, sha256: str, blake2_256: str, base_url: str
) -> File | None:
    """None if the filename and bytes are new; the existing file if this exact file (same
    name, same sha256) is already there, so a retry succeeds as on PyPI; 400 if the filename
    or the bytes were taken by another file, or the filename was ever used."""
    existing = (
        (
            await session.execute(
                select(File)
                .where(or_(File.filename == filename, File.sha256_digest == sha256))
                .options(selectinload(File.release).selectinload(Release.project))
            )
        )
        .scalars()
        .all()
    )
    for file in existing:
        if (
            file.filename == filename
            and file.sha256_digest == sha256
            and file.deleted_at is None
            and file.release.deleted_at is None
        ):
            return file
    if existing:
        raise BadRequest(file_exists_message(filename, blake2_256, base_url))
    used = await session.execute(
        select(FilenameRegistry.id).where(FilenameRegistry.filename == filename)
    )
    if used.first() is not None:
        raise BadRequest(FILENAME_REUSED)
    return None


def already_uploaded(file: File) -> UploadResult:
    """The result of re-uploading ``file`` unchanged: nothing is written."""
    project = file.release.project
    return UploadResult(
        project_name=project.name,
        normalized_name=project.normalized_name,
        version=file.release.version,
        filename=file.filename,
        serial=project.last_serial,
        created_project=False,
        already_uploaded=True,
    )


async def record_new_project(
    session: AsyncSession,
    project: Project,
    user: User,
    when: datetime,
    context: RequestContext | None,
) -> None:
    """What creating ``project`` by an upload adds: the uploader as Owner, journal, audit,
    and its look-alike key (name protection's collision check)."""
    session.add(Role(user_id=user.id, project_id=project.id, role_name=Role.OWNER))
    await record_name(session, project.name)
    await journal(session, project, action="create", version=None, user_id=user.id, when=when)
    await journal(
        session,
        project,
        action=f"add {Role.OWNER} {user.username}",
        version=None,
        user_id=user.id,
        when=when,
    )
    record(
        session,
        tag="project:create",
        when=when,
        context=context,
        user_id=user.id,
        project_name=project.normalized_name,
        role=Role.OWNER,
    )


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
    await journal(
        session, project, action="new release", version=version, user_id=user.id, when=when
    )
    return release


async def add_file(
    session: AsyncSession,
    *,
    when: datetime,
    user: User,
    project: Project,
    created: bool,
    version: str,
    meta: CoreMetadata,
    stored: StoredFile,
    context: RequestContext | None = None,
) -> UploadResult:
    """Record an uploaded file in the (locked) ``project``: release, file, filename registry,
    journal, serial and the ``project:upload`` audit event."""
    release = await _get_or_create_release(session, project, user, version, meta, when)
    session.add(
        File(
            release_id=release.id,
            requires_python=meta.requires_python,
            upload_time=when,
            uploader_id=user.id,
            **asdict(stored),
        )
    )
    session.add(FilenameRegistry(filename=stored.filename))
    serial = await journal(
        session,
        project,
        action=f"add {stored.python_version} file {stored.filename}",
        version=release.version,
        user_id=user.id,
        when=when,
    )
    record(
        session,
        tag="project:upload",
        when=when,
        context=context,
        user_id=user.id,
        project_name=project.normalized_name,
        version=release.version,
        filename=stored.filename,
        sha256=stored.sha256_digest,
        size=stored.size,
    )
    return UploadResult(
        project_name=project.name,
        normalized_name=project.normalized_name,
        version=release.version,
        filename=stored.filename,
        serial=serial,
        created_project=created,
    )
