"""Whether a name may be pulled from an upstream index for the first time.

A name the index does not host is fetched upstream on demand. When it reads like one of
this index's own projects, that fetch is how dependency confusion starts (``acme-utiIs``
or ``acme_utils2`` uploaded upstream by an attacker, installed by someone's typo), and the
request itself would tell the upstream which private names exist. So before the first
upstream request the proxy asks here, and a name is refused when:

- it lies in a *restricted* namespace grant (PEP 752): only the holder creates names there;
- its look-alike key, or its key with one affix taken off (``-dev``, ``py``, ``2`` …; see
  ``stems``), is the look-alike key of a local project (``name_keys`` holds local projects
  only). Affixes are only taken off the upstream name, never added to the local one, so
  ``acme-utils`` here refuses ``acme-utils2`` upstream but not ``acme``.

Plain typo distance to local names is not checked: that needs an index of every local
name in memory, and the look-alike key already folds the characters people confuse.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.config import Settings
from bastion.protect.names.admin import grants_covering
from bastion.protect.names.models import NameKey
from bastion.protect.names.normalize import canonical, lookalike_key
from bastion.protect.names.stems import stems
from bastion.protect.names.verdict import NameReason


async def upstream_refusal(
    session: AsyncSession, settings: Settings, name: str
) -> NameReason | None:
    """Why ``name`` must not be looked up upstream (None: it may be). No audit here."""
    value = canonical(name)
    for grant in await grants_covering(session, value):
        if not grant.open:
            return NameReason(
                "namespace",
                grant.prefix,
                f"it lies in the namespace {grant.prefix!r}, reserved here",
            )
    keys = {lookalike_key(value)} | stems(
        value, tuple(settings.names_affixes), settings.names_min_length
    )
    local = await session.scalar(
        select(NameKey.normalized_name)
        .where(NameKey.lookalike_key.in_(keys), NameKey.normalized_name != value)
        .order_by(NameKey.normalized_name)
        .limit(1)
    )
    if local is None:
        return None
    return NameReason("lookalike-local", local, f"it reads like {local!r}, a project of this index")
