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
- ``orphan-sweep``: SLOT, see the comment at the end of :data:`JOBS`.
"""

from __future__ import annotations

from bastion.accounts.sessions import purge_expired
from bastion.critical.reminders import send_mandate_reminders
from bastion.critical.scheduler import recompute_and_notify
from bastion.metrics.snapshots import snapshot_job
from bastion.packaging.purge import purge
from bastion.scheduling.once import Job
from bastion.services import Services


async def critical_recompute(services: Services) -> str:
    await services.downloads.flush(services.db)
    result = await recompute_and_notify(services, remind=False)
    return (f"critical recompute to {result.as_of}: {result.total_critical} critical, "
            f"new: {', '.join(result.newly_critical) or 'none'}")


async def mandate_reminders(services: Services) -> str:
    return f"2FA mandate reminders: {await send_mandate_reminders(services)} sent"


async def metrics_snapshot(services: Services) -> str:
    snapshot = await snapshot_job(services)
    return f"2FA metrics snapshot for {snapshot.day.isoformat()} stored"


async def purge_sessions(services: Services) -> str:
    async with services.db.transaction() as session:
        removed = await purge_expired(session, services.clock, services.settings)
    return f"expired web sessions: {removed} removed"


async def purge_deletions(services: Services) -> str:
    items = await purge(services)
    return (f"deletion purge: {len(items)} tombstone(s) past "
            f"{services.settings.deletion_retention_days} days removed")


JOBS: tuple[Job, ...] = (
    Job("critical-recompute", "designate critical projects, email the newly critical",
        critical_recompute),
    Job("mandate-reminders", "send the one-time 2FA-mandate reminders", mandate_reminders),
    Job("metrics-snapshot", "store today's 2FA figures", metrics_snapshot),
    Job("purge-sessions", "delete expired web sessions", purge_sessions),
    Job("purge-deletions", "remove deletions past retention, with their blobs",
        purge_deletions),
    # SLOT: the orphan sweep (blobs no file row points to) is being written as a plain
    # function of packaging/storage; add it here as
    #   Job("orphan-sweep", "delete blobs no file row points to", orphan_sweep),
    # with a one-line adapter like the ones above. It goes last: after the purge.
)


def find(name: str) -> Job:
    """The job called ``name``; KeyError with the known names otherwise."""
    for job in JOBS:
        if job.name == name:
            return job
    raise KeyError(name)
