"""The signed-in header and the 2FA-mandate banner every page shows to an affected maintainer,
and the giveaway link on the account pages."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from packaging.utils import canonicalize_name

from bastion.accounts.models import User
from bastion.accounts.twofactor.models import TOTPEnrollment
from bastion.clock import MovableClock
from bastion.critical.models import CriticalProject
from bastion.packaging.models import Project, Role
from bastion.services import Services
from bastion.web import viewer as viewer_module
from tests.support.types import NewClient
from tests.support.web import csrf_from, sign_in

NOW = datetime(2029, 12, 1, 12, 0, tzinfo=UTC)
DATE = date(2030, 1, 1)
BANNER = "two-factor authentication"
PAGES = (
    "/",
    "/search?q=lib",
    "/project/critical-lib/",
    "/help/",
    "/account/",
    "/account/two-factor/",
    "/stats/2fa",
    "/account/security-keys/giveaway/",
)


@pytest.fixture
async def alice(make_user: Any, clock: MovableClock) -> User:
    clock.set(NOW)
    user: User = await make_user("alice")
    return user


async def add_project(services: Services, user: User, name: str, *, critical: bool) -> None:
    async with services.db.transaction() as db:
        project = Project(
            name=name,
            normalized_name=canonicalize_name(name),
            created=services.clock.now(),
            last_serial=0,
        )
        db.add(project)
        await db.flush()
        db.add(Role(user_id=user.id, project_id=project.id, role_name=Role.MAINTAINER))
        if critical:
            db.add(
                CriticalProject(
                    normalized_name=canonicalize_name(name),
                    reason="top",
                    source="auto",
                    designated_at=services.clock.now(),
                )
            )


async def give_totp(services: Services, user: User) -> None:
    async with services.db.transaction() as db:
        db.add(
            TOTPEnrollment(
                user_id=user.id,
                secret_encrypted="x",
                created=services.clock.now(),
                confirmed=True,
                confirmed_at=services.clock.now(),
            )
        )


def banner_of(html: str) -> str | None:
    start = html.find('<div class="banner banner-warning" role="alert">')
    if start < 0 or BANNER not in html[start : start + 600]:
        return None
    return html[start : html.index("</div>", start)]


async def test_anonymous_visitors_see_sign_in_and_register(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert 'href="/account/login/?next=/"' in response.text
    assert 'href="/account/register/"' in response.text
    assert 'action="/account/logout/"' not in response.text
    assert "private" not in response.headers.get("cache-control", "")


async def test_a_signed_in_user_sees_account_and_sign_out(
    client: httpx.AsyncClient,
    alice: User,
) -> None:
    await sign_in(client)
    response = await client.get("/help/")
    assert '<a href="/account/">Account</a>' in response.text
    assert 'action="/account/logout/"' in response.text
    assert "Sign in</a>" not in response.text
    assert response.headers["cache-control"] == "private, no-store"
    assert banner_of(response.text) is None  # no critical project: nothing to warn about


async def test_signing_out_from_a_public_page(
    client: httpx.AsyncClient,
    alice: User,
) -> None:
    await sign_in(client)
    page = await client.get("/project/nothing-here/")  # even an error page has the header
    assert page.status_code == 404
    token = csrf_from(page.text)
    response = await client.post("/account/logout/", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["location"] == "/"
    home = await client.get("/")
    assert "Sign in</a>" in home.text and 'action="/account/logout/"' not in home.text


async def test_a_critical_maintainer_without_2fa_is_warned_on_every_page(
    client: httpx.AsyncClient,
    services: Services,
    alice: User,
) -> None:
    services.settings = services.settings.model_copy(update={"mandate_enforced_from": DATE})
    await add_project(services, alice, "Critical-Lib", critical=True)
    await add_project(services, alice, "Plain", critical=False)
    await sign_in(client)
    for path in PAGES:
        response = await client.get(path)
        assert response.status_code == 200, path
        banner = banner_of(response.text)
        assert banner is not None, path
        assert (
            "Project critical-lib is critical: two-factor authentication is required "
            "from 2030-01-01 to upload to or change it."
        ) in banner
        assert 'Enable it at <a href="/account/two-factor/">/account/two-factor/</a>.' in banner


async def test_after_the_date_it_says_required(
    client: httpx.AsyncClient,
    services: Services,
    clock: MovableClock,
    alice: User,
) -> None:
    services.settings = services.settings.model_copy(update={"mandate_enforced_from": DATE})
    await add_project(services, alice, "Critical-Lib", critical=True)
    await add_project(services, alice, "Other-Lib", critical=True)
    await sign_in(client)
    clock.set(datetime(2030, 1, 1, 0, 30, tzinfo=UTC))
    # a month later the old session has expired: sign in again
    await sign_in(client)
    banner = banner_of((await client.get("/")).text)
    assert banner is not None
    assert (
        "Projects critical-lib, other-lib are critical: two-factor authentication is "
        "required (since 2030-01-01) to upload to or change them."
    ) in banner


async def test_without_a_date_it_announces(
    client: httpx.AsyncClient,
    services: Services,
    alice: User,
) -> None:
    assert services.settings.mandate_enforced_from is None
    await add_project(services, alice, "Critical-Lib", critical=True)
    await sign_in(client)
    banner = banner_of((await client.get("/")).text)
    assert banner is not None and "two-factor authentication will soon be required" in banner


async def test_no_banner_with_a_second_factor_or_when_signed_out(
    client: httpx.AsyncClient,
    services: Services,
    alice: User,
    new_client: NewClient,
) -> None:
    services.settings = services.settings.model_copy(update={"mandate_enforced_from": DATE})
    await add_project(services, alice, "Critical-Lib", critical=True)
    await sign_in(client)
    assert banner_of((await client.get("/")).text) is not None
    await give_totp(services, alice)
    assert banner_of((await client.get("/")).text) is None
    anonymous = new_client()
    async with anonymous:
        assert banner_of((await anonymous.get("/")).text) is None


async def test_an_expired_session_counts_as_signed_out(
    client: httpx.AsyncClient,
    services: Services,
    clock: MovableClock,
    alice: User,
) -> None:
    await add_project(services, alice, "Critical-Lib", critical=True)
    await sign_in(client)
    clock.advance(timedelta(minutes=services.settings.session_idle_minutes + 1))
    page = (await client.get("/")).text
    assert banner_of(page) is None and "Sign in</a>" in page


async def test_a_pending_second_factor_session_is_not_signed_in(
    client: httpx.AsyncClient,
    services: Services,
    alice: User,
) -> None:
    await add_project(services, alice, "Critical-Lib", critical=True)
    await give_totp(services, alice)
    response = await sign_in(client)
    assert "/account/login/two-factor/" in response.headers["location"]
    page = (await client.get("/")).text
    assert "Sign in</a>" in page and banner_of(page) is None


async def test_machine_paths_and_posts_never_look_the_user_up(
    client: httpx.AsyncClient,
    services: Services,
    alice: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await sign_in(client)
    calls: list[str] = []
    real = viewer_module.load_viewer

    async def counting(session, services, raw_id):
        calls.append("x")
        return await real(session, services, raw_id)

    monkeypatch.setattr(viewer_module, "load_viewer", counting)
    for path in (
        "/simple/",
        "/pypi/nothing/json",
        "/stats/2fa.json",
        "/static/bastion.css",
        "/metrics",
    ):
        await client.get(path)
    assert calls == []
    await client.get("/")
    assert calls == ["x"]
    refused = await client.post("/search")  # an error page after a POST keeps the header
    assert refused.status_code == 405 and calls == ["x", "x"]
    assert 'action="/account/logout/"' in refused.text


async def test_a_failing_lookup_still_serves_the_page(
    client: httpx.AsyncClient,
    alice: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await sign_in(client)

    async def broken(*_args: object) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(viewer_module, "load_viewer", broken)
    response = await client.get("/")
    assert response.status_code == 200 and "Sign in</a>" in response.text


async def test_the_account_pages_link_the_giveaway(
    client: httpx.AsyncClient,
    services: Services,
    alice: User,
    make_user: Any,
    new_client: NewClient,
) -> None:
    await add_project(services, alice, "Critical-Lib", critical=True)
    await sign_in(client)
    for path in ("/account/", "/account/two-factor/"):
        page = (await client.get(path)).text
        assert 'href="/account/security-keys/giveaway/"' in page, path
        assert "you may" in page.split('id="giveaway-offer"')[1][:200], path
    await make_user("bob")
    other = new_client()
    async with other:
        await sign_in(other, "bob")
        page = (await other.get("/account/")).text
        offer = page.split('id="giveaway-offer"')[1][:300]
        assert "Maintainers of critical projects can get free security keys" in offer
        assert 'href="/account/security-keys/giveaway/"' in offer
