"""A job runs once per period across processes, records how it went, and runs again after
dying half-way."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bastion.clock import MovableClock
from bastion.scheduling.models import JobRun
from bastion.scheduling.once import Job, Status, last_runs, run_once
from bastion.services import Services

NOW = datetime(2030, 3, 1, 6, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def at_now(clock: MovableClock) -> None:
    clock.set(NOW)


def counting(calls: list[str], *, pause: float = 0.0, fail_first: bool = False) -> Job:
    async def run(_services: Services) -> str:
        calls.append("run")
        await asyncio.sleep(pause)
        if fail_first and len(calls) == 1:
            raise RuntimeError("died half-way")
        return f"ran {len(calls)}"

    return Job("counting", "counts its runs", run)


async def runs(services: Services) -> list[tuple[str, bool | None, str]]:
    async with services.db.session() as session:
        rows = await session.scalars(select(JobRun).order_by(JobRun.id))
        return [(r.period, r.succeeded, r.detail) for r in rows]


async def test_once_per_day_then_again_the_next_day(
    services: Services, clock: MovableClock
) -> None:
    calls: list[str] = []
    job = counting(calls)
    assert (await run_once(services, job)).status is Status.RAN
    assert (await run_once(services, job)).status is Status.DONE
    assert (await run_once(services, job, force=True)).status is Status.RAN
    clock.advance(timedelta(days=1))
    assert (await run_once(services, job)).status is Status.RAN
    assert calls == ["run"] * 3
    assert await runs(services) == [
        ("2030-03-01", True, "ran 1"),
        ("2030-03-01", True, "ran 2"),
        ("2030-03-02", True, "ran 3"),
    ]
    assert (await last_runs(services))["counting"].period == "2030-03-02"


async def test_started_twice_at_once_it_runs_once(services: Services) -> None:
    calls: list[str] = []
    job = counting(calls, pause=0.3)
    first, second = await asyncio.gather(run_once(services, job), run_once(services, job))
    assert sorted([first.status, second.status]) == sorted([Status.RAN, Status.BUSY])
    assert calls == ["run"]
    assert (await run_once(services, job)).status is Status.DONE


async def test_a_job_that_dies_half_way_runs_again(services: Services) -> None:
    calls: list[str] = []
    job = counting(calls, fail_first=True)
    failed = await run_once(services, job)
    assert failed.status is Status.FAILED and not failed.ok
    assert failed.detail == "died half-way"
    assert (await run_once(services, job)).status is Status.RAN
    assert [(ok, detail) for _, ok, detail in await runs(services)] == [
        (False, "RuntimeError: died half-way"),
        (True, "ran 2"),
    ]


async def test_a_cancelled_run_is_left_unfinished_and_runs_again(services: Services) -> None:
    calls: list[str] = []
    task = asyncio.create_task(run_once(services, counting(calls, pause=30)))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [(ok, detail) for _, ok, detail in await runs(services)] == [(None, "")]
    # The lock went with the cancelled run: the job runs again at once.
    assert (await run_once(services, counting(calls))).status is Status.RAN
