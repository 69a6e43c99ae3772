"""Upload authentication with API tokens and the password-upload rules, through real twine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyotp
import pytest

from bastion.accounts.tokens import create_token, revoke_token
from bastion.accounts.users import get_user
from bastion.services import Services
from tests.e2e.clients import run_twine
from tests.support.dists import make_wheel
from tests.support.factories import PASSWORD
from tests.support.servers import LiveServer
from tests.support.twofactor import confirm_totp, start_totp
from tests.support.types import MakeUser

pytestmark = pytest.mark.e2e


def said(output: str) -> str:
    """twine's output with rich's line wrapping undone."""
    return " ".join(output.split())


async def _token(services: Services, username: str, **kwargs: Any) -> tuple[str, int]:
    """A token made through the test's own services (the server's belong to its thread)."""
    async with services.db.transaction() as db:
        user = await get_user(db, username)
        assert user is not None
        secret, token = await create_token(
            db, services.clock, services.settings, user=user, name="ci", **kwargs
        )
    return secret, token.id


async def test_project_scoped_token_uploads_to_its_project_only(
    live_server: LiveServer, services: Services, make_user: MakeUser, tmp_path: Path
) -> None:
    await make_user("alice")
    secret, _ = await _token(services, "alice", project="alpha-pkg")
    ok = run_twine(
        make_wheel(tmp_path, "alpha_pkg", "1.0"),
        upload_url=live_server.upload_url,
        username="__token__",
        password=secret,
    )
    ok.check()
    refused = run_twine(
        make_wheel(tmp_path, "beta-pkg", "1.0"),
        upload_url=live_server.upload_url,
        username="__token__",
        password=secret,
    )
    assert refused.returncode != 0
    assert "403" in refused.output
    assert (
        "This API token is limited to project 'alpha-pkg' and cannot upload to 'beta-pkg'."
        in said(refused.output)
    )


async def test_revoked_token_is_refused_by_twine(
    live_server: LiveServer, services: Services, make_user: MakeUser, tmp_path: Path
) -> None:
    await make_user("alice")
    secret, token_id = await _token(services, "alice")
    async with services.db.transaction() as db:
        await revoke_token(db, services.clock, token_id=token_id)
    run = run_twine(
        make_wheel(tmp_path, "gamma", "1.0"),
        upload_url=live_server.upload_url,
        username="__token__",
        password=secret,
    )
    assert run.returncode != 0
    assert "has been revoked" in said(run.output)


async def test_password_upload_refused_for_a_two_factor_account(
    live_server: LiveServer, services: Services, make_user: MakeUser, tmp_path: Path
) -> None:
    user = await make_user("alice")
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    await start_totp(services, user, secret=secret)
    await confirm_totp(services, user, pyotp.TOTP(secret).at(services.clock.now()))
    run = run_twine(
        make_wheel(tmp_path, "delta", "1.0"),
        upload_url=live_server.upload_url,
        username="alice",
        password=PASSWORD,
    )
    assert run.returncode != 0
    assert (
        "Password uploads are not allowed for accounts with two-factor authentication: "
        f"create an API token at {live_server.url}/account/tokens/" in said(run.output)
    )
    token, _ = await _token(services, "alice")
    run_twine(
        make_wheel(tmp_path, "delta", "1.0"),
        upload_url=live_server.upload_url,
        username="__token__",
        password=token,
    ).check()


async def test_password_uploads_can_be_refused_for_everyone(
    live_server: LiveServer, services: Services, make_user: MakeUser, tmp_path: Path
) -> None:
    await make_user("alice")
    live_server.services.settings = live_server.services.settings.model_copy(
        update={"allow_password_upload": False}
    )
    run = run_twine(
        make_wheel(tmp_path, "epsilon", "1.0"),
        upload_url=live_server.upload_url,
        username="alice",
        password=PASSWORD,
    )
    assert run.returncode != 0
    assert "use an API token" in said(run.output)
