from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from bastion.services import Services
from bastion.stats.models import ProjectDayDownloads
from tests.support.types import CliRun


async def total(services: Services) -> int:
    async with services.db.session() as session:
        return int(await session.scalar(select(func.sum(ProjectDayDownloads.downloads))) or 0)


async def test_stats_import_twice(cli: CliRun, services: Services, tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "project,date,downloads\n"
        + "".join(f"pkg-{i},2024-03-{d:02d},{i + d}\n" for i in range(200) for d in range(1, 11))
    )
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


async def test_stats_import_reports_bad_lines(
    cli: CliRun, services: Services, tmp_path: Path
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("project,date,downloads\nok,2024-01-01,1\nok,yesterday,1\n")
    result = await cli("stats", "import", str(path))
    assert result.exit_code == 1
    assert "line 3: 'yesterday' is not a date" in result.output
    assert await total(services) == 0


async def test_stats_import_refuses_future_days(
    cli: CliRun, services: Services, tmp_path: Path
) -> None:
    path = tmp_path / "future.csv"
    path.write_text("project,date,downloads\nok,2024-01-01,1\nok,2999-01-01,1000000\n")
    result = await cli("stats", "import", str(path))
    assert result.exit_code == 1
    assert "line 3: 2999-01-01 is in the future" in " ".join(result.output.split())
    assert await total(services) == 0
