"""The critical designation as a job: recompute, then notify (and remind).

``bastion critical recompute`` and the ``critical-recompute`` job of :mod:`bastion.jobs`
both go through :func:`recompute_and_notify`.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from bastion.clock import today
from bastion.critical.notify import notify_critical
from bastion.critical.policy import RecomputeResult, recompute
from bastion.critical.reminders import send_mandate_reminders
from bastion.services import Services

log = logging.getLogger(__name__)


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
                session,
                result.newly_critical,
                services.settings,
                services.mailer.send,
                now=services.clock.now(),
            )
    if remind:
        try:
            await send_mandate_reminders(services)
        except Exception:
            log.exception("the 2FA mandate reminders failed")
    return result
