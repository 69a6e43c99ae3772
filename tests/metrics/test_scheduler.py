from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

from bastion.clock import MovableClock
from bastion.jobs import JOBS
from bastion.metrics.snapshots import history
from bastion.scheduling import daily
from bastion.services import Services


async def test_daily_job_takes_the_snapshot(
    services: Services, clock: MovableClock, mixed: dict[str, int]
) -> None:
    clock.set(datetime(2024, 6, 2, 8, 0, tzinfo=UTC))
    daily.start(services, JOBS)
    try:
        for _ in range(1500):  # generous: CI is busy
            await asyncio.sleep(0.02)
            async with services.db.session() as session:
                snaps = await history(session)
            if snaps:
                break
    finally:
        await daily.stop(services)
    assert [s.day for s in snaps] == [date(2024, 6, 2)]
    assert snaps[0].figures.users == 7
