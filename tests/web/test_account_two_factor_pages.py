"""The second-factor management pages and the security-key flows, through the HTTP app:
authenticator app, security keys (a software authenticator), recovery codes, fresh
confirmation, CSRF, session rotation, the last-factor rule for critical maintainers."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pyotp
import pytest
from sqlalchemy import select

from bastion.accounts.models import User
from bastion.accounts.twofactor import FactorRejected, status, totp
from bastion.accounts.twofactor.models import WebAuthnCredential
from bastion.clock import MovableClock
from bastion.config import Settings
from bastion.services import Services
from tests.support.audit import audit_tags
from tests.support.factories import PASSWORD, add_project
from tests.support.soft_authenticator import SoftAuthenticator
from tests.support.state import second_factors
from tests.support.twofactor import factor_summary, use_recovery_code
from tests.support.types import MakeUser
from tests.support.web import (
    ADD_KEY,
    HOME,
    WEB_ORIGIN,
    begin_totp,
    csrf_from,
    enable_totp,
    json_post,
    post_form,
    register_key,
    session_cookie,
    sign_in,
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webauthn_rp_id": "testserver"})


@pytest.fixture
async def alice(make_user: MakeUser) -> User:
    return await make_user("alice")


@pytest.fixture
async def signed_in(client: httpx.AsyncClient, alice: User) -> User:
    response = await sign_in(client)
    assert response.status_code == 303 and response.headers["location"] == "/account/"
    return alice


def stale(services: Services, clock: MovableClock) -> None:
    """Move past the fresh-confirmation window (still inside the idle timeout)."""
    clock.advance(timedelta(minutes=services.settings.reauth_minutes + 1))


# ---------------------------------------------------------------- overview


async def test_overview_lists_factors(
    client: httpx.AsyncClient, signed_in: User, services: Services
) -> None:
    response = await client.get(HOME)
    assert response.status_code == 200
    assert "Two-factor authentication is <strong>off</strong>" in response.text
    assert "Set up an authenticator app" in response.text
    assert "second-key-banner" not in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]


async def test_overview_needs_a_signed_in_user(client: httpx.AsyncClient) -> None:
    response = await client.get(HOME)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/account/login/?next=")


# ---------------------------------------------------------------- authenticator app


async def test_totp_enrolment_shows_qr_and_recovery_codes_once(
    client: httpx.AsyncClient, signed_in: User, services: Services, clock: MovableClock
) -> None:
    intro = await client.get("/account/two-factor/totp/")
    assert intro.status_code == 200 and "Show the QR code" in intro.text
    begin = await begin_totp(client)
    assert "<svg" in begin.text and "Authenticator app QR code" in begin.text
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', begin.text)
    assert secret and "otpauth://totp/" in begin.text
    assert not (await factor_summary(services, signed_in)).totp  # not active before confirming
    before = session_cookie(client)
    response = await client.post(
        "/account/two-factor/totp/confirm/",
        data={
            "csrf_token": csrf_from(begin.text),
            "code": pyotp.TOTP(secret.group(1)).at(clock.now()),
        },
    )
    assert response.status_code == 200
    codes = re.findall(r"<li>([0-9a-f]{16})</li>", response.text)
    assert len(codes) == services.settings.recovery_code_count
    assert "only time they are shown" in response.text
    assert session_cookie(client) != before
    assert await factor_summary(services, signed_in) == status.FactorSummary(True, 0, len(codes))
    overview = await client.get(HOME)
    assert "Two-factor authentication is <strong>on</strong>" in overview.text
    assert not any(code in overview.text for code in codes)  # shown once, never again


async def test_totp_confirmation_reports_clock_skew_and_wrong_codes(
    client: httpx.AsyncClient, signed_in: User, services: Services, clock: MovableClock
) -> None:
    begin = await begin_totp(client)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', begin.text)
    assert secret
    ahead = pyotp.TOTP(secret.group(1)).at(clock.now() + timedelta(seconds=150))
    response = await client.post(
        "/account/two-factor/totp/confirm/",
        data={"csrf_token": csrf_from(begin.text), "code": ahead},
    )
    assert response.status_code == 401
    assert "clock seems to be about 150 seconds ahead" in response.text
    response = await post_form(
        client,
        "/account/two-factor/totp/confirm/",
        {"code": "abc"},
        form_page="/account/two-factor/totp/",
    )
    assert response.status_code == 401 and "6-digit code" in response.text
    assert not (await factor_summary(services, signed_in)).totp


async def test_removing_the_last_factor_needs_an_explicit_confirmation(
    client: httpx.AsyncClient, signed_in: User, services: Services, clock: MovableClock
) -> None:
    await enable_totp(client, clock)
    page = await client.get("/account/two-factor/totp/remove/")
    assert page.status_code == 200 and "last second factor" in page.text
    response = await post_form(client, "/account/two-factor/totp/remove/", {})
    assert response.status_code == 400 and "tick the box" in response.text
    assert (await factor_summary(services, signed_in)).totp
    before = session_cookie(client)
    response = await post_form(client, "/account/two-factor/totp/remove/", {"confirm_last": "yes"})
    assert response.status_code == 303
    assert response.headers["location"] == f"{HOME}?notice=totp-removed"
    assert session_cookie(client) != before
    assert await factor_summary(services, signed_in) == status.FactorSummary(False, 0, 0)


async def test_critical_maintainer_cannot_remove_the_last_factor(
    client: httpx.AsyncClient, signed_in: User, services: Services, clock: MovableClock
) -> None:
    await enable_totp(client, clock)
    await add_project(services, "Critical-Lib", signed_in, critical=True)
    message = (
        "You maintain critical project(s) critical-lib: you cannot remove your last second factor."
    )
    page = await client.get("/account/two-factor/totp/remove/")
    assert page.status_code == 403 and message in page.text
    response = await post_form(
        client,
        "/account/two-factor/totp/remove/",
        {"confirm_last": "yes"},
        form_page=HOME,
    )
    assert response.status_code == 403 and message in response.text
    assert (await factor_summary(services, signed_in)).totp
    # With a security key as well, the app is not the last factor: removal is allowed.
    assert (await register_key(client, SoftAuthenticator())).status_code == 200
    response = await post_form(client, "/account/two-factor/totp/remove/", {}, form_page=HOME)
    assert response.status_code == 303
    keys = await client.get(HOME)
    key_id = re.search(r"/account/two-factor/keys/(\d+)/remove/", keys.text)
    assert key_id
    response = await post_form(
        client,
        f"/account/two-factor/keys/{key_id.group(1)}/remove/",
        {"confirm_last": "yes"},
        form_page=HOME,
    )
    assert response.status_code == 403 and message in response.text
    assert (await factor_summary(services, signed_in)).webauthn_count == 1


# ---------------------------------------------------------------- fresh confirmation, CSRF


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/account/two-factor/totp/"),
        ("POST", "/account/two-factor/totp/"),
        ("POST", "/account/two-factor/totp/remove/"),
        ("GET", ADD_KEY),
        ("POST", "/account/two-factor/recovery-codes/"),
        ("POST", "/account/two-factor/keys/1/remove/"),
    ],
)
async def test_factor_changes_need_a_fresh_confirmation(
    client: httpx.AsyncClient,
    signed_in: User,
    services: Services,
    clock: MovableClock,
    method: str,
    path: str,
) -> None:
    stale(services, clock)
    if method == "GET":
        response = await client.get(path)
    else:
        response = await post_form(client, path, {"confirm_last": "yes"}, form_page=HOME)
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith("/account/reauth/?next=")


async def test_json_endpoints_send_an_unconfirmed_user_back_to_a_page(
    client: httpx.AsyncClient, signed_in: User, services: Services, clock: MovableClock
) -> None:
    stale(services, clock)
    for path in ("/account/two-factor/keys/options/", "/account/two-factor/keys/verify/"):
        response = await json_post(client, path)
        assert response.status_code == 303
        assert response.headers["location"] == (
            "/account/reauth/?next=%2Faccount%2Ftwo-factor%2Fkeys%2Fadd%2F"
        )


async def test_confirm_after_the_window_returns_to_the_setup_page(
    client: httpx.AsyncClient, signed_in: User, services: Services, clock: MovableClock
) -> None:
    begin = await begin_totp(client)
    stale(services, clock)
    response = await client.post(
        "/account/two-factor/totp/confirm/",
        data={"csrf_token": csrf_from(begin.text), "code": "123456"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/account/reauth/?next=%2Faccount%2Ftwo-factor%2Ftotp%2F"


@pytest.mark.parametrize(
    "path",
    [
        "/account/two-factor/totp/",
        "/account/two-factor/totp/confirm/",
        "/account/two-factor/totp/remove/",
        "/account/two-factor/recovery-codes/",
        "/account/two-factor/keys/1/remove/",
    ],
)
async def test_forms_without_a_csrf_token_are_refused(
    client: httpx.AsyncClient, signed_in: User, services: Services, path: str
) -> None:
    before = (await second_factors(services), await audit_tags(services))
    response = await client.post(path, data={"code": "123456", "confirm_last": "yes"})
    assert response.status_code == 403 and "CSRF" in response.text
    response = await client.post(path, data={"csrf_token": "forged", "confirm_last": "yes"})
    assert response.status_code == 403
    assert (await second_factors(services), await audit_tags(services)) == before


@pytest.mark.parametrize(
    "path",
    [
        "/account/two-factor/keys/options/",
        "/account/two-factor/keys/verify/",
        "/account/login/two-factor/webauthn/options/",
        "/account/login/two-factor/webauthn/verify/",
        "/account/reauth/webauthn/options/",
        "/account/reauth/webauthn/verify/",
    ],
)
async def test_json_endpoints_without_the_csrf_header_are_refused(
    client: httpx.AsyncClient, signed_in: User, services: Services, path: str
) -> None:
    for token in (None, "forged"):
        response = await json_post(client, path, token=token)
        assert response.status_code == 403, path
        assert "CSRF" in response.json()["message"]
    async with services.db.session() as db:  # no challenge was issued
        from sqlalchemy import func, select

        from bastion.accounts.twofactor.models import WebAuthnChallenge

        assert await db.scalar(select(func.count()).select_from(WebAuthnChallenge)) == 0


# ---------------------------------------------------------------- security keys


@pytest.mark.parametrize("fmt", ["packed", "none", "fido-u2f"])
async def test_register_a_security_key(
    client: httpx.AsyncClient, signed_in: User, services: Services, fmt: str
) -> None:
    page = await client.get(ADD_KEY)
    assert page.status_code == 200
    assert '<script src="/static/webauthn.js"></script>' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    before = session_cookie(client)
    response = await register_key(client, SoftAuthenticator(fmt=fmt), "Blue key")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["redirect"] == "/account/two-factor/?notice=key-added"
    assert len(body["recovery_codes"]) == services.settings.recovery_code_count
    assert response.headers["cache-control"] == "no-store"
    assert session_cookie(client) != before
    overview = await client.get(HOME)
    assert "Blue key" in overview.text and "second-key-banner" in overview.text
    second = await register_key(client, SoftAuthenticator(), "Spare key")
    assert second.status_code == 200 and second.json()["recovery_codes"] == []
    overview = await client.get(HOME)
    assert "Spare key" in overview.text and "second-key-banner" not in overview.text
    assert await factor_summary(services, signed_in) == status.FactorSummary(False, 2, 8)


async def test_registration_refusals(
    client: httpx.AsyncClient, signed_in: User, services: Services
) -> None:
    key = SoftAuthenticator()
    options = (await json_post(client, "/account/two-factor/keys/options/")).json()
    assert options["rp"]["id"] == "testserver" and options["challenge"]
    credential = key.create(options, origin=WEB_ORIGIN)
    response = await json_post(
        client, "/account/two-factor/keys/verify/", {"credential": credential, "label": ""}
    )
    assert response.status_code == 400 and "name" in response.json()["message"]
    response = await json_post(
        client, "/account/two-factor/keys/verify/", {"credential": credential, "label": "Key"}
    )
    assert response.status_code == 200
    response = await json_post(
        client,
        "/account/two-factor/keys/verify/",  # replayed
        {"credential": credential, "label": "Key"},
    )
    assert response.status_code == 401 and "expired or was already used" in response.text
    other = key.create(
        (await json_post(client, "/account/two-factor/keys/options/")).json(),
        origin="http://testserver.evil.example",
    )
    response = await json_post(
        client, "/account/two-factor/keys/verify/", {"credential": other, "label": "Key"}
    )
    assert response.status_code == 401
    assert (await factor_summary(services, signed_in)).webauthn_count == 1


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2]",
        b'{"credential": 5, "label": "x"}',
        b'{"credential": {"id": "!!", "rawId": "%%", "type": "public-key"}, "label": "x"}',
        b'{"credential": {"id": "AA", "rawId": "AA", "type": "public-key", "response": '
        b'{"clientDataJSON": "AA", "attestationObject": "____"}}, "label": "x"}',
        b'{"credential": "{\\"id\\": 1}", "label": "x"}',
        b'{"credential": {}, "label": ["x"]}',
        '{"credential": "\u00ff\u00fe", "label": "x"}'.encode(),
    ],
)
async def test_malformed_credential_json_is_a_400(
    client: httpx.AsyncClient, signed_in: User, body: bytes
) -> None:
    for path, page in (
        ("/account/two-factor/keys/verify/", ADD_KEY),
        ("/account/reauth/webauthn/verify/", "/account/reauth/webauthn/"),
    ):
        if path.startswith("/account/reauth/") and body.startswith(b'{"credential'):
            body = body[:-1] + f', "password": "{PASSWORD}"}}'.encode()  # past the password
        response = await json_post(client, path, raw=body, page=page)
        assert response.status_code == 400, (path, response.text)
        assert response.json()["message"]


async def test_security_key_sign_in(
    client: httpx.AsyncClient, signed_in: User, services: Services
) -> None:
    key = SoftAuthenticator()
    assert (await register_key(client, key)).status_code == 200
    await post_form(client, "/account/logout/", {}, form_page=HOME)

    response = await sign_in(client, next="/account/tokens/")
    assert response.headers["location"].startswith("/account/login/two-factor/")
    chooser = await client.get(response.headers["location"])
    assert "/account/login/two-factor/webauthn/?next=/account/tokens/" in chooser.text
    page = await client.get("/account/login/two-factor/webauthn/?next=/account/tokens/")
    assert page.status_code == 200 and 'src="/static/webauthn.js"' in page.text
    login = "/account/login/two-factor/webauthn/"
    # Nothing privileged between password and second factor: no key registration.
    response = await json_post(client, "/account/two-factor/keys/options/", page=login)
    assert response.status_code == 303 and response.headers["location"].startswith(
        "/account/login/"
    )
    pending = session_cookie(client)
    options = await json_post(client, f"{login}options/", page=login)
    assert options.status_code == 200
    credential = key.get(options.json(), origin=WEB_ORIGIN)
    response = await json_post(
        client,
        f"{login}verify/",
        {"credential": credential, "next": "/account/tokens/"},
        page=login,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"redirect": "/account/tokens/"}
    assert session_cookie(client) != pending
    assert (await client.get("/account/tokens/")).status_code == 200
    overview = await client.get(HOME)
    assert "never" not in overview.text.split("security-keys")[1].split("</table>")[0]


async def _pending_with_key(client: httpx.AsyncClient, key: SoftAuthenticator) -> str:
    assert (await register_key(client, key)).status_code == 200
    await post_form(client, "/account/logout/", {}, form_page=HOME)
    await sign_in(client)
    return "/account/login/two-factor/webauthn/"


async def test_security_key_sign_in_refusals(
    client: httpx.AsyncClient, signed_in: User, services: Services
) -> None:
    key = SoftAuthenticator()
    login = await _pending_with_key(client, key)

    async def attempt(**overrides: Any) -> httpx.Response:
        options = (await json_post(client, f"{login}options/", page=login)).json()
        credential = key.get(options, origin=overrides.pop("origin", WEB_ORIGIN), **overrides)
        return await json_post(client, f"{login}verify/", {"credential": credential}, page=login)

    response = await attempt(bogus_signature=True)
    assert response.status_code == 401 and "not accepted" in response.json()["message"]
    response = await attempt(origin="https://testserver")
    assert response.status_code == 401
    assert (await attempt(sign_count=10)).status_code == 200  # raises the stored count
    await post_form(client, "/account/logout/", {}, form_page=HOME)
    await sign_in(client)
    response = await attempt(sign_count=3)  # a clone with a lower counter
    assert response.status_code == 401
    assert "counter went backwards" in response.json()["message"]
    assert (await client.get("/account/")).status_code == 303  # still not signed in
    async with services.db.session() as session:  # the clone did not lower the count
        assert await session.scalar(select(WebAuthnCredential.sign_count)) == 10


async def test_a_challenge_from_another_session_is_refused(
    app: Any, client: httpx.AsyncClient, signed_in: User
) -> None:
    key = SoftAuthenticator()
    login = await _pending_with_key(client, key)
    options = (await json_post(client, f"{login}options/", page=login)).json()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=WEB_ORIGIN) as other:
        await sign_in(other)
        credential = key.get(options, origin=WEB_ORIGIN)
        response = await json_post(other, f"{login}verify/", {"credential": credential}, page=login)
    assert response.status_code == 401 and "expired or was already used" in response.text


async def test_reauth_with_a_security_key(
    client: httpx.AsyncClient, signed_in: User, services: Services, clock: MovableClock
) -> None:
    key = SoftAuthenticator()
    assert (await register_key(client, key)).status_code == 200
    stale(services, clock)
    redirected = await client.get(ADD_KEY)
    assert redirected.headers["location"].startswith("/account/reauth/")
    reauth = await client.get(redirected.headers["location"])
    assert "/account/reauth/webauthn/?next=" in reauth.text
    page = "/account/reauth/webauthn/"
    assert (await client.get(f"{page}?next={ADD_KEY}")).status_code == 200
    options = (await json_post(client, f"{page}options/", page=page)).json()
    credential = key.get(options, origin=WEB_ORIGIN)
    response = await json_post(
        client,
        f"{page}verify/",
        {"credential": credential, "password": "wrong", "next": ADD_KEY},
        page=page,
    )
    assert response.status_code == 401 and "password" in response.json()["message"]
    response = await json_post(
        client,
        f"{page}verify/",
        {"credential": credential, "password": PASSWORD, "next": ADD_KEY},
        page=page,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"redirect": ADD_KEY}
    assert (await client.get(ADD_KEY)).status_code == 200


async def test_remove_security_keys(
    client: httpx.AsyncClient, signed_in: User, services: Services
) -> None:
    for label in ("First", "Second"):
        assert (await register_key(client, SoftAuthenticator(), label)).status_code == 200
    ids = re.findall(r"/account/two-factor/keys/(\d+)/remove/", (await client.get(HOME)).text)
    assert len(ids) == 2
    page = await client.get(f"/account/two-factor/keys/{ids[0]}/remove/")
    assert "First" in page.text and "last second factor" not in page.text
    before = session_cookie(client)
    response = await post_form(
        client, f"/account/two-factor/keys/{ids[0]}/remove/", {}, form_page=HOME
    )
    assert response.status_code == 303
    assert session_cookie(client) != before
    assert (await factor_summary(services, signed_in)) == status.FactorSummary(False, 1, 8)
    response = await post_form(
        client, f"/account/two-factor/keys/{ids[1]}/remove/", {}, form_page=HOME
    )
    assert response.status_code == 400
    response = await post_form(
        client,
        f"/account/two-factor/keys/{ids[1]}/remove/",
        {"confirm_last": "yes"},
        form_page=HOME,
    )
    assert response.status_code == 303
    assert (await factor_summary(services, signed_in)) == status.FactorSummary(False, 0, 0)
    response = await post_form(
        client,
        f"/account/two-factor/keys/{ids[1]}/remove/",
        {"confirm_last": "yes"},
        form_page=HOME,
    )
    assert response.status_code == 404


async def test_another_users_key_cannot_be_removed(
    client: httpx.AsyncClient, signed_in: User, services: Services, make_user: Any
) -> None:
    assert (await register_key(client, SoftAuthenticator())).status_code == 200
    [key_id] = re.findall(r"/account/two-factor/keys/(\d+)/remove/", (await client.get(HOME)).text)
    await post_form(client, "/account/logout/", {}, form_page=HOME)
    await make_user("bob")
    await sign_in(client, "bob")
    response = await post_form(
        client,
        f"/account/two-factor/keys/{key_id}/remove/",
        {"confirm_last": "yes"},
        form_page=HOME,
    )
    assert response.status_code == 404
    assert (await factor_summary(services, signed_in)).webauthn_count == 1


# ---------------------------------------------------------------- recovery codes


async def test_regenerate_recovery_codes_voids_the_old_set(
    client: httpx.AsyncClient, signed_in: User, services: Services, clock: MovableClock
) -> None:
    old = await enable_totp(client, clock)
    assert len(old) == 8
    page = await client.get("/account/two-factor/recovery-codes/")
    assert page.status_code == 200 and "Generate new recovery codes" in page.text
    before = session_cookie(client)
    response = await post_form(client, "/account/two-factor/recovery-codes/", {})
    assert response.status_code == 200
    new = re.findall(r"<li>([0-9a-f]{16})</li>", response.text)
    assert len(new) == 8 and not set(new) & set(old)
    assert "previous codes no longer work" in response.text
    assert session_cookie(client) != before
    with pytest.raises(FactorRejected):
        await use_recovery_code(services, signed_in, old[0])
    await use_recovery_code(services, signed_in, new[0])


async def test_regenerate_without_a_factor_is_refused(
    client: httpx.AsyncClient, signed_in: User
) -> None:
    page = await client.get("/account/two-factor/recovery-codes/")
    assert "Generate new recovery codes" not in page.text
    response = await post_form(client, "/account/two-factor/recovery-codes/", {}, form_page=HOME)
    assert response.status_code == 400 and "before recovery codes" in response.text


async def test_totp_setup_when_already_enabled(
    client: httpx.AsyncClient, signed_in: User, services: Services, clock: MovableClock
) -> None:
    await enable_totp(client, clock)
    assert (await client.get("/account/two-factor/totp/")).headers["location"] == HOME
    response = await post_form(client, "/account/two-factor/totp/", {}, form_page=HOME)
    assert response.status_code == 409 and "already set up" in response.text
    async with services.db.session() as db:
        assert await totp.is_enabled(db, signed_in.id)


async def test_reloading_the_setup_page_keeps_the_pending_secret(
    client: httpx.AsyncClient, signed_in: User, services: Services, clock: MovableClock
) -> None:
    first = await begin_totp(client)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', first.text)
    assert secret
    reloaded = await client.get("/account/two-factor/totp/")
    assert f'id="totp-secret">{secret.group(1)}<' in reloaded.text  # same secret, same QR
    wrong = await client.post(
        "/account/two-factor/totp/confirm/",
        data={"csrf_token": csrf_from(reloaded.text), "code": "000000"},
    )
    assert wrong.status_code == 401
    assert f'id="totp-secret">{secret.group(1)}<' in wrong.text  # still shown, error by field
    assert 'aria-invalid="true" aria-describedby="f-code-error"' in wrong.text
    confirmed = await client.post(
        "/account/two-factor/totp/confirm/",
        data={
            "csrf_token": csrf_from(reloaded.text),
            "code": pyotp.TOTP(secret.group(1)).at(clock.now()),
        },
    )
    assert confirmed.status_code == 200 and 'id="recovery-codes"' in confirmed.text
    assert 'data-copy="recovery-codes"' in confirmed.text
    assert 'data-download="recovery-codes"' in confirmed.text


async def test_recovery_codes_count_as_saved_once_one_is_typed_back(
    client: httpx.AsyncClient, signed_in: User, services: Services, clock: MovableClock
) -> None:
    codes = await enable_totp(client, clock)
    token = csrf_from((await client.get(HOME)).text)
    wrong = await client.post(
        "/account/two-factor/recovery-codes/confirm/",
        data={"csrf_token": token, "code": "0123456789abcdef"},
    )
    assert wrong.status_code == 400 and "not one of your unused recovery codes" in wrong.text
    assert 'aria-invalid="true"' in wrong.text
    assert not any(code in wrong.text for code in codes)
    right = await client.post(
        "/account/two-factor/recovery-codes/confirm/",
        data={"csrf_token": token, "code": codes[3].upper()},
    )
    assert right.status_code == 303 and right.headers["location"] == HOME
    assert "Your recovery codes are saved." in (await client.get(HOME)).text
    left = (await factor_summary(services, signed_in)).recovery_codes_left
    assert left == len(codes)  # not spent


async def test_recovery_code_sign_in_tells_how_many_remain_and_offers_new_ones(
    client: httpx.AsyncClient, signed_in: User, services: Services, clock: MovableClock
) -> None:
    codes = await enable_totp(client, clock)
    client.cookies.clear()
    await sign_in(client)
    second = await client.get("/account/login/two-factor/")
    assert second.text.count('id="f-totp-code"') == 1
    assert second.text.count('id="f-recovery-code"') == 1
    assert 'id="f-code"' not in second.text  # one id per input
    response = await client.post(
        "/account/login/two-factor/recovery/",
        data={"csrf_token": csrf_from(second.text), "code": codes[0]},
    )
    assert response.status_code == 303
    landing = await client.get(response.headers["location"])
    left = len(codes) - 1
    assert f"You signed in with a recovery code: {left} codes left." in landing.text
    assert (
        '<a href="/account/two-factor/recovery-codes/">Generate new recovery codes</a>'
        in landing.text
    )
