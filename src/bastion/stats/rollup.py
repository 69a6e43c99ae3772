"""Daily roll-ups and the running window sums over them.

Writes are upserts, so many processes can flush at once and a retry never
double-counts a committed batch. The window sums move a day at a time: add the
day that enters, subtract the day that leaves; the cost follows one day's rows,
not the window's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import case, delete, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.db.upsert import as_table, upsert, upsert_from_select
from bastion.stats.models import (
    IMPORT,
    LIVE,
    FileDayDownloads,
    ProjectDayDownloads,
    ProjectWindowSum,
    WindowState,
)

BATCH = 5_000

project_days = as_table(ProjectDayDownloads)
file_days = as_table(FileDayDownloads)
window_sums = as_table(ProjectWindowSum)


async def add_live_counts(
    session: AsyncSession, counts: Mapping[tuple[str, str, date], int]
) -> None:
    """Add buffered counts ``(project, filename, day) -> n`` to both roll-ups."""
    per_project: dict[tuple[str, date], int] = {}
    file_rows = []
    for (project, filename, day), n in counts.items():
        per_project[(project, day)] = per_project.get((project, day), 0) + n
        file_rows.append({"day": day, "project": project, "filename": filename, "downloads": n})
    project_rows = [
        {"day": day, "project": project, "source": LIVE, "downloads": n}
        for (project, day), n in per_project.items()
    ]
    for start in range(0, len(project_rows), BATCH):
        await upsert(
            session,
            project_days,
            project_rows[start : start + BATCH],
            key=("day", "project", "source"),
            add=("downloads",),
        )
    for start in range(0, len(file_rows), BATCH):
        await upsert(
            session,
            file_days,
            file_rows[start : start + BATCH],
            key=("day", "project", "filename"),
            add=("downloads",),
        )


async def replace_imported_counts(
    session: AsyncSession, rows: Iterable[Mapping[str, object]]
) -> None:
    """Set the imported count of each ``{project, day, downloads}`` (replacing, not adding)."""
    batch = [{**row, "source": IMPORT} for row in rows]
    await upsert(
        session, project_days, batch, key=("day", "project", "source"), replace=("downloads",)
    )


async def invalidate_window(session: AsyncSession) -> None:
    """Forget which days the sums cover: the next recompute rebuilds them in full."""
    await session.execute(delete(WindowState))


@dataclass(frozen=True)
class WindowMove:
    """How the window sums were brought to ``through_day``."""

    through_day: date
    full: bool
    days_applied: int


def window_start(through_day: date, window_days: int) -> date:
    """The first day of the window that ends with ``through_day``."""
    return through_day - timedelta(days=window_days - 1)


async def rebuild_window(session: AsyncSession, through_day: date, window_days: int) -> None:
    """Recompute every project's sum over the window from the roll-ups."""
    await session.execute(delete(WindowState))
    await session.execute(delete(ProjectWindowSum))
    total = func.sum(ProjectDayDownloads.downloads)
    source = (
        select(ProjectDayDownloads.project, total)
        .where(ProjectDayDownloads.day.between(window_start(through_day, window_days), through_day))
        .group_by(ProjectDayDownloads.project)
        .having(total > 0)
    )
    await session.execute(window_sums.insert().from_select(["project", "downloads"], source))
    session.add(WindowState(id=1, through_day=through_day, window_days=window_days))
    await session.flush()


async def _shift_one_day(session: AsyncSession, day: date, window_days: int) -> None:
    """Add ``day`` to the sums and subtract the day that leaves the window with it."""
    leaving = day - timedelta(days=window_days)
    signed = case(
        (ProjectDayDownloads.day == day, ProjectDayDownloads.downloads),
        else_=-ProjectDayDownloads.downloads,
    )
    source = (
        select(ProjectDayDownloads.project, func.sum(signed))
        .where(ProjectDayDownloads.day.in_([day, leaving]))
        .group_by(ProjectDayDownloads.project)
    )
    await upsert_from_select(session, window_sums, source, key=("project",), add=("downloads",))
    # Drop the projects the leaving day took to zero (only those it touched).
    touched = select(ProjectDayDownloads.project).where(ProjectDayDownloads.day == leaving)
    await session.execute(
        delete(ProjectWindowSum).where(
            ProjectWindowSum.downloads <= 0, ProjectWindowSum.project.in_(touched)
        )
    )


async def move_window(
    session: AsyncSession, through_day: date, window_days: int, *, full: bool = False
) -> WindowMove:
    """Bring the sums to the window ending ``through_day``, incrementally when possible.

    The state row is claimed with a conditional update first, so two processes
    moving the window at once cannot both add the same day.
    """
    state = await session.get(WindowState, 1)
    behind = None if state is None else (through_day - state.through_day).days
    if (
        full
        or state is None
        or state.window_days != window_days
        or behind is None
        or behind < 0
        or behind > window_days
    ):
        await rebuild_window(session, through_day, window_days)
        return WindowMove(through_day, full=True, days_applied=window_days)
    if behind == 0:
        return WindowMove(through_day, full=False, days_applied=0)
    claimed = await session.execute(
        update(WindowState)
        .where(WindowState.id == 1, WindowState.through_day == state.through_day)
        .values(through_day=through_day)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        # Someone else moved it meanwhile: fall back to the always-correct rebuild.
        await rebuild_window(session, through_day, window_days)
        return WindowMove(through_day, full=True, days_applied=window_days)
    for offset in range(1, behind + 1):
        await _shift_one_day(session, state.through_day + timedelta(days=offset), window_days)
    return WindowMove(through_day, full=False, days_applied=behind)


async def projects_with_downloads(session: AsyncSession) -> int:
    """How many projects have any downloads in the window."""
    count = await session.scalar(
        select(func.count()).select_from(ProjectWindowSum).where(ProjectWindowSum.downloads > 0)
    )
    return int(count or 0)


async def top_projects(
    session: AsyncSession, limit: int, min_downloads: int
) -> list[tuple[str, int]]:
    """The ``limit`` projects with the most downloads (ties: by name), at or above the floor."""
    if limit <= 0:
        return []
    rows = await session.execute(
        select(ProjectWindowSum.project, ProjectWindowSum.downloads)
        .where(
            ProjectWindowSum.downloads > 0,
            ProjectWindowSum.downloads >= literal(max(min_downloads, 1)),
        )
        .order_by(ProjectWindowSum.downloads.desc(), ProjectWindowSum.project)
        .limit(limit)
    )
    return [(name, int(n)) for name, n in rows.all()]
