"""POST /legacy/: the upload endpoint twine, ``uv publish``, hatch and flit use.

The route authenticates the ``Authorization`` header, streams the multipart body into
a form (file to a temp file, hashed, size-capped), hands it to
:func:`bastion.packaging.publish.publish`, sends the emails it decided on, and answers in
plain text: ``OK`` plus any warnings, or the refusal with its message in the status line.
One structured log line per request.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass

from fastapi import APIRouter, Request
from starlette.responses import PlainTextResponse, Response

from bastion.accounts.notices import send_after
from bastion.db.availability import database_unavailable
from bastion.errors import BastionError
from bastion.packaging.form import UploadForm, receive_form
from bastion.packaging.publish import Pipeline, PublishResult, publish
from bastion.serve.errors import plain_error
from bastion.services import Services
from bastion.web.basic_auth import basic_principal
from bastion.web.client_ip import request_context

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

    def describe(self, form: UploadForm) -> None:
        """Note what the form says it is, before any check."""
        if form.file is not None:
            self.filename, self.size, self.sha256 = (
                form.file.filename,
                form.file.size,
                form.file.sha256,
            )
        self.project, self.version = form.get("name"), form.get("version")

    def emit(self) -> None:
        level = logging.INFO if self.outcome in ("accepted", "unchanged") else logging.WARNING
        logger.log(level, json.dumps(asdict(self), sort_keys=True))


def ok_text(result: PublishResult) -> str:
    upload = result.upload
    if upload.already_uploaded:
        return (
            f"OK: {upload.filename} is already in {upload.project_name} {upload.version} "
            "with the same contents; nothing changed.\n"
        )
    warnings = "".join(f"WARNING: {w}\n" for w in result.warnings)
    return f"OK: uploaded {upload.filename} to {upload.project_name} {upload.version}.\n" + warnings


@router.post("/legacy/", name="upload")
async def legacy_upload(request: Request) -> Response:
    services: Services = request.app.state.services
    log = UploadLog()
    try:
        result = await _upload(request, services, log)
    except BastionError as exc:
        log.status, log.reason = exc.status_code, exc.message
        log.emit()
        return plain_error(exc.status_code, exc.message, getattr(exc, "headers", None))
    except Exception as exc:
        log.outcome, log.reason = "error", type(exc).__name__
        log.status = 503 if database_unavailable(exc) else 500
        log.emit()
        raise  # the app's last-resort handler answers (503 while the database is down)
    log.outcome = "unchanged" if result.upload.already_uploaded else "accepted"
    log.emit()
    return PlainTextResponse(ok_text(result))


async def _upload(request: Request, services: Services, log: UploadLog) -> PublishResult:
    settings = services.settings
    principal = await basic_principal(request, services)
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
        log.describe(form)
        pipeline = Pipeline(
            db=services.db,
            store=services.store,
            settings=settings,
            clock=services.clock,
            protection=services.protect,
        )
        result = await publish(pipeline, principal, form, context=request_context(request))
    await send_after(services.mailer, result.notices)
    return result
