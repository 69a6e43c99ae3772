"""Is this exception the database being unreachable (restarting, down, overloaded)?

Such errors are temporary: the web layer answers 503 with ``Retry-After`` instead of a
500 and a dropped connection, and the pool (``pool_pre_ping``) reconnects by itself once
the server is back. Anything else is a bug and stays a 500.
"""

from __future__ import annotations

import errno
import sqlite3

import asyncpg
from sqlalchemy.exc import DBAPIError

_SOCKET_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ETIMEDOUT,
        errno.EPIPE,
    }
)
# SQLSTATE classes 08 (connection exception), 57P01-57P03 (shutdown, crash, starting up)
# and 53300 (too many connections).
_ASYNCPG_UNAVAILABLE: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
)
_SQLITE_UNAVAILABLE = ("database is locked", "unable to open database file", "disk i/o error")


def _unavailable_itself(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    if isinstance(exc, OSError) and exc.errno in _SOCKET_ERRNOS:
        return True
    if isinstance(exc, _ASYNCPG_UNAVAILABLE):
        return True
    return isinstance(exc, sqlite3.OperationalError) and str(exc).lower().startswith(
        _SQLITE_UNAVAILABLE
    )


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the database cannot be reached now."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if _unavailable_itself(current):
            return True
        orig = current.orig if isinstance(current, DBAPIError) else None
        pending += [orig, current.__cause__, current.__context__]
    return False
