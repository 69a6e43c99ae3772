"""The one list of periodic jobs: the embedded scheduler and ``bastion jobs run`` read it.

Each job is a plain function of its domain; the adapters here only say in one line
what it did. They run in this order (the metrics snapshot after the recompute, so
today's designations count), each at most once per UTC day across every process
(:mod:`bastion.scheduling.once`), and each is safe to run again after dying half-way:

- ``critical-recompute``: flush this process's download counts, designate the top
  share of projects (sticky: a re-run designates nothing new) and email the newly
  critical projects' people;
- ``mandate-reminders``: the one-time 2FA-mandate reminders (each sent once, recorded);
- ``metrics-snapshot``: today's 2FA figures (a re-run replaces the day's snapshot);
- ``purge-sessions``: delete expired web sessions;
- ``purge-deletions``: remove tombstones past retention (rows in one transaction,
  blobs after: a crash between leaves orphan blobs for the orphan sweep);
- ``orphan-sweep``: delete blobs no committed row references (older than a grace period,
  so an upload in flight keeps its blob) and temp files left by a crash.
"""

from __future__ import annotations

from bastion.accounts.sessions import purge_expired
from bastion.critical.reminders import send_mandate_reminders
from bastion.critical.scheduler import recompute_and_notify
from bastion.metrics.snapshots import take_snapshot
from bastion.packaging.purge import purge
from bastion.packaging.sweep import sweep
from bastion.scheduling.once import Job
from bastion.services import Services


async def critical_recompute(services: Services) -> str:
    await services.downloads.flush(services.db)
    result = await recompute_and_notify(
        services.db,
        settings=services.settings,
        clock=services.clock,
        mailer=services.mailer,
        remind=False,
    )
    return (
        f"critical recompute to {result.as_of}: {result.total_critical} critical, "
        f"new: {', '.join(result.newly_critical) or 'none'}"
    )


async def mandate_reminders(services: Services) -> str:
    sent = await send_mandate_reminders(
        services.db, settings=services.settings, clock=services.clock, mailer=services.mailer
    )
    return f"2FA mandate reminders: {sent} sent"


async def metrics_snapshot(services: Services) -> str:
    async with services.db.transaction() as session:
        snapshot = await take_snapshot(session, services.clock)
    return f"2FA metrics snapshot for {snapshot.day.isoformat()} stored"


async def purge_sessions(services: Services) -> str:
    async with services.db.transaction() as session:
        removed = await purge_expired(session, services.clock, services.settings)
    return f"expired web sessions: {removed} removed"


async def purge_deletions(services: Services) -> str:
    items = await purge(
        services.db,
        services.store,
        now=services.clock.now(),
        retention_days=services.settings.deletion_retention_days,
    )
    return (
        f"deletion purge: {len(items)} tombstone(s) past "
        f"{services.settings.deletion_retention_days} days removed"
    )


async def orphan_sweep(services: Services) -> str:
    result = await sweep(services.db, services.store, services.settings, services.clock.now())
    return (
        f"orphan sweep: {len(result.orphans)} blob(s) and {len(result.temp_files)} "
        "temp file(s) removed"
    )


JOBS: tuple[Job, ...] = (
    Job(
        "critical-recompute",
        "designate critical projects, email the newly critical",
        critical_recompute,
    ),
    Job("mandate-reminders", "send the one-time 2FA-mandate reminders", mandate_reminders),
    Job("metrics-snapshot", "store today's 2FA figures", metrics_snapshot),
    Job("purge-sessions", "delete expired web sessions", purge_sessions),
    Job("purge-deletions", "remove deletions past retention, with their blobs", purge_deletions),
    # Last: after the purge, whose blobs go with their rows.
    Job("orphan-sweep", "delete blobs no file row points to, and crash leftovers", orphan_sweep),
)


def find(name: str) -> Job:
    """The job called ``name``; KeyError with the known names otherwise."""
    for job in JOBS:
        if job.name == name:
            return job
    raise KeyError(name)
