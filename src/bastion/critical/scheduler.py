"""The critical designation as a job: recompute, then notify (and remind).

``bastion critical recompute`` and the ``critical-recompute`` job of :mod:`bastion.jobs`
both go through :func:`recompute_and_notify`.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from bastion.accounts.mail import Mailer
from bastion.clock import Clock, today
from bastion.config import Settings
from bastion.critical.notify import notify_critical
from bastion.critical.policy import RecomputeResult, recompute
from bastion.critical.reminders import send_mandate_reminders
from bastion.db.engine import Database

log = logging.getLogger(__name__)


def last_complete_day(clock: Clock) -> date:
    """Yesterday in UTC: the newest day whose counts are all in."""
    return today(clock) - timedelta(days=1)


async def recompute_and_notify(
    db: Database,
    as_of: date | None = None,
    *,
    settings: Settings,
    clock: Clock,
    mailer: Mailer,
    full: bool = False,
    remind: bool = True,
) -> RecomputeResult:
    """One recompute in its own transaction, then email the newly critical projects' people
    and (with ``remind``) the mandate reminders; a failed reminder run is only logged.

    Each email is sent, then recorded and committed, one by one (see ``notify_critical``
    and ``send_mandate_reminders``), so a run that dies half-way resends nothing."""
    as_of = as_of or last_complete_day(clock)
    async with db.transaction() as session:
        result = await recompute(session, as_of, settings, full=full, now=clock.now())
    if result.newly_critical:
        async with db.session() as session:
            await notify_critical(
                session, result.newly_critical, settings, mailer.send, now=clock.now()
            )
    if remind:
        try:
            await send_mandate_reminders(db, settings=settings, clock=clock, mailer=mailer)
        except Exception:
            log.exception("the 2FA mandate reminders failed")
    return result
