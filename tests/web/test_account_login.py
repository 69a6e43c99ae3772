"""Sign in and out, session fixation, idle and absolute timeouts, CSRF, security headers."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select

from bastion.accounts.session_models import WebSession
from bastion.accounts.sessions import hash_session_id
from bastion.audit.models import AuditEvent
from bastion.clock import MovableClock
from bastion.services import Services
from tests.support.audit import audit_tags
from tests.support.state import password_hash
from tests.support.types import MakeUser, NewClient
from tests.support.web import csrf, post_form, session_cookie, sign_in


async def _tags(services: Services) -> list[str]:
    async with services.db.session() as db:
        return list((await db.execute(select(AuditEvent.tag).order_by(AuditEvent.id))).scalars())


async def test_sign_in_rotates_the_session_id(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    await make_user("alice")
    await csrf(client)
    before = session_cookie(client)
    assert before
    response = await sign_in(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/account/"
    after = session_cookie(client)
    assert after and after != before
    assert (await client.get("/account/")).status_code == 200


async def test_old_session_id_is_dead_after_sign_in(
    client: httpx.AsyncClient, make_user: MakeUser, new_client: NewClient
) -> None:
    """Session fixation: an id planted before sign-in is worth nothing afterwards."""
    await make_user("alice")
    await csrf(client)
    planted = session_cookie(client)
    await sign_in(client)
    attacker = new_client()
    attacker.cookies.set("bastion_session", planted or "")
    response = await attacker.get("/account/")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/account/login/")


async def test_session_cookie_flags(client: httpx.AsyncClient, make_user: MakeUser) -> None:
    await make_user("alice")
    response = await client.get("/account/login/")
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # base_url is http in tests


async def test_secure_cookie_when_https(client: httpx.AsyncClient, services: Services) -> None:
    services.settings = services.settings.model_copy(
        update={"base_url": "https://index.example.org"}
    )
    response = await client.get("/account/login/")
    assert "secure" in response.headers["set-cookie"].lower()


async def test_session_id_is_stored_hashed(
    client: httpx.AsyncClient, make_user: MakeUser, services: Services
) -> None:
    await make_user("alice")
    await sign_in(client)
    raw = session_cookie(client)
    assert raw
    async with services.db.session() as db:
        ids = list((await db.execute(select(WebSession.id_hash))).scalars())
    assert raw not in ids
    assert hash_session_id(raw) in ids


async def test_wrong_password_is_refused_and_audited(
    client: httpx.AsyncClient, make_user: MakeUser, services: Services
) -> None:
    await make_user("alice")
    response = await sign_in(client, password="not the password")
    assert response.status_code == 401
    assert "username or password is not correct" in response.text
    assert (await client.get("/account/")).status_code == 303
    response = await sign_in(client, username="nobody")
    assert response.status_code == 401
    assert (await _tags(services)).count("login:failure") == 2


async def test_sign_in_audits_ip_and_user_agent(
    client: httpx.AsyncClient, make_user: MakeUser, services: Services
) -> None:
    await make_user("alice")
    client.headers["User-Agent"] = "TestBrowser/1.0"
    await sign_in(client)
    async with services.db.session() as db:
        event = (
            await db.execute(select(AuditEvent).where(AuditEvent.tag == "login:success"))
        ).scalar_one()
    assert event.user_agent == "TestBrowser/1.0"
    assert event.ip_address == "127.0.0.1"


async def test_forged_forwarded_for_is_ignored_without_trusted_proxy(
    client: httpx.AsyncClient, make_user: MakeUser, services: Services
) -> None:
    await make_user("alice")
    await post_form(client, "/account/login/", {"username": "alice", "password": "x"})
    client.headers["X-Forwarded-For"] = "203.0.113.9"
    await post_form(client, "/account/login/", {"username": "alice", "password": "x"})
    services.settings = services.settings.model_copy(update={"trusted_proxies": ["127.0.0.1"]})
    await post_form(client, "/account/login/", {"username": "alice", "password": "x"})
    async with services.db.session() as db:
        ips = list(
            (
                await db.execute(
                    select(AuditEvent.ip_address)
                    .where(AuditEvent.tag == "login:failure")
                    .order_by(AuditEvent.id)
                )
            ).scalars()
        )
    assert ips == ["127.0.0.1", "127.0.0.1", "203.0.113.9"]


async def test_rehash_on_login_when_parameters_changed(
    client: httpx.AsyncClient, make_user: MakeUser, services: Services
) -> None:
    from argon2 import PasswordHasher

    from bastion.accounts.models import User
    from tests.support.factories import PASSWORD

    user = await make_user("alice")
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    async with services.db.transaction() as db:
        (await db.get(User, user.id)).password_hash = weak  # type: ignore[union-attr]
    assert (await sign_in(client)).status_code == 303
    async with services.db.session() as db:
        stored = (await db.get(User, user.id)).password_hash  # type: ignore[union-attr]
    assert stored != weak
    assert stored.startswith(services.passwords.hash("x")[:30].rsplit("$", 1)[0])


async def test_sign_out(client: httpx.AsyncClient, make_user: MakeUser) -> None:
    await make_user("alice")
    await sign_in(client)
    response = await post_form(client, "/account/logout/", {}, form_page="/account/")
    assert response.status_code == 303
    assert (await client.get("/account/")).status_code == 303


async def test_idle_timeout(
    client: httpx.AsyncClient, make_user: MakeUser, clock: MovableClock, services: Services
) -> None:
    await make_user("alice")
    await sign_in(client)
    idle = timedelta(minutes=services.settings.session_idle_minutes)
    clock.advance(idle - timedelta(seconds=5))
    assert (await client.get("/account/")).status_code == 200  # activity resets the idle clock
    clock.advance(idle - timedelta(seconds=5))
    assert (await client.get("/account/")).status_code == 200
    clock.advance(idle + timedelta(seconds=1))
    response = await client.get("/account/")
    assert response.status_code == 303
    assert response.headers["location"] == "/account/login/?next=%2Faccount%2F"


async def test_absolute_timeout(
    client: httpx.AsyncClient, make_user: MakeUser, clock: MovableClock, services: Services
) -> None:
    await make_user("alice")
    await sign_in(client)
    step = timedelta(minutes=services.settings.session_idle_minutes - 1)
    end = clock.now() + timedelta(hours=services.settings.session_absolute_hours)
    while clock.now() + step < end:
        clock.advance(step)
        assert (await client.get("/account/")).status_code == 200
    clock.advance(step)
    assert (await client.get("/account/")).status_code == 303


async def test_next_only_goes_to_local_paths(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    await make_user("alice")
    response = await sign_in(client, next="https://evil.example/")
    assert response.headers["location"] == "/account/"
    await post_form(client, "/account/logout/", {}, form_page="/account/")
    response = await sign_in(client, next="//evil.example/")
    assert response.headers["location"] == "/account/"
    await post_form(client, "/account/logout/", {}, form_page="/account/")
    response = await sign_in(client, next="/account/tokens/")
    assert response.headers["location"] == "/account/tokens/"


async def test_csrf_missing_is_403(
    client: httpx.AsyncClient, make_user: MakeUser, services: Services
) -> None:
    await make_user("alice")
    await csrf(client)
    before = await audit_tags(services)
    response = await client.post("/account/login/", data={"username": "alice", "password": "x"})
    assert response.status_code == 403
    assert "CSRF" in response.text
    assert await audit_tags(services) == before  # not even counted as a failed sign-in


async def test_csrf_forged_is_403(
    client: httpx.AsyncClient, make_user: MakeUser, services: Services
) -> None:
    await make_user("alice")
    await sign_in(client)
    before = await password_hash(services, "alice")
    response = await client.post(
        "/account/password/",
        data={
            "csrf_token": "forged",
            "current_password": "x",
            "new_password": "y",
            "new_password_confirm": "y",
        },
    )
    assert response.status_code == 403
    assert await password_hash(services, "alice") == before


async def test_csrf_token_of_another_session_is_403(
    client: httpx.AsyncClient, make_user: MakeUser, new_client: NewClient, services: Services
) -> None:
    await make_user("alice")
    other = new_client()
    foreign = await csrf(other)
    await csrf(client)
    response = await client.post(
        "/account/login/",
        data={"csrf_token": foreign, "username": "alice", "password": "x"},
    )
    assert response.status_code == 403
    assert await audit_tags(services) == ["account:create"]  # no sign-in, not even failed


async def test_strict_csp_on_sign_in_pages(client: httpx.AsyncClient) -> None:
    for path in ("/account/login/", "/account/register/", "/account/password/reset/"):
        response = await client.get(path)
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["cache-control"] == "no-store"
