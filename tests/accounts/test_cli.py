"""``bastion token create`` prints only the token; ``bastion token revoke ID``.

The tests are plain functions: the CLI runs its own event loop.
"""

from __future__ import annotations

import asyncio
import re
from typing import cast

import pytest
from typer.testing import CliRunner

from bastion.accounts.token_models import ApiToken
from bastion.cli import app
from bastion.config import Settings
from bastion.services import Services, build_services

TOKEN_RE = re.compile(r"^bastion-[0-9a-f]{16}-[A-Za-z0-9_\-]{43}\n$")


@pytest.fixture
def cli(settings: Settings, services: Services, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner whose ``bastion`` uses the test database (schema made by ``services``)."""
    monkeypatch.setenv("BASTION_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("BASTION_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BASTION_SECRET_KEY", settings.secret_key)
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "user",
            "create",
            "alice",
            "--email",
            "alice@example.org",
            "--password",
            "a long enough passphrase",
        ],
    )
    assert result.exit_code == 0, result.output
    return runner


def _tokens(settings: Settings) -> list[ApiToken]:
    async def read() -> list[ApiToken]:
        from sqlalchemy import select

        services = build_services(settings)
        try:
            async with services.db.session() as db:
                return list((await db.execute(select(ApiToken))).scalars())
        finally:
            await services.close()

    return asyncio.run(read())


def test_create_prints_exactly_the_token(cli: CliRunner, settings: Settings) -> None:
    result = cli.invoke(
        app,
        [
            "token",
            "create",
            "alice",
            "--project",
            "My_Pkg",
            "--expires-days",
            "7",
            "--name",
            "deploy",
        ],
    )
    assert result.exit_code == 0, result.output
    assert TOKEN_RE.match(result.stdout), repr(result.stdout)
    (token,) = _tokens(settings)
    assert (token.name, token.project_name) == ("deploy", "my-pkg")
    assert token.expires is not None
    assert result.stdout.split("-", 2)[1] == token.public_id


def test_revoke(cli: CliRunner, settings: Settings) -> None:
    cli.invoke(app, ["token", "create", "alice"])
    result = cli.invoke(app, ["token", "revoke", "1"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    (token,) = _tokens(settings)
    assert token.revoked


def test_errors_go_to_stderr_with_exit_1(cli: CliRunner) -> None:
    result = cli.invoke(app, ["token", "create", "ghost"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "no user named 'ghost'" in result.stderr
    result = cli.invoke(app, ["token", "revoke", "42"])
    assert result.exit_code == 1
    assert "no API token with id 42" in result.stderr
    result = cli.invoke(app, ["token", "create", "alice", "--expires-days", "0"])
    assert result.exit_code == 1 and result.stdout == ""


def test_create_refuses_an_email_address_already_in_use(cli: CliRunner) -> None:
    result = cli.invoke(
        app,
        [
            "user",
            "create",
            "mallory",
            "--email",
            "Alice@Example.ORG",
            "--password",
            "a long enough passphrase",
        ],
    )
    assert result.exit_code == 1
    assert "already used by another account" in result.stderr


def test_create_tells_the_account_owner(cli: CliRunner, settings: Settings) -> None:
    import mailbox

    result = cli.invoke(app, ["token", "create", "alice", "--name", "deploy"])
    assert result.exit_code == 0, result.output
    box = list(mailbox.mbox(settings.data_dir / "mail.mbox"))
    assert [m["Subject"] for m in box] == ["[Bastion] An API token was created"]
    assert "“deploy”" in cast(bytes, box[0].get_payload(decode=True)).decode()
