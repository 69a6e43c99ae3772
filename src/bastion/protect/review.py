"""The admins' review queue and their decisions.

The queue has one item per project that needs a look: a held name, scan findings not yet
reviewed, open malware reports, or a quarantine. Decisions (each audited, each mailed to
the project's maintainers, each moving the project's serial so every cache sees it):

- ``approve`` a held name (optionally adding the judge's look-alikes to the allow-list),
- ``reject`` a held name: the project is deleted and the name reserved,
- ``clear`` the project (or one release): what was held or quarantined is served again,
- ``quarantine`` the project (or one release),
- ``remove`` the project (deleted), optionally ``forbid`` its name for good.

Admins act through the web UI (a :class:`~bastion.accounts.auth.Principal`: admin role and
the 2FA mandate) and operators through ``bastion review`` (an ``Operator``). A decision runs
in the caller's session (its transaction) and returns the maintainers' notices in its
:class:`DecisionResult`, for the caller to send once that commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts.models import User
from bastion.accounts.notices import Notice
from bastion.audit.events import RequestContext, record
from bastion.authz import Action, authorize
from bastion.clock import Clock
from bastion.config import Settings
from bastion.errors import Conflict, NotFound
from bastion.packaging.changes import (
    Actor,
    actor_id,
    actor_label,
    clean_reason,
    journal,
    live_project,
    live_release,
)
from bastion.packaging.deletion import delete_project
from bastion.packaging.models import File, Project, Release
from bastion.packaging.names import normalize_name
from bastion.protect.models import FileScan, MalwareReport, NameReview
from bastion.protect.notices import notices_to_maintainers
from bastion.protect.quarantine import reserve_name, set_project_status
from bastion.protect.seams import Protection
from bastion.protect.status import ACTIVE, HELD, QUARANTINED

Decision = Literal["approve", "reject", "clear", "quarantine", "remove"]


# -- The queue. ----------------------------------------------------------------------


@dataclass
class QueueItem:
    """One project awaiting review, and why."""

    project: str  # normalised
    display_name: str
    status: str
    status_reason: str | None
    held_name: bool = False
    scans: dict[str, int] = field(default_factory=dict)  # verdict -> pending files
    reports: int = 0
    trusted_reports: int = 0
    weight: int = 0  # how urgent: malicious > trusted reports > suspicious > names
    since: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "name": self.display_name,
            "status": self.status,
            "status_reason": self.status_reason,
            "held_name": self.held_name,
            "scans": self.scans,
            "reports": self.reports,
            "trusted_reports": self.trusted_reports,
            "weight": self.weight,
            "since": self.since.isoformat() if self.since else None,
        }


async def review_queue(session: AsyncSession, *, trusted_weight: int) -> list[QueueItem]:
    """Every project needing a decision, most urgent first."""
    projects = {
        p.normalized_name: p
        for p in await session.scalars(
            select(Project).where(Project.deleted_at.is_(None), Project.status != ACTIVE)
        )
    }
    items: dict[str, QueueItem] = {}

    def item(name: str) -> QueueItem | None:
        if name not in items:
            project = projects.get(name)
            if project is None:
                return None
            items[name] = QueueItem(
                project=name,
                display_name=project.name,
                status=project.status,
                status_reason=project.status_reason,
                since=project.status_changed_at,
            )
        return items[name]

    async def load(names: set[str]) -> None:
        missing = names - projects.keys()
        if missing:
            for p in await session.scalars(
                select(Project).where(
                    Project.normalized_name.in_(missing), Project.deleted_at.is_(None)
                )
            ):
                projects[p.normalized_name] = p

    reviews = list(await session.scalars(select(NameReview).where(NameReview.state == "pending")))
    scans = (
        await session.execute(
            select(
                FileScan.project_name, FileScan.verdict, func.count(), func.min(FileScan.scanned_at)
            )
            .where(FileScan.review_state == "pending")
            .group_by(FileScan.project_name, FileScan.verdict)
        )
    ).all()
    reports = (
        await session.execute(
            select(
                MalwareReport.project_name,
                MalwareReport.trusted,
                func.count(),
                func.min(MalwareReport.created),
            )
            .where(MalwareReport.state == "open")
            .group_by(MalwareReport.project_name, MalwareReport.trusted)
        )
    ).all()
    await load(
        {r.normalized_name for r in reviews} | {r[0] for r in scans} | {r[0] for r in reports}
    )
    for name in list(projects):
        item(name)  # every project not active is in the queue
    for review in reviews:
        if (it := item(review.normalized_name)) is not None:
            it.held_name = True
    for name, verdict, count, since in scans:
        if (it := item(name)) is not None:
            it.scans[verdict] = it.scans.get(verdict, 0) + int(count)
            it.since = min(filter(None, [it.since, since]), default=None)
    for name, trusted, count, since in reports:
        if (it := item(name)) is not None:
            it.reports += int(count)
            it.trusted_reports += int(count) if trusted else 0
            it.since = min(filter(None, [it.since, since]), default=None)
    for it in items.values():
        it.weight = (
            1000 * it.scans.get("malicious", 0)
            + 100 * (it.status == QUARANTINED)
            + trusted_weight * it.trusted_reports
            + (it.reports - it.trusted_reports)
            + 10 * it.scans.get("suspicious", 0)
            + it.held_name
        )
    return sorted(items.values(), key=lambda i: (-i.weight, i.project))


@dataclass
class ReviewDetail:
    """Everything an admin needs to decide about one project."""

    project: Project
    name_reviews: list[NameReview]
    scans: list[FileScan]
    reports: list[tuple[MalwareReport, str]]  # with the reporter's username
    releases: list[Release]
    files: dict[int, list[File]]  # release id -> files (any status)

    def to_json(self) -> dict[str, Any]:
        p = self.project
        return {
            "project": p.normalized_name,
            "name": p.name,
            "status": p.status,
            "status_reason": p.status_reason,
            "name_reviews": [
                {
                    "name": r.name,
                    "state": r.state,
                    "reasons": r.reasons,
                    "created": r.created.isoformat(),
                    "decided_by": r.decided_by,
                    "decision_reason": r.decision_reason,
                }
                for r in self.name_reviews
            ],
            "scans": [
                {
                    "filename": s.filename,
                    "version": s.version,
                    "verdict": s.verdict,
                    "scan_verdict": s.scan_verdict,
                    "action": s.action,
                    "review_state": s.review_state,
                    "findings": s.findings,
                    "capabilities": s.capabilities,
                    "error": s.error,
                    "diff": {
                        "previous": s.previous_filename,
                        "new_capabilities": s.new_capabilities,
                        "findings": s.diff_findings,
                    },
                }
                for s in self.scans
            ],
            "reports": [
                {
                    "reporter": who,
                    "trusted": r.trusted,
                    "version": r.version,
                    "reason": r.reason,
                    "state": r.state,
                    "created": r.created.isoformat(),
                }
                for r, who in self.reports
            ],
            "releases": [
                {
                    "version": r.version,
                    "status": r.status,
                    "files": [
                        {"filename": f.filename, "status": f.status}
                        for f in self.files.get(r.id, [])
                    ],
                }
                for r in self.releases
            ],
        }


async def review_detail(session: AsyncSession, name: str) -> ReviewDetail:
    project = await live_project(session, name)
    normalized = project.normalized_name
    releases = list(
        await session.scalars(
            select(Release)
            .where(Release.project_id == project.id, Release.deleted_at.is_(None))
            .order_by(Release.created.desc(), Release.id.desc())
        )
    )
    files: dict[int, list[File]] = {}
    for f in await session.scalars(
        select(File)
        .where(File.release_id.in_([r.id for r in releases]), File.deleted_at.is_(None))
        .order_by(File.filename)
    ):
        files.setdefault(f.release_id, []).append(f)
    return ReviewDetail(
        project=project,
        name_reviews=list(
            await session.scalars(
                select(NameReview)
                .where(NameReview.normalized_name == normalized)
                .order_by(NameReview.created.desc())
            )
        ),
        scans=list(
            await session.scalars(
                select(FileScan)
                .where(FileScan.project_name == normalized, FileScan.verdict != "clean")
                .order_by(FileScan.scanned_at.desc(), FileScan.id.desc())
            )
        ),
        reports=[
            (r, u)
            for r, u in (
                await session.execute(
                    select(MalwareReport, User.username)
                    .join(User, User.id == MalwareReport.reporter_id)
                    .where(MalwareReport.project_name == normalized)
                    .order_by(MalwareReport.created.desc())
                )
            ).all()
        ],
        releases=releases,
        files=files,
    )


# -- Decisions. ----------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionResult:
    decision: Decision
    project: str  # normalised
    version: str | None
    status: str | None  # the project's status afterwards (None: removed)
    changed: list[str]  # what the decision did, one phrase each
    # The maintainers' mail, for the caller to send once the decision is committed.
    notices: tuple[Notice, ...] = ()


@dataclass(frozen=True)
class _Deciding:
    """One decision in the making: who decides, why and when, in which session. Its
    methods are the steps every decision shares."""

    session: AsyncSession
    by: Actor
    reason: str
    settings: Settings
    clock: Clock
    now: datetime
    context: RequestContext | None

    async def project(self, name: str) -> Project:
        """The live project; operators may decide, a signed-in actor must be an admin and
        pass the 2FA mandate."""
        project = await live_project(self.session, name)
        await authorize(self.session, self.settings, self.clock, self.by, Action.REVIEW, project)
        return project

    async def pending_reviews(self, normalized: str) -> list[NameReview]:
        return list(
            await self.session.scalars(
                select(NameReview).where(
                    NameReview.normalized_name == normalized, NameReview.state == "pending"
                )
            )
        )

    def close_reviews(self, rows: list[NameReview], state: str) -> None:
        for row in rows:
            row.state, row.decided_at = state, self.now
            row.decided_by, row.decision_reason = actor_label(self.by), self.reason or None

    async def close_scans(self, project: str, version: str | None, state: str) -> int:
        """Close the pending scan findings of the project (or release); how many."""
        query = select(FileScan).where(
            FileScan.project_name == project, FileScan.review_state == "pending"
        )
        if version is not None:
            query = query.where(FileScan.version == version)
        rows = list(await self.session.scalars(query))
        for row in rows:
            row.review_state, row.reviewed_at = state, self.now
            row.reviewed_by, row.review_reason = actor_label(self.by), self.reason or None
        return len(rows)

    async def close_reports(self, project: str, version: str | None, resolution: str) -> int:
        """Resolve the open malware reports of the project (or release); how many."""
        query = select(MalwareReport).where(
            MalwareReport.project_name == project, MalwareReport.state == "open"
        )
        if version is not None:
            query = query.where(MalwareReport.version == version)
        rows = list(await self.session.scalars(query))
        for row in rows:
            row.state, row.resolved_at = "resolved", self.now
            row.resolved_by, row.resolution = actor_label(self.by), resolution
        return len(rows)

    async def set_status(self, project: Project, status: str, reason: str | None) -> None:
        await set_project_status(
            self.session, project, status, reason, when=self.now, user_id=actor_id(self.by)
        )

    async def decided(
        self, project: Project, decision: Decision, version: str | None, changed: list[str]
    ) -> DecisionResult:
        """Every decision's epilogue, once it is applied: journal, audit, the maintainers'
        notices, and the result."""
        session, by = self.session, self.by
        await journal(
            session,
            project,
            action=f"review {decision}",
            version=version,
            user_id=actor_id(by),
            when=self.now,
        )
        record(
            session,
            tag=f"protect:review-{decision}",
            when=self.now,
            context=self.context,
            user_id=actor_id(by),
            project_name=project.normalized_name,
            version=version,
            by=actor_label(by),
            reason=self.reason,
            changed=changed,
            status=project.status,
        )
        notices = await notices_to_maintainers(
            session,
            project,
            self.settings,
            "review_decision",
            what=f"{project.name} {version}" if version else project.name,
            decision=decision,
            reason=self.reason,
            changed=changed,
        )
        status = project.status if project.deleted_at is None else None
        return DecisionResult(decision, project.normalized_name, version, status, changed, notices)


def _deciding(
    session: AsyncSession,
    by: Actor,
    reason: str,
    settings: Settings,
    clock: Clock,
    context: RequestContext | None,
) -> _Deciding:
    return _Deciding(session, by, reason, settings, clock, clock.now(), context)


async def approve_name(
    session: AsyncSession,
    name: str,
    *,
    by: Actor,
    settings: Settings,
    clock: Clock,
    protection: Protection,
    reason: str = "",
    allow_pairs: bool = False,
    context: RequestContext | None = None,
) -> DecisionResult:
    """The held name is fine: the project is served (unless quarantined for another cause).
    ``allow_pairs`` also allow-lists (``protection.allow_pair``) the name beside each
    look-alike it was held for."""
    d = _deciding(session, by, clean_reason(reason), settings, clock, context)
    project = await d.project(name)
    reviews = await d.pending_reviews(project.normalized_name)
    if not reviews:
        raise Conflict(f"The name '{project.name}' is not waiting for review.")
    d.close_reviews(reviews, "approved")
    changed = ["name approved"]
    if project.status == HELD:
        await d.set_status(project, ACTIVE, None)
        changed.append("project served")
    if allow_pairs:
        pairs = sorted(
            {r["similar_to"] for review in reviews for r in review.reasons if r.get("similar_to")}
        )
        for other in pairs:
            await protection.allow_pair(session, project.normalized_name, other, by=actor_label(by))
            changed.append(f"allow-list: {project.normalized_name} ~ {other}")
    return await d.decided(project, "approve", None, changed)


async def reject_name(
    session: AsyncSession,
    name: str,
    *,
    by: Actor,
    settings: Settings,
    clock: Clock,
    reason: str = "",
    context: RequestContext | None = None,
) -> DecisionResult:
    """The held name is refused: the project is deleted and its name reserved."""
    reason = clean_reason(reason, required="Give a reason for rejecting the name (audited).")
    d = _deciding(session, by, reason, settings, clock, context)
    project = await live_project(session, name)
    if not await d.pending_reviews(project.normalized_name):
        raise Conflict(f"The name '{project.name}' is not waiting for review.")
    return await _remove(d, name, forbid=True, decision="reject")


async def remove_project(
    session: AsyncSession,
    name: str,
    *,
    by: Actor,
    settings: Settings,
    clock: Clock,
    reason: str = "",
    forbid: bool = False,
    context: RequestContext | None = None,
) -> DecisionResult:
    """Delete the project (restorable by an admin during retention); ``forbid`` reserves
    its name for good."""
    reason = clean_reason(reason, required="Give a reason for removing the project (audited).")
    d = _deciding(session, by, reason, settings, clock, context)
    return await _remove(d, name, forbid=forbid, decision="remove")


async def _remove(d: _Deciding, name: str, *, forbid: bool, decision: Decision) -> DecisionResult:
    project = await d.project(name)
    normalized = project.normalized_name
    await delete_project(
        d.session,
        normalized,
        settings=d.settings,
        clock=d.clock,
        by=d.by,
        reason=d.reason,
        context=d.context,
    )
    changed = ["project removed"]
    d.close_reviews(await d.pending_reviews(normalized), "rejected")
    await d.close_scans(normalized, None, "removed")
    await d.close_reports(normalized, None, "removed")
    if forbid:
        # Until the names domain has its prohibited list (names.prohibit), the review
        # decision keeps the name here; upload's screen_project refuses it.
        await reserve_name(
            d.session, normalized, f"{decision}: {d.reason}", when=d.now, by=actor_label(d.by)
        )
        changed.append("name reserved")
    return await d.decided(project, decision, None, changed)


async def clear(
    session: AsyncSession,
    name: str,
    version: str | None = None,
    *,
    by: Actor,
    settings: Settings,
    clock: Clock,
    reason: str = "",
    context: RequestContext | None = None,
) -> DecisionResult:
    """Not malware: the project (or one release) and its held or quarantined files are
    served again; its findings and reports are closed. A held name stays held."""
    d = _deciding(session, by, clean_reason(reason), settings, clock, context)
    project = await d.project(name)
    releases = (
        [await live_release(session, project, version)]
        if version
        else list(
            await session.scalars(
                select(Release).where(
                    Release.project_id == project.id, Release.deleted_at.is_(None)
                )
            )
        )
    )
    version = releases[0].version if version else None
    changed: list[str] = []
    for release in releases:
        if release.status != ACTIVE:
            release.status = ACTIVE
            changed.append(f"release {release.version} served")
    for file in await session.scalars(
        select(File).where(
            File.release_id.in_([r.id for r in releases]),
            File.deleted_at.is_(None),
            File.status != ACTIVE,
        )
    ):
        file.status = ACTIVE
        changed.append(f"file {file.filename} served")
    scans = await d.close_scans(project.normalized_name, version, "cleared")
    reports = await d.close_reports(project.normalized_name, version, "cleared")
    if scans:
        changed.append(f"{scans} finding(s) cleared")
    if reports:
        changed.append(f"{reports} report(s) closed")
    if version is None and project.status == QUARANTINED:
        pending = await d.pending_reviews(project.normalized_name)
        if pending:
            why = "; ".join(r.get("detail") or r.get("rule") or "" for r in pending[0].reasons)
            await d.set_status(project, HELD, "name review: " + why)
            changed.append("project held for its name review")
        else:
            await d.set_status(project, ACTIVE, None)
            changed.append("project served")
    if not changed:
        raise Conflict(f"Nothing of '{project.name}' is held, quarantined or reported.")
    return await d.decided(project, "clear", version, changed)


async def quarantine(
    session: AsyncSession,
    name: str,
    version: str | None = None,
    *,
    by: Actor,
    settings: Settings,
    clock: Clock,
    reason: str = "",
    context: RequestContext | None = None,
) -> DecisionResult:
    """Malware: the project (or one release) is hidden and, for a project, uploads to it
    are frozen, until it is cleared or removed."""
    reason = clean_reason(reason, required="Give a reason for the quarantine (audited).")
    d = _deciding(session, by, reason, settings, clock, context)
    project = await d.project(name)
    changed: list[str] = []
    if version:
        release = await live_release(session, project, version)
        version = release.version
        if release.status == QUARANTINED:
            raise Conflict(f"{project.name} {version} is already quarantined.")
        release.status = QUARANTINED
        changed.append(f"release {version} quarantined")
    else:
        if project.status == QUARANTINED:
            raise Conflict(f"'{project.name}' is already quarantined.")
        await d.set_status(project, QUARANTINED, f"quarantined: {reason}")
        changed.append("project quarantined; uploads frozen")
    scans = await d.close_scans(project.normalized_name, version, "quarantined")
    reports = await d.close_reports(project.normalized_name, version, "quarantined")
    if scans:
        changed.append(f"{scans} finding(s) confirmed")
    if reports:
        changed.append(f"{reports} report(s) closed")
    return await d.decided(project, "quarantine", version, changed)


async def find_for_review(session: AsyncSession, name: str) -> str:
    """The normalised name of a live project, or 404 (for routes and the CLI)."""
    normalized = normalize_name(name)
    if (
        await session.scalar(
            select(Project.id).where(
                Project.normalized_name == normalized, Project.deleted_at.is_(None)
            )
        )
        is None
    ):
        raise NotFound(f"There is no project named '{name}' on this index.")
    return normalized
