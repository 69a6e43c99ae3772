"""The one function that decides whether a user may act on a project under the 2FA mandate.

Every route and every way of authenticating (browser session, password, API
token, any future one) goes through :func:`check_action` before it changes a
project. It returns warnings to show (before the enforcement date) or raises
``Forbidden`` (from it on) for a user without an active second factor when the
mandate covers the project: critical projects with ``mandate_scope = "critical"``,
every project with ``"all"``.

Tokens: pass ``via_token=<the token's created time>`` when the request was
authenticated with an API token. A token created before its owner enabled two-
factor authentication is refused on covered projects, like a user without 2FA
(whose tokens stop working too, since the user check comes first).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.clock import today
from bastion.critical.models import CriticalProject
from bastion.errors import Forbidden

if TYPE_CHECKING:
    from bastion.services import Services


class Action(StrEnum):
    UPLOAD = "upload"
    MANAGE = "manage"
    DELETE = "delete"
    YANK = "yank"
    CREATE_TOKEN = "create token"


async def user_has_two_factor(session: AsyncSession, user_id: int) -> bool:
    """Whether the user has an active second factor (TOTP or a security key)."""
    from bastion.accounts.twofactor.status import has_two_factor

    return bool(await has_two_factor(session, user_id))


async def two_factor_enabled_at(session: AsyncSession, user_id: int) -> datetime | None:
    """When the user's current second factor was first enabled, if the accounts domain says."""
    from bastion.accounts.twofactor import status

    lookup = getattr(status, "two_factor_enabled_at", None)
    if lookup is None:
        return None
    result: datetime | None = await lookup(session, user_id)
    return result


async def token_created(session: AsyncSession, token_id: int | None) -> datetime | None:
    """The created time of the API token a request used (None: not a token) — for ``via_token``."""
    if token_id is None:
        return None
    from bastion.accounts.token_models import ApiToken

    token = await session.get(ApiToken, token_id)
    return None if token is None else token.created


def two_factor_url(services: Services) -> str:
    return f"{services.settings.base_url.rstrip('/')}/account/two-factor/"


def _subject(name: str, critical: bool) -> str:
    if critical:
        return f"project {name} is critical"
    return f"changes to project {name} need two-factor authentication"


def _refuse_or_warn(
    services: Services, name: str, critical: bool, *, problem: str, fix: str, warn_fix: str,
) -> list[str]:
    enforced_from: date | None = services.settings.mandate_enforced_from
    subject = _subject(name, critical)
    if enforced_from is not None and today(services.clock) >= enforced_from:
        raise Forbidden(f"{subject}: {fix}, then try again ({problem}).")
    when = f"from {enforced_from.isoformat()}" if enforced_from else "soon"
    return [f"{subject}: two-factor authentication will be required {when}; {warn_fix}"]


async def check_action(
    session: AsyncSession,
    services: Services,
    user: Any,
    project_name: str,
    action: Action | str,
    *,
    via_token: datetime | None = None,
) -> list[str]:
    """Warnings for ``user`` doing ``action`` on ``project_name``; Forbidden when refused.

    ``user`` is a ``bastion.accounts.models.User`` (anything with ``.id``);
    ``project_name`` may be unnormalised and need not exist yet (a critical name
    stays critical through a delete and re-create). ``via_token`` is the created
    time of the API token used, None for any other way of authenticating.
    """
    name = canonicalize_name(project_name)
    critical = await session.get(CriticalProject, name) is not None
    if not critical and services.settings.mandate_scope != "all":
        return []
    url = two_factor_url(services)
    if not await user_has_two_factor(session, user.id):
        return _refuse_or_warn(
            services, name, critical,
            problem=f"{action} needs a second factor",
            fix=f"enable two-factor authentication at {url}",
            warn_fix=f"enable it at {url}",
        )
    if via_token is not None:
        enabled_at = await two_factor_enabled_at(session, user.id)
        if enabled_at is not None and via_token < enabled_at:
            base = services.settings.base_url.rstrip("/")
            return _refuse_or_warn(
                services, name, critical,
                problem="this API token was created before two-factor authentication was enabled",
                fix=f"create a new API token at {base}/account/tokens/",
                warn_fix=f"create a new API token at {base}/account/tokens/",
            )
    return []
