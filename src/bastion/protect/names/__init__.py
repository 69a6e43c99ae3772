"""Name protection: typosquats, look-alike names, brandjacking and reserved namespaces.

The public surface other domains use:

- ``judge_new_name(session, settings, name, user_id=...) -> NameVerdict``: the verdict for
  a name about to be created by that user (``None``: a user who owns nothing); a verdict
  other than allow is added to the session as an audit event.
- ``record_name(session, project_name)``: call when a project is created (same transaction)
  so look-alike collisions stay one indexed query for every process.
- ``allow_pair(session, name, similar_to, by=...)``: an admin's "these two are both fine".
- ``is_official(session, name)``: the project lies in a granted namespace and its holder owns it.
- admin services in ``protect.names.admin``: prohibit/unprohibit/list_prohibited,
  grant_namespace/revoke_namespace/list_grants, protect_word/unprotect_word/
  list_protected_words, add_allowed_pair/remove_allowed_pair/list_allowed_pairs;
  ``protect.names.popular.replace_popular``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bastion.config import Settings
from bastion.protect.names.admin import (
    add_allowed_pair,
    forget_name,
    is_official,
    record_name,
)
from bastion.protect.names.judge import assess
from bastion.protect.names.verdict import NameReason, NameVerdict, NameVerdictKind

__all__ = [
    "NameReason",
    "NameVerdict",
    "NameVerdictKind",
    "allow_pair",
    "forget_name",
    "is_official",
    "judge_new_name",
    "record_name",
]


async def judge_new_name(
    session: AsyncSession,
    settings: Settings,
    name: str,
    *,
    user_id: int | None,
    now: datetime | None = None,
) -> NameVerdict:
    """The verdict on ``name`` as a new project of ``user_id``. The caller that creates
    projects audits it (``bastion.protect.admission``); ``bastion names check`` does not."""
    return await assess(session, settings, name, user_id=user_id)


async def allow_pair(
    session: AsyncSession, name: str, similar_to: str, *, by: str, now: datetime | None = None
) -> None:
    """Never flag ``name`` for looking like ``similar_to`` again (audited)."""
    await add_allowed_pair(session, name, similar_to, by=by, now=now or datetime.now(UTC))
