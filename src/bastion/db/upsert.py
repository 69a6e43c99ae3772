"""Portable upserts: ``INSERT ... ON CONFLICT DO UPDATE`` on SQLite and PostgreSQL.

The one place that picks the dialect's ``insert``; callers say which columns form
the key, which add up (``col = col + excluded.col``) and which are replaced.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import Selectable

Target = Table | type[Any]  # a table, or a mapped class


def dialect_name(session: AsyncSession) -> str:
    """The backend name ('sqlite' or 'postgresql') the session talks to."""
    return session.get_bind().dialect.name


def as_table(target: Target) -> Table:
    """The table of a mapped class (or the table itself)."""
    if isinstance(target, Table):
        return target
    table = inspect(target).local_table
    assert isinstance(table, Table)
    return table


def _insert(dialect: str, table: Table) -> Any:
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no upsert for the {dialect!r} backend")


def upsert_statement(
    dialect: str,
    target: Target,
    *,
    key: Sequence[str],
    add: Sequence[str] = (),
    replace: Sequence[str] = (),
    source: Selectable | None = None,
) -> Any:
    """The upsert statement; with no ``add``/``replace`` a conflict does nothing.

    ``source`` makes it ``INSERT ... SELECT`` (its columns in table order of
    ``key + add + replace``); the SELECT must have a WHERE clause (SQLite's parser
    needs it to tell ``ON CONFLICT`` from a join).
    """
    table = as_table(target)
    stmt = _insert(dialect, table)
    if source is not None:
        stmt = stmt.from_select([*key, *add, *replace], source)
    set_: dict[str, Any] = {name: table.c[name] + stmt.excluded[name] for name in add}
    set_.update({name: stmt.excluded[name] for name in replace})
    if not set_:
        return stmt.on_conflict_do_nothing(index_elements=list(key))
    return stmt.on_conflict_do_update(index_elements=list(key), set_=set_)


async def upsert(
    session: AsyncSession,
    table: Target,
    rows: Sequence[Mapping[str, Any]],
    *,
    key: Sequence[str],
    add: Sequence[str] = (),
    replace: Sequence[str] = (),
) -> None:
    """Insert ``rows``; on a key conflict add up ``add`` and overwrite ``replace``."""
    if not rows:
        return
    stmt = upsert_statement(dialect_name(session), table, key=key, add=add, replace=replace)
    await session.execute(stmt, list(rows))


async def upsert_from_select(
    session: AsyncSession,
    table: Target,
    source: Selectable,
    *,
    key: Sequence[str],
    add: Sequence[str] = (),
    replace: Sequence[str] = (),
) -> None:
    """``INSERT INTO table SELECT ...`` with the same conflict rules as :func:`upsert`."""
    stmt = upsert_statement(
        dialect_name(session), table, key=key, add=add, replace=replace, source=source
    )
    await session.execute(stmt)
