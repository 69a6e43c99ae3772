"""``bastion project yank|unyank|add-role|remove-role``: operator tools for one project.

They act as an operator (someone with shell access to the index): no account, no 2FA
gate, every action audited with ``by = operator:cli``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from bastion.cli.runner import OPERATOR, Reason, run_with_services, transact
from bastion.services import Services

project_app = typer.Typer(
    help="A project's releases (yank, un-yank) and collaborators (add-role, remove-role).",
    no_args_is_help=True,
)


@project_app.command("yank")
def project_yank(name: str, version: str, reason: Reason) -> None:
    """Yank a release: installers skip it unless it is pinned (PEP 592)."""
    from bastion.packaging.yank import yank_release

    transact(
        lambda session, s: yank_release(
            session, name, version, by=OPERATOR, reason=reason, settings=s.settings, clock=s.clock
        ),
        lambda s, r: f"yanked {r.project} {r.version}: {r.reason}",
    )


@project_app.command("unyank")
def project_unyank(name: str, version: str) -> None:
    """Un-yank a release: installers may choose it again."""
    from bastion.packaging.yank import unyank_release

    transact(
        lambda session, s: unyank_release(
            session, name, version, by=OPERATOR, settings=s.settings, clock=s.clock
        ),
        lambda s, r: f"un-yanked {r.project} {r.version}",
    )


RoleOption = Annotated[str, typer.Option("--role", help="Owner or Maintainer.")]


@project_app.command("add-role")
def project_add_role(name: str, user: str, role: RoleOption) -> None:
    """Give USER a role on project NAME (or change the one they have)."""
    from bastion.packaging.roles import set_role

    async def work(services: Services) -> None:
        async with services.db.transaction() as session:
            change = await set_role(
                session,
                name,
                user,
                role,
                by=OPERATOR,
                settings=services.settings,
                clock=services.clock,
            )
        if change is None:
            typer.echo(f"{user} already has that role on {name}")
        elif change.previous is None:
            typer.echo(f"added {change.username} to {change.project} as {change.role}")
        else:
            typer.echo(
                f"changed {change.username} on {change.project}: {change.previous} -> {change.role}"
            )

    run_with_services(work)


@project_app.command("remove-role")
def project_remove_role(name: str, user: str) -> None:
    """Take USER's role on project NAME away (a project keeps at least one owner)."""
    from bastion.packaging.roles import remove_role

    async def work(services: Services) -> None:
        async with services.db.transaction() as session:
            change = await remove_role(
                session, name, user, by=OPERATOR, settings=services.settings, clock=services.clock
            )
        typer.echo(f"removed {change.username} ({change.previous}) from {change.project}")

    run_with_services(work)
