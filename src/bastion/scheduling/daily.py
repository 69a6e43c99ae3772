"""The embedded scheduler: run the jobs at start (catching up) and then daily.

Every process that embeds it runs the same loop; :func:`~bastion.scheduling.once.run_once`
makes each job run once per day across all of them, so turning it on in every worker
is safe. ``BASTION_CRITICAL_JOB_DELAY_SECONDS`` after UTC midnight, late download
counts have been flushed. One job failing is logged and does not stop the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta

from bastion.scheduling.once import Job, Outcome, run_once
from bastion.services import Services
from bastion.tasks import cancel


def seconds_until_next_run(now: datetime, delay_seconds: float) -> float:
    """Seconds from ``now`` to the next UTC midnight plus the delay."""
    midnight = datetime.combine(now.astimezone(UTC).date(), time(), tzinfo=UTC)
    target = midnight + timedelta(seconds=delay_seconds)
    if target <= now:
        target += timedelta(days=1)
    return (target - now).total_seconds()


async def run_all(services: Services, jobs: Sequence[Job], *, force: bool = False) -> list[Outcome]:
    """Each job once (in order); a failure is recorded and the next job still runs."""
    return [await run_once(services, job, force=force) for job in jobs]


async def run_daily(services: Services, jobs: Sequence[Job]) -> None:
    """Catch up now, then once a day; a failed job runs again the next day."""
    while True:
        await run_all(services, jobs)
        await asyncio.sleep(
            seconds_until_next_run(
                services.clock.now(), services.settings.critical_job_delay_seconds
            )
        )


def start(services: Services, jobs: Sequence[Job]) -> None:
    """Start the daily loop in this process (idempotent)."""
    task = services.daily_task
    if task is None or task.done():
        services.daily_task = asyncio.create_task(run_daily(services, jobs), name="daily-jobs")


async def stop(services: Services) -> None:
    """Cancel the loop and wait for it to end (a job cut short runs again next time)."""
    task, services.daily_task = services.daily_task, None
    await cancel(task)
