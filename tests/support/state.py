"""Rows to compare before and after a refused change: it must leave them as they were."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from bastion.accounts.models import User
from bastion.accounts.token_models import ApiToken
from bastion.accounts.twofactor.models import RecoveryCode, TOTPEnrollment, WebAuthnCredential
from bastion.services import Services


async def api_tokens(services: Services) -> list[tuple[Any, ...]]:
    """Every API token as (owner id, name, revoked), oldest first."""
    async with services.db.session() as session:
        rows = await session.execute(
            select(ApiToken.user_id, ApiToken.name, ApiToken.revoked).order_by(ApiToken.id)
        )
        return [tuple(row) for row in rows]


async def second_factors(services: Services) -> dict[str, int]:
    """How many authenticator apps, security keys and recovery codes exist (and used)."""
    async with services.db.session() as session:
        counts = {}
        for model in (TOTPEnrollment, WebAuthnCredential, RecoveryCode):
            counts[model.__tablename__] = int(
                await session.scalar(select(func.count()).select_from(model)) or 0
            )
        counts["recovery_codes_used"] = int(
            await session.scalar(
                select(func.count())
                .select_from(RecoveryCode)
                .where(RecoveryCode.used_at.is_not(None))
            )
            or 0
        )
        return counts


async def password_hash(services: Services, username: str) -> str:
    """The stored password hash of ``username`` (compare: was the password changed?)."""
    async with services.db.session() as session:
        value = await session.scalar(select(User.password_hash).where(User.username == username))
        assert value is not None, f"no user {username}"
        return str(value)
