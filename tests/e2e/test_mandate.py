"""The 2FA mandate seen by real twine: warn before the date, refuse after, unless 2FA."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pyotp
import pytest

from bastion.accounts.models import User
from bastion.accounts.tokens import create_token
from bastion.accounts.twofactor import webauthn
from bastion.clock import today
from bastion.critical.policy import mark
from bastion.services import Services
from tests.e2e.clients import run_twine
from tests.support.dists import make_wheel
from tests.support.factories import PASSWORD
from tests.support.servers import LiveServer
from tests.support.soft_authenticator import SoftAuthenticator
from tests.support.transaction import in_transaction
from tests.support.twofactor import confirm_totp, start_totp
from tests.support.types import MakeUser

pytestmark = pytest.mark.e2e


async def _critical_project(live: LiveServer, owner: User, tmp_path: Path) -> None:
    """``demo`` exists (1.0 uploaded by ``owner`` before any mandate) and is critical."""
    run_twine(
        make_wheel(tmp_path, "demo", "1.0"),
        upload_url=live.upload_url,
        username=owner.username,
        password=PASSWORD,
        home=tmp_path,
    ).check()
    async with live.services.db.transaction() as session:
        await mark(session, "demo", "depended on by everyone", now=live.services.clock.now())


async def _token(services: Services, user: User) -> str:
    async with services.db.transaction() as session:
        secret, _ = await create_token(
            session, services.clock, services.settings, user=user, name="ci"
        )
    return secret


async def _enable_totp(services: Services, user: User) -> None:
    start = await start_totp(services, user)
    await confirm_totp(services, user, pyotp.TOTP(start.secret).now())


async def _enable_security_key(services: Services, user: User) -> None:
    options = await in_transaction(services, webauthn.registration_options, user, session_key="s")
    response = SoftAuthenticator().create(options, origin=services.settings.base_url)
    await webauthn.verify_registration(
        services.db,
        user,
        response,
        settings=services.settings,
        clock=services.clock,
        label="key",
        session_key="s",
    )


def flat(text: str) -> str:
    """Client output with rich's line wrapping undone."""
    return " ".join(text.split())


def _enforce_from(services: Services, days: int) -> None:
    services.settings = services.settings.model_copy(
        update={"mandate_enforced_from": today(services.clock) + timedelta(days=days)}
    )


async def test_mandate_warns_then_refuses_twine_without_2fa(
    live_server: LiveServer, make_user: MakeUser, tmp_path: Path
) -> None:
    alice = await make_user("alice")
    await _critical_project(live_server, alice, tmp_path)

    _enforce_from(live_server.services, days=7)
    announced = run_twine(
        make_wheel(tmp_path, "demo", "1.1"),
        upload_url=live_server.upload_url,
        username="alice",
        password=PASSWORD,
        home=tmp_path,
        extra=("--verbose",),
    ).check()
    assert "project demo is critical" in flat(announced.output)
    assert "two-factor authentication will be required from" in flat(announced.output)

    _enforce_from(live_server.services, days=0)
    refused = run_twine(
        make_wheel(tmp_path, "demo", "1.2"),
        upload_url=live_server.upload_url,
        username="alice",
        password=PASSWORD,
        home=tmp_path,
    )
    assert refused.returncode != 0
    assert "403" in flat(refused.output)
    assert "project demo is critical: enable two-factor authentication at" in flat(refused.output)
    assert "/account/two-factor/" in flat(refused.output)

    # A token does not get around it either.
    token = await _token(live_server.services, alice)
    by_token = run_twine(
        make_wheel(tmp_path, "demo", "1.3"),
        upload_url=live_server.upload_url,
        username="__token__",
        password=token,
        home=tmp_path,
    )
    assert by_token.returncode != 0
    assert "enable two-factor authentication" in flat(by_token.output)


@pytest.mark.parametrize("factor", ["totp", "security-key"])
async def test_mandate_lets_a_maintainer_with_2fa_publish(
    live_server: LiveServer, make_user: MakeUser, tmp_path: Path, factor: str
) -> None:
    alice = await make_user("alice")
    await _critical_project(live_server, alice, tmp_path)
    _enforce_from(live_server.services, days=-1)
    if factor == "totp":
        await _enable_totp(live_server.services, alice)
    else:
        await _enable_security_key(live_server.services, alice)

    # With 2FA a password upload is refused (PyPI's rule) and a token is the way.
    by_password = run_twine(
        make_wheel(tmp_path, "demo", "2.0"),
        upload_url=live_server.upload_url,
        username="alice",
        password=PASSWORD,
        home=tmp_path,
    )
    assert by_password.returncode != 0
    assert "create an API token" in flat(by_password.output)

    token = await _token(live_server.services, alice)
    run_twine(
        make_wheel(tmp_path, "demo", "2.0"),
        upload_url=live_server.upload_url,
        username="__token__",
        password=token,
        home=tmp_path,
    ).check()
