"""Giveaway fixtures: programs with codes, and maintainers of critical projects."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from bastion.accounts.models import User
from bastion.critical.models import ADMIN, CriticalProject
from bastion.giveaway.codes_loader import load_codes
from bastion.giveaway.models import GiveawayProgram
from bastion.giveaway.programs import create_program
from bastion.packaging.models import Project, Role
from bastion.services import Services

MakeUser = Callable[..., Awaitable[User]]
MakeProgram = Callable[..., Awaitable[GiveawayProgram]]


@pytest.fixture
def make_maintainer(services: Services) -> MakeUser:
    """``await make_maintainer("bob")``: a verified user who maintains a critical project.

    No password (fast enough for 50 users); ``critical=False`` makes the project ordinary,
    ``verified=False`` leaves the email unverified, ``role`` picks Owner or Maintainer.
    """

    async def make(
        username: str, *, critical: bool = True, verified: bool = True,
        role: str = Role.MAINTAINER, project: str | None = None,
    ) -> User:
        now = services.clock.now()
        name = project or f"{username}-lib"
        async with services.db.transaction() as session:
            user = User(
                username=username, username_key=username.lower(),
                email=f"{username}@example.org", email_verified=verified,
                password_hash="!", created=now,
            )
            session.add(user)
            proj = Project(name=name, normalized_name=name.lower(), created=now)
            session.add(proj)
            await session.flush()
            session.add(Role(user_id=user.id, project_id=proj.id, role_name=role))
            if critical:
                session.add(
                    CriticalProject(
                        normalized_name=proj.normalized_name, reason="test", source=ADMIN,
                        designated_at=now,
                    )
                )
        return user

    return make


def codes(n: int, prefix: str = "CODE") -> list[str]:
    return [f"{prefix}-{i:04d}" for i in range(n)]


@pytest.fixture
def make_program(services: Services) -> MakeProgram:
    """``await make_program(codes=10)``: an open program holding that many loaded codes."""

    async def make(
        *, codes_loaded: int = 10, name: str = "Spring keys", **kw: Any
    ) -> GiveawayProgram:
        now = services.clock.now()
        fields: dict[str, Any] = {
            "vendor": "Yubico", "key_model": "YubiKey 5 NFC", "pool_size": 100,
            "opens_at": now - timedelta(days=1), "closes_at": now + timedelta(days=30),
        }
        fields.update(kw)
        async with services.db.transaction() as session:
            program = await create_program(session, services, name=name, **fields)
            if codes_loaded:
                await load_codes(session, services, program.id, "\n".join(codes(codes_loaded)))
        return program

    return make
