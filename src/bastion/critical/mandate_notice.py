"""What the 2FA mandate asks of one maintainer, in words: the banner and the emails.

A maintainer is *affected* when they own or maintain a critical project and have no
active second factor (as the gate decides it). Before the enforcement date they are
warned; from it on they are told it is required now.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts.twofactor.status import has_two_factor
from bastion.config import Settings
from bastion.critical.policy import critical_projects_of

TWO_FACTOR_PATH = "/account/two-factor/"


def two_factor_link(settings: Settings) -> str:
    """The full URL of the page where a user enables two-factor authentication."""
    return settings.base_url.rstrip("/") + TWO_FACTOR_PATH


def critical_subject(projects: Sequence[str]) -> str:
    """ "project a is critical" / "projects a, b are critical": the mandate's one wording,
    shared by its refusals (``bastion.authz``), banner and emails."""
    names = ", ".join(projects)
    if len(projects) == 1:
        return f"project {names} is critical"
    return f"projects {names} are critical"


def requirement(projects: Sequence[str], settings: Settings, today: date) -> str:
    """One sentence: which projects are critical and when 2FA is (or will be) required.

    ``projects`` must not be empty.
    """
    subject = critical_subject(projects)
    subject = subject[0].upper() + subject[1:]
    them = "it" if len(projects) == 1 else "them"
    enforced = settings.mandate_enforced_from
    if enforced is None:
        when = "will soon be required"
    elif today < enforced:
        when = f"is required from {enforced.isoformat()}"
    else:
        when = f"is required (since {enforced.isoformat()})"
    return f"{subject}: two-factor authentication {when} to upload to or change {them}."


async def affected_projects(session: AsyncSession, user_id: int) -> list[str]:
    """The critical projects the user maintains while having no second factor (else [])."""
    projects = await critical_projects_of(session, user_id)
    if not projects or await has_two_factor(session, user_id):
        return []
    return projects
