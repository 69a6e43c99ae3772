"""Shared by the management services (yank, delete, restore, purge): who acts, the journal.

An actor is either a :class:`~bastion.accounts.auth.Principal` (a signed-in user or an
API token: role checks and the 2FA mandate apply) or an :class:`Operator` (someone
with shell access running the ``bastion`` command: trusted, no account).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts.auth import Principal
from bastion.audit.events import RequestContext, record
from bastion.db.changes import announce
from bastion.errors import BadRequest, NotFound
from bastion.packaging.models import File, JournalEntry, Project, Release
from bastion.packaging.names import canonical_version, normalize_name

MAX_REASON_LENGTH = 1000


@dataclass(frozen=True)
class Operator:
    """An operator at the command line (``bastion admin …``, ``bastion project …``)."""

    label: str = "cli"


Actor = Principal | Operator


def actor_id(actor: Actor) -> int | None:
    return None if isinstance(actor, Operator) else actor.user.id


def actor_label(actor: Actor) -> str:
    return f"operator:{actor.label}" if isinstance(actor, Operator) else actor.user.username


def clean_reason(reason: str | None, *, required: str | None = None) -> str:
    """The reason, stripped; 400 with ``required`` as the message when it must not be empty."""
    text = (reason or "").strip()
    if required is not None and not text:
        raise BadRequest(required)
    if len(text) > MAX_REASON_LENGTH:
        raise BadRequest(f"The reason is too long: keep it under {MAX_REASON_LENGTH} characters.")
    return text


async def journal(
    session: AsyncSession,
    project: Project,
    *,
    action: str,
    version: str | None,
    user_id: int | None,
    when: datetime,
) -> int:
    """Add a journal entry and move the project's serial to it; returns the serial.

    Every process's page cache hears of it when the transaction commits (db.changes).
    """
    entry = JournalEntry(
        name=project.name,
        version=version,
        action=action,
        submitted_date=when,
        submitted_by_id=user_id,
    )
    session.add(entry)
    await session.flush()
    project.last_serial = entry.id
    await announce(session, project.normalized_name)
    return entry.id


Kind = Literal["project", "release", "file"]


@dataclass(frozen=True)
class Target:
    """What a management change acts on: a project, one of its releases or one of its
    files (``row``), with the version and filename its journal entry and audit event name."""

    kind: Kind
    project: Project
    row: Project | Release | File
    version: str | None = None  # the release's (for a release or a file)
    filename: str | None = None  # the file's


async def record_change(
    session: AsyncSession,
    target: Target,
    *,
    verbs: tuple[str, str],
    by: Actor,
    when: datetime,
    context: RequestContext | None,
    **details: Any,
) -> int:
    """Journal and audit a change to ``target``; returns the project's new serial.

    ``verbs`` are the journal's and the audit tag's: ``("remove", "delete")`` on a release
    gives the journal action "remove release" and the tag "project:release:delete"; a
    file's journal action names it ("remove file x.whl"). The audit event has the version
    and filename (when there are), then ``details``.
    """
    journal_verb, audit_verb = verbs
    kind, version, filename = target.kind, target.version, target.filename
    action = f"{journal_verb} {kind}" + (f" {filename}" if kind == "file" else "")
    serial = await journal(
        session, target.project, action=action, version=version, user_id=actor_id(by), when=when
    )
    where = {"version": version, "filename": filename}
    record(
        session,
        tag=f"project:{audit_verb}" if kind == "project" else f"project:{kind}:{audit_verb}",
        when=when,
        context=context,
        user_id=actor_id(by),
        project_name=target.project.normalized_name,
        **{key: value for key, value in where.items() if value is not None},
        **details,
        by=actor_label(by),
    )
    return serial


async def any_project(session: AsyncSession, name: str) -> Project | None:
    """The project row with this (normalised) name, deleted or not."""
    return (
        await session.execute(
            select(Project).where(Project.normalized_name == normalize_name(name))
        )
    ).scalar_one_or_none()


async def live_project(session: AsyncSession, name: str) -> Project:
    """The project, not deleted; 404 otherwise."""
    project = await any_project(session, name)
    if project is None or project.deleted_at is not None:
        raise NotFound(f"There is no project named '{name}' on this index.")
    return project


async def any_release(session: AsyncSession, project: Project, version: str) -> Release | None:
    """The project's release with this version (equal by PEP 440), deleted or not."""
    try:
        canonical = canonical_version(version)
    except Exception:  # pragma: no cover - canonicalize_version tolerates junk
        canonical = version
    return (
        await session.execute(
            select(Release).where(
                Release.project_id == project.id, Release.canonical_version == canonical
            )
        )
    ).scalar_one_or_none()


async def live_release(session: AsyncSession, project: Project, version: str) -> Release:
    release = await any_release(session, project, version)
    if release is None or release.deleted_at is not None:
        raise NotFound(f"Project '{project.name}' has no release '{version}'.")
    return release
