"""``bastion project yank|unyank|add-role|remove-role`` and
``bastion admin delete|restore|purge|purge-sessions``: operator tools.

They act as an operator (someone with shell access to the index): no account, no 2FA
gate, every action audited with ``by = operator:cli``. Deleting needs a reason.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer

from bastion.packaging.changes import Operator
from bastion.services import Services

project_app = typer.Typer(
    help="A project's releases (yank, un-yank) and collaborators (add-role, remove-role).",
    no_args_is_help=True,
)
admin_app = typer.Typer(
    help="Administration: delete, restore, purge, purge-sessions.", no_args_is_help=True
)
delete_app = typer.Typer(
    help="Delete a project, a release or a file (soft: restorable until purged).",
    no_args_is_help=True,
)
restore_app = typer.Typer(help="Restore what was deleted.", no_args_is_help=True)
admin_app.add_typer(delete_app, name="delete")
admin_app.add_typer(restore_app, name="restore")

T = TypeVar("T")

OPERATOR = Operator("cli")
Reason = Annotated[str, typer.Option("--reason", help="Why (audited; shown to users).")]


def _run(work: Callable[[Services], Awaitable[None]]) -> None:
    from bastion.cli import run_with_services

    run_with_services(work)


def _act(action: Callable[[Services], Awaitable[T]], say: Callable[[Services, T], str]) -> None:
    """Run one service call as the operator and print one line about what it did."""

    async def work(services: Services) -> None:
        typer.echo(say(services, await action(services)))

    _run(work)


@project_app.command("yank")
def project_yank(name: str, version: str, reason: Reason) -> None:
    """Yank a release: installers skip it unless it is pinned (PEP 592)."""
    from bastion.packaging.yank import yank_release

    _act(lambda s: yank_release(s, name, version, by=OPERATOR, reason=reason),
         lambda s, r: f"yanked {r.project} {r.version}: {r.reason}")


@project_app.command("unyank")
def project_unyank(name: str, version: str) -> None:
    """Un-yank a release: installers may choose it again."""
    from bastion.packaging.yank import unyank_release

    _act(lambda s: unyank_release(s, name, version, by=OPERATOR),
         lambda s, r: f"un-yanked {r.project} {r.version}")


RoleOption = Annotated[str, typer.Option("--role", help="Owner or Maintainer.")]


@project_app.command("add-role")
def project_add_role(name: str, user: str, role: RoleOption) -> None:
    """Give USER a role on project NAME (or change the one they have)."""
    from bastion.packaging.roles import set_role

    async def work(services: Services) -> None:
        async with services.db.transaction() as session:
            change = await set_role(session, services, name, user, role, by=OPERATOR)
        if change is None:
            typer.echo(f"{user} already has that role on {name}")
        elif change.previous is None:
            typer.echo(f"added {change.username} to {change.project} as {change.role}")
        else:
            typer.echo(f"changed {change.username} on {change.project}: "
                       f"{change.previous} -> {change.role}")

    _run(work)


@project_app.command("remove-role")
def project_remove_role(name: str, user: str) -> None:
    """Take USER's role on project NAME away (a project keeps at least one owner)."""
    from bastion.packaging.roles import remove_role

    async def work(services: Services) -> None:
        async with services.db.transaction() as session:
            change = await remove_role(session, services, name, user, by=OPERATOR)
        typer.echo(f"removed {change.username} ({change.previous}) from {change.project}")

    _run(work)


def _retention(services: Services) -> str:
    return f"restorable for {services.settings.deletion_retention_days} days"


@delete_app.command("project")
def delete_project_cmd(name: str, reason: Reason) -> None:
    """Delete a whole project (its name stays reserved)."""
    from bastion.packaging.deletion import delete_project

    _act(lambda s: delete_project(s, name, by=OPERATOR, reason=reason),
         lambda s, r: f"deleted project {r.project} ({r.files} files; {_retention(s)})")


@delete_app.command("release")
def delete_release_cmd(name: str, version: str, reason: Reason) -> None:
    """Delete one release of a project."""
    from bastion.packaging.deletion import delete_release

    _act(lambda s: delete_release(s, name, version, by=OPERATOR, reason=reason),
         lambda s, r: f"deleted release {r.project} {r.version} ({r.files} files; "
                      f"{_retention(s)})")


@delete_app.command("file")
def delete_file_cmd(filename: str, reason: Reason) -> None:
    """Delete one file (its filename can never be uploaded again)."""
    from bastion.packaging.deletion import delete_file

    _act(lambda s: delete_file(s, filename, by=OPERATOR, reason=reason),
         lambda s, r: f"deleted file {r.filename} of {r.project} {r.version} "
                      f"({_retention(s)})")


@restore_app.command("project")
def restore_project_cmd(name: str) -> None:
    """Restore a deleted project exactly as it was."""
    from bastion.packaging.restore import restore_project

    _act(lambda s: restore_project(s, name, by=OPERATOR),
         lambda s, r: f"restored project {r.project} ({r.files} files)")


@restore_app.command("release")
def restore_release_cmd(name: str, version: str) -> None:
    """Restore a deleted release."""
    from bastion.packaging.restore import restore_release

    _act(lambda s: restore_release(s, name, version, by=OPERATOR),
         lambda s, r: f"restored release {r.project} {r.version} ({r.files} files)")


@restore_app.command("file")
def restore_file_cmd(filename: str) -> None:
    """Restore a deleted file."""
    from bastion.packaging.restore import restore_file

    _act(lambda s: restore_file(s, filename, by=OPERATOR),
         lambda s, r: f"restored file {r.filename} of {r.project} {r.version}")


@admin_app.command("purge")
def purge_cmd(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list what would be removed.")
    ] = False,
) -> None:
    """Remove for good what was deleted longer ago than the retention period."""
    from bastion.packaging.purge import purge

    async def work(services: Services) -> None:
        items = await purge(services, dry_run=dry_run)
        verb = "would purge" if dry_run else "purged"
        for item in items:
            typer.echo(f"{verb} {item.describe()}")
        typer.echo(f"{len(items)} tombstone(s) {verb}"
                   f" (retention {services.settings.deletion_retention_days} days)")

    _run(work)


@admin_app.command("purge-sessions")
def purge_sessions_cmd() -> None:
    """Delete expired web sessions (idle or past their absolute lifetime)."""
    from bastion.accounts.sessions import purge_expired

    async def work(services: Services) -> None:
        async with services.db.transaction() as session:
            removed = await purge_expired(session, services.clock, services.settings)
        typer.echo(f"{removed} expired web session(s) removed")

    _run(work)
