"""What admins manage: prohibited names, namespace grants, protected words, allowed pairs.

Every change is an audit event. ``by`` is who acted (a username or ``operator:cli``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts.models import User
from bastion.audit.events import record
from bastion.errors import BadRequest, Conflict, NotFound
from bastion.packaging.models import Project, Role
from bastion.protect.names.models import (
    AllowedPair,
    NameKey,
    NamespaceGrant,
    ProhibitedName,
    ProtectedWord,
)
from bastion.protect.names.normalize import canonical, lookalike_key

_NAME_HELP = "Use letters, digits and '-', '_' or '.' (a PEP 508 project name)."


def clean_name(name: str, what: str = "name") -> str:
    """The canonical form of ``name``; 400 when it is not a valid project name."""
    from packaging.utils import InvalidName, canonicalize_name

    try:
        value = canonicalize_name(name.strip(), validate=True)
    except InvalidName:
        raise BadRequest(f"{name!r} is not a valid {what}. {_NAME_HELP}") from None
    if len(value) > 255:
        raise BadRequest(f"The {what} is too long: at most 255 characters.")
    return value


async def _user_by_name(session: AsyncSession, username: str) -> User:
    user = await session.scalar(select(User).where(User.username_key == username.lower()))
    if user is None:
        raise NotFound(f"No user is called {username!r}: create the account first.")
    return user


# Prohibited names ------------------------------------------------------------------------


async def prohibit(
    session: AsyncSession, name: str, *, reason: str = "", by: str, now: datetime
) -> str:
    """Add ``name`` to the prohibited list (idempotent); returns its canonical form."""
    value = clean_name(name)
    if await session.get(ProhibitedName, value) is None:
        session.add(
            ProhibitedName(normalized_name=value, reason=reason, created=now, created_by=by)
        )
        record(session, tag="names:prohibit", when=now, project_name=value, by=by, reason=reason)
    return value


async def unprohibit(session: AsyncSession, name: str, *, by: str, now: datetime) -> str:
    value = clean_name(name)
    row = await session.get(ProhibitedName, value)
    if row is None:
        raise NotFound(f"{value!r} is not on the prohibited list.")
    await session.delete(row)
    record(session, tag="names:unprohibit", when=now, project_name=value, by=by)
    return value


async def list_prohibited(session: AsyncSession) -> list[ProhibitedName]:
    rows = await session.scalars(select(ProhibitedName).order_by(ProhibitedName.normalized_name))
    return list(rows)


# Namespace grants (PEP 752) --------------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    prefix: str
    username: str
    user_id: int
    open: bool
    created: datetime
    created_by: str


def prefixes_of(name: str) -> list[str]:
    """Every namespace a canonical name falls under: ``a-b-c`` → ``a``, ``a-b``, ``a-b-c``."""
    parts = name.split("-")
    return ["-".join(parts[: i + 1]) for i in range(len(parts))]


async def grant_namespace(
    session: AsyncSession, prefix: str, username: str, *, open: bool, by: str, now: datetime
) -> Grant:
    """Reserve ``prefix`` (and ``prefix-*``) for ``username``; 409 if someone holds it."""
    value = clean_name(prefix, "prefix")
    user = await _user_by_name(session, username)
    row = await session.get(NamespaceGrant, value)
    if row is not None and row.user_id != user.id:
        raise Conflict(f"The namespace {value!r} is granted to someone else: revoke it first.")
    if row is None:
        row = NamespaceGrant(prefix=value, user_id=user.id, open=open, created=now, created_by=by)
        session.add(row)
    row.open = open
    record(
        session,
        tag="names:grant",
        when=now,
        user_id=user.id,
        project_name=value,
        by=by,
        prefix=value,
        open=open,
    )
    return Grant(value, user.username, user.id, open, row.created, row.created_by)


async def revoke_namespace(session: AsyncSession, prefix: str, *, by: str, now: datetime) -> str:
    value = clean_name(prefix, "prefix")
    row = await session.get(NamespaceGrant, value)
    if row is None:
        raise NotFound(f"No namespace {value!r} is granted.")
    await session.delete(row)
    record(
        session,
        tag="names:revoke",
        when=now,
        user_id=row.user_id,
        project_name=value,
        by=by,
        prefix=value,
    )
    return value


async def list_grants(session: AsyncSession) -> list[Grant]:
    rows = await session.execute(
        select(NamespaceGrant, User.username)
        .join(User, User.id == NamespaceGrant.user_id)
        .order_by(NamespaceGrant.prefix)
    )
    return [
        Grant(g.prefix, username, g.user_id, g.open, g.created, g.created_by)
        for g, username in rows
    ]


async def grants_covering(session: AsyncSession, name: str) -> list[NamespaceGrant]:
    """The grants whose namespace holds the canonical ``name``, longest prefix first."""
    rows = await session.scalars(
        select(NamespaceGrant).where(NamespaceGrant.prefix.in_(prefixes_of(name)))
    )
    return sorted(rows, key=lambda g: -len(g.prefix))


async def is_official(session: AsyncSession, name: str) -> bool:
    """Whether project ``name`` lies in a granted namespace and the grant's holder owns it."""
    value = canonical(name)
    grants = await grants_covering(session, value)
    if not grants:
        return False
    owner = await session.scalar(
        select(Role.id)
        .join(Project, Project.id == Role.project_id)
        .where(
            Project.normalized_name == value,
            Role.role_name == Role.OWNER,
            Role.user_id == grants[0].user_id,
        )
    )
    return owner is not None


# Protected words (brands) ----------------------------------------------------------------


async def protect_word(session: AsyncSession, word: str, *, by: str, now: datetime) -> str:
    value = clean_name(word, "word")
    if "-" in value:
        raise BadRequest(f"{word!r} is several words: protect one word (e.g. a brand) at a time.")
    if await session.get(ProtectedWord, value) is None:
        session.add(ProtectedWord(word=value, created=now, created_by=by))
        record(session, tag="names:protect-word", when=now, by=by, word=value)
    return value


async def unprotect_word(session: AsyncSession, word: str, *, by: str, now: datetime) -> str:
    value = clean_name(word, "word")
    row = await session.get(ProtectedWord, value)
    if row is None:
        raise NotFound(f"{value!r} is not a protected word.")
    await session.delete(row)
    record(session, tag="names:unprotect-word", when=now, by=by, word=value)
    return value


async def list_protected_words(session: AsyncSession) -> list[str]:
    return list(await session.scalars(select(ProtectedWord.word).order_by(ProtectedWord.word)))


# Allowed pairs ---------------------------------------------------------------------------


async def add_allowed_pair(
    session: AsyncSession, name: str, similar_to: str, *, by: str, now: datetime
) -> tuple[str, str]:
    """Never flag ``name`` for its likeness to ``similar_to`` again (idempotent)."""
    a, b = clean_name(name), clean_name(similar_to)
    if a == b:
        raise BadRequest("A name cannot be paired with itself: give two different names.")
    if await session.get(AllowedPair, (a, b)) is None:
        session.add(AllowedPair(name=a, similar_to=b, created=now, created_by=by))
        record(session, tag="names:allow-pair", when=now, project_name=a, by=by, similar_to=b)
    return a, b


async def remove_allowed_pair(
    session: AsyncSession, name: str, similar_to: str, *, by: str, now: datetime
) -> None:
    a, b = clean_name(name), clean_name(similar_to)
    deleted = await session.execute(
        delete(AllowedPair).where(AllowedPair.name == a, AllowedPair.similar_to == b)
    )
    if not getattr(deleted, "rowcount", 0):
        raise NotFound(f"{a!r} and {b!r} are not an allowed pair.")
    record(session, tag="names:disallow-pair", when=now, project_name=a, by=by, similar_to=b)


async def list_allowed_pairs(session: AsyncSession) -> list[tuple[str, str]]:
    rows = await session.execute(
        select(AllowedPair.name, AllowedPair.similar_to).order_by(AllowedPair.name)
    )
    return [(a, b) for a, b in rows]


# Look-alike keys of existing projects ----------------------------------------------------


async def record_name(session: AsyncSession, project_name: str) -> None:
    """Keep ``name_keys`` in step: call when a project is created (same transaction)."""
    value = canonical(project_name)
    row = await session.get(NameKey, value)
    if row is None:
        session.add(NameKey(normalized_name=value, lookalike_key=lookalike_key(value)))


async def forget_name(session: AsyncSession, project_name: str) -> None:
    """Drop a purged project's look-alike key (same transaction as the purge)."""
    row = await session.get(NameKey, canonical(project_name))
    if row is not None:
        await session.delete(row)


async def existing_lookalikes(session: AsyncSession, name: str) -> list[str]:
    """Existing projects whose look-alike key is ``name``'s (other than ``name`` itself)."""
    value = canonical(name)
    rows = await session.scalars(
        select(NameKey.normalized_name).where(
            NameKey.lookalike_key == lookalike_key(value), NameKey.normalized_name != value
        )
    )
    return sorted(rows)
