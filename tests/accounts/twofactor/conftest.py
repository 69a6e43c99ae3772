"""Fixtures for second-factor tests: a site on http://localhost:8080 and two users."""

from __future__ import annotations

from datetime import datetime

import pytest

from bastion.accounts.models import User
from bastion.audit.events import RequestContext
from bastion.config import Settings
from bastion.services import Services
from tests.conftest import MakeUser

ORIGIN = "http://localhost:8080"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"base_url": ORIGIN, "webauthn_rp_id": "localhost"})


@pytest.fixture
async def alice(make_user: MakeUser) -> User:
    return await make_user("alice")


@pytest.fixture
async def bob(make_user: MakeUser) -> User:
    return await make_user("bob")


@pytest.fixture
def ctx() -> RequestContext:
    return RequestContext(ip_address="192.0.2.10", user_agent="pytest")


async def audit_tags(services: Services, user_id: int | None = None) -> list[str]:
    from sqlalchemy import select

    from bastion.audit.models import AuditEvent

    async with services.db.session() as session:
        query = select(AuditEvent.tag).order_by(AuditEvent.id)
        if user_id is not None:
            query = query.where(AuditEvent.user_id == user_id)
        return list(await session.scalars(query))


def wrong_code(secret: str, now: datetime) -> str:
    """A well-formed code that matches no step within ±20 of ``now``."""
    from bastion.accounts.twofactor import totp

    step = totp.time_step(now)
    near = {totp.code_at(secret, step + k) for k in range(-20, 21)}
    return next(c for c in (f"{n:06d}" for n in range(1000)) if c not in near)


def full_width(text: str) -> str:
    """ASCII digits and letters as their full-width forms (U+FF10..., U+FF41...)."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)
