from __future__ import annotations

from datetime import date

from tests.support.types import AddDownloads, CliRun

DAY = date(2024, 6, 1)


async def test_recompute_list_and_mark(cli: CliRun, add_downloads: AddDownloads) -> None:
    await add_downloads(
        {(f"pkg-{i}", DAY): 1 for i in range(150)} | {("big", DAY): 100, ("bigger", DAY): 200}
    )
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


async def test_cli_errors(cli: CliRun) -> None:
    result = await cli("critical", "recompute", "--as-of", "June 1st")
    assert result.exit_code == 2
    assert "use YYYY-MM-DD" in result.output
    result = await cli("critical", "mark", "not valid!", "--reason", "x")
    assert result.exit_code == 1
    assert "not a valid project name" in result.output
    result = await cli("critical", "mark", "fine")
    assert result.exit_code == 2  # --reason is required
