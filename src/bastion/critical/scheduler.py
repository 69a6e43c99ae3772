"""The embedded mode's daily jobs: flush counts, move the window, designate, notify,
remind, snapshot the 2FA figures, purge expired sessions and deletions past retention,
sweep orphan blobs and temp files.

Each step runs in its own ``try``: one failing is logged and does not stop the others.
Scale-out deployments set ``BASTION_EMBEDDED_JOBS=false`` and run the commands from
cron instead (``bastion critical recompute``, which also sends the mandate reminders,
``bastion metrics snapshot``, ``bastion admin purge``, ``bastion admin sweep``); the
recompute goes through
:func:`recompute_and_notify` either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta

from bastion.clock import today
from bastion.critical.notify import notify_critical
from bastion.critical.policy import RecomputeResult, recompute
from bastion.critical.reminders import send_mandate_reminders
from bastion.services import Services

log = logging.getLogger(__name__)

TASK_KEY = "critical_scheduler"


def last_complete_day(services: Services) -> date:
    """Yesterday in UTC: the newest day whose counts are all in."""
    return today(services.clock) - timedelta(days=1)


async def recompute_and_notify(
    services: Services, as_of: date | None = None, *, full: bool = False, remind: bool = True
) -> RecomputeResult:
    """One recompute in its own transaction, then email the newly critical projects' people
    and (with ``remind``) the mandate reminders; a failed reminder run is only logged."""
    as_of = as_of or last_complete_day(services)
    async with services.db.transaction() as session:
        result = await recompute(
            session, as_of, services.settings, full=full, now=services.clock.now()
        )
    if result.newly_critical:
        async with services.db.session() as session:
            await notify_critical(
                session, result.newly_critical, services.settings, services.mailer.send,
                now=services.clock.now(),
            )
    if remind:
        try:
            await send_mandate_reminders(services)
        except Exception:
            log.exception("the 2FA mandate reminders failed")
    return result


def seconds_until_next_run(now: datetime, delay_seconds: float) -> float:
    """Seconds from ``now`` to the next UTC midnight plus the delay."""
    midnight = datetime.combine(now.astimezone(UTC).date(), time(), tzinfo=UTC)
    target = midnight + timedelta(seconds=delay_seconds)
    if target <= now:
        target += timedelta(days=1)
    return (target - now).total_seconds()


async def _flush_and_recompute(services: Services) -> str:
    await services.downloads.flush(services.db)
    result = await recompute_and_notify(services, remind=False)
    return (f"critical recompute to {result.as_of}: {result.total_critical} critical, "
            f"new: {', '.join(result.newly_critical) or 'none'}")


async def _remind(services: Services) -> str:
    return f"2FA mandate reminders: {await send_mandate_reminders(services)} sent"


async def _snapshot(services: Services) -> str:
    from bastion.metrics.snapshots import snapshot_job

    snapshot = await snapshot_job(services)  # after the recompute: today's designations count
    return f"2FA metrics snapshot for {snapshot.day.isoformat()} stored"


async def _purge_sessions(services: Services) -> str:
    from bastion.accounts.sessions import purge_expired

    async with services.db.transaction() as session:
        removed = await purge_expired(session, services.clock, services.settings)
    return f"expired web sessions: {removed} removed"


async def _purge_deleted(services: Services) -> str:
    from bastion.packaging.purge import purge

    items = await purge(services)
    return (f"deletion purge: {len(items)} tombstone(s) past "
            f"{services.settings.deletion_retention_days} days removed")


async def _sweep_orphans(services: Services) -> str:
    from bastion.packaging.sweep import sweep

    result = await sweep(services.db, services.store, services.settings, services.clock.now())
    return (f"orphan sweep: {len(result.orphans)} blob(s) and {len(result.temp_files)} "
            "temp file(s) removed")


DAILY_STEPS: tuple[tuple[str, Callable[[Services], Awaitable[str]]], ...] = (
    ("critical recompute", _flush_and_recompute),
    ("2FA mandate reminders", _remind),
    ("2FA metrics snapshot", _snapshot),
    ("expired session purge", _purge_sessions),
    ("deletion purge", _purge_deleted),
    ("orphan sweep", _sweep_orphans),  # after the purge: its blobs are gone with their rows
)


async def run_daily_once(services: Services) -> dict[str, bool]:
    """Every daily step once, in order, each in its own try; returns step -> succeeded."""
    outcome: dict[str, bool] = {}
    for name, step in DAILY_STEPS:
        try:
            log.info("%s", await step(services))
            outcome[name] = True
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the daily job step %r failed", name)
            outcome[name] = False
    return outcome


async def run_daily(services: Services) -> None:
    """Catch up now, then once a day; a failed step is logged and retried next day."""
    while True:
        await run_daily_once(services)
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
