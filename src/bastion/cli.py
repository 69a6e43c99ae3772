"""The ``bastion`` command. Its contract is stable: operators script it."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from bastion.config import Settings
from bastion.errors import BastionError
from bastion.services import Services, build_services

T = TypeVar("T")

app = typer.Typer(help="Bastion: a Python package index with strong 2FA.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
user_app = typer.Typer(help="User accounts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")

err = Console(stderr=True)


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


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    migrate: Annotated[bool, typer.Option(help="Apply migrations first.")] = True,
) -> None:
    """Start the index (SQLite and files under BASTION_DATA_DIR unless configured)."""
    import uvicorn

    from bastion.db.migrate import upgrade
    from bastion.serve.reason import ReasonPhraseProtocol

    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if migrate:
        upgrade(settings.resolved_database_url)
    base = f"http://{host}:{port}"
    # Links the server writes (error pages, emails) point at where it listens,
    # unless the operator says where the public address is.
    if "base_url" not in settings.model_fields_set:
        os.environ["BASTION_BASE_URL"] = base
    err.print(f"[bold]Bastion[/bold] on {base}/")
    err.print(f"  pip install --index-url {base}/simple/ PACKAGE")
    err.print(f"  twine upload --repository-url {base}/legacy/ dist/*")
    uvicorn.run(
        "bastion.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=ReasonPhraseProtocol,
        log_level="info",
        access_log=False,
        proxy_headers=False,
    )


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply database migrations."""
    from bastion.db.migrate import upgrade

    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url, revision)
    err.print("database is up to date")


@user_app.command("create")
def user_create(
    name: str,
    email: Annotated[str, typer.Option(help="Email address.")],
    password: Annotated[
        str | None, typer.Option(help="Password; prompted for when left out.")
    ] = None,
    admin: Annotated[bool, typer.Option(help="Make the user an administrator.")] = False,
) -> None:
    """Create a user who can sign in and upload."""
    from bastion.accounts.users import create_user

    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    secret = password

    async def work(services: Services) -> None:
        async with services.db.transaction() as session:
            user = await create_user(
                session, services.clock, username=name, email=email, password=secret,
                is_admin=admin, email_verified=True,
            )
        err.print(f"created user {user.username}")

    run_with_services(work)


def _add_domain_apps() -> None:
    from bastion.accounts.cli import token_app
    from bastion.critical.cli import critical_app
    from bastion.giveaway.cli import giveaway_app
    from bastion.metrics.cli import metrics_app
    from bastion.stats.cli import stats_app

    app.add_typer(stats_app, name="stats")
    app.add_typer(critical_app, name="critical")
    app.add_typer(giveaway_app, name="giveaway")
    app.add_typer(metrics_app, name="metrics")
    app.add_typer(token_app, name="token")

    from bastion.packaging.cli import admin_app, project_app

    app.add_typer(project_app, name="project")
    app.add_typer(admin_app, name="admin")


_add_domain_apps()


def main() -> None:
    app()
