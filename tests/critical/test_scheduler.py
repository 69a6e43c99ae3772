from __future__ import annotations

import asyncio
import mailbox
from datetime import UTC, date, datetime

import pytest

from bastion import lifecycle
from bastion.clock import MovableClock
from bastion.critical.policy import critical_names
from bastion.jobs import JOBS
from bastion.scheduling import daily
from bastion.services import Services
from tests.support.types import AddDownloads, MakeProject, MakeUser


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2024, 6, 1, 0, 0, tzinfo=UTC), 300.0),
        (datetime(2024, 6, 1, 0, 4, 59, tzinfo=UTC), 1.0),
        (datetime(2024, 6, 1, 0, 5, tzinfo=UTC), 86400.0),
        (datetime(2024, 6, 1, 23, 0, tzinfo=UTC), 3900.0),
    ],
)
def test_next_run_is_after_utc_midnight(now: datetime, expected: float) -> None:
    assert daily.seconds_until_next_run(now, 300) == expected


async def critical(services: Services) -> set[str]:
    async with services.db.session() as session:
        return await critical_names(session)


async def test_daily_job_catches_up_at_start_and_emails(
    services: Services,
    clock: MovableClock,
    add_downloads: AddDownloads,
    make_user: MakeUser,
    make_project: MakeProject,
) -> None:
    clock.set(datetime(2024, 6, 2, 8, 0, tzinfo=UTC))
    owner = await make_user("owner")
    await make_project("Famous", owner)
    await add_downloads({("famous", date(2024, 6, 1)): 50, ("quiet", date(2024, 6, 1)): 1})
    services.downloads.hit("famous", "famous-1.0.tar.gz")  # today's: flushed by the job
    daily.start(services, JOBS)
    try:
        # The job designates, then emails: wait for the email (generous: CI is busy).
        for _ in range(1500):
            await asyncio.sleep(0.02)
            if services.mailer.mbox_path.exists() and len(mailbox.mbox(services.mailer.mbox_path)):
                break
    finally:
        await daily.stop(services)
    assert await critical(services) == {"famous"}
    assert services.downloads.pending == 0
    box = mailbox.mbox(services.mailer.mbox_path)
    assert [m["To"] for m in box] == ["owner@example.org"]


async def test_embedded_jobs_off_leaves_it_to_cron(services: Services) -> None:
    services.settings = services.settings.model_copy(update={"embedded_jobs": False})
    await lifecycle.startup(services)
    try:
        assert services.daily_task is None
    finally:
        await lifecycle.shutdown(services)


async def test_lifecycle_starts_and_stops_the_daily_job(services: Services) -> None:
    await lifecycle.startup(services)
    task = services.daily_task
    assert task is not None
    await lifecycle.shutdown(services)
    assert task.done()
    assert services.daily_task is None
