"""What the upload pipeline asks protection: one call per step, in the caller's session.

1. :func:`screen_project` — before anything is stored, for every upload: a quarantined
   project's uploads are frozen (403); a project that does not exist yet has its name
   judged (reserved names and ``block`` → 400 with the reason; ``review`` → the upload's
   transaction creates the project held (:func:`hold_new_project`), and the uploader is
   told why by mail and in the upload response). A refusal is audited: its event is
   committed before the error is raised.
2. :func:`scan_upload` — inside the upload's transaction, after the file row is added and
   before the commit makes it visible: scans the archive, compares with the project's
   previous release, stores the report, and holds or quarantines per the verdict.
   Returns lines for the upload response and the maintainers' notices.

Mail is returned, never sent: the caller sends the notices once its transaction commits
(:func:`bastion.accounts.notices.send_after`). The detectors come in as a
:class:`~bastion.protect.seams.Protection`, so the proxy and admin creation paths can call
:func:`screen_project` the same way.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import anyio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts.email_links import page_link
from bastion.accounts.models import User
from bastion.accounts.notices import Notice
from bastion.audit.events import RequestContext, record
from bastion.config import Settings
from bastion.errors import BadRequest, BastionError, Forbidden
from bastion.packaging.models import File, Project
from bastion.packaging.names import normalize_name
from bastion.packaging.releases import UploadResult
from bastion.protect.models import FileScan, NameReview
from bastion.protect.names.verdict import NameVerdict
from bastion.protect.notices import notice_to, notices_to_maintainers
from bastion.protect.quarantine import reserved_message, reserved_reason, set_project_status
from bastion.protect.scan.report import Finding, ScanReport, VersionDiff
from bastion.protect.seams import ArchiveScanner, Protection
from bastion.protect.status import ACTIVE, HELD, QUARANTINED, status_message

log = logging.getLogger(__name__)


# -- Step 1: the project (name protection, upload freeze). -----------------------------


def reasons_json(verdict: NameVerdict) -> list[dict[str, Any]]:
    return [asdict(r) for r in verdict.reasons]


def block_message(name: str, verdict: NameVerdict) -> str:
    """The 400 twine prints for a blocked name: the judge's reasons, then what to do."""
    details = " ".join(r.detail.strip() for r in verdict.reasons if r.detail.strip())
    return (
        (details or f"The name '{name}' is not allowed on this index.")
        + " Choose another name; if you believe this is a mistake, contact the index's "
        "administrators."
    )


def hold_reason(verdict: NameVerdict) -> str:
    """The short reason a held project carries (shown to its owners and admins)."""
    parts = [
        f"{r.rule}: {r.detail}"
        if r.detail
        else (f"{r.rule} (similar to '{r.similar_to}')" if r.similar_to else r.rule)
        for r in verdict.reasons
    ]
    return "name review: " + ("; ".join(parts) or "the name needs an administrator's review")


@dataclass(frozen=True)
class NameScreen:
    """What step 1 learnt: lines for the upload response, and the verdict on a new name
    that :func:`hold_new_project` applies if this upload is the one that creates it."""

    warnings: list[str]
    verdict: NameVerdict | None = None


async def screen_project(
    session: AsyncSession,
    name: str,
    *,
    user: User,
    settings: Settings,
    now: datetime,
    protection: Protection,
    context: RequestContext | None = None,
) -> NameScreen:
    """Step 1 of an upload (see the module docstring); raises Forbidden or BadRequest
    after committing ``session`` (the refusal's audit event).

    Nothing is created here: a ``review`` verdict is carried to the upload's transaction,
    so an upload refused later (2FA, permissions) leaves no held project behind.
    """
    normalized = normalize_name(name)
    project = await session.scalar(select(Project).where(Project.normalized_name == normalized))
    if project is not None:
        return NameScreen(await _existing_project(session, project, user, context, now))
    reserved = await reserved_reason(session, name)
    verdict = (
        NameVerdict(name=name, verdict="block")
        if reserved is not None
        else await protection.judge_new_name(session, settings, name, user_id=user.id)
    )
    if verdict.verdict != "allow":
        record(
            session,
            tag=f"protect:name-{verdict.verdict}",
            when=now,
            context=context,
            user_id=user.id,
            project_name=normalized,
            name=name,
            reasons=reasons_json(verdict),
            reserved=reserved,
        )
    if verdict.verdict == "block":
        await _refuse(
            session,
            BadRequest(
                reserved_message(name, reserved)
                if reserved is not None
                else block_message(name, verdict)
            ),
        )
    if verdict.verdict == "review":
        return NameScreen([status_message(name, HELD, hold_reason(verdict))], verdict)
    return NameScreen([])


async def _refuse(session: AsyncSession, error: BastionError) -> NoReturn:
    """Keep the refusal's audit event: commit it, then raise."""
    await session.commit()
    raise error


async def hold_new_project(
    session: AsyncSession,
    project: Project,
    screen: NameScreen,
    *,
    user: User,
    settings: Settings,
    now: datetime,
) -> tuple[Notice, ...]:
    """In the upload's transaction, for the upload that created ``project``: hold it for
    review when step 1's verdict said so; the uploader's notice, to send after the commit."""
    verdict = screen.verdict
    if verdict is None or verdict.verdict != "review":
        return ()
    reason = hold_reason(verdict)
    await set_project_status(session, project, HELD, reason, when=now, user_id=user.id)
    session.add(
        NameReview(
            project_id=project.id,
            name=project.name,
            normalized_name=project.normalized_name,
            reasons=reasons_json(verdict),
            requested_by_id=user.id,
            created=now,
            state="pending",
        )
    )
    return (
        notice_to(
            user,
            settings,
            "project_held",
            project=project.name,
            message=status_message(project.name, HELD, reason),
            project_link=page_link(settings, "project", name=project.normalized_name),
        ),
    )


async def _existing_project(
    session: AsyncSession,
    project: Project,
    user: User,
    context: RequestContext | None,
    now: datetime,
) -> list[str]:
    if project.deleted_at is not None or project.status == ACTIVE:
        return []
    message = status_message(project.name, project.status, project.status_reason)
    if project.status == QUARANTINED:
        record(
            session,
            tag="protect:upload-refused",
            when=now,
            context=context,
            user_id=user.id,
            project_name=project.normalized_name,
            status=project.status,
        )
        await _refuse(session, Forbidden(message))
    return [message]


# -- Step 2: the file (malware scan, version diff). ------------------------------------


def finding_json(finding: Finding) -> dict[str, Any]:
    return asdict(finding)


def report_from_row(row: FileScan) -> ScanReport:
    """A stored report as the scanner's type, for the next release's diff."""
    return ScanReport(
        filename=row.filename,
        verdict=row.scan_verdict,  # type: ignore[arg-type]
        findings=[Finding(**f) for f in row.findings],
        capabilities=frozenset(row.capabilities),
        seconds=row.seconds,
        error=row.error,
    )


async def previous_scan(
    session: AsyncSession, project_name: str, version: str, packagetype: str
) -> FileScan | None:
    """The newest report of another release of the project (same kind of file first)."""
    rows = list(
        await session.scalars(
            select(FileScan)
            .where(
                FileScan.project_name == project_name,
                FileScan.version != version,
                FileScan.review_state != "removed",
            )
            .order_by(FileScan.scanned_at.desc(), FileScan.id.desc())
            .limit(50)
        )
    )
    same = [r for r in rows if r.packagetype == packagetype]
    candidates = same or rows
    return candidates[0] if candidates else None


def _scan(scanner: ArchiveScanner, path: Path, filename: str, settings: Settings) -> ScanReport:
    """The scanner's report; a scanner that breaks its promise not to raise gives an
    ``error`` report (reviewed like any unreadable archive), never a failed upload."""
    try:
        return scanner(path, filename, settings)
    except Exception as exc:
        log.exception("the scanner failed on %s", filename)
        return ScanReport(
            filename=filename, verdict="error", error=f"scanner failed: {type(exc).__name__}"
        )


def effective_verdict(diff: VersionDiff) -> str:
    """The verdict the upload acts on; an archive the scanner could not read is reviewed."""
    return "suspicious" if diff.verdict == "error" else diff.verdict


@dataclass(frozen=True)
class ScanOutcome:
    """What step 2 tells the uploader (response lines) and, after the commit, by mail."""

    warnings: list[str]
    notices: tuple[Notice, ...] = ()


async def scan_upload(
    session: AsyncSession,
    upload: UploadResult,
    path: Path,
    *,
    user: User,
    settings: Settings,
    now: datetime,
    protection: Protection,
    context: RequestContext | None = None,
) -> ScanOutcome:
    """Step 2 of an upload (see the module docstring), in the upload's transaction."""
    file = await session.scalar(select(File).where(File.filename == upload.filename))
    project = await session.scalar(
        select(Project).where(Project.normalized_name == upload.normalized_name)
    )
    assert file is not None and project is not None, "scan_upload runs after add_file"
    report = await anyio.to_thread.run_sync(
        _scan, protection.scan_archive, path, upload.filename, settings
    )
    previous = await previous_scan(
        session, project.normalized_name, upload.version, file.packagetype
    )
    diff = protection.compare(report_from_row(previous) if previous is not None else None, report)
    verdict = effective_verdict(diff)
    action, review = "published", "none"
    if verdict == "malicious":
        action, review = "quarantined", "pending"
        file.status = QUARANTINED
        await set_project_status(
            session,
            project,
            QUARANTINED,
            f"malware scan: {upload.filename} is malicious",
            when=now,
            user_id=user.id,
        )
    elif verdict == "suspicious":
        review = "pending"
        if settings.scan_suspicious_action == "hold":
            action, file.status = "held", HELD
    session.add(
        FileScan(
            file_id=file.id,
            project_name=project.normalized_name,
            version=upload.version,
            filename=upload.filename,
            packagetype=file.packagetype,
            scanned_at=now,
            scan_verdict=report.verdict,
            verdict=verdict,
            findings=[finding_json(f) for f in report.findings],
            capabilities=sorted(report.capabilities),
            seconds=report.seconds,
            error=report.error,
            previous_filename=previous.filename if previous is not None else None,
            new_capabilities=sorted(diff.new_capabilities),
            diff_findings=[finding_json(f) for f in diff.findings],
            action=action,
            review_state=review,
        )
    )
    if verdict == "clean":
        return ScanOutcome([])
    rules = sorted({f.rule for f in [*report.findings, *diff.findings]})
    record(
        session,
        tag=f"protect:scan-{verdict}",
        when=now,
        context=context,
        user_id=user.id,
        project_name=project.normalized_name,
        version=upload.version,
        filename=upload.filename,
        action=action,
        rules=rules,
        new_capabilities=sorted(diff.new_capabilities),
        error=report.error,
    )
    line = _scan_line(upload, verdict, action, rules)
    notices = await notices_to_maintainers(
        session,
        project,
        settings,
        "scan_finding",
        filename=upload.filename,
        verdict=verdict,
        line=line,
        rules=rules,
        new_capabilities=sorted(diff.new_capabilities),
    )
    return ScanOutcome([line], notices)


def _scan_line(upload: UploadResult, verdict: str, action: str, rules: list[str]) -> str:
    what = f"The malware scan found {upload.filename} {verdict} ({', '.join(rules) or '-'})"
    if action == "quarantined":
        return (
            f"{what}: the file is quarantined and the project '{upload.project_name}' "
            "with it; nothing of it can be installed and uploads to it are refused "
            "until an administrator has reviewed it."
        )
    if action == "held":
        return f"{what}: the file is held (not installable) until an administrator reviews it."
    return f"{what}: the file is published and queued for an administrator's review."
