"""Review-queue state written straight to the database, for tests that need a queue
without going through an upload (the route walk, the CLI)."""

from __future__ import annotations

from sqlalchemy import select

from bastion.packaging.models import File, Project, Release
from bastion.protect.models import FileScan, NameReview
from bastion.protect.quarantine import set_project_status
from bastion.protect.status import HELD
from bastion.services import Services


async def hold_name(services: Services, name: str, *, similar_to: str = "requests") -> None:
    """Put an existing project on hold with a pending name review."""
    now = services.clock.now()
    async with services.db.transaction() as session:
        project = (
            await session.scalars(select(Project).where(Project.normalized_name == name))
        ).one()
        await set_project_status(
            session, project, HELD, "name review: typosquat", when=now, user_id=None
        )
        session.add(
            NameReview(
                project_id=project.id,
                name=project.name,
                normalized_name=name,
                created=now,
                reasons=[{"rule": "typosquat", "similar_to": similar_to, "detail": "one edit"}],
                requested_by_id=None,
                state="pending",
            )
        )
    services.pages.invalidate(name)


async def pending_scan(services: Services, filename: str, verdict: str = "suspicious") -> None:
    """A scan report awaiting review for an existing (published) file."""
    async with services.db.transaction() as session:
        file, release, project = (
            await session.execute(
                select(File, Release, Project)
                .join(Release, File.release_id == Release.id)
                .join(Project, Release.project_id == Project.id)
                .where(File.filename == filename)
            )
        ).one()
        scan = await session.scalar(select(FileScan).where(FileScan.file_id == file.id))
        if scan is None:  # the upload's own (clean) report is replaced
            scan = FileScan(
                file_id=file.id,
                project_name=project.normalized_name,
                version=release.version,
                filename=filename,
                packagetype=file.packagetype,
                scanned_at=services.clock.now(),
            )
            session.add(scan)
        scan.scan_verdict = scan.verdict = verdict
        scan.action, scan.review_state = "published", "pending"
        scan.findings = [
            {
                "rule": "demo-rule",
                "severity": "medium",
                "path": "demo/__init__.py",
                "line": 1,
                "excerpt": "import socket",
            }
        ]
        scan.capabilities = scan.new_capabilities = ["network"]
        scan.diff_findings = []
