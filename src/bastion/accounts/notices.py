"""Every email the site sends, rendered from ``accounts/templates/email/<name>.txt``.

A template's first line is the subject; the rest is the plain-text body. :func:`render` is
pure (tests read it); :func:`send` delivers through the :class:`~bastion.accounts.mail.Mailer`
and, for notices that must not fail a request, logs a mail server that cannot be reached.
:func:`security_changed` is the notice for a change to the account's security (a factor
added or removed, recovery codes regenerated, an API token created, the password changed).

Domain functions do not send mail: one whose change calls for an email returns a
:class:`Notice` in its result, and the caller hands it to :func:`send_after` once the
transaction that made the change has committed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bastion.accounts.mail import Mailer
from bastion.config import Settings

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates" / "email"

# Plain-text mail: nothing is HTML, so nothing to escape.
_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=False,  # noqa: S701
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


def render(template: str, settings: Settings | None = None, /, **values: Any) -> Message:
    """The subject and body of ``template`` (with ``settings``: its ``site_name`` and
    ``base_url`` in scope)."""
    if settings is not None:
        values = {"site_name": settings.site_name, "base_url": settings.base_url, **values}
    text = _env.get_template(f"{template}.txt").render(**values)
    subject, _, body = text.partition("\n")
    return Message(subject=subject.strip(), body=body.rstrip("\n") + "\n")


async def send(
    mailer: Mailer, to: str, template: str, /, *, user_id: int | None, **values: Any
) -> bool:
    """Render and send; a mail server that cannot be reached is logged and gives False."""
    message = render(template, mailer.settings, **values)
    try:
        await mailer.send(to, message.subject, message.body)
    except OSError:
        log.exception("could not send the %s email to user %s", template, user_id)
        return False
    return True


@dataclass(frozen=True)
class Notice:
    """One email to send after a commit: ``template`` rendered with ``values``, to ``to``."""

    to: str
    template: str
    user_id: int | None
    values: dict[str, Any] = field(default_factory=dict)


async def send_after(mailer: Mailer, notices: Iterable[Notice]) -> int:
    """Send ``notices``; call it once the transaction that made them has committed. A
    notice that cannot go out is logged and skipped (the committed change stands).
    Returns how many were sent."""
    sent = 0
    for notice in notices:
        try:
            ok = await send(
                mailer, notice.to, notice.template, user_id=notice.user_id, **notice.values
            )
        except Exception:
            log.exception("could not send the %s email to user %s", notice.template, notice.user_id)
            ok = False
        sent += ok
    return sent


class Change(StrEnum):
    """A change to an account's security that its owner is told about."""

    TOTP_ADDED = "An authenticator app was added"
    TOTP_REMOVED = "The authenticator app was removed"
    KEY_ADDED = "A security key was added"
    KEY_REMOVED = "A security key was removed"
    RECOVERY_CODES = "New recovery codes were generated"
    TOKEN_CREATED = "An API token was created"
    PASSWORD_CHANGED = "Your password was changed"


async def security_changed(
    mailer: Mailer,
    *,
    to: str,
    username: str,
    user_id: int,
    change: Change,
    when: datetime,
    detail: str = "",
    ip_address: str | None = None,
) -> bool:
    """Tell the account's owner about ``change`` (the history lists it too)."""
    return await send(
        mailer,
        to,
        "security_changed",
        user_id=user_id,
        username=username,
        summary=change.value,
        detail=detail,
        when=when,
        ip_address=ip_address,
        history_link=f"{mailer.settings.base_url}/account/security-history/",
    )
