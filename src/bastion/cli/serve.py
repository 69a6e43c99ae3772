"""``bastion serve``: run the index."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from bastion.cli.runner import err
from bastion.config import Settings
from bastion.private_files import private_dir


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
    private_dir(settings.data_dir)
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
        timeout_keep_alive=int(settings.keep_alive_seconds),
    )
