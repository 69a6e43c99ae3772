"""The upload pipeline: ``publish(...)`` turns a received form into a stored file, or refuses.

It knows no HTTP: the ``/legacy/`` route (``bastion.web.upload_routes``) authenticates,
receives the form and hands over plain values and a :class:`Pipeline` (what the steps
work with); ``publish`` returns a :class:`PublishResult` carrying the warnings to show
and the emails to send once it is committed, or raises a domain error at the first step
that fails. The steps, in order (insert a new one where it belongs):

1. fields      the form's fields, name, version, filetype, pyversion, filename, digests
2. metadata    open the archive safely and read its core metadata; compare with the form
3. screen      name protection (protect.admission): a frozen project or a blocked name
               refuses, a name for review holds the project it creates
4. record      one transaction: project (created if missing, locked) -> not deleted ->
               authorize (2FA mandate) -> filename free (or the same file: done) ->
               store blobs -> add release/file/audit event -> malware scan

Each step takes the candidate and only what it uses (the settings, a session, the store,
the clock, the protection detectors). A new check is one more step called in
:func:`publish`: it reads what earlier steps put on the :class:`Candidate`, appends to
``candidate.warnings`` (or ``candidate.notices``) or raises a domain error. Checks that
need the project row or the lock belong inside :func:`record`. Every process's page
cache hears of the new file when the transaction commits (``Database.on_commit``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import anyio
from packaging.utils import NormalizedName
from packaging.version import Version
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts.auth import Principal
from bastion.accounts.notices import Notice
from bastion.audit.events import RequestContext
from bastion.authz import Action, authorize
from bastion.clock import Clock
from bastion.config import Settings
from bastion.db.engine import Database
from bastion.errors import Conflict
from bastion.packaging.archives import ArchiveLimits, read_dist, wheel_metadata_path
from bastion.packaging.form import UploadFields, UploadForm, check_digests, read_upload_fields
from bastion.packaging.metadata import (
    CoreMetadata,
    check_license_files,
    check_matches_form,
    metadata_is_reliable,
    parse_core_metadata,
)
from bastion.packaging.names import (
    METADATA_SUFFIX,
    Filetype,
    check_filename_matches,
    check_pyversion,
    check_wheel_tags,
    parse_dist_filename,
    validate_filetype,
    validate_project_name,
    validate_version,
)
from bastion.packaging.releases import (
    StoredFile,
    UploadResult,
    add_file,
    already_uploaded,
    check_filename_free,
    lock_project,
    record_new_project,
)
from bastion.packaging.tombstones import check_project_not_deleted
from bastion.protect.admission import (
    NameScreen,
    hold_new_project,
    scan_upload,
    screen_project,
)
from bastion.protect.seams import Protection
from bastion.storage.interface import FileStore, blob_path
from bastion.upstream.rules import check_local_upload


@dataclass(frozen=True)
class Pipeline:
    """What the upload pipeline works with: the database (for its transactions), the file
    store, the settings, the clock and the protection detectors (name judge, scanner)."""

    db: Database
    store: FileStore
    settings: Settings
    clock: Clock
    protection: Protection


@dataclass(frozen=True)
class PublishResult:
    """What an accepted upload did, the warnings to show the uploader and the emails to
    send now that it is committed (a held name, a scan finding)."""

    upload: UploadResult
    warnings: tuple[str, ...] = ()
    notices: tuple[Notice, ...] = ()


@dataclass
class Candidate:
    """An upload as it moves through the pipeline: what each step has learnt so far."""

    principal: Principal
    fields: UploadFields
    name: NormalizedName
    version: Version
    filetype: Filetype
    pyversion: str
    context: RequestContext
    metadata_bytes: bytes = b""
    meta: CoreMetadata | None = None
    members: frozenset[str] = frozenset()
    warnings: list[str] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)  # mail to send after the commit

    @property
    def metadata(self) -> CoreMetadata:
        assert self.meta is not None, "read_metadata runs before this step"
        return self.meta


async def publish(
    pipeline: Pipeline,
    principal: Principal,
    form: UploadForm,
    *,
    context: RequestContext,
) -> PublishResult:
    """Run the pipeline on a received form; raises a domain error at the first failing step."""
    settings, clock = pipeline.settings, pipeline.clock
    candidate = check_fields(settings, principal, form, context)
    await read_metadata(settings, candidate)
    async with pipeline.db.transaction() as session:
        screen = await screen_project(
            session,
            candidate.metadata.name,
            user=principal.user,
            settings=settings,
            now=clock.now(),
            protection=pipeline.protection,
            context=context,
        )
    candidate.warnings += screen.warnings
    try:
        async with pipeline.db.transaction() as session:
            result = await record(
                session,
                candidate,
                screen,
                store=pipeline.store,
                settings=settings,
                clock=clock,
                protection=pipeline.protection,
            )
    except IntegrityError:  # pragma: no cover - the project lock leaves no race to lose
        raise Conflict(
            "Another upload changed this project at the same time; please try again."
        ) from None
    return PublishResult(
        upload=result, warnings=tuple(candidate.warnings), notices=tuple(candidate.notices)
    )


def check_fields(
    settings: Settings, principal: Principal, form: UploadForm, context: RequestContext
) -> Candidate:
    """Step 1: the form's fields, the filename (and a wheel's tags) and the digests (no I/O)."""
    fields = read_upload_fields(form)
    name = validate_project_name(fields.name)
    principal.check_project(name)
    version = validate_version(fields.version)
    filetype = validate_filetype(fields.filetype)
    pyversion = check_pyversion(filetype, fields.pyversion)
    dist = parse_dist_filename(fields.file.filename)
    check_filename_matches(dist, name=name, version=version, filetype=filetype)
    check_wheel_tags(
        dist, interpreters=settings.wheel_interpreter_tags, platforms=settings.wheel_platform_tags
    )
    check_digests(fields)
    return Candidate(
        principal=principal,
        fields=fields,
        name=name,
        version=version,
        filetype=filetype,
        pyversion=pyversion,
        context=context,
    )


async def read_metadata(settings: Settings, candidate: Candidate) -> None:
    """Step 2: the archive's core metadata (read in a thread), checked against the form
    and against the archive's own members (PEP 639 licence files)."""
    fields = candidate.fields
    contents = await anyio.to_thread.run_sync(
        read_dist,
        fields.file.path,
        fields.file.filename,
        candidate.filetype,
        ArchiveLimits.from_settings(settings),
    )
    candidate.metadata_bytes, candidate.members = contents.metadata, contents.members
    candidate.meta = parse_core_metadata(candidate.metadata_bytes)
    check_matches_form(candidate.meta, name=fields.name, version=candidate.version)
    root = (
        wheel_metadata_path(fields.file.filename).rsplit("/", 1)[0]
        if candidate.filetype == "bdist_wheel"
        else fields.file.filename.removesuffix(".tar.gz")
    )
    check_license_files(candidate.meta, candidate.members, filetype=candidate.filetype, root=root)


async def record(
    session: AsyncSession,
    candidate: Candidate,
    screen: NameScreen,
    *,
    store: FileStore,
    settings: Settings,
    clock: Clock,
    protection: Protection,
) -> UploadResult:
    """Step 4, in one transaction: the project (created if missing, locked), permission,
    the filename, blobs (stored before commit), rows, the scan. An identical file already
    there is a success that changes nothing, so a retried upload passes (as on PyPI)."""
    fields, principal = candidate.fields, candidate.principal
    file = fields.file
    when = clock.now()
    project, created = await lock_project(session, candidate.metadata.name, when)
    if not created:
        await check_project_not_deleted(session, settings, project)
    await check_local_upload(session, fields.name)  # origin controls (upstream/)
    candidate.warnings += await authorize(
        session,
        settings,
        clock,
        principal,
        Action.UPLOAD,
        None if created else project,
        name=fields.name,
    )
    if created:
        await record_new_project(session, project, principal.user, when, candidate.context)
        candidate.notices += await hold_new_project(
            session, project, screen, user=principal.user, settings=settings, now=when
        )
    existing = await check_filename_free(
        session,
        file.filename,
        sha256=file.sha256,
        blake2_256=file.blake2_256,
        base_url=settings.base_url,
    )
    if existing is not None:
        return already_uploaded(existing)
    stored = await store_blobs(store, candidate)
    result = await add_file(
        session,
        when=when,
        user=principal.user,
        project=project,
        created=created,
        version=fields.version,
        meta=candidate.metadata,
        stored=stored,
        context=candidate.context,
    )
    scanned = await scan_upload(
        session,
        result,
        file.path,
        user=principal.user,
        settings=settings,
        now=when,
        protection=protection,
        context=candidate.context,
    )
    candidate.warnings += scanned.warnings
    candidate.notices += scanned.notices
    return result


async def store_blobs(store: FileStore, candidate: Candidate) -> StoredFile:
    """Write the file under its sha256, and beside it its core metadata (PEP 658) when
    installers may rely on it (:func:`metadata_is_reliable`)."""
    fields, metadata_bytes = candidate.fields, candidate.metadata_bytes
    file = fields.file
    path = blob_path(file.sha256, file.filename)
    await store.put(path, file.path)
    serve_metadata = metadata_is_reliable(candidate.metadata, candidate.filetype)
    if serve_metadata:
        await store.put_bytes(path + METADATA_SUFFIX, metadata_bytes)
    return StoredFile(
        filename=file.filename,
        packagetype=fields.filetype,
        python_version=candidate.pyversion,
        size=file.size,
        sha256_digest=file.sha256,
        blake2_256_digest=file.blake2_256,
        md5_digest=file.md5,
        path=path,
        metadata_sha256=hashlib.sha256(metadata_bytes).hexdigest() if serve_metadata else None,
        metadata_blake2_256=(
            hashlib.blake2b(metadata_bytes, digest_size=32).hexdigest() if serve_metadata else None
        ),
    )
