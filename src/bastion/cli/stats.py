"""``bastion stats ...``: download statistics commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from bastion.cli.runner import run_with_services
from bastion.services import Services

stats_app = typer.Typer(help="Download statistics.", no_args_is_help=True)
out = Console(stderr=True)


def _count_lines(path: Path) -> int:
    try:
        with path.open("rb") as handle:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    except OSError:
        return 0


@stats_app.command("import")
def stats_import(
    file: Annotated[Path, typer.Argument(help="CSV with a header: project,date,downloads.")],
) -> None:
    """Load daily download counts from a CSV export; importing the same file again is a no-op."""
    from bastion.clock import today
    from bastion.stats import importer

    async def work(services: Services) -> importer.ImportResult:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=out,
            transient=True,
        ) as bar:
            reading = bar.add_task("reading", total=max(_count_lines(file) - 1, 0))
            counts, rows = importer.parse(
                file, lambda n: bar.advance(reading, n), today=today(services.clock)
            )
            writing = bar.add_task("writing", total=len(counts))
            async with services.db.transaction() as session:
                await importer.write(session, counts, lambda n: bar.advance(writing, n))
        return importer.summarize(counts, rows)

    result = run_with_services(work)
    typer.echo(
        f"imported {result.rows} rows: {result.downloads} downloads of "
        f"{result.projects} projects on {result.project_days} project-days"
    )
