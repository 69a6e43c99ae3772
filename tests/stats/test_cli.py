from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from bastion.cli import app
from bastion.config import Settings
from bastion.services import Services
from bastion.stats.models import ProjectDayDownloads


@pytest.fixture
def cli(settings: Settings, services: Services, tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {
        "BASTION_DATA_DIR": str(settings.data_dir),
        "BASTION_DATABASE_URL": settings.resolved_database_url,
        "BASTION_SECRET_KEY": settings.secret_key,
        "BASTION_CONFIG": str(tmp_path / "no-such.toml"),
    }

    async def run(*args: str) -> Result:
        return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)

    return run


async def total(services: Services) -> int:
    async with services.db.session() as session:
        return int(await session.scalar(select(func.sum(ProjectDayDownloads.downloads))) or 0)


async def test_stats_import_twice(cli, services: Services, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "export.csv"
    path.write_text("project,date,downloads\n" + "".join(
        f"pkg-{i},2024-03-{d:02d},{i + d}\n" for i in range(200) for d in range(1, 11)
    ))
    expected = sum(i + d for i in range(200) for d in range(1, 11))
    for _ in range(2):
        result = await cli("stats", "import", str(path))
        assert result.exit_code == 0, result.output
        assert f"imported 2000 rows: {expected} downloads of 200 projects" in result.output
        assert await total(services) == expected
    async with services.db.session() as session:
        n = await session.scalar(
            select(ProjectDayDownloads.downloads).where(
                ProjectDayDownloads.project == "pkg-3", ProjectDayDownloads.day == date(2024, 3, 2)
            )
        )
    assert n == 5


async def test_stats_import_reports_bad_lines(cli, services: Services, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.csv"
    path.write_text("project,date,downloads\nok,2024-01-01,1\nok,yesterday,1\n")
    result = await cli("stats", "import", str(path))
    assert result.exit_code == 1
    assert "line 3: 'yesterday' is not a date" in result.output
    assert await total(services) == 0
