from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from bastion import lifecycle
from bastion.clock import MovableClock
from bastion.services import Services
from bastion.stats import counter as counter_module
from bastion.stats.models import FileDayDownloads, ProjectDayDownloads


async def project_days(services: Services) -> dict[tuple[str, date], int]:
    async with services.db.session() as session:
        rows = await session.execute(select(ProjectDayDownloads))
        return {(r.project, r.day): r.downloads for r in rows.scalars()}


async def file_days(services: Services) -> dict[tuple[str, date], int]:
    async with services.db.session() as session:
        rows = await session.execute(select(FileDayDownloads))
        return {(r.filename, r.day): r.downloads for r in rows.scalars()}


@pytest.fixture
def midnight(clock: MovableClock) -> date:
    clock.set(datetime(2024, 5, 1, 23, 59, 59, tzinfo=UTC))
    return date(2024, 5, 1)


async def test_hits_are_buffered_then_flushed_per_project_file_and_day(
    services: Services, clock: MovableClock, midnight: date
) -> None:
    counter = services.downloads
    for _ in range(3):
        counter.hit("demo", "demo-1.0.tar.gz")
    counter.hit("demo", "demo-1.0-py3-none-any.whl")
    clock.advance(timedelta(seconds=2))  # past midnight: a new UTC day
    counter.hit("demo", "demo-1.0.tar.gz")
    assert counter.pending == 5
    assert await project_days(services) == {}  # nothing written per hit

    assert await counter.flush(services.db) == 5
    assert counter.pending == 0
    next_day = midnight + timedelta(days=1)
    assert await project_days(services) == {("demo", midnight): 4, ("demo", next_day): 1}
    assert await file_days(services) == {
        ("demo-1.0.tar.gz", midnight): 3,
        ("demo-1.0-py3-none-any.whl", midnight): 1,
        ("demo-1.0.tar.gz", next_day): 1,
    }
    counter.hit("demo", "demo-1.0.tar.gz")
    await counter.flush(services.db)  # adds up with what is stored
    assert (await project_days(services))[("demo", next_day)] == 2
    assert await counter.flush(services.db) == 0


async def test_a_failed_flush_keeps_the_counts(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = services.downloads
    counter.hit("demo", "demo-1.0.tar.gz")

    async def broken(session: object, counts: object) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(counter_module, "add_live_counts", broken)
    with pytest.raises(RuntimeError):
        await counter.flush(services.db)
    assert counter.pending == 1
    assert await project_days(services) == {}
    monkeypatch.undo()
    counter.hit("demo", "demo-1.0.tar.gz")
    assert await counter.flush(services.db) == 2
    assert sum((await project_days(services)).values()) == 2


async def test_the_background_task_flushes_every_interval(services: Services) -> None:
    counter = services.downloads
    counter.start(services.db, 0.05)
    try:
        counter.hit("demo", "demo-1.0.tar.gz")
        for _ in range(100):
            await asyncio.sleep(0.05)
            if await project_days(services):
                break
        assert sum((await project_days(services)).values()) == 1
    finally:
        await counter.stop(services.db)


async def test_counts_survive_a_clean_shutdown(services: Services) -> None:
    services.settings = services.settings.model_copy(
        update={"download_flush_seconds": 3600.0, "embedded_jobs": False}
    )
    await lifecycle.startup(services)
    for _ in range(7):
        services.downloads.hit("demo", "demo-1.0.tar.gz")
    await lifecycle.shutdown(services)  # flushes, then closes the engine
    assert services.downloads.pending == 0
    assert sum((await project_days(services)).values()) == 7
