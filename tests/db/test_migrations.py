"""The Alembic migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from bastion.db.migrate import upgrade
from bastion.db.models import load_all
from tests.support.database import BACKEND, PG_ADMIN_DSN, pg_admin


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, load_all()))


async def _compare(url: str) -> list[object]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_diff)
    finally:
        await engine.dispose()


def test_migrations_match_models(tmp_path: Path) -> None:
    if BACKEND == "postgresql":
        name = f"bastion_migrate_{uuid.uuid4().hex[:10]}"
        asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
        url = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        url = f"{url}/{name}"
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'm.sqlite3'}"
    try:
        upgrade(url)
        upgrade(url)  # a second run is a no-op
        diff = asyncio.run(_compare(url))
    finally:
        if BACKEND == "postgresql":
            asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    assert diff == [], "models changed without a migration: run the revision helper"


@pytest.mark.parametrize("command", [["db", "upgrade"]])
def test_cli_db_upgrade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    from typer.testing import CliRunner

    from bastion.cli import app

    monkeypatch.setenv("BASTION_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("BASTION_DATABASE_URL", raising=False)
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "data" / "bastion.sqlite3").exists()
