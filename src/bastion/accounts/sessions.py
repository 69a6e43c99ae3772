"""Server-side web sessions: create, load (with idle and absolute timeouts), rotate, end.

The cookie carries a random id (``secrets.token_urlsafe``); the table keeps only its
sha256, so a database dump cannot be replayed as a cookie. A new id is issued on
sign-in and on every change of factors (``rotate``).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts.session_models import WebSession
from bastion.clock import Clock
from bastion.config import Settings

COOKIE_NAME = "bastion_session"


class SessionState(StrEnum):
    ANONYMOUS = "anonymous"
    PASSWORD_OK = "password_ok"  # password checked, second factor still pending
    FULL = "full"


def hash_session_id(raw_id: str) -> str:
    return hashlib.sha256(raw_id.encode()).hexdigest()


async def create_session(
    db: AsyncSession,
    clock: Clock,
    *,
    user_id: int | None = None,
    state: SessionState = SessionState.ANONYMOUS,
    fresh: bool = False,
) -> tuple[str, WebSession]:
    """A new session; returns the raw id (for the cookie only) and the row."""
    raw_id = secrets.token_urlsafe(32)
    now = clock.now()
    row = WebSession(
        id_hash=hash_session_id(raw_id),
        user_id=user_id,
        state=state.value,
        created=now,
        last_seen=now,
        reauth_at=now if fresh else None,
        csrf_secret=secrets.token_urlsafe(32),
    )
    db.add(row)
    await db.flush()
    return raw_id, row


def is_expired(row: WebSession, settings: Settings, now: datetime) -> bool:
    idle = timedelta(minutes=settings.session_idle_minutes)
    absolute = timedelta(hours=settings.session_absolute_hours)
    return now - row.last_seen > idle or now - row.created > absolute


async def load_session(
    db: AsyncSession, clock: Clock, settings: Settings, raw_id: str | None
) -> WebSession | None:
    """The live session for a cookie value, touching last_seen; expired ones are deleted."""
    if not raw_id or len(raw_id) > 128:
        return None
    row = await db.get(WebSession, hash_session_id(raw_id))
    if row is None:
        return None
    now = clock.now()
    if is_expired(row, settings, now):
        await db.delete(row)
        await db.flush()
        return None
    row.last_seen = now
    return row


async def rotate(
    db: AsyncSession,
    clock: Clock,
    old: WebSession | None,
    *,
    user_id: int | None,
    state: SessionState,
    fresh: bool = False,
) -> tuple[str, WebSession]:
    """Replace ``old`` with a new session id (sign-in, factor changes): defeats fixation."""
    if old is not None:
        await db.delete(old)
        await db.flush()
    return await create_session(db, clock, user_id=user_id, state=state, fresh=fresh)


def mark_fresh(row: WebSession, clock: Clock) -> None:
    """Record a fresh confirmation (password, and the second factor when enabled)."""
    row.reauth_at = clock.now()


def is_fresh(row: WebSession, settings: Settings, now: datetime) -> bool:
    if row.reauth_at is None:
        return False
    return now - row.reauth_at <= timedelta(minutes=settings.reauth_minutes)


async def end_session(db: AsyncSession, row: WebSession) -> None:
    await db.delete(row)
    await db.flush()


async def end_user_sessions(
    db: AsyncSession, user_id: int, *, keep: WebSession | None = None
) -> None:
    """Sign the user out everywhere (password change or reset), except ``keep``."""
    statement = delete(WebSession).where(WebSession.user_id == user_id)
    if keep is not None:
        statement = statement.where(WebSession.id_hash != keep.id_hash)
    await db.execute(statement)


async def purge_expired(db: AsyncSession, clock: Clock, settings: Settings) -> int:
    """Delete every expired session; returns how many (for a periodic job)."""
    now = clock.now()
    idle_cutoff = now - timedelta(minutes=settings.session_idle_minutes)
    absolute_cutoff = now - timedelta(hours=settings.session_absolute_hours)
    rows = (
        (
            await db.execute(
                select(WebSession).where(
                    (WebSession.last_seen < idle_cutoff) | (WebSession.created < absolute_cutoff)
                )
            )
        )
        .scalars()
        .all()
    )
    for row in rows:
        await db.delete(row)
    return len(rows)
