"""POST /legacy/: the upload endpoint twine and ``uv publish`` use, as a pipeline of checks.

authenticate -> receive the form (file streamed to disk, hashed, size-capped) ->
fields -> filename -> digests -> archive -> metadata -> [transaction: project ->
authorize -> filename free -> store blobs -> add file] -> invalidate the page cache.
Each step raises a domain error; the route turns it into a plain-text 4xx with the
message in the status line and logs one structured line per request.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass

import anyio
from fastapi import APIRouter, Request
from sqlalchemy.exc import IntegrityError
from starlette.responses import PlainTextResponse, Response

from bastion.accounts.auth import Principal, authenticate
from bastion.critical.gate import Action
from bastion.errors import BastionError, Conflict
from bastion.packaging.archives import ArchiveLimits, read_dist_metadata
from bastion.packaging.form import (
    UploadFields,
    check_digests,
    read_upload_fields,
    receive_form,
)
from bastion.packaging.metadata import CoreMetadata, check_matches_form, parse_core_metadata
from bastion.packaging.names import (
    check_filename_matches,
    check_pyversion,
    parse_dist_filename,
    validate_filetype,
    validate_project_name,
    validate_version,
)
from bastion.packaging.permissions import authorize
from bastion.packaging.releases import (
    StoredFile,
    UploadResult,
    add_file,
    check_filename_free,
    find_project,
)
from bastion.packaging.tombstones import check_project_not_deleted
from bastion.services import Services
from bastion.storage.interface import blob_path
from bastion.upstream.rules import check_local_upload
from bastion.web.client_ip import request_context
from bastion.web.errors import plain_error

router = APIRouter()
logger = logging.getLogger("bastion.upload")


@dataclass
class UploadLog:
    """What one upload request logs: a single JSON line, accepted or refused."""

    outcome: str = "refused"
    project: str | None = None
    version: str | None = None
    filename: str | None = None
    user: str | None = None
    status: int = 200
    reason: str | None = None
    size: int | None = None
    sha256: str | None = None

    def emit(self) -> None:
        level = logging.INFO if self.outcome == "accepted" else logging.WARNING
        logger.log(level, json.dumps(asdict(self), sort_keys=True))


@router.post("/legacy/")
async def legacy_upload(request: Request) -> Response:
    services: Services = request.app.state.services
    log = UploadLog()
    try:
        result = await upload(request, services, log)
    except BastionError as exc:
        log.status, log.reason = exc.status_code, exc.message
        log.emit()
        return plain_error(exc.status_code, exc.message, getattr(exc, "headers", None))
    except Exception as exc:
        log.outcome, log.status, log.reason = "error", 500, type(exc).__name__
        log.emit()
        raise
    log.outcome = "accepted"
    log.emit()
    warnings = "".join(f"WARNING: {w}\n" for w in getattr(request.state, "upload_warnings", []))
    return PlainTextResponse(
        f"OK: uploaded {result.filename} to {result.project_name} {result.version}.\n"
        + warnings
    )


async def upload(request: Request, services: Services, log: UploadLog) -> UploadResult:
    """The pipeline; raises a domain error at the first check that fails."""
    settings = services.settings
    async with services.db.session() as session:
        principal = await authenticate(
            session, request.headers.get("authorization"),
            services=services, context=request_context(request),
        )
    log.user = principal.user.username

    async with receive_form(
        request.headers.get("content-type"),
        request.stream(),
        max_file_size=settings.max_upload_size,
        max_fields_size=2 * settings.max_metadata_size,
        max_parts=settings.max_form_parts,
        tmp_dir=settings.data_dir / "tmp",
        content_length=request.headers.get("content-length"),
    ) as form:
        if form.file is not None:
            log.filename, log.size, log.sha256 = (
                form.file.filename, form.file.size, form.file.sha256,
            )
        log.project, log.version = form.get("name"), form.get("version")
        fields = read_upload_fields(form)
        name = validate_project_name(fields.name)
        principal.check_project(name)
        version = validate_version(fields.version)
        filetype = validate_filetype(fields.filetype)
        check_pyversion(filetype, fields.pyversion)
        check_filename_matches(
            parse_dist_filename(fields.file.filename),
            name=name, version=version, filetype=filetype,
        )
        check_digests(fields)
        metadata_bytes = await anyio.to_thread.run_sync(
            read_dist_metadata, fields.file.path, fields.file.filename, filetype,
            ArchiveLimits.from_settings(settings),
        )
        meta = parse_core_metadata(metadata_bytes)
        check_matches_form(meta, name=fields.name, version=version)
        result = await record_upload(request, services, principal, fields, metadata_bytes, meta)

    services.pages.invalidate(result.normalized_name)
    return result


async def record_upload(
    request: Request,
    services: Services,
    principal: Principal,
    fields: UploadFields,
    metadata_bytes: bytes,
    meta: CoreMetadata,
) -> UploadResult:
    """One transaction: permission, uniqueness, blobs (stored before commit), rows."""
    file = fields.file
    context = request_context(request)
    base_url = services.settings.base_url
    try:
        async with services.db.transaction() as session:
            project = await find_project(session, fields.name)
            await check_project_not_deleted(session, services.settings, project)
            await check_local_upload(session, fields.name)  # origin controls (upstream/)
            request.state.upload_warnings = await authorize(
                session, services, principal, project, Action.UPLOAD, name=fields.name
            )
            await check_filename_free(
                session, file.filename, sha256=file.sha256, blake2_256=file.blake2_256,
                base_url=base_url,
            )
            stored = await store_blobs(services, fields, metadata_bytes)
            return await add_file(
                session, when=services.clock.now(), user=principal.user, project=project,
                version=fields.version, meta=meta, stored=stored, context=context,
            )
    except IntegrityError:
        # Another upload won a race; say what it took, or ask for a retry.
        async with services.db.session() as session:
            await check_filename_free(
                session, file.filename, sha256=file.sha256, blake2_256=file.blake2_256,
                base_url=base_url,
            )
        raise Conflict(
            "Another upload changed this project at the same time; please try again."
        ) from None


async def store_blobs(
    services: Services, fields: UploadFields, metadata_bytes: bytes
) -> StoredFile:
    """Write the file and its core metadata (PEP 658) under the file's sha256."""
    file = fields.file
    path = blob_path(file.sha256, file.filename)
    await services.store.put(path, file.path)
    await services.store.put_bytes(path + ".metadata", metadata_bytes)
    return StoredFile(
        filename=file.filename,
        packagetype=fields.filetype,
        python_version=fields.pyversion,
        size=file.size,
        sha256_digest=file.sha256,
        blake2_256_digest=file.blake2_256,
        md5_digest=file.md5,
        path=path,
        metadata_sha256=hashlib.sha256(metadata_bytes).hexdigest(),
        metadata_blake2_256=hashlib.blake2b(metadata_bytes, digest_size=32).hexdigest(),
    )
