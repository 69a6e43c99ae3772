"""The security migration on a database that already holds accounts sharing an address:
the oldest keeps it, the others lose the claim (unverified), and the unique index holds."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine

from bastion.db.migrate import upgrade
from tests.support.database import BACKEND, PG_ADMIN_DSN, pg_admin

USERS = """INSERT INTO users (id, username, username_key, email, email_verified, password_hash,
    is_active, is_admin, created) VALUES
    (1, 'alice', 'alice', 'Alice@Example.org', true, 'x', true, false, '2026-01-01'),
    (2, 'alias', 'alias', 'alice@example.org ', true, 'x', true, false, '2026-01-02'),
    (3, 'bob', 'bob', 'bob@example.org', true, 'x', true, false, '2026-01-03')"""


async def _run(url: str, *statements: str) -> list[tuple[object, ...]]:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            rows: list[tuple[object, ...]] = []
            for statement in statements:
                result = await conn.execute(text(statement))
                rows = [tuple(r) for r in result.all()] if result.returns_rows else []
            return rows
    finally:
        await engine.dispose()


def test_existing_shared_addresses_are_resolved(tmp_path: Path) -> None:
    if BACKEND == "postgresql":
        name = f"bastion_migrate_{uuid.uuid4().hex[:10]}"
        asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
        base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        url = f"{base}/{name}"
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'm.sqlite3'}"
    try:
        upgrade(url, "ad4eca3e4f9b")
        asyncio.run(_run(url, USERS))
        upgrade(url)
        rows = asyncio.run(
            _run(url, "SELECT id, email, email_key, email_verified FROM users ORDER BY id")
        )
        assert rows == [
            (1, "Alice@Example.org", "alice@example.org", True),
            (2, "alice@example.org ", "dup-2:alice@example.org", False),
            (3, "bob@example.org", "bob@example.org", True),
        ]
        with pytest.raises(IntegrityError):
            asyncio.run(_run(url, "UPDATE users SET email_key = 'bob@example.org' WHERE id = 1"))
    finally:
        if BACKEND == "postgresql":
            asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
