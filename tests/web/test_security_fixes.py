"""Issue 10, items 2, 3, 5 and 7 through the HTTP app: password limits on the forms, no
open redirect, security-change notices, full-width recovery codes in re-auth, one account
per email address, key labels and token scopes."""

from __future__ import annotations

import mailbox
import re
from email.message import Message

import httpx
import pytest
from sqlalchemy import func, select

from bastion.accounts.models import User
from bastion.audit.models import AuditEvent
from bastion.clock import MovableClock
from bastion.config import Settings
from bastion.services import Services
from bastion.web.current_user import safe_next
from tests.support.factories import PASSWORD
from tests.support.servers import LiveServer
from tests.support.soft_authenticator import SoftAuthenticator
from tests.support.twofactor import full_width
from tests.support.types import MakeUser
from tests.support.web import (
    HOME,
    WEB_ORIGIN,
    enable_totp,
    json_post,
    post_form,
    register_key,
    sign_in,
)

EVIL = "/\t/evil.example/pwned"


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


def messages(services: Services) -> list[Message]:
    path = services.mailer.mbox_path
    return list(mailbox.mbox(path)) if path.exists() else []


def body(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


async def tags(services: Services, user_id: int) -> list[str]:
    async with services.db.session() as session:
        return list(
            await session.scalars(
                select(AuditEvent.tag).where(AuditEvent.user_id == user_id).order_by(AuditEvent.id)
            )
        )


# ---------------------------------------------------------------- item 3: open redirect


@pytest.mark.parametrize(
    "target",
    [
        EVIL,
        "/\n/evil.example",
        "/\r\n/evil.example",
        "//evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        " /account/",
        "/account/\u202e",
        "/\x00/x",
        "evil.example",
        "/ /evil",
        "/\u3000/evil",
    ],
)
def test_safe_next_refuses_anything_that_is_not_a_plain_local_path(target: str) -> None:
    assert safe_next(target) == "/account/"


@pytest.mark.parametrize("target", ["/account/tokens/", "/project/demo/?tab=files#top", "/"])
def test_safe_next_keeps_local_paths(target: str) -> None:
    assert safe_next(target) == target


async def test_sign_in_with_a_tab_in_next_stays_on_the_site(
    client: httpx.AsyncClient, alice: User
) -> None:
    page = await client.get("/account/login/", params={"next": EVIL})
    assert "evil.example" not in page.text
    response = await sign_in(client, next=EVIL)
    assert response.status_code == 303 and response.headers["location"] == "/account/"


async def test_security_key_sign_in_answers_a_local_redirect(
    client: httpx.AsyncClient, signed_in: User
) -> None:
    """The JSON answer that webauthn.js hands to ``window.location.assign`` (the reported
    attack: ``next=/%09/evil.example/pwned`` then a security key)."""
    key = SoftAuthenticator()
    assert (await register_key(client, key)).status_code == 200
    await post_form(client, "/account/logout/", {}, form_page=HOME)
    await sign_in(client, next=EVIL)
    login = "/account/login/two-factor/webauthn/"
    options = await json_post(client, f"{login}options/", page=login)
    credential = key.get(options.json(), origin=WEB_ORIGIN)
    response = await json_post(
        client, f"{login}verify/", {"credential": credential, "next": EVIL}, page=login
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"redirect": "/account/"}


# ---------------------------------------------------------------- item 5: notices


async def test_every_security_change_is_mailed_and_in_the_history(
    client: httpx.AsyncClient, signed_in: User, services: Services, clock: MovableClock
) -> None:
    await enable_totp(client, clock)
    assert (await register_key(client, SoftAuthenticator(), "Blue key")).status_code == 200
    response = await post_form(client, "/account/two-factor/recovery-codes/", {}, form_page=HOME)
    assert response.status_code == 200
    response = await post_form(client, "/account/tokens/", {"name": "ci"})
    assert response.status_code == 200
    key_id = re.findall(r"/account/two-factor/keys/(\d+)/remove/", (await client.get(HOME)).text)
    assert (
        await post_form(client, f"/account/two-factor/keys/{key_id[0]}/remove/", {}, form_page=HOME)
    ).status_code == 303
    assert (
        await post_form(
            client, "/account/two-factor/totp/remove/", {"confirm_last": "yes"}, form_page=HOME
        )
    ).status_code == 303
    new = "a different long passphrase"
    response = await post_form(
        client,
        "/account/password/",
        {"current_password": PASSWORD, "new_password": new, "new_password_confirm": new},
    )
    assert response.status_code == 303

    mails = [m for m in messages(services) if m["To"] == "alice@example.org"]
    subjects = [m["Subject"] for m in mails]
    assert subjects == [
        "[Bastion] An authenticator app was added",
        "[Bastion] A security key was added",
        "[Bastion] New recovery codes were generated",
        "[Bastion] An API token was created",
        "[Bastion] A security key was removed",
        "[Bastion] The authenticator app was removed",
        "[Bastion] Your password was changed",
    ], subjects
    assert "“Blue key”" in body(mails[1]) and "“ci”" in body(mails[3])
    assert "/account/security-history/" in body(mails[0])
    history = await tags(services, signed_in.id)
    for tag in (
        "2fa:totp:enrolled",
        "2fa:webauthn:added",
        "2fa:recovery:generated",
        "token:create",
        "2fa:webauthn:removed",
        "2fa:totp:removed",
        "password:change",
    ):
        assert tag in history, (tag, history)
    page = await client.get("/account/security-history/")
    assert "password:change" in page.text or "Password" in page.text


# ---------------------------------------------------------------- item 2: forms


async def test_password_guesses_on_the_form_are_limited_with_retry_after(
    client: httpx.AsyncClient, alice: User, services: Services
) -> None:
    services.settings = services.settings.model_copy(update={"password_user_limits": ["3/600"]})
    for n in range(3):
        response = await sign_in(client, password=f"guess {n}")
        assert response.status_code == 401
    response = await sign_in(client)  # the right password waits too
    assert response.status_code == 429
    assert response.headers["retry-after"] == "600"
    assert "Too many failed password attempts for this account" in response.text
    assert (await client.get("/account/")).status_code == 303  # not signed in


async def test_reauth_password_counts_against_the_same_limit(
    client: httpx.AsyncClient, signed_in: User, services: Services
) -> None:
    services.settings = services.settings.model_copy(update={"password_user_limits": ["2/600"]})
    for _ in range(2):
        response = await post_form(client, "/account/reauth/", {"password": "wrong"})
        assert response.status_code == 401
    response = await post_form(client, "/account/reauth/", {"password": PASSWORD})
    assert response.status_code == 429 and int(response.headers["retry-after"]) > 0


async def test_a_flood_over_the_limit_costs_no_password_hash(
    client: httpx.AsyncClient, alice: User, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    services.settings = services.settings.model_copy(update={"password_user_limits": ["2/600"]})
    hashed: list[str] = []
    real = services.passwords.verify

    def counting(password_hash: str | None, password: str) -> bool:
        hashed.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(services.passwords, "verify", counting)
    for n in range(10):
        await sign_in(client, password=f"guess {n}")
    assert hashed == ["guess 0", "guess 1"]


# ---------------------------------------------------------------- item 7


async def test_full_width_recovery_code_works_in_reauth(
    client: httpx.AsyncClient, signed_in: User, services: Services, clock: MovableClock
) -> None:
    codes = await enable_totp(client, clock)
    wide = full_width(codes[0][:8]) + " " + full_width(codes[0][8:])
    response = await post_form(client, "/account/reauth/", {"password": PASSWORD, "code": wide})
    assert response.status_code == 303, response.text
    assert "2fa:recovery:used" in await tags(services, signed_in.id)


async def test_one_account_per_email_address(
    client: httpx.AsyncClient, alice: User, services: Services
) -> None:
    response = await post_form(
        client,
        "/account/register/",
        {
            "username": "mallory",
            "email": "ALICE@Example.org",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
        },
    )
    assert response.status_code == 409
    assert "already used by another account" in response.text
    async with services.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 1


async def test_email_change_to_an_address_in_use_is_refused(
    client: httpx.AsyncClient, signed_in: User, make_user: MakeUser, services: Services
) -> None:
    await make_user("bob")
    response = await post_form(client, "/account/email/", {"email": "Bob@example.org"})
    assert response.status_code == 409 and "already used by another account" in response.text
    async with services.db.session() as session:
        user = await session.get(User, signed_in.id)
    assert user is not None and user.email == "alice@example.org"


@pytest.mark.parametrize(
    "label",
    [
        "Key\u202egnp.exe",
        "Key\u2066x\u2069",
        "Zero\u200bwidth",
        "Bell\x07",
    ],
)
async def test_key_labels_refuse_bidi_and_invisible_characters(
    client: httpx.AsyncClient, signed_in: User, services: Services, label: str
) -> None:
    response = await register_key(client, SoftAuthenticator(), label)
    assert response.status_code == 400
    assert "invisible or control characters" in response.json()["message"]
    async with services.db.session() as session:
        from bastion.accounts.twofactor.webauthn import list_credentials

        assert await list_credentials(session, signed_in.id) == []


@pytest.mark.parametrize("project", ["-leading", "trailing-", "has space", "emoji☃", "a..b/c"])
async def test_token_scopes_refuse_names_no_project_can_have(
    client: httpx.AsyncClient, signed_in: User, services: Services, project: str
) -> None:
    response = await post_form(client, "/account/tokens/", {"name": "ci", "project": project})
    assert response.status_code == 400
    assert "can never be a project name" in response.text
    assert "token:create" not in await tags(services, signed_in.id)


async def test_password_reset_answers_as_fast_for_a_known_account(
    live_server: LiveServer, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mail goes out after the answer: a slow mail server does not tell an observer
    that the account exists (item 7)."""
    import asyncio
    import time

    sent: list[str] = []
    mailer = live_server.services.mailer

    async def slow_send(to: str, subject: str, text: str) -> None:
        await asyncio.sleep(1.5)
        sent.append(to)

    monkeypatch.setattr(mailer, "send", slow_send)
    url = f"{live_server.url}/account/password/reset/"
    timings: dict[str, float] = {}
    async with httpx.AsyncClient() as browser:
        for who in ("ghost", "alice"):
            page = await browser.get(url)
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert token
            start = time.perf_counter()
            response = await browser.post(
                url, data={"csrf_token": token.group(1), "username_or_email": who}
            )
            timings[who] = time.perf_counter() - start
            assert response.status_code == 200
    assert timings["alice"] < 1.0, timings  # not waiting for the 1.5 s mail server
    for _ in range(100):
        if sent:
            break
        await asyncio.sleep(0.05)
    assert sent == ["alice@example.org"]
