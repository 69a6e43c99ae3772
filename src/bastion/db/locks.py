"""Named locks across every process of the index: a job runs in one process at a time.

PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) held on one pooled
connection for as long as the block runs; SQLite: ``flock`` on a small file beside the
database. Either way the lock dies with its holder (connection or process), so a job
killed half-way never leaves a lock behind. Non-blocking: the caller learns whether it
holds the lock and, if not, leaves the work to whoever does.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bastion.db.engine import Database

_HELD_IN_MEMORY: set[str] = set()  # an in-memory SQLite database: one process anyway


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (PostgreSQL's advisory lock space)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), signed=True)


def lock_file(database_url: str, name: str) -> Path | None:
    """``<database file>-lock-<name>`` for a SQLite file database; None otherwise."""
    url = make_url(database_url)
    if url.database in (None, "", ":memory:"):
        return None
    return Path(f"{url.database}-lock-{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}")


@asynccontextmanager
async def hold(db: Database, name: str) -> AsyncIterator[bool]:
    """Try to take the lock ``name``; yields whether this process holds it."""
    if db.is_sqlite:
        async with _file_lock(db.url, name) as held:
            yield held
        return
    key = advisory_key(name)
    async with db.engine.connect() as conn:
        held = bool(await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}))
        await conn.commit()
        try:
            yield held
        finally:
            if held:
                try:
                    await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    await conn.commit()
                except Exception:  # a broken connection took the lock with it
                    await conn.invalidate()
                    raise


@asynccontextmanager
async def _file_lock(database_url: str, name: str) -> AsyncIterator[bool]:
    path = lock_file(database_url, name)
    if path is None:
        held = name not in _HELD_IN_MEMORY
        if held:
            _HELD_IN_MEMORY.add(name)
        try:
            yield held
        finally:
            if held:
                _HELD_IN_MEMORY.discard(name)
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held = True
        except BlockingIOError:
            held = False
        yield held
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)  # releases the lock
