from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bastion.cli import app
from bastion.config import Settings
from bastion.services import Services

from .conftest import AddDownloads

DAY = date(2024, 6, 1)


@pytest.fixture
def cli(settings: Settings, services: Services, tmp_path: Path):  # type: ignore[no-untyped-def]
    """``await cli("critical", "list")``: the real command against the test database."""
    env = {
        "BASTION_DATA_DIR": str(settings.data_dir),
        "BASTION_DATABASE_URL": settings.resolved_database_url,
        "BASTION_SECRET_KEY": settings.secret_key,
        "BASTION_CONFIG": str(tmp_path / "no-such.toml"),
    }

    async def run(*args: str) -> Result:
        # In a thread: the command runs its own event loop.
        return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)

    return run


async def test_recompute_list_and_mark(cli, add_downloads: AddDownloads) -> None:  # type: ignore[no-untyped-def]
    await add_downloads({(f"pkg-{i}", DAY): 1 for i in range(150)}
                        | {("big", DAY): 100, ("bigger", DAY): 200})
    result = await cli("critical", "recompute", "--as-of", "2024-06-01")
    assert result.exit_code == 0, result.output
    assert "2 projects are critical" in result.output
    assert "2 new: bigger, big" in result.output

    result = await cli("critical", "recompute", "--as-of", "2024-06-01")
    assert "2 projects are critical" in result.output and "0 new" in result.output

    result = await cli("critical", "mark", "Hand_Picked", "--reason", "runs the build farm")
    assert result.exit_code == 0, result.output
    assert "hand-picked is now critical" in result.output
    result = await cli("critical", "mark", "hand.picked", "--reason", "again")
    assert "hand-picked was already critical" in result.output

    result = await cli("critical", "list")
    assert result.exit_code == 0
    assert result.output.splitlines() == ["big", "bigger", "hand-picked"]


async def test_cli_errors(cli) -> None:  # type: ignore[no-untyped-def]
    result = await cli("critical", "recompute", "--as-of", "June 1st")
    assert result.exit_code == 2
    assert "use YYYY-MM-DD" in result.output
    result = await cli("critical", "mark", "not valid!", "--reason", "x")
    assert result.exit_code == 1
    assert "not a valid project name" in result.output
    result = await cli("critical", "mark", "fine")
    assert result.exit_code == 2  # --reason is required
