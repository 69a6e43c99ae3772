"""API token service: create, list, revoke, authenticate, expiry and project scope."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bastion.accounts.models import User
from bastion.accounts.token_models import ApiToken
from bastion.accounts.tokens import (
    authenticate_token,
    check_token_scope,
    create_token,
    list_tokens,
    looks_like_token,
    revoke_token,
)
from bastion.audit.models import AuditEvent
from bastion.clock import MovableClock
from bastion.errors import BadRequest, Forbidden, NotFound
from bastion.packaging.models import Project, Role
from bastion.services import Services
from tests.support.types import MakeUser


async def _create(services: Services, user: User, **kwargs: Any) -> tuple[str, ApiToken]:
    async with services.db.transaction() as db:
        return await create_token(
            db,
            services.clock,
            services.settings,
            user=user,
            name=kwargs.pop("name", "ci"),
            **kwargs,
        )


async def test_token_has_prefix_and_only_a_hash_is_stored(
    services: Services, make_user: MakeUser
) -> None:
    user = await make_user("alice")
    secret, token = await _create(services, user)
    assert secret.startswith("bastion-") and looks_like_token(secret)
    assert len(secret) > 50
    async with services.db.session() as db:
        row = await db.get(ApiToken, token.id)
    assert row is not None
    assert secret.split("-", 2)[2] not in (row.digest, row.public_id)
    assert row.digest == hashlib.sha256(secret.split("-", 2)[2].encode()).hexdigest()


async def test_authenticate_records_last_used_and_audit(
    services: Services, make_user: MakeUser, clock: MovableClock
) -> None:
    user = await make_user("alice")
    secret, token = await _create(services, user)
    clock.advance(timedelta(minutes=5))
    async with services.db.transaction() as db:
        found, owner = await authenticate_token(db, services.clock, secret)
    assert found.id == token.id and owner.id == user.id
    async with services.db.session() as db:
        tokens = await list_tokens(db, user.id)
        tags = list((await db.execute(select(AuditEvent.tag))).scalars())
    assert tokens[0].last_used == clock.now()
    assert "token:create" in tags and "token:use" in tags


@pytest.mark.parametrize(
    "raw",
    ["", "bastion-", "bastion-abc", "pypi-AgEIcHlwaS5vcmc", "bastion-0000000000000000-nope"],
)
async def test_unknown_or_malformed_tokens_are_refused(
    services: Services, make_user: MakeUser, raw: str
) -> None:
    await make_user("alice")
    async with services.db.transaction() as db:
        with pytest.raises(Forbidden, match="Invalid API token"):
            await authenticate_token(db, services.clock, raw)


async def test_a_tampered_secret_is_refused(services: Services, make_user: MakeUser) -> None:
    user = await make_user("alice")
    secret, _ = await _create(services, user)
    tampered = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    async with services.db.transaction() as db:
        with pytest.raises(Forbidden, match="Invalid API token"):
            await authenticate_token(db, services.clock, tampered)


async def test_revoked_token_is_refused(services: Services, make_user: MakeUser) -> None:
    user = await make_user("alice")
    secret, token = await _create(services, user)
    async with services.db.transaction() as db:
        await revoke_token(db, services.clock, token_id=token.id, user_id=user.id)
    async with services.db.transaction() as db:
        with pytest.raises(Forbidden, match="has been revoked"):
            await authenticate_token(db, services.clock, secret)
    async with services.db.session() as db:
        tags = list((await db.execute(select(AuditEvent.tag))).scalars())
    assert "token:revoke" in tags


async def test_revoking_another_users_token_is_not_found(
    services: Services, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    _, token = await _create(services, alice)
    async with services.db.transaction() as db:
        with pytest.raises(NotFound):
            await revoke_token(db, services.clock, token_id=token.id, user_id=bob.id)


async def test_expired_token_is_refused(
    services: Services, make_user: MakeUser, clock: MovableClock
) -> None:
    user = await make_user("alice")
    secret, _ = await _create(services, user, expires_days=1)
    clock.advance(timedelta(hours=23))
    async with services.db.transaction() as db:
        await authenticate_token(db, services.clock, secret)
    clock.advance(timedelta(hours=1))
    async with services.db.transaction() as db:
        with pytest.raises(Forbidden, match="has expired"):
            await authenticate_token(db, services.clock, secret)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": ""}, "Give the token a name"),
        ({"name": "x" * 101}, "at most 100"),
        ({"expires_days": 0}, "between 1 and"),
        ({"expires_days": 100_000}, "between 1 and"),
    ],
)
async def test_bad_token_requests(
    services: Services, make_user: MakeUser, kwargs: dict[str, Any], message: str
) -> None:
    user = await make_user("alice")
    with pytest.raises(BadRequest, match=message):
        await _create(services, user, **kwargs)
    async with services.db.session() as db:
        assert await list_tokens(db, user.id) == []


async def test_scope_is_normalised_and_enforced(services: Services, make_user: MakeUser) -> None:
    user = await make_user("alice")
    _, token = await _create(services, user, project="My_Project")
    assert token.project_name == "my-project"
    check_token_scope(token, "my.project")
    with pytest.raises(Forbidden) as info:
        check_token_scope(token, "Other")
    assert info.value.message == (
        "This API token is limited to project 'my-project' and cannot upload to 'other'."
    )


async def test_scope_to_someone_elses_project_is_refused(
    services: Services, make_user: MakeUser, clock: MovableClock
) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    async with services.db.transaction() as db:
        project = Project(name="bobs", normalized_name="bobs", created=clock.now())
        db.add(project)
        await db.flush()
        db.add(Role(user_id=bob.id, project_id=project.id, role_name=Role.OWNER))
    with pytest.raises(Forbidden, match="not a maintainer"):
        await _create(services, alice, project="bobs")
    _, token = await _create(services, bob, project="bobs")
    assert token.project_name == "bobs"


async def test_list_puts_active_tokens_first(
    services: Services, make_user: MakeUser, clock: MovableClock
) -> None:
    user = await make_user("alice")
    await _create(services, user, name="first")
    clock.advance(timedelta(seconds=1))
    _, second = await _create(services, user, name="second")
    async with services.db.transaction() as db:
        await revoke_token(db, services.clock, token_id=second.id, user_id=user.id)
    async with services.db.session() as db:
        names = [t.name for t in await list_tokens(db, user.id)]
    assert names == ["first", "second"]
