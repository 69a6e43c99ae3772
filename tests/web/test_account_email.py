"""Changing the email address: fresh confirmation, re-verification, the old address told."""

from __future__ import annotations

import mailbox
from datetime import timedelta

import httpx
from sqlalchemy import select

from bastion.accounts.models import User
from bastion.audit.models import AuditEvent
from bastion.clock import MovableClock
from bastion.services import Services
from tests.support.types import MakeUser
from tests.support.web import post_form, sign_in


def _messages(services: Services) -> list[tuple[str, str]]:
    box = mailbox.mbox(services.mailer.mbox_path)
    return [(str(m["To"]), str(m["Subject"])) for m in box]


async def test_change_email_needs_verification_and_tells_the_old_address(
    client: httpx.AsyncClient, make_user: MakeUser, services: Services
) -> None:
    alice = await make_user("alice")
    await sign_in(client)
    response = await post_form(client, "/account/email/", {"email": "new@example.org"})
    assert response.status_code == 303
    assert response.headers["location"] == "/account/?notice=email-changed"
    async with services.db.session() as db:
        user = await db.get(User, alice.id)
        assert user is not None and user.email == "new@example.org"
        assert not user.email_verified
        tags = list(await db.scalars(select(AuditEvent.tag).where(AuditEvent.user_id == alice.id)))
    assert "email:change" in tags
    sent = _messages(services)
    assert ("alice@example.org", "Your email address was changed") in sent
    assert ("new@example.org", "Verify your email address") in sent


async def test_change_email_refuses_bad_or_same_address(
    client: httpx.AsyncClient, make_user: MakeUser, services: Services
) -> None:
    alice = await make_user("alice")
    await sign_in(client)
    bad = await post_form(client, "/account/email/", {"email": "not-an-address"})
    assert bad.status_code == 400 and "is not a valid email address" in bad.text
    same = await post_form(client, "/account/email/", {"email": "alice@example.org"})
    assert same.status_code == 400 and "already your email address" in same.text
    async with services.db.session() as db:
        user = await db.get(User, alice.id)
        assert user is not None and user.email == "alice@example.org" and user.email_verified


async def test_change_email_needs_a_fresh_confirmation(
    client: httpx.AsyncClient, make_user: MakeUser, services: Services, clock: MovableClock
) -> None:
    await make_user("alice")
    await sign_in(client)
    clock.advance(timedelta(minutes=services.settings.reauth_minutes + 1))
    response = await client.get("/account/email/")
    assert response.status_code in (302, 303)
    assert response.headers["location"].startswith("/account/reauth/")
