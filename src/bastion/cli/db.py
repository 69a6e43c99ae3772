"""``bastion db upgrade``: the database schema."""

from __future__ import annotations

import typer

from bastion.cli.runner import err
from bastion.config import Settings
from bastion.private_files import private_dir

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply database migrations."""
    from bastion.db.migrate import upgrade

    settings = Settings()
    private_dir(settings.data_dir)
    upgrade(settings.resolved_database_url, revision)
    err.print("database is up to date")
