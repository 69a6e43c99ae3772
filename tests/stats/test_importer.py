from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from bastion.errors import BadRequest
from bastion.services import Services
from bastion.stats import importer
from bastion.stats.models import IMPORT, LIVE, ProjectDayDownloads
from tests.support.types import AddDownloads

TODAY = date(2026, 1, 1)


async def load(services: Services, path: Path) -> importer.ImportResult:
    counts, rows = importer.parse(path, today=TODAY)
    async with services.db.transaction() as session:
        await importer.write(session, counts)
    return importer.summarize(counts, rows)


async def stored(services: Services) -> dict[tuple[str, date, str], int]:
    async with services.db.session() as session:
        rows = await session.scalars(select(ProjectDayDownloads))
        return {(r.project, r.day, r.source): r.downloads for r in rows}


def csv_file(tmp_path: Path, text: str, name: str = "export.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


async def test_reimporting_the_same_file_is_idempotent(
    services: Services, tmp_path: Path, add_downloads: AddDownloads
) -> None:
    await add_downloads({("requests", date(2024, 1, 1)): 7})
    path = csv_file(
        tmp_path,
        "project,date,downloads\nRequests,2024-01-01,100\n"
        "requests,2024-01-02,50\nrequests,2024-01-02,5\n\nsix,2024-01-01,3\n",
    )
    result = await load(services, path)
    first = await stored(services)
    assert result == importer.ImportResult(rows=4, project_days=3, projects=2, downloads=158)
    await load(services, path)
    assert (
        await stored(services)
        == first
        == {
            ("requests", date(2024, 1, 1), LIVE): 7,  # live counts are untouched
            ("requests", date(2024, 1, 1), IMPORT): 100,
            ("requests", date(2024, 1, 2), IMPORT): 55,
            ("six", date(2024, 1, 1), IMPORT): 3,
        }
    )
    # A corrected export replaces the imported figure rather than adding to it.
    await load(services, csv_file(tmp_path, "project,date,downloads\nrequests,2024-01-01,90\n"))
    assert (await stored(services))[("requests", date(2024, 1, 1), IMPORT)] == 90


async def test_pypinfo_column_names(services: Services, tmp_path: Path) -> None:
    path = csv_file(
        tmp_path,
        "download_date,file_project,download_count\n"
        "2024-02-03,Django,12\n2024-02-04 00:00:00 UTC,django,1\n",
    )
    await load(services, path)
    assert await stored(services) == {
        ("django", date(2024, 2, 3), IMPORT): 12,
        ("django", date(2024, 2, 4), IMPORT): 1,
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("name,date,downloads\nx,2024-01-01,1\n", "line 1: the header has no project column"),
        ("project,date\nx,2024-01-01\n", "line 1: the header has no downloads column"),
        (
            "project,date,downloads\nok,2024-01-01,1\nbad,2024-13-01,1\n",
            "line 3: '2024-13-01' is not",
        ),
        ("project,date,downloads\nok,2024-01-01,-4\n", "line 2: '-4' is not a whole number"),
        ("project,date,downloads\nok,2024-01-01,many\n", "line 2: 'many' is not a whole number"),
        ("project,date,downloads\n-bad-,2024-01-01,1\n", "line 2: '-bad-' is not a valid"),
        ("project,date,downloads\nok,2024-01-01\n", "line 2: expected at least 3 fields"),
        ("project,date,downloads\nok,2024-01-01,1\n\nok,x,1\n", "line 4: 'x' is not a date"),
    ],
)
async def test_malformed_rows_name_the_line_and_write_nothing(
    services: Services, tmp_path: Path, text: str, message: str
) -> None:
    path = csv_file(tmp_path, text)
    with pytest.raises(BadRequest) as refused:
        await load(services, path)
    assert message in refused.value.message
    assert await stored(services) == {}


def test_many_errors_are_summed_up(tmp_path: Path) -> None:
    body = "".join(f"p{i},nope,1\n" for i in range(15))
    with pytest.raises(BadRequest) as refused:
        importer.parse(csv_file(tmp_path, "project,date,downloads\n" + body), today=TODAY)
    assert "15 bad row(s)" in refused.value.message
    assert "line 2:" in refused.value.message and "... and 5 more" in refused.value.message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match="cannot read"):
        importer.parse(tmp_path / "absent.csv", today=TODAY)


def test_rows_dated_in_the_future_are_refused(tmp_path: Path) -> None:
    """Counts for days that have not happened would move the critical designation."""
    path = csv_file(tmp_path, "project,date,downloads\nok,2026-01-01,5\nok,2026-01-02,1000000\n")
    with pytest.raises(BadRequest) as refused:
        importer.parse(path, today=TODAY)
    assert "1 bad row(s), nothing imported" in refused.value.message
    assert (
        "line 3: 2026-01-02 is in the future (today is 2026-01-01, UTC): only days that "
        "have happened can be imported"
    ) in refused.value.message
