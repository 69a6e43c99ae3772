"""``bastion stats import FILE``: external daily counts (a BigQuery / pypinfo CSV export).

The file has a header naming the project, date and downloads columns
(``project``/``file_project``, ``date``/``download_date``/``day``,
``downloads``/``download_count``). The whole file is checked first; any bad row
(including one dated in the future)
stops the import with its line number and nothing written. Rows for the same
project and day add up within the file, then REPLACE the imported count of that
project and day, so importing the same file again changes nothing.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from packaging.utils import InvalidName, canonicalize_name
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.errors import BadRequest
from bastion.stats.rollup import BATCH, invalidate_window, replace_imported_counts

PROJECT_COLUMNS = ("project", "file_project", "project_name")
DATE_COLUMNS = ("date", "download_date", "day")
DOWNLOAD_COLUMNS = ("downloads", "download_count", "count")
MAX_ERRORS_SHOWN = 10

Progress = Callable[[int], None]


@dataclass(frozen=True)
class ImportResult:
    rows: int
    project_days: int
    projects: int
    downloads: int


def _column(header: list[str], names: tuple[str, ...], what: str) -> int:
    lowered = [h.strip().lower() for h in header]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    raise BadRequest(
        f"line 1: the header has no {what} column (expected one of: {', '.join(names)}); "
        f"found: {', '.join(header) or 'nothing'}"
    )


def parse(
    path: Path, progress: Progress | None = None, *, today: date
) -> tuple[dict[tuple[str, date], int], int]:
    """Read and check the whole file: ``{(project, day): downloads}`` and the row count.

    A row dated after ``today`` (UTC) is refused: counts of days that have not happened
    would move the critical designation.
    """
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise BadRequest(f"cannot read {path}: {exc.strerror}") from None
    counts: dict[tuple[str, date], int] = {}
    errors: list[str] = []
    rows = 0
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            raise BadRequest(
                f"{path} is empty: expected a header line project,date,downloads"
            ) from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise BadRequest(f"line 1: {exc}") from None
        i_project = _column(header, PROJECT_COLUMNS, "project")
        i_date = _column(header, DATE_COLUMNS, "date")
        i_downloads = _column(header, DOWNLOAD_COLUMNS, "downloads")
        width = max(i_project, i_date, i_downloads) + 1
        while True:
            try:
                record = next(reader)
            except StopIteration:
                break
            except (csv.Error, UnicodeDecodeError) as exc:
                errors.append(f"line {reader.line_num}: {exc}")
                break
            line = reader.line_num
            if not any(field.strip() for field in record):
                continue  # blank line
            rows += 1
            if progress is not None and rows % BATCH == 0:
                progress(BATCH)
            if len(record) < width:
                errors.append(f"line {line}: expected at least {width} fields, found {len(record)}")
                continue
            raw_name = record[i_project].strip()
            try:
                name = canonicalize_name(raw_name, validate=True)
            except InvalidName:
                errors.append(f"line {line}: {raw_name!r} is not a valid project name")
                continue
            raw_day = record[i_date].strip()
            try:
                day = date.fromisoformat(raw_day[:10])
            except ValueError:
                errors.append(f"line {line}: {raw_day!r} is not a date (use YYYY-MM-DD)")
                continue
            if day > today:
                errors.append(
                    f"line {line}: {day.isoformat()} is in the future (today is "
                    f"{today.isoformat()}, UTC): only days that have happened can be imported"
                )
                continue
            raw_n = record[i_downloads].strip()
            try:
                n = int(raw_n)
            except ValueError:
                n = -1
            if n < 0:
                errors.append(f"line {line}: {raw_n!r} is not a whole number of downloads >= 0")
                continue
            counts[(name, day)] = counts.get((name, day), 0) + n
    if progress is not None:
        progress(rows % BATCH)
    if errors:
        more = len(errors) - MAX_ERRORS_SHOWN
        shown = "\n".join(errors[:MAX_ERRORS_SHOWN])
        tail = f"\n... and {more} more" if more > 0 else ""
        raise BadRequest(f"{path}: {len(errors)} bad row(s), nothing imported:\n{shown}{tail}")
    return counts, rows


async def write(
    session: AsyncSession,
    counts: dict[tuple[str, date], int],
    progress: Progress | None = None,
) -> None:
    """Replace the imported counts (caller's transaction) and mark the window sums stale."""
    items = [{"project": name, "day": day, "downloads": n} for (name, day), n in counts.items()]
    for start in range(0, len(items), BATCH):
        chunk = items[start : start + BATCH]
        await replace_imported_counts(session, chunk)
        if progress is not None:
            progress(len(chunk))
    await invalidate_window(session)


def summarize(counts: dict[tuple[str, date], int], rows: int) -> ImportResult:
    return ImportResult(
        rows=rows,
        project_days=len(counts),
        projects=len({name for name, _ in counts}),
        downloads=sum(counts.values()),
    )
