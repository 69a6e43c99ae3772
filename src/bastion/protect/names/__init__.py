"""Name protection: typosquats, look-alike names, brandjacking and reserved namespaces.

The public surface other domains use:

- ``judge_new_name(session, settings, name, user_id=...) -> NameVerdict``: the verdict for
  a name about to be created by that user (``None``: a user who owns nothing).
- ``allow_pair(session, name, similar_to, by=...)``: an admin's "these two are both fine".
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bastion.config import Settings
from bastion.protect.names.verdict import NameReason, NameVerdict, NameVerdictKind

__all__ = ["NameReason", "NameVerdict", "NameVerdictKind", "allow_pair", "judge_new_name"]


async def judge_new_name(
    session: AsyncSession, settings: Settings, name: str, *, user_id: int | None
) -> NameVerdict:
    """Placeholder until the detector lands: every name is allowed."""
    return NameVerdict(name=name, verdict="allow")


async def allow_pair(session: AsyncSession, name: str, similar_to: str, *, by: str) -> None:
    """Placeholder until the detector lands."""
