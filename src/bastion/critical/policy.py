"""Who is critical: the top share of projects by downloads over the window, plus admin marks.

``recompute`` moves the running window sums to ``as_of`` (one day's rows per day
moved; a full rebuild from the roll-ups when the sums are missing, stale or
asked for) and designates the top ``ceil(share * projects with downloads)``
projects at or above the floor. Ties at the boundary go to the name that sorts
first. Designations are sticky: nothing here ever removes one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from packaging.utils import InvalidName, canonicalize_name
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.audit.events import record
from bastion.config import Settings
from bastion.critical.models import ADMIN, AUTO, CriticalProject
from bastion.db.upsert import upsert
from bastion.errors import BadRequest
from bastion.stats.rollup import move_window, projects_with_downloads, top_projects


@dataclass(frozen=True)
class RecomputeResult:
    as_of: date
    full: bool
    projects_with_downloads: int
    selected: list[str]  # this run's top share, best first
    newly_critical: list[str] = field(default_factory=list)
    total_critical: int = 0


def top_count(share: float, projects: int) -> int:
    """How many projects the top ``share`` is: rounded up, so any share > 0 picks one."""
    if projects <= 0 or share <= 0:
        return 0
    # Round away float noise first (0.07 * 100 is 7.000000000000001, not 8).
    return min(projects, math.ceil(round(share * projects, 9)))


def _end_of_day(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)


def designated() -> Select[str]:
    """THE definition of a critical project, for the gate, the CLI and the metrics alike:
    a normalised name designated critical (by its download share or by hand). The
    designation follows the name, so it holds while the project is deleted and before a
    project of that name exists (its first upload already needs 2FA)."""
    return select(CriticalProject.normalized_name)


async def critical_names(session: AsyncSession) -> set[str]:
    """Every critical project's normalised name."""
    return set((await session.scalars(designated())).all())


async def list_critical(session: AsyncSession) -> list[str]:
    """Every critical project's normalised name, sorted (``bastion critical list``)."""
    return list(await session.scalars(designated().order_by(CriticalProject.normalized_name)))


async def count_critical(session: AsyncSession) -> int:
    """How many critical projects there are (the ``critical_projects`` metric)."""
    return int(await session.scalar(select(func.count()).select_from(designated().subquery())) or 0)


def why_critical(source: str, reason: str) -> str:
    """Why a project is critical, as the rest of a sentence ("it is ..."): the top share by
    downloads (the policy's reason) or an administrator's own words."""
    if source == ADMIN:
        return f"an administrator marked it critical: {reason.rstrip('.')}"
    return f"it is in the {reason}"


async def critical_reason(session: AsyncSession, name: str) -> str | None:
    """:func:`why_critical` for ``name`` (normalised), or None when it is not critical."""
    row = await session.get(CriticalProject, name)
    return None if row is None else why_critical(row.source, row.reason)


async def is_critical(session: AsyncSession, name: str) -> bool:
    return await session.get(CriticalProject, canonicalize_name(name)) is not None


async def critical_projects_of(session: AsyncSession, user_id: int) -> list[str]:
    """The critical projects the user owns or maintains (normalised names, sorted).

    A user with any cannot remove their last second factor.
    """
    from bastion.packaging.models import Project, Role

    rows = await session.scalars(
        select(CriticalProject.normalized_name)
        .join(Project, Project.normalized_name == CriticalProject.normalized_name)
        .join(Role, Role.project_id == Project.id)
        .where(Role.user_id == user_id)
        .order_by(CriticalProject.normalized_name)
    )
    return list(rows)


async def _designate(
    session: AsyncSession,
    names: list[str],
    *,
    reason: str,
    source: str,
    now: datetime,
    actor_id: int | None = None,
) -> list[str]:
    """Designate the names not yet critical; returns those, each audited once."""
    existing = await critical_names(session)
    new = [name for name in names if name not in existing]
    rows = [
        {"normalized_name": name, "reason": reason, "source": source, "designated_at": now}
        for name in new
    ]
    # Do-nothing on conflict: a concurrent designation of the same name is not an error.
    await upsert(session, CriticalProject, rows, key=("normalized_name",))
    for name in new:
        record(
            session,
            tag="project:critical",
            when=now,
            user_id=actor_id,
            project_name=name,
            reason=reason,
            source=source,
        )
    return new


async def recompute(
    session: AsyncSession,
    as_of: date,
    settings: Settings,
    *,
    full: bool = False,
    now: datetime | None = None,
) -> RecomputeResult:
    """Move the window to end with ``as_of`` and designate its top share (caller commits)."""
    window = settings.critical_window_days
    if window < 1:
        raise BadRequest("BASTION_CRITICAL_WINDOW_DAYS must be at least 1.")
    if not 0 <= settings.critical_share <= 1:
        raise BadRequest("BASTION_CRITICAL_SHARE must be between 0 and 1.")
    moved = await move_window(session, as_of, window, full=full)
    with_downloads = await projects_with_downloads(session)
    limit = top_count(settings.critical_share, with_downloads)
    top = await top_projects(session, limit, settings.critical_min_downloads)
    selected = [name for name, _ in top]
    if not settings.upstream_critical:  # BASTION_UPSTREAM_CRITICAL=false
        from bastion.upstream.queries import upstream_only

        excluded = await upstream_only(session, selected)
        selected = [name for name in selected if name not in excluded]
    reason = (
        f"top {settings.critical_share:.2%} of projects by downloads over the "
        f"{window} days to {as_of.isoformat()}"
    )
    new = await _designate(
        session, selected, reason=reason, source=AUTO, now=now or _end_of_day(as_of)
    )
    total = len(await critical_names(session))
    return RecomputeResult(
        as_of=as_of,
        full=moved.full,
        projects_with_downloads=with_downloads,
        selected=selected,
        newly_critical=new,
        total_critical=total,
    )


async def mark(
    session: AsyncSession,
    name: str,
    reason: str,
    by_admin: bool = True,
    *,
    now: datetime,
    actor_id: int | None = None,
) -> bool:
    """Designate ``name`` critical by hand; False if it already was (it stays as it was)."""
    reason = reason.strip()
    if not reason:
        raise BadRequest("Give a reason for marking a project critical (--reason TEXT).")
    try:
        normalized = canonicalize_name(name.strip(), validate=True)
    except InvalidName:
        raise BadRequest(f"{name!r} is not a valid project name.") from None
    new = await _designate(
        session,
        [normalized],
        reason=reason,
        source=ADMIN if by_admin else AUTO,
        now=now,
        actor_id=actor_id,
    )
    return bool(new)
