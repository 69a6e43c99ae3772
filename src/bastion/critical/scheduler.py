"""The embedded mode's daily job: flush counts, move the window, designate, notify.

Scale-out deployments set ``BASTION_EMBEDDED_JOBS=false`` and run
``bastion critical recompute`` from cron instead; both go through
:func:`recompute_and_notify`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, date, datetime, time, timedelta

from bastion.clock import today
from bastion.critical.notify import notify_critical
from bastion.critical.policy import RecomputeResult, recompute
from bastion.services import Services

log = logging.getLogger(__name__)

TASK_KEY = "critical_scheduler"


def last_complete_day(services: Services) -> date:
    """Yesterday in UTC: the newest day whose counts are all in."""
    return today(services.clock) - timedelta(days=1)


async def recompute_and_notify(
    services: Services, as_of: date | None = None, *, full: bool = False
) -> RecomputeResult:
    """One recompute in its own transaction, then email the newly critical projects' people."""
    as_of = as_of or last_complete_day(services)
    async with services.db.transaction() as session:
        result = await recompute(
            session, as_of, services.settings, full=full, now=services.clock.now()
        )
    if result.newly_critical:
        async with services.db.session() as session:
            await notify_critical(
                session, result.newly_critical, services.settings, services.mailer.send
            )
    return result


def seconds_until_next_run(now: datetime, delay_seconds: float) -> float:
    """Seconds from ``now`` to the next UTC midnight plus the delay."""
    midnight = datetime.combine(now.astimezone(UTC).date(), time(), tzinfo=UTC)
    target = midnight + timedelta(seconds=delay_seconds)
    if target <= now:
        target += timedelta(days=1)
    return (target - now).total_seconds()


async def run_daily(services: Services) -> None:
    """Catch up now, then once a day; a failed run is logged and retried next day."""
    while True:
        try:
            await services.downloads.flush(services.db)
            result = await recompute_and_notify(services)
            log.info("critical recompute to %s: %d critical, new: %s", result.as_of,
                     result.total_critical, ", ".join(result.newly_critical) or "none")
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the daily critical recompute failed")
        try:
            from bastion.metrics.snapshots import snapshot_job

            await snapshot_job(services)  # after the recompute: today's designations count
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the daily 2FA metrics snapshot failed")
        await asyncio.sleep(seconds_until_next_run(
            services.clock.now(), services.settings.critical_job_delay_seconds
        ))


def start(services: Services) -> None:
    """Start the daily job (idempotent)."""
    task = services.extras.get(TASK_KEY)
    if task is None or task.done():
        services.extras[TASK_KEY] = asyncio.create_task(
            run_daily(services), name="critical-scheduler"
        )


async def stop(services: Services) -> None:
    """Cancel the daily job and wait for it to end (its transaction rolls back)."""
    task: asyncio.Task[None] | None = services.extras.pop(TASK_KEY, None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
