"""``bastion giveaway ...``: create programs, load promo codes, print reports."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated

import typer

from bastion.cli.runner import err, run_with_services
from bastion.services import Services

giveaway_app = typer.Typer(help="The security-key giveaway.", no_args_is_help=True)


def _parse_day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        message = f"{value!r} is not a date: use YYYY-MM-DD"
        raise typer.BadParameter(message, param_hint=option) from None


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


@giveaway_app.command("create-program")
def create_program_command(
    name: str,
    vendor: Annotated[str, typer.Option(help="Who donates the keys.")],
    model: Annotated[str, typer.Option(help="The key model, e.g. 'YubiKey 5 NFC'.")],
    pool: Annotated[int, typer.Option(help="How many keys (promo codes) the program holds.")],
    opens: Annotated[str, typer.Option(help="First day of claims, YYYY-MM-DD (UTC).")],
    closes: Annotated[str, typer.Option(help="Last day of claims, YYYY-MM-DD (UTC), inclusive.")],
    per_user: Annotated[
        int | None,
        typer.Option("--per-user", help="Keys per maintainer (default: settings)."),
    ] = None,
    regions: Annotated[
        str | None,
        typer.Option(help="Eligible ISO 3166-1 alpha-2 codes, e.g. DE,FR (default: settings)."),
    ] = None,
) -> None:
    """Create a program and print its id (open from the start of --opens to the end of --closes)."""
    from bastion.giveaway.programs import create_program

    opens_at = _start_of(_parse_day(opens, "--opens"))
    closes_at = _start_of(_parse_day(closes, "--closes")) + timedelta(days=1)
    region_list = None if regions is None else regions.split(",")

    async def work(services: Services) -> int:
        async with services.db.transaction() as session:
            program = await create_program(
                session,
                settings=services.settings,
                now=services.clock.now(),
                name=name,
                vendor=vendor,
                key_model=model,
                pool_size=pool,
                opens_at=opens_at,
                closes_at=closes_at,
                per_user_limit=per_user,
                regions=region_list,
            )
            err.print(
                f"created program {program.name!r}: {program.pool_size} keys, "
                f"{program.per_user_limit} per maintainer, regions {','.join(program.regions)}"
            )
            return program.id

    typer.echo(run_with_services(work))


@giveaway_app.command("load-codes")
def load_codes_command(
    program_id: int,
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV of codes.")
    ],
) -> None:
    """Load promo codes: one a line, or a CSV with a 'code' column; duplicates are skipped."""
    from bastion.giveaway.codes_loader import LoadReport, load_codes

    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise typer.BadParameter(f"{file} is not UTF-8 text", param_hint="FILE") from None

    async def work(services: Services) -> LoadReport:
        async with services.db.transaction() as session:
            return await load_codes(session, program_id, text, now=services.clock.now())

    report = run_with_services(work)
    typer.echo(f"loaded {report.loaded}, duplicates {report.duplicates}, invalid {report.invalid}")
    if report.invalid_examples:
        err.print(
            "invalid codes (4-128 visible characters, no spaces): "
            + ", ".join(repr(code) for code in report.invalid_examples)
        )


@giveaway_app.command("report")
def report_command(
    program_id: int,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV instead of a table.")] = False,
) -> None:
    """Codes loaded, claimed and remaining, and claims by region."""
    from rich.console import Console
    from rich.table import Table

    from bastion.giveaway.report import ProgramReport, program_report, report_csv

    async def work(services: Services) -> ProgramReport:
        async with services.db.session() as session:
            return await program_report(session, program_id)

    report = run_with_services(work)
    if as_csv:
        typer.echo(report_csv(report), nl=False)
        return
    p = report.program
    out = Console()
    out.print(f"[bold]{p.name}[/bold] ({p.vendor} {p.key_model}), pool {p.pool_size}")
    out.print(
        f"codes loaded {report.loaded}, claimed {report.claimed}, remaining {report.remaining}; "
        f"{report.claims} claims by {report.claimants} maintainers"
    )
    table = Table("region", "claims", "keys")
    for row in report.by_region:
        table.add_row(row.region, str(row.claims), str(row.keys))
    out.print(table)
