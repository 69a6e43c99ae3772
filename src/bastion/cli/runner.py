"""What every command shares: building the services and turning domain errors into exit 1."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.config import Settings
from bastion.errors import BastionError
from bastion.packaging.changes import Operator
from bastion.services import Services, build_services

T = TypeVar("T")

err = Console(stderr=True)

OPERATOR = Operator("cli")
BY = f"operator:{OPERATOR.label}"
Reason = Annotated[str, typer.Option("--reason", help="Why (audited; shown to users).")]


def run_with_services(work: Callable[[Services], Awaitable[T]]) -> T:
    """Build services from the environment, run ``work``, close; errors become exit 1."""

    async def main() -> T:
        services = build_services(Settings())
        try:
            return await work(services)
        finally:
            await services.close()

    try:
        return asyncio.run(main())
    except BastionError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None


def act(action: Callable[[Services], Awaitable[T]], say: Callable[[Services, T], str]) -> None:
    """Run one service call as the operator and print one line about what it did."""

    async def work(services: Services) -> None:
        typer.echo(say(services, await action(services)))

    run_with_services(work)


def transact(
    action: Callable[[AsyncSession, Services], Awaitable[T]], say: Callable[[Services, T], str]
) -> None:
    """Like :func:`act`, for a service function that adds to the caller's transaction: run
    it in one transaction, and print one line once that committed."""

    async def work(services: Services) -> None:
        async with services.db.transaction() as session:
            result = await action(session, services)
        typer.echo(say(services, result))

    run_with_services(work)


def change(action: Callable[..., Awaitable[T]], *args: object, **kwargs: object) -> T:
    """Run one service call as the operator in a transaction (audited there):
    ``action(session, *args, by="operator:cli", now=<the clock's now>, **kwargs)``."""

    async def work(services: Services) -> T:
        async with services.db.transaction() as session:
            return await action(session, *args, by=BY, now=services.clock.now(), **kwargs)

    return run_with_services(work)
