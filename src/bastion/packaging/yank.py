"""Yank and un-yank a release (PEP 592): the safe alternative to deleting.

A yanked release stays on the index: installers skip it unless a requirement pins it
exactly (``==1.0``), so nobody's pinned build breaks. Maintainers and owners may yank
(2FA mandate action ``yank``); admins and operators may too.
"""

from __future__ import annotations

from dataclasses import dataclass

from bastion.audit.events import RequestContext, record
from bastion.authz import Action, authorize
from bastion.errors import Conflict
from bastion.packaging.changes import (
    Actor,
    actor_id,
    actor_label,
    clean_reason,
    journal,
    live_project,
    live_release,
)
from bastion.services import Services

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
    services: Services,
    name: str,
    version: str,
    *,
    yanked: bool,
    reason: str,
    by: Actor,
    context: RequestContext | None,
) -> YankResult:
    async with services.db.transaction() as session:
        project = await live_project(session, name)
        release = await live_release(session, project, version)
        warnings = await authorize(
            session, services.settings, services.clock, by, Action.YANK, project
        )
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
        now = services.clock.now()
        action = "yank release" if yanked else "unyank release"
        serial = await journal(
            session, project, action=action, version=release.version, user_id=actor_id(by), when=now
        )
        record(
            session,
            tag=f"project:release:{'yank' if yanked else 'unyank'}",
            when=now,
            context=context,
            user_id=actor_id(by),
            project_name=project.normalized_name,
            version=release.version,
            reason=reason or None,
            by=actor_label(by),
        )
        result = YankResult(
            project.normalized_name,
            release.version,
            yanked,
            release.yanked_reason,
            serial,
            warnings,
        )
    return result


async def yank_release(
    services: Services,
    name: str,
    version: str,
    *,
    by: Actor,
    reason: str,
    context: RequestContext | None = None,
) -> YankResult:
    """Yank ``name`` ``version`` with ``reason`` (required; pip prints it)."""
    text = clean_reason(reason, required=REASON_REQUIRED)
    return await _set_yanked(
        services, name, version, yanked=True, reason=text, by=by, context=context
    )


async def unyank_release(
    services: Services,
    name: str,
    version: str,
    *,
    by: Actor,
    context: RequestContext | None = None,
) -> YankResult:
    """Make a yanked release a normal candidate again."""
    return await _set_yanked(
        services, name, version, yanked=False, reason="", by=by, context=context
    )
