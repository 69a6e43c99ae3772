"""The verdict on a new project name: prohibited and reserved names, look-alikes of existing
projects (block), typosquats of popular names and protected words (review)."""

from __future__ import annotations

import sys

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.config import Settings
from bastion.packaging.models import Project, Role
from bastion.protect.names.admin import existing_lookalikes, grants_covering
from bastion.protect.names.detector import detect
from bastion.protect.names.models import AllowedPair, ProhibitedName, ProtectedWord
from bastion.protect.names.normalize import canonical, tokens
from bastion.protect.names.popular import popular_index
from bastion.protect.names.rules import NameRules
from bastion.protect.names.verdict import NameReason, NameVerdict

STDLIB = frozenset(canonical(n) for n in sys.stdlib_module_names if not n.startswith("_"))


async def assess(
    session: AsyncSession, settings: Settings, name: str, *, user_id: int | None
) -> NameVerdict:
    """The verdict for ``name`` created now by ``user_id`` (``None``: owns nothing). No audit."""
    value = canonical(name)
    blocks = await _blocks(session, settings, name, value, user_id)
    if blocks:
        return NameVerdict(name=name, verdict="block", reasons=tuple(blocks))
    reviews = await _reviews(session, settings, name, value, user_id)
    reviews = await _suppressed(session, value, reviews, user_id)
    return NameVerdict(name=name, verdict="review" if reviews else "allow", reasons=tuple(reviews))


async def _blocks(
    session: AsyncSession, settings: Settings, name: str, value: str, user_id: int | None
) -> list[NameReason]:
    if settings.names_refuse_stdlib and value in STDLIB:
        return [NameReason("stdlib", value, f"{value!r} is a module of Python's standard library")]
    prohibited = await session.get(ProhibitedName, value)
    if prohibited is not None:
        return [NameReason("prohibited", value, prohibited.reason or "an administrator said so")]
    for grant in await grants_covering(session, value):
        if not grant.open and grant.user_id != user_id:
            detail = f"the namespace {grant.prefix!r} is reserved"
            return [NameReason("namespace", grant.prefix, detail)]
    return [
        NameReason("lookalike-existing", other, "reads the same as an existing project")
        for other in await existing_lookalikes(session, value)
    ]


async def _reviews(
    session: AsyncSession, settings: Settings, name: str, value: str, user_id: int | None
) -> list[NameReason]:
    rules = NameRules.from_settings(settings)
    index = await popular_index(session, rules, settings.names_local_top)
    reasons: list[NameReason] = []
    if index.get(value) is not None:
        reasons.append(
            NameReason("popular-name", value, "a popular project elsewhere, not hosted here")
        )
    reasons.extend(detect(name, index, rules))
    words = set(tokens(value)[1:])
    if words:
        protected = await session.scalars(
            select(ProtectedWord.word).where(ProtectedWord.word.in_(words))
        )
        for word in protected:
            held = [g for g in await grants_covering(session, word) if g.user_id == user_id]
            if not held:
                reasons.append(NameReason("protected-word", word, f"contains the brand {word!r}"))
    return reasons


async def _suppressed(
    session: AsyncSession, value: str, reasons: list[NameReason], user_id: int | None
) -> list[NameReason]:
    """Drop likenesses an admin allowed, and those to projects the user already maintains."""
    targets = {r.similar_to for r in reasons if r.similar_to and r.similar_to != value}
    if not targets:
        return reasons
    allowed = set(
        await session.scalars(
            select(AllowedPair.similar_to).where(
                AllowedPair.name == value, AllowedPair.similar_to.in_(targets)
            )
        )
    )
    mine: set[str] = set()
    if user_id is not None:
        mine = set(
            await session.scalars(
                select(Project.normalized_name)
                .join(Role, Role.project_id == Project.id)
                .where(Role.user_id == user_id, Project.normalized_name.in_(targets))
            )
        )
    return [r for r in reasons if r.similar_to not in allowed | mine or r.rule == "protected-word"]
