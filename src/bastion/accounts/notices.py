"""Every email the site sends, rendered from ``accounts/templates/email/<name>.txt``.

A template's first line is the subject; the rest is the plain-text body. :func:`render` is
pure (tests read it); :func:`send` delivers through the :class:`~bastion.accounts.mail.Mailer`
and, for notices that must not fail a request, logs a mail server that cannot be reached.
A domain function that decides to tell someone returns a :class:`Notice` (rendered with
:func:`notice`); its caller sends them with :func:`send_after` once the transaction commits.
:func:`security_changed` is the notice for a change to the account's security (a factor
added or removed, recovery codes regenerated, an API token created, the password changed).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Notice:
    """One rendered email to one person, to send once the decision is committed."""

    to: str
    template: str
    message: Message
    user_id: int | None = None


def notice(
    settings: Settings, to: str, template: str, /, *, user_id: int | None, **values: Any
) -> Notice:
    """``template`` rendered for ``to`` (see :func:`render`), not sent yet."""
    return Notice(to, template, render(template, settings, **values), user_id)


async def _deliver(mailer: Mailer, item: Notice) -> bool:
    try:
        await mailer.send(item.to, item.message.subject, item.message.body)
    except OSError:
        log.exception("could not send the %s email to user %s", item.template, item.user_id)
        return False
    return True


async def send(
    mailer: Mailer, to: str, template: str, /, *, user_id: int | None, **values: Any
) -> bool:
    """Render and send; a mail server that cannot be reached is logged and gives False."""
    return await _deliver(mailer, notice(mailer.settings, to, template, user_id=user_id, **values))


async def send_after(mailer: Mailer, notices: Iterable[Notice]) -> None:
    """Send the notices a committed transaction decided on; an unreachable mail server is
    logged, never raised (the decision stands either way)."""
    for item in notices:
        await _deliver(mailer, item)


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
