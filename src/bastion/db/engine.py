"""Engine and session factory; the only module that knows which backend is in use."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from bastion.db.changes import committed_names, committed_tokens
from bastion.private_files import private_file


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def private_sqlite_file(url: str) -> None:
    """Create a SQLite database file 0600 (in a 0700 folder) before SQLite opens it; SQLite
    gives its -wal and -shm files the database file's mode. Other URLs: nothing to do."""
    parsed = make_url(url)
    database = parsed.database
    if (
        parsed.get_backend_name() == "sqlite"
        and database
        and database != ":memory:"
        and (not database.startswith("file:"))
    ):
        try:
            private_file(Path(database))
        except OSError:  # SQLite says why it cannot open the file when it tries
            return


class Database:
    """Owns the engine; hands out sessions and transactions."""

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        pooled: bool = True,
        pool_size: int = 10,
        max_overflow: int = 20,
    ) -> None:
        """``pooled=False`` opens a connection per session, usable from any event loop."""
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo}
        if not pooled:
            kwargs["poolclass"] = NullPool
        elif not self.is_sqlite:
            kwargs.update(pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            private_sqlite_file(url)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        # Set by the change feed (db.changes): after a commit that announced changes,
        # wait until this process heard its own notifications (read-your-writes).
        self.settle: Callable[[list[str]], Awaitable[None]] | None = None
        # Set when changes travel by Redis (db.redis_feed): publish the names a commit
        # announced; the tokens to settle on.
        self.publish: Callable[[list[str]], Awaitable[list[str]]] | None = None
        # This process's caches, told of each project a committed transaction announced
        # before ``transaction()`` returns (so domain code never touches a cache).
        self.on_commit: list[Callable[[str], None]] = []

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session; the caller commits."""
        async with self.sessionmaker() as session:
            yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        async with self.sessionmaker() as session:
            async with session.begin():
                yield session
            names = committed_names(session)
            for name in names:
                for forget in self.on_commit:
                    forget(name)
            tokens = committed_tokens(session)
            if self.publish is not None and names:
                tokens = await self.publish(sorted(names))
            if self.settle is not None and tokens:
                await self.settle(tokens)

    async def dispose(self) -> None:
        await self.engine.dispose()
