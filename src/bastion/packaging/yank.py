"""Yank and un-yank a release (PEP 592): the safe alternative to deleting.

A yanked release stays on the index: installers skip it unless a requirement pins it
exactly (``==1.0``), so nobody's pinned build breaks. Maintainers and owners may yank
(2FA mandate action ``yank``); admins and operators may too. Both functions add to the
caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bastion.audit.events import RequestContext
from bastion.authz import Action, authorize
from bastion.clock import Clock
from bastion.config import Settings
from bastion.errors import Conflict
from bastion.packaging.changes import (
    Actor,
    Target,
    clean_reason,
    live_project,
    live_release,
    record_change,
)

REASON_REQUIRED = (
    "Give a reason for yanking: pip shows it to everyone who pins this release "
    "(e.g. 'broken on Python 3.12, use 1.0.1')."
)


@dataclass(frozen=True)
class YankResult:
    project: str
    version: str
    yanked: bool
    reason: str
    serial: int
    warnings: list[str]


async def _set_yanked(
    session: AsyncSession,
    name: str,
    version: str,
    *,
    yanked: bool,
    reason: str,
    by: Actor,
    settings: Settings,
    clock: Clock,
    context: RequestContext | None,
) -> YankResult:
    project = await live_project(session, name)
    release = await live_release(session, project, version)
    warnings = await authorize(session, settings, clock, by, Action.YANK, project)
    if yanked and release.yanked:
        raise Conflict(
            f"Release {release.version} of '{project.name}' is already yanked "
            f"(reason: {release.yanked_reason or 'none given'}). Un-yank it first to change "
            "the reason."
        )
    if not yanked and not release.yanked:
        raise Conflict(f"Release {release.version} of '{project.name}' is not yanked.")
    release.yanked = yanked
    release.yanked_reason = reason if yanked else ""
    verb = "yank" if yanked else "unyank"
    serial = await record_change(
        session,
        Target("release", project, release, release.version),
        verbs=(verb, verb),
        by=by,
        when=clock.now(),
        context=context,
        reason=reason or None,
    )
    return YankResult(
        project.normalized_name, release.version, yanked, release.yanked_reason, serial, warnings
    )


async def yank_release(
    session: AsyncSession,
    name: str,
    version: str,
    *,
    by: Actor,
    reason: str,
    settings: Settings,
    clock: Clock,
    context: RequestContext | None = None,
) -> YankResult:
    """Yank ``name`` ``version`` with ``reason`` (required; pip prints it)."""
    text = clean_reason(reason, required=REASON_REQUIRED)
    return await _set_yanked(
        session,
        name,
        version,
        yanked=True,
        reason=text,
        by=by,
        settings=settings,
        clock=clock,
        context=context,
    )


async def unyank_release(
    session: AsyncSession,
    name: str,
    version: str,
    *,
    by: Actor,
    settings: Settings,
    clock: Clock,
    context: RequestContext | None = None,
) -> YankResult:
    """Make a yanked release a normal candidate again."""
    return await _set_yanked(
        session,
        name,
        version,
        yanked=False,
        reason="",
        by=by,
        settings=settings,
        clock=clock,
        context=context,
    )
