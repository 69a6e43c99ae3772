"""``bastion user create``: user accounts."""

from __future__ import annotations

from typing import Annotated

import typer

from bastion.cli.runner import err, run_with_services
from bastion.services import Services

user_app = typer.Typer(help="User accounts.", no_args_is_help=True)


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
                session,
                services.clock,
                services.passwords,
                username=name,
                email=email,
                password=secret,
                is_admin=admin,
                email_verified=True,
            )
        err.print(f"created user {user.username}")

    run_with_services(work)
