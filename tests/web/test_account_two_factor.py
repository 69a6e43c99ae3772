"""Sign-in with a second factor: nothing privileged in between, TOTP and recovery codes,
reset does not bypass 2FA, fresh confirmation."""

from __future__ import annotations

from datetime import timedelta
from typing import cast
from urllib.parse import urlsplit

import httpx

from bastion.accounts.models import User
from bastion.clock import MovableClock
from bastion.services import Services
from tests.support.state import api_tokens, second_factors
from tests.support.twofactor import code_now
from tests.support.types import NewClient
from tests.support.web import csrf_from, post_form, session_cookie, sign_in


async def _pending(client: httpx.AsyncClient) -> httpx.Response:
    response = await sign_in(client)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/account/login/two-factor/")
    return response


async def test_password_alone_leaves_the_session_pending(
    client: httpx.AsyncClient, alice_2fa: tuple[User, list[str]]
) -> None:
    response = await _pending(client)
    chooser = await client.get(response.headers["location"])
    assert chooser.status_code == 200
    assert "Authenticator app" in chooser.text and "Recovery code" in chooser.text
    for path in (
        "/account/",
        "/account/tokens/",
        "/account/password/",
        "/account/security-history/",
        "/account/reauth/",
    ):
        response = await client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/account/login/"), path
    token = csrf_from(chooser.text)
    for path, data in [
        ("/account/tokens/", {"name": "x"}),
        (
            "/account/password/",
            {"current_password": "x", "new_password": "y" * 12, "new_password_confirm": "y" * 12},
        ),
        ("/account/reauth/", {"password": "x"}),
        ("/account/tokens/1/revoke/", {}),
    ]:
        response = await client.post(path, data={"csrf_token": token, **data})
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/account/login/"), path


async def test_totp_completes_sign_in_with_a_new_session_id(
    client: httpx.AsyncClient, alice_2fa: tuple[User, list[str]], clock: MovableClock
) -> None:
    await _pending(client)
    pending_id = session_cookie(client)
    response = await post_form(
        client,
        "/account/login/two-factor/totp/",
        {"code": code_now(clock), "next": ""},
        form_page="/account/login/two-factor/",
    )
    assert response.status_code == 303 and response.headers["location"] == "/account/"
    assert session_cookie(client) != pending_id
    assert (await client.get("/account/")).status_code == 200


async def test_wrong_and_replayed_totp_codes(
    client: httpx.AsyncClient,
    alice_2fa: tuple[User, list[str]],
    clock: MovableClock,
    new_client: NewClient,
) -> None:
    await _pending(client)
    response = await post_form(
        client,
        "/account/login/two-factor/totp/",
        {"code": "000000"},
        form_page="/account/login/two-factor/",
    )
    assert response.status_code == 401
    assert (await client.get("/account/")).status_code == 303
    used = code_now(clock)
    assert (
        await post_form(
            client,
            "/account/login/two-factor/totp/",
            {"code": used},
            form_page="/account/login/two-factor/",
        )
    ).status_code == 303
    other = new_client()
    await _pending(other)
    response = await post_form(
        other,
        "/account/login/two-factor/totp/",
        {"code": used},
        form_page="/account/login/two-factor/",
    )
    assert response.status_code == 401
    assert "already been used" in response.text


async def test_recovery_code_signs_in_and_works_once(
    client: httpx.AsyncClient,
    alice_2fa: tuple[User, list[str]],
    services: Services,
    new_client: NewClient,
) -> None:
    _, codes = alice_2fa
    await _pending(client)
    response = await post_form(
        client,
        "/account/login/two-factor/recovery/",
        {"code": codes[0]},
        form_page="/account/login/two-factor/",
    )
    assert response.status_code == 303
    assert (await client.get("/account/")).status_code == 200
    other = new_client()
    await _pending(other)
    before = await second_factors(services)
    response = await post_form(
        other,
        "/account/login/two-factor/recovery/",
        {"code": codes[0]},
        form_page="/account/login/two-factor/",
    )
    assert response.status_code == 401
    assert await second_factors(services) == before
    assert before["recovery_codes_used"] == 1
    assert (await other.get("/account/")).status_code == 303


async def test_two_factor_pages_need_a_pending_session(client: httpx.AsyncClient) -> None:
    response = await client.get("/account/login/two-factor/")
    assert response.status_code == 303 and response.headers["location"] == "/account/login/"


async def test_password_reset_does_not_bypass_two_factor(
    client: httpx.AsyncClient, alice_2fa: tuple[User, list[str]], services: Services
) -> None:
    await post_form(client, "/account/password/reset/", {"username_or_email": "alice"})
    import mailbox

    box = mailbox.mbox(services.mailer.mbox_path)
    body = cast(bytes, list(box)[-1].get_payload(decode=True)).decode()
    link = next(word for word in body.split() if "/account/password/reset/" in word)
    new = "another fine passphrase"
    response = await post_form(
        client, urlsplit(link).path, {"new_password": new, "new_password_confirm": new}
    )
    assert response.status_code == 200
    assert (await client.get("/account/")).status_code == 303  # reset did not sign in
    response = await sign_in(client, password=new)
    assert response.headers["location"].startswith("/account/login/two-factor/")
    assert (await client.get("/account/tokens/")).status_code == 303


async def test_reauth_needs_the_second_factor(
    client: httpx.AsyncClient,
    alice_2fa: tuple[User, list[str]],
    clock: MovableClock,
    services: Services,
) -> None:
    from tests.support.factories import PASSWORD

    await _pending(client)
    await post_form(
        client,
        "/account/login/two-factor/totp/",
        {"code": code_now(clock)},
        form_page="/account/login/two-factor/",
    )
    clock.advance(timedelta(minutes=services.settings.reauth_minutes + 1))
    response = await post_form(
        client, "/account/tokens/", {"name": "ci"}, form_page="/account/tokens/"
    )
    assert response.headers["location"].startswith("/account/reauth/")
    response = await post_form(client, "/account/reauth/", {"password": PASSWORD, "code": ""})
    assert response.status_code in (400, 401)
    assert await api_tokens(services) == []
    response = await post_form(
        client,
        "/account/reauth/",
        {"password": PASSWORD, "code": code_now(clock), "next": "/account/tokens/"},
    )
    assert response.status_code == 303 and response.headers["location"] == "/account/tokens/"
    response = await post_form(client, "/account/tokens/", {"name": "ci"})
    assert response.status_code == 200 and "bastion-" in response.text
