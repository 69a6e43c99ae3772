from __future__ import annotations

from datetime import date

from sqlalchemy import select

from bastion.db.upsert import upsert
from bastion.services import Services
from bastion.stats.models import ProjectDayDownloads

DAY = date(2024, 1, 2)
KEY = ("day", "project", "source")


async def stored(services: Services) -> list[tuple[str, str, int]]:
    async with services.db.session() as session:
        rows = await session.execute(
            select(
                ProjectDayDownloads.project,
                ProjectDayDownloads.source,
                ProjectDayDownloads.downloads,
            ).order_by(ProjectDayDownloads.project)
        )
        return [tuple(r) for r in rows.all()]  # type: ignore[misc]


async def test_add_replace_and_nothing(services: Services) -> None:
    row = {"day": DAY, "project": "a", "source": "live", "downloads": 3}
    other = {"day": DAY, "project": "b", "source": "live", "downloads": 1}
    async with services.db.transaction() as session:
        await upsert(session, ProjectDayDownloads, [row, other], key=KEY, add=("downloads",))
        await upsert(session, ProjectDayDownloads, [row], key=KEY, add=("downloads",))
    assert await stored(services) == [("a", "live", 6), ("b", "live", 1)]
    async with services.db.transaction() as session:
        await upsert(
            session, ProjectDayDownloads, [{**row, "downloads": 2}], key=KEY, replace=("downloads",)
        )
        await upsert(session, ProjectDayDownloads, [{**other, "downloads": 9}], key=KEY)
        await upsert(session, ProjectDayDownloads, [], key=KEY)
    assert await stored(services) == [("a", "live", 2), ("b", "live", 1)]
