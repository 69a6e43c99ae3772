from __future__ import annotations

from datetime import date, timedelta

from bastion.services import Services
from bastion.stats.importer import write as import_counts
from bastion.stats.queries import DownloadSummary, download_summary
from tests.support.types import AddDownloads

TODAY = date(2024, 7, 31)


async def test_last_day_week_and_month(services: Services, add_downloads: AddDownloads) -> None:
    def ago(days: int) -> date:
        return TODAY - timedelta(days=days)

    await add_downloads(
        {
            ("demo", TODAY): 1000,  # today is not complete: left out
            ("demo", ago(1)): 1,
            ("demo", ago(7)): 10,
            ("demo", ago(8)): 100,
            ("demo", ago(30)): 1000,
            ("demo", ago(31)): 10000,
            ("other", ago(1)): 5,
        }
    )
    async with services.db.transaction() as session:
        await import_counts(session, {("demo", ago(2)): 20000})
    async with services.db.session() as session:
        summary = await download_summary(session, "Demo", TODAY)
        empty = await download_summary(session, "nothing", TODAY)
    assert summary == DownloadSummary(last_day=1, last_week=20011, last_month=21111)
    assert empty == DownloadSummary(0, 0, 0)
