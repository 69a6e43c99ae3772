"""The API tokens page (fresh confirmation to create, secret shown once, revoke) and the
security history page."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx

from bastion.clock import MovableClock
from bastion.services import Services
from tests.support.factories import PASSWORD
from tests.support.state import api_tokens
from tests.support.types import MakeUser, NewClient
from tests.support.web import post_form, sign_in

TOKEN_RE = re.compile(r"bastion-[0-9a-f]{16}-[A-Za-z0-9_\-]{43}")


async def test_create_list_and_revoke(client: httpx.AsyncClient, make_user: MakeUser) -> None:
    await make_user("alice")
    await sign_in(client)
    response = await post_form(
        client, "/account/tokens/", {"name": "CI", "project": "Demo_Pkg", "expires_days": "30"}
    )
    assert response.status_code == 200
    secrets_shown = TOKEN_RE.findall(response.text)
    assert len(set(secrets_shown)) == 1  # one token: in its block and the two snippets
    secret = secrets_shown[0]
    assert f'<p class="codes" id="new-token">{secret}</p>' in response.text
    assert (
        "repository = http://testserver/legacy/\nusername = __token__\npassword = " + secret
        in response.text
    )
    assert f"uv publish --publish-url http://testserver/legacy/ --token {secret}" in response.text
    assert 'data-copy="new-token"' in response.text and 'data-download="new-token"' in response.text
    listing = await client.get("/account/tokens/")
    assert "CI" in listing.text and "project demo-pkg" in listing.text
    assert not TOKEN_RE.search(listing.text)  # shown once only
    token_id = re.search(r"/account/tokens/(\d+)/revoke/", listing.text).group(1)  # type: ignore[union-attr]
    response = await post_form(
        client, f"/account/tokens/{token_id}/revoke/", {}, form_page="/account/tokens/"
    )
    assert response.status_code == 303
    assert "revoked" in (await client.get("/account/tokens/")).text


async def test_creating_needs_a_fresh_confirmation(
    client: httpx.AsyncClient, make_user: MakeUser, clock: MovableClock, services: Services
) -> None:
    await make_user("alice")
    await sign_in(client)
    clock.advance(timedelta(minutes=services.settings.reauth_minutes, seconds=1))
    response = await post_form(client, "/account/tokens/", {"name": "late"})
    assert response.status_code == 303
    assert response.headers["location"] == "/account/reauth/?next=%2Faccount%2Ftokens%2F"
    assert await api_tokens(services) == []
    response = await post_form(client, "/account/reauth/", {"password": "wrong password"})
    assert response.status_code == 401
    response = await post_form(
        client, "/account/reauth/", {"password": PASSWORD, "next": "/account/tokens/"}
    )
    assert response.headers["location"] == "/account/tokens/"
    response = await post_form(client, "/account/tokens/", {"name": "now"})
    assert TOKEN_RE.search(response.text)


async def test_bad_token_form_says_what_to_fix(
    client: httpx.AsyncClient, make_user: MakeUser, services: Services
) -> None:
    await make_user("alice")
    await sign_in(client)
    response = await post_form(client, "/account/tokens/", {"name": "x", "expires_days": "soon"})
    assert response.status_code == 400
    assert "whole number of days" in response.text
    response = await post_form(client, "/account/tokens/", {"name": ""})
    assert response.status_code == 400
    assert "Give the token a name" in response.text
    assert await api_tokens(services) == []


async def test_revoking_someone_elses_token_is_404(
    client: httpx.AsyncClient, make_user: MakeUser, new_client: NewClient, services: Services
) -> None:
    await make_user("alice")
    await make_user("bob")
    other = new_client()
    await sign_in(other, "bob")
    await post_form(other, "/account/tokens/", {"name": "bobs"})
    await sign_in(client, "alice")
    response = await post_form(
        client, "/account/tokens/1/revoke/", {}, form_page="/account/tokens/"
    )
    assert response.status_code == 404
    assert "revoked" not in (await other.get("/account/tokens/")).text
    assert [revoked for _user, _name, revoked in await api_tokens(services)] == [False]


async def test_revoke_without_csrf_is_403(
    client: httpx.AsyncClient, make_user: MakeUser, services: Services
) -> None:
    await make_user("alice")
    await sign_in(client)
    await post_form(client, "/account/tokens/", {"name": "ci"})
    before = await api_tokens(services)
    response = await client.post("/account/tokens/1/revoke/")
    assert response.status_code == 403
    assert await api_tokens(services) == before
    assert [revoked for _user, _name, revoked in before] == [False]


async def test_security_history_newest_first_and_paginated(
    client: httpx.AsyncClient, make_user: MakeUser, services: Services, clock: MovableClock
) -> None:
    await make_user("alice")
    await make_user("bob")
    services.settings = services.settings.model_copy(update={"security_history_page_size": 3})
    for _ in range(3):
        clock.advance(timedelta(seconds=1))
        await sign_in(client, password="wrong password")
    clock.advance(timedelta(seconds=1))
    await sign_in(client)
    clock.advance(timedelta(seconds=1))
    await post_form(client, "/account/tokens/", {"name": "ci"})
    page1 = await client.get("/account/security-history/")
    assert page1.status_code == 200
    tags = re.findall(r'data-tag="([a-z:_\-]+)"', page1.text)
    assert tags == ["token:create", "login:success", "login:failure"]
    assert re.findall(r'<span class="event-what">([^<]+)</span>', page1.text) == [
        "Created the API token “ci”",
        "Signed in with password",
        "Failed sign-in attempt",
    ]
    assert "just now" in page1.text and "<code>token:create</code>" not in page1.text
    assert "Page 1 of 2" in page1.text
    page2 = await client.get("/account/security-history/?page=2")
    assert re.findall(r'data-tag="([a-z:_\-]+)"', page2.text) == [
        "login:failure",
        "login:failure",
        "account:create",
    ]
    assert (await client.get("/account/security-history/?page=x")).status_code == 400


async def test_create_a_read_token_limited_to_patterns(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    await make_user("alice")
    await sign_in(client)
    response = await post_form(
        client,
        "/account/tokens/",
        {"name": "laptop", "scope": "read", "read_projects": "Acme_*, tools"},
    )
    assert response.status_code == 200 and len(set(TOKEN_RE.findall(response.text))) == 1
    listing = (await client.get("/account/tokens/")).text
    assert "read: acme-*, tools" in listing and "upload:" not in listing
    bad = await post_form(client, "/account/tokens/", {"name": "x", "scope": "admin"})
    assert bad.status_code == 400 and "scope" in bad.text


async def test_scope_is_picked_from_the_users_projects(
    client: httpx.AsyncClient, make_user: MakeUser, services: Services
) -> None:
    from tests.support.factories import make_add_release

    alice = await make_user("alice")
    await make_user("bob")
    add = make_add_release(services, services.clock)  # type: ignore[arg-type]
    await add("Mine", "1.0")
    await add("Theirs", "1.0")
    async with services.db.transaction() as session:
        from sqlalchemy import select

        from bastion.packaging.models import Project, Role

        mine = await session.scalar(select(Project.id).where(Project.normalized_name == "mine"))
        assert mine is not None
        session.add(Role(user_id=alice.id, project_id=mine, role_name=Role.OWNER))
    await sign_in(client)
    page = (await client.get("/account/tokens/")).text
    assert '<select id="f-project" name="project">' in page
    assert '<option value="mine">Only Mine</option>' in page
    assert "Theirs" not in page
