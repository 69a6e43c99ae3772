"""``bastion critical ...``: recompute, list and mark critical projects."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from packaging.utils import canonicalize_name

from bastion.cli.runner import run_with_services
from bastion.services import Services

critical_app = typer.Typer(help="Critical projects and the 2FA mandate.", no_args_is_help=True)


def _parse_day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date: use YYYY-MM-DD") from None


@critical_app.command("recompute")
def critical_recompute(
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="Last day of the window, YYYY-MM-DD (default: yesterday, UTC)."
        ),
    ] = None,
    full: Annotated[
        bool, typer.Option(help="Rebuild the window sums from the daily roll-ups.")
    ] = False,
) -> None:
    """Designate the top share of projects by downloads over the window (run daily)."""
    from bastion.critical.policy import RecomputeResult
    from bastion.critical.scheduler import recompute_and_notify

    day = _parse_day(as_of)

    async def work(services: Services) -> RecomputeResult:
        return await recompute_and_notify(
            services.db,
            day,
            settings=services.settings,
            clock=services.clock,
            mailer=services.mailer,
            full=full,
        )

    result = run_with_services(work)
    typer.echo(f"{result.total_critical} projects are critical (window to {result.as_of})")
    if result.newly_critical:
        typer.echo(f"{len(result.newly_critical)} new: {', '.join(result.newly_critical)}")
    else:
        typer.echo("0 new")


@critical_app.command("list")
def critical_list() -> None:
    """Print every critical project's normalised name, one a line, sorted (deleted ones
    and designated names no project holds yet included: the designation follows the name)."""
    from bastion.critical.policy import list_critical

    async def work(services: Services) -> list[str]:
        async with services.db.session() as session:
            return await list_critical(session)

    for name in run_with_services(work):
        typer.echo(name)


@critical_app.command("mark")
def critical_mark(
    name: Annotated[str, typer.Argument(help="The project name.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is critical (audited).")],
) -> None:
    """Mark a project critical by hand (sticky: it is never unmarked)."""
    from bastion.critical.notify import notify_critical
    from bastion.critical.policy import mark

    canonical = canonicalize_name(name)

    async def work(services: Services) -> bool:
        async with services.db.transaction() as session:
            new = await mark(session, name, reason, True, now=services.clock.now())
        if new:
            async with services.db.session() as session:
                await notify_critical(
                    session,
                    [canonical],
                    services.settings,
                    services.mailer.send,
                    now=services.clock.now(),
                )
        return new

    if run_with_services(work):
        typer.echo(f"{canonical} is now critical")
    else:
        typer.echo(f"{canonical} was already critical")
