"""``bastion admin delete|restore|purge|purge-sessions|sweep|release-name``: operator tools.

They act as an operator (someone with shell access to the index): no account, no 2FA
gate, every action audited with ``by = operator:cli``. Deleting needs a reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from bastion.cli.runner import OPERATOR, Reason, act, run_with_services, transact
from bastion.services import Services

if TYPE_CHECKING:
    from bastion.packaging.release_name import ReleasedName

admin_app = typer.Typer(
    help="Administration: delete, restore, purge, purge-sessions, sweep, release-name.",
    no_args_is_help=True,
)
delete_app = typer.Typer(
    help="Delete a project, a release or a file (soft: restorable until purged).",
    no_args_is_help=True,
)
restore_app = typer.Typer(help="Restore what was deleted.", no_args_is_help=True)
admin_app.add_typer(delete_app, name="delete")
admin_app.add_typer(restore_app, name="restore")


def _retention(services: Services) -> str:
    return f"restorable for {services.settings.deletion_retention_days} days"


@delete_app.command("project")
def delete_project_cmd(name: str, reason: Reason) -> None:
    """Delete a whole project (its name stays reserved)."""
    from bastion.packaging.deletion import delete_project

    transact(
        lambda session, s: delete_project(
            session, name, by=OPERATOR, reason=reason, settings=s.settings, clock=s.clock
        ),
        lambda s, r: f"deleted project {r.project} ({r.files} files; {_retention(s)})",
    )


@delete_app.command("release")
def delete_release_cmd(name: str, version: str, reason: Reason) -> None:
    """Delete one release of a project."""
    from bastion.packaging.deletion import delete_release

    transact(
        lambda session, s: delete_release(
            session, name, version, by=OPERATOR, reason=reason, settings=s.settings, clock=s.clock
        ),
        lambda s, r: f"deleted release {r.project} {r.version} ({r.files} files; {_retention(s)})",
    )


@delete_app.command("file")
def delete_file_cmd(filename: str, reason: Reason) -> None:
    """Delete one file (its filename can never be uploaded again)."""
    from bastion.packaging.deletion import delete_file

    transact(
        lambda session, s: delete_file(
            session, filename, by=OPERATOR, reason=reason, settings=s.settings, clock=s.clock
        ),
        lambda s, r: f"deleted file {r.filename} of {r.project} {r.version} ({_retention(s)})",
    )


@restore_app.command("project")
def restore_project_cmd(name: str) -> None:
    """Restore a deleted project exactly as it was."""
    from bastion.packaging.restore import restore_project

    transact(
        lambda session, s: restore_project(
            session, name, by=OPERATOR, settings=s.settings, clock=s.clock, store=s.store
        ),
        lambda s, r: f"restored project {r.project} ({r.files} files)",
    )


@restore_app.command("release")
def restore_release_cmd(name: str, version: str) -> None:
    """Restore a deleted release."""
    from bastion.packaging.restore import restore_release

    transact(
        lambda session, s: restore_release(
            session, name, version, by=OPERATOR, settings=s.settings, clock=s.clock, store=s.store
        ),
        lambda s, r: f"restored release {r.project} {r.version} ({r.files} files)",
    )


@restore_app.command("file")
def restore_file_cmd(filename: str) -> None:
    """Restore a deleted file."""
    from bastion.packaging.restore import restore_file

    transact(
        lambda session, s: restore_file(
            session, filename, by=OPERATOR, settings=s.settings, clock=s.clock, store=s.store
        ),
        lambda s, r: f"restored file {r.filename} of {r.project} {r.version}",
    )


@admin_app.command("purge")
def purge_cmd(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list what would be removed.")
    ] = False,
) -> None:
    """Remove for good what was deleted longer ago than the retention period."""
    from bastion.packaging.purge import purge

    async def work(services: Services) -> None:
        items = await purge(
            services.db,
            services.store,
            now=services.clock.now(),
            retention_days=services.settings.deletion_retention_days,
            dry_run=dry_run,
        )
        verb = "would purge" if dry_run else "purged"
        for item in items:
            typer.echo(f"{verb} {item.describe()}")
        typer.echo(
            f"{len(items)} tombstone(s) {verb}"
            f" (retention {services.settings.deletion_retention_days} days)"
        )

    run_with_services(work)


@admin_app.command("purge-sessions")
def purge_sessions_cmd() -> None:
    """Delete expired web sessions (idle or past their absolute lifetime)."""
    from bastion.accounts.sessions import purge_expired

    async def work(services: Services) -> None:
        async with services.db.transaction() as session:
            removed = await purge_expired(session, services.clock, services.settings)
        typer.echo(f"{removed} expired web session(s) removed")

    run_with_services(work)


@admin_app.command("sweep")
def sweep_cmd(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list what would be removed.")
    ] = False,
) -> None:
    """Remove stored blobs no file references (older than BASTION_ORPHAN_GRACE_MINUTES)
    and temp files left by interrupted uploads (older than BASTION_TEMP_GRACE_MINUTES)."""
    from bastion.packaging.sweep import sweep

    async def work(services: Services) -> None:
        result = await sweep(
            services.db,
            services.store,
            services.settings,
            services.clock.now(),
            dry_run=dry_run,
        )
        verb = "would remove" if dry_run else "removed"
        for path in result.orphans:
            typer.echo(f"{verb} orphan blob {path}")
        for path in result.temp_files:
            typer.echo(f"{verb} temp file {path}")
        typer.echo(
            f"{len(result.orphans)} orphan blob(s) and {len(result.temp_files)} temp file(s) {verb}"
        )

    run_with_services(work)


@admin_app.command("release-name")
def release_name_cmd(name: str, reason: Reason) -> None:
    """Free the name of a purged critical project for a new project (audited)."""
    from bastion.packaging.release_name import release_name

    async def action(services: Services) -> ReleasedName:
        async with services.db.transaction() as session:
            released = await release_name(
                session, name, by=OPERATOR, reason=reason, when=services.clock.now()
            )
        services.pages.invalidate(released.name)
        return released

    act(
        action,
        lambda s, r: (
            f"released the name {r.name} (deleted "
            f"{r.deleted_at.date().isoformat()}, purged "
            f"{r.purged_at.date().isoformat()}); it stays critical"
        ),
    )
