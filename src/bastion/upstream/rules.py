"""Origin controls per name: two switches (``publish``, ``upstream``) and a cool-down.

A rule names one project or a pattern (``acme-*``); the most specific rule wins (an
exact name over any pattern, then the longest pattern). A switch a rule leaves unset
follows how the name first arrived: first published here -> publish allow, upstream
block; first pulled from upstream -> publish block, upstream allow; a name that is
neither yet -> both allow (an upload claims it, a lookup pulls it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.audit.events import RequestContext, record
from bastion.clock import Clock
from bastion.errors import BadRequest, Forbidden, NotFound
from bastion.packaging.models import Project
from bastion.upstream.models import OriginRule, UpstreamProject

Origin = Literal["local", "upstream", "new"]
VALID_PATTERN = re.compile(r"^[a-z0-9*?]([a-z0-9*?-]{0,253}[a-z0-9*?])?$")
MAX_COOLDOWN_DAYS = 3650


def normalise_pattern(pattern: str) -> str:
    """A name or glob in canonical form: lower case, runs of ``-_.`` as one ``-``."""
    text = re.sub(r"[-_.]+", "-", pattern.strip()).lower()
    if not VALID_PATTERN.match(text) or (text.strip("*?") == "" and text != "*"):
        raise BadRequest(
            f"{pattern!r} is not a project name or pattern: use letters, digits, '-', "
            "and '*' or '?' as wildcards (e.g. 'acme-*')."
        )
    return text


def is_pattern(text: str) -> bool:
    return "*" in text or "?" in text


@dataclass(frozen=True, slots=True)
class Rule:
    pattern: str
    publish: bool | None
    upstream: bool | None
    cooldown_days: int | None
    updated: datetime | None = None
    updated_by: str = ""


@dataclass(frozen=True, slots=True)
class Switches:
    """What applies to one name."""

    publish: bool
    upstream: bool
    cooldown_days: int | None  # None: the setting
    origin: Origin
    rule: Rule | None

    @property
    def reserved(self) -> bool:
        """An admin blocked upstream for this name: a missing page must not fall through."""
        return self.rule is not None and self.rule.upstream is False


DEFAULTS: dict[Origin, tuple[bool, bool]] = {
    "local": (True, False),
    "upstream": (False, True),
    "new": (True, True),
}


class RuleBook:
    """Every rule, ready to match names (a few hundred at most; matched in memory)."""

    def __init__(self, rules: list[Rule]) -> None:
        # Equal for equal rule sets: a page rendered under other rules is re-rendered.
        self.fingerprint = hash(
            tuple((r.pattern, r.publish, r.upstream, r.cooldown_days) for r in rules)
        )
        self.exact = {r.pattern: r for r in rules if not is_pattern(r.pattern)}
        self.patterns = sorted(
            (r for r in rules if is_pattern(r.pattern)),
            key=lambda r: (-len(r.pattern.replace("*", "")), r.pattern),
        )

    def match(self, name: str) -> Rule | None:
        rule = self.exact.get(name)
        if rule is not None:
            return rule
        for candidate in self.patterns:
            if fnmatchcase(name, candidate.pattern):
                return candidate
        return None

    def switches(self, name: str, origin: Origin) -> Switches:
        rule = self.match(name)
        publish, upstream = DEFAULTS[origin]
        if rule is not None:
            publish = publish if rule.publish is None else rule.publish
            upstream = upstream if rule.upstream is None else rule.upstream
        return Switches(
            publish=publish,
            upstream=upstream,
            cooldown_days=rule.cooldown_days if rule else None,
            origin=origin,
            rule=rule,
        )

    def may_look_upstream(self, name: str) -> bool | None:
        """False when a rule blocks upstream outright (no query needed); None: depends."""
        rule = self.match(name)
        return False if rule is not None and rule.upstream is False else None


def _rule(row: OriginRule) -> Rule:
    return Rule(
        row.pattern, row.publish, row.upstream, row.cooldown_days, row.updated, row.updated_by
    )


async def list_rules(session: AsyncSession) -> list[Rule]:
    rows = await session.scalars(select(OriginRule).order_by(OriginRule.pattern))
    return [_rule(row) for row in rows]


async def load_rules(session: AsyncSession) -> RuleBook:
    return RuleBook(await list_rules(session))


async def origin_of(session: AsyncSession, name: str) -> Origin:
    """How ``name`` (normalised) first arrived: a local upload, an upstream pull, or not yet."""
    created = await session.scalar(select(Project.created).where(Project.normalized_name == name))
    pulled = await session.scalar(
        select(UpstreamProject.first_fetched).where(UpstreamProject.normalized_name == name)
    )
    if created is not None and (pulled is None or created < pulled):
        return "local"
    return "upstream" if pulled is not None else "new"


async def switches_for(session: AsyncSession, name: str) -> Switches:
    """The switches of one name, read fresh from the database (writers use this)."""
    book = await load_rules(session)
    return book.switches(name, await origin_of(session, name))


async def check_local_upload(session: AsyncSession, name: str) -> None:
    """Refuse a local upload of a name whose publish switch is block (the upload hook)."""
    from packaging.utils import canonicalize_name

    normalized = canonicalize_name(name)
    switches = await switches_for(session, normalized)
    if switches.publish:
        return
    why = (
        "it was first pulled from an upstream index"
        if switches.rule is None
        else f"origin rule {switches.rule.pattern!r} blocks local uploads"
    )
    raise Forbidden(
        f"Local uploads of {normalized!r} are blocked: {why}. An administrator can allow "
        f"them with: bastion origin set {normalized} --publish allow"
    )


async def set_rule(
    session: AsyncSession,
    clock: Clock,
    pattern: str,
    *,
    publish: bool | None,
    upstream: bool | None,
    cooldown_days: int | None = None,
    actor: str,
    user_id: int | None = None,
    context: RequestContext | None = None,
) -> Rule:
    """Add or replace the rule for a name or pattern (caller commits); audited."""
    if publish is None and upstream is None and cooldown_days is None:
        raise BadRequest("Say what to set: --publish, --upstream and/or --cooldown-days.")
    if cooldown_days is not None and not 0 <= cooldown_days <= MAX_COOLDOWN_DAYS:
        raise BadRequest(f"A cool-down is between 0 and {MAX_COOLDOWN_DAYS} days.")
    key = normalise_pattern(pattern)
    now = clock.now()
    row = await session.get(OriginRule, key)
    if row is None:
        row = OriginRule(pattern=key, updated=now, updated_by=actor)
        session.add(row)
    row.publish, row.upstream, row.cooldown_days = publish, upstream, cooldown_days
    row.updated, row.updated_by = now, actor
    await session.flush()
    record(
        session,
        tag="origin:set",
        when=now,
        context=context,
        user_id=user_id,
        project_name=None if is_pattern(key) else key,
        pattern=key,
        publish=publish,
        upstream=upstream,
        cooldown_days=cooldown_days,
        actor=actor,
    )
    return _rule(row)


async def clear_rule(
    session: AsyncSession,
    clock: Clock,
    pattern: str,
    *,
    actor: str,
    user_id: int | None = None,
    context: RequestContext | None = None,
) -> None:
    """Remove a rule (the name falls back to its defaults); audited."""
    key = normalise_pattern(pattern)
    row = await session.get(OriginRule, key)
    if row is None:
        raise NotFound(f"There is no origin rule for {key!r} (see: bastion origin list).")
    await session.delete(row)
    await session.flush()
    record(
        session,
        tag="origin:clear",
        when=clock.now(),
        context=context,
        user_id=user_id,
        project_name=None if is_pattern(key) else key,
        pattern=key,
        actor=actor,
    )
