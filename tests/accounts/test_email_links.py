"""Sign up, verify the address and reset the password, reading the mail from a real SMTP
server on loopback (aiosmtpd)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select

from bastion.accounts.email_links import EMAIL_PAGES, page_link, site_link
from bastion.accounts.models import User
from bastion.accounts.users import get_user
from bastion.app import Bastion
from bastion.audit.models import AuditEvent
from bastion.clock import MovableClock
from bastion.config import Settings
from bastion.services import Services
from bastion.web.urls import route_formats
from tests.accounts.smtp import Inbox
from tests.support.factories import PASSWORD
from tests.support.state import password_hash
from tests.support.types import MakeUser, NewClient
from tests.support.web import post_form, sign_in

NEW_PASSWORD = "a brand new passphrase"


async def _register(client: httpx.AsyncClient, **overrides: str) -> httpx.Response:
    data = {
        "username": "carol",
        "email": "carol@example.org",
        "password": "purple monkey dishwasher",
        "password_confirm": "purple monkey dishwasher",
        **overrides,
    }
    return await post_form(client, "/account/register/", data)


async def test_sign_up_and_verify_email(
    smtp_settings: Settings, smtp_server: Inbox, client: httpx.AsyncClient, services: Services
) -> None:
    response = await _register(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/account/?notice=verification-sent"
    page = await client.get("/account/")
    assert "carol" in page.text and "not verified" in page.text
    (message,) = smtp_server.wait_for(1)
    assert message["To"] == "carol@example.org"
    link = smtp_server.last_link("/account/verify-email/")
    response = await client.get(urlsplit(link).path)
    assert response.status_code == 200
    assert "verified" in response.text
    async with services.db.session() as db:
        user = await get_user(db, "carol")
        tags = list((await db.execute(select(AuditEvent.tag))).scalars())
    assert user is not None and user.email_verified
    assert "account:create" in tags and "email:verify" in tags


async def test_verification_link_expires(
    smtp_settings: Settings,
    smtp_server: Inbox,
    client: httpx.AsyncClient,
    services: Services,
    clock: MovableClock,
) -> None:
    await _register(client)
    smtp_server.wait_for(1)
    link = smtp_server.last_link("/account/verify-email/")
    clock.advance(timedelta(hours=services.settings.email_verify_hours, seconds=1))
    response = await client.get(urlsplit(link).path)
    assert response.status_code == 400
    assert "expired" in response.text


async def test_forged_verification_link(client: httpx.AsyncClient) -> None:
    response = await client.get("/account/verify-email/eyJ1IjoxfQ.forged.sig/")
    assert response.status_code == 400
    assert "not valid" in response.text


async def test_registration_errors_leave_nothing_behind(
    client: httpx.AsyncClient, services: Services, make_user: MakeUser
) -> None:
    await make_user("alice")
    cases = [
        ({"username": "-bad-"}, "Usernames are 1-50 characters"),
        ({"username": "Alice"}, "already taken"),
        ({"email": "not-an-address"}, "not a valid email"),
        ({"password": "short", "password_confirm": "short"}, "at least 10"),
        ({"password": "password1234", "password_confirm": "password1234"}, "most common"),
        ({"password_confirm": "something else entirely"}, "do not match"),
    ]
    for overrides, message in cases:
        response = await _register(client, **overrides)
        assert response.status_code in (400, 409), overrides
        assert message in response.text, overrides
    async with services.db.session() as db:
        users = list((await db.execute(select(User.username))).scalars())
    assert users == ["alice"]


async def test_smtp_down_still_registers_and_says_so(
    client: httpx.AsyncClient, services: Services
) -> None:
    services.settings = services.settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": 9,
            "smtp_timeout": 2,
        }
    )
    response = await _register(client)
    assert response.headers["location"] == "/account/?notice=verification-failed"
    page = await client.get(response.headers["location"])
    assert "could not send" in page.text


async def test_password_reset(
    smtp_settings: Settings,
    smtp_server: Inbox,
    client: httpx.AsyncClient,
    services: Services,
    make_user: MakeUser,
) -> None:
    await make_user("alice")
    response = await post_form(
        client, "/account/password/reset/", {"username_or_email": "alice@example.org"}
    )
    assert response.status_code == 200
    assert "Check your email" in response.text
    smtp_server.wait_for(1)
    link = smtp_server.last_link("/account/password/reset/")
    path = urlsplit(link).path
    response = await post_form(
        client, path, {"new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD}
    )
    assert response.status_code == 200
    assert "password was changed" in response.text
    assert (await sign_in(client, password=PASSWORD)).status_code == 401
    assert (await sign_in(client, password=NEW_PASSWORD)).status_code == 303
    # The link works once.
    response = await client.get(path)
    assert response.status_code == 400
    assert "already used" in response.text


async def test_reset_for_unknown_account_sends_nothing_and_says_the_same(
    smtp_settings: Settings, smtp_server: Inbox, client: httpx.AsyncClient
) -> None:
    response = await post_form(client, "/account/password/reset/", {"username_or_email": "ghost"})
    assert response.status_code == 200
    assert "Check your email" in response.text
    assert smtp_server.messages == []


async def test_reset_signs_out_every_session(
    smtp_settings: Settings,
    smtp_server: Inbox,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    new_client: NewClient,
) -> None:
    await make_user("alice")
    await sign_in(client)
    other = new_client()
    await post_form(other, "/account/password/reset/", {"username_or_email": "alice"})
    smtp_server.wait_for(1)
    path = urlsplit(smtp_server.last_link("/reset/")).path
    await post_form(
        other, path, {"new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD}
    )
    assert (await client.get("/account/")).status_code == 303


async def test_reset_link_expires(
    smtp_settings: Settings,
    smtp_server: Inbox,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    clock: MovableClock,
    services: Services,
) -> None:
    await make_user("alice")
    await post_form(client, "/account/password/reset/", {"username_or_email": "alice"})
    smtp_server.wait_for(1)
    path = urlsplit(smtp_server.last_link("/reset/")).path
    clock.advance(timedelta(minutes=services.settings.password_reset_minutes, seconds=1))
    response = await client.get(path)
    assert response.status_code == 400 and "expired" in response.text
    before = await password_hash(services, "alice")
    refused = await post_form(
        client,
        path,
        {"new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD},
        form_page="/account/login/",
    )
    assert refused.status_code == 400 and "expired" in refused.text
    assert await password_hash(services, "alice") == before


def test_site_links_join_the_base_url_and_a_path(settings: Settings) -> None:
    for base in ("https://pkg.example.org", "https://pkg.example.org/"):
        here = settings.model_copy(update={"base_url": base})
        assert site_link(here, "/project/demo/") == "https://pkg.example.org/project/demo/"
        assert site_link(here, "/") == "https://pkg.example.org/"


def test_every_page_an_email_links_to_is_that_route(app: Bastion, settings: Settings) -> None:
    """The domains write links to pages by route name; each path is the route's own."""
    formats = route_formats(app.web)
    for name, path in EMAIL_PAGES.items():
        assert formats[name][0] == path, name
    assert page_link(settings, "project", name="a b") == "http://testserver/project/a%20b/"
