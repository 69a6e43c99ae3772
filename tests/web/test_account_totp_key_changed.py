"""A changed server key makes the stored TOTP secret unreadable: the sign-in and
confirmation pages say so (503) and point to the other factors, never a bare 500."""

from __future__ import annotations

import html
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update

from bastion.accounts.models import User
from bastion.accounts.twofactor.crypto import encrypt_secret
from bastion.accounts.twofactor.models import TOTPEnrollment
from bastion.clock import MovableClock
from bastion.services import Services
from tests.support.factories import PASSWORD
from tests.support.twofactor import SECRET, code_now
from tests.support.web import post_form, sign_in

MESSAGE = (
    "Your authenticator app can't be checked right now because the server's encryption "
    "key was changed. Use a security key or a recovery code instead, or ask an "
    "administrator for help."
)


@pytest.fixture
async def stored_under_old_key(
    alice_2fa: tuple[User, list[str]], services: Services
) -> tuple[User, list[str]]:
    """alice's TOTP secret as if stored before ``secret_key`` was changed."""
    user, codes = alice_2fa
    old = services.settings.model_copy(update={"secret_key": "the-key-before-rotation"})
    async with services.db.transaction() as db:
        await db.execute(
            update(TOTPEnrollment)
            .where(TOTPEnrollment.user_id == user.id)
            .values(secret_encrypted=encrypt_secret(old, user.id, SECRET))
        )
    return user, codes


async def test_sign_in_page_explains_and_the_recovery_code_still_works(
    client: httpx.AsyncClient,
    stored_under_old_key: tuple[User, list[str]],
    clock: MovableClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, codes = stored_under_old_key
    await sign_in(client)
    with caplog.at_level("ERROR"):
        response = await post_form(
            client,
            "/account/login/two-factor/totp/",
            {"code": code_now(clock)},
            form_page="/account/login/two-factor/",
        )
    assert response.status_code == 503
    assert MESSAGE in html.unescape(response.text)
    assert "Recovery code" in response.text  # the other factors are still offered
    assert any(
        r.levelname == "ERROR" and "totp_encryption_key" in r.getMessage() for r in caplog.records
    )
    assert (await client.get("/account/")).status_code == 303  # still not signed in

    response = await post_form(
        client,
        "/account/login/two-factor/recovery/",
        {"code": codes[0]},
        form_page="/account/login/two-factor/",
    )
    assert response.status_code == 303
    assert (await client.get("/account/")).status_code == 200


async def test_reauth_page_explains(
    client: httpx.AsyncClient,
    alice_2fa: tuple[User, list[str]],
    services: Services,
    clock: MovableClock,
) -> None:
    await sign_in(client)
    await post_form(
        client,
        "/account/login/two-factor/totp/",
        {"code": code_now(clock)},
        form_page="/account/login/two-factor/",
    )
    assert (await client.get("/account/")).status_code == 200
    services.settings = services.settings.model_copy(
        update={"totp_encryption_key": "a-new-key-after-rotation"}
    )
    clock.advance(timedelta(seconds=60))
    response = await post_form(
        client,
        "/account/reauth/",
        {"password": PASSWORD, "code": code_now(clock)},
    )
    assert response.status_code == 503
    assert MESSAGE in html.unescape(response.text)
