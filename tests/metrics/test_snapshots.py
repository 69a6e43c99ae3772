from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from bastion.clock import MovableClock
from bastion.metrics.figures import TwoFactorFigures
from bastion.metrics.models import TwoFactorSnapshot
from bastion.metrics.snapshots import history, recent_history
from bastion.services import Services
from tests.support.population import MIXED_FIGURES, Person, Population, build, daily_snapshot


async def rows(services: Services) -> int:
    async with services.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(TwoFactorSnapshot)) or 0)


async def test_one_snapshot_per_day_holding_the_later_figures(
    services: Services, clock: MovableClock
) -> None:
    clock.set(datetime(2024, 6, 1, 0, 10, tzinfo=UTC))
    first = await daily_snapshot(services)
    assert first.day == date(2024, 6, 1)
    assert first.figures == TwoFactorFigures()
    await build(services, Population(people=[Person("late", totp="confirmed")]))
    clock.advance(timedelta(hours=20))
    second = await daily_snapshot(services)
    assert await rows(services) == 1
    async with services.db.session() as session:
        [stored] = await history(session)
        row = await session.get(TwoFactorSnapshot, date(2024, 6, 1))
    assert stored.figures == second.figures
    assert stored.figures.users_with_2fa == 1
    assert row is not None and row.taken_at == clock.now()


async def test_history_over_several_days_oldest_first(
    services: Services, clock: MovableClock, mixed: dict[str, int]
) -> None:
    clock.set(datetime(2024, 6, 1, 0, 5, tzinfo=UTC))
    await daily_snapshot(services)
    await build(services, Population(people=[Person("newcomer", keys=1)]))
    for _ in range(3):
        clock.advance(timedelta(days=1))
        await daily_snapshot(services)
    await daily_snapshot(services)  # twice on the last day: still one row for it
    async with services.db.session() as session:
        snaps = await history(session)
        last_two = await recent_history(session, clock, 2)
    assert [s.day for s in snaps] == [date(2024, 6, d) for d in (1, 2, 3, 4)]
    assert snaps[0].figures == MIXED_FIGURES
    assert [s.figures.users for s in snaps] == [7, 8, 8, 8]
    assert [s.day for s in last_two] == [date(2024, 6, 3), date(2024, 6, 4)]
    assert snaps[1].as_dict()["day"] == "2024-06-02"
    assert snaps[1].as_dict()["share_with_2fa"] == round(6 / 8, 6)
