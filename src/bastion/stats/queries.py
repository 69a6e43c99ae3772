"""Download figures for a project page: last day, week and month (complete UTC days)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from packaging.utils import canonicalize_name
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.stats.models import ProjectDayDownloads


@dataclass(frozen=True)
class DownloadSummary:
    last_day: int
    last_week: int
    last_month: int


async def download_summary(session: AsyncSession, project: str, today: date) -> DownloadSummary:
    """Downloads of ``project`` yesterday, over the 7 and over the 30 days before ``today``.

    Today's partial counts are left out, as on pypistats.org; live and imported
    counts add up.
    """
    name = canonicalize_name(project)
    day = ProjectDayDownloads.day
    n = ProjectDayDownloads.downloads

    def since(days: int):  # type: ignore[no-untyped-def]
        return func.coalesce(func.sum(case((day >= today - timedelta(days=days), n), else_=0)), 0)

    row = (
        await session.execute(
            select(since(1), since(7), since(30)).where(
                ProjectDayDownloads.project == name,
                day >= today - timedelta(days=30),
                day < today,
            )
        )
    ).one()
    return DownloadSummary(last_day=int(row[0]), last_week=int(row[1]), last_month=int(row[2]))
