"""``bastion token ...``: API tokens for operators' scripts (stable output contract).

``bastion token create`` prints only the token on standard output, so
``TOKEN=$(bastion token create alice)`` works; everything else goes to standard error.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from bastion.cli.runner import err, run_with_services
from bastion.errors import NotFound
from bastion.services import Services

token_app = typer.Typer(help="API tokens.", no_args_is_help=True)


class Scope(StrEnum):
    upload = "upload"
    read = "read"
    both = "both"


@token_app.command("create")
def token_create(
    user: Annotated[str, typer.Argument(help="The username the token acts for.")],
    project: Annotated[str | None, typer.Option(help="Limit the token to this project.")] = None,
    expires_days: Annotated[
        int | None, typer.Option(help="Expire the token after this many days.")
    ] = None,
    name: Annotated[str, typer.Option(help="A label to tell tokens apart.")] = "cli",
    scope: Annotated[
        Scope, typer.Option(help="upload (default), read (a private index), or both.")
    ] = Scope.upload,
    read_project: Annotated[
        list[str] | None, typer.Option(help="Limit reading to this name or pattern (repeatable).")
    ] = None,
) -> None:
    """Create an API token and print it (only it) on standard output."""
    from bastion.accounts import notices
    from bastion.accounts.tokens import create_token
    from bastion.accounts.users import get_user
    from bastion.audit.events import RequestContext

    async def work(services: Services) -> str:
        async with services.db.transaction() as session:
            account = await get_user(session, user)
            if account is None:
                raise NotFound(f"There is no user named {user!r}.")
            secret, token = await create_token(
                session,
                services.clock,
                services.settings,
                user=account,
                name=name,
                project=project,
                expires_days=expires_days,
                context=RequestContext(user_agent="bastion-cli"),
                can_upload=scope in (Scope.upload, Scope.both),
                can_read=scope in (Scope.read, Scope.both),
                read_projects=read_project,
            )
        err.print(f"created token {token.id} for {account.username}")
        await notices.security_changed(
            services.mailer,
            to=account.email,
            username=account.username,
            user_id=account.id,
            change=notices.Change.TOKEN_CREATED,
            when=token.created,
            detail=f"“{token.name}” by an administrator's command",
        )
        return secret

    typer.echo(run_with_services(work))


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(metavar="ID", help="The token's id.")],
) -> None:
    """Revoke an API token by its id."""
    from bastion.accounts.tokens import revoke_token
    from bastion.audit.events import RequestContext

    async def work(services: Services) -> None:
        async with services.db.transaction() as session:
            await revoke_token(
                session,
                services.clock,
                token_id=token_id,
                context=RequestContext(user_agent="bastion-cli"),
            )
        err.print(f"revoked token {token_id}")

    run_with_services(work)
