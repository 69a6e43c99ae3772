"""Which projects changed, told to every process: the caches' coherence across workers.

Writers call :func:`announce` inside the transaction that moves a project's serial
(``packaging.changes.journal`` does, so every such write path announces). Readers hold a
:class:`ChangeFeed` per process that tells its subscribers (the page cache) which
names changed, so a warm ``/simple/`` request never has to ask the database.

How the news travels depends on the database, and only this module knows which:

- **PostgreSQL:** ``NOTIFY bastion_changes, '<name>'`` inside the writer's transaction
  (PostgreSQL delivers it only if, and when, the transaction commits, to every
  listening connection at once). Each process keeps one ``LISTEN`` connection
  (asyncpg) in a background task, pings it, and reconnects after a failure. While it is
  down the subscribers are told so (``feed_state(False)``): the page cache then
  revalidates every hit by the project's serial until the feed is back, and on
  reconnecting forgets everything (changes may have been missed meanwhile). Each
  listener acknowledges what it heard on ``bastion_acks``, and a writer waits (bounded)
  for every live listener's acknowledgement before it answers: read-your-writes
  through any other worker, not just "soon".
- **SQLite (embedded mode, one host):** a small file beside the database,
  ``<database>-changes``, mapped into memory by every process: a sequence number and a
  ring of the last :data:`SLOTS` changed names. A writer appends after its commit
  (under ``flock``); a reader compares one 8-byte integer in shared memory per request
  (about 100 ns, no system call, no query) and, when it moved, invalidates the names
  since the last look, or everything if it fell more than a ring behind.
  ``PRAGMA data_version`` would also see other connections' commits but costs a query
  (a thread hop under aiosqlite) per request; the mapped counter does not.

- **Redis pub/sub** (``BASTION_REDIS_URL``, any database): see :mod:`bastion.db.redis_feed`;
  it replaces the listener (and the ring), with the same acknowledgements
  (:mod:`bastion.db.feed_acks`).

Either way the cache's TTL (``BASTION_SIMPLE_CACHE_TTL``, kept by the page refresher)
stays as a safety net for a crash between a commit and its announcement.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import mmap
import os
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from bastion.db.feed_acks import AckingListener, Subscriber, new_token

log = logging.getLogger(__name__)

CHANNEL = "bastion_changes"
ACK_CHANNEL = "bastion_acks"  # listeners' hellos and acknowledgements (PostgreSQL)
SESSION_KEY = "bastion.changed"  # names announced in this session's transaction
TOKENS_KEY = "bastion.change_tokens"  # their notifications' tokens (PostgreSQL)
COMMITTED_KEY = "bastion.committed_tokens"  # the tokens, once the transaction committed
COMMITTED_NAMES_KEY = "bastion.committed_names"  # the names, once the transaction committed

# The SQLite ring: an 8-byte sequence number, then SLOTS slots of SLOT_SIZE bytes
# (one length byte, then the UTF-8 name). A name too long for a slot is a reset.
SLOTS = 256
SLOT_SIZE = 128
HEADER = struct.Struct("<Q")
FILE_SIZE = HEADER.size + SLOTS * SLOT_SIZE
RESET = 0xFF


async def announce(session: AsyncSession, normalized_name: str) -> None:
    """Tell every process, once this transaction commits, that the project changed."""
    names: set[str] = session.info.setdefault(SESSION_KEY, set())
    if normalized_name in names:
        return
    names.add(normalized_name)
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        # "name token": every listener acknowledges the token once its caches dropped
        # the project; Database.transaction waits for all of them (PostgresListener).
        token = new_token()
        session.info.setdefault(TOKENS_KEY, []).append(token)
        await session.execute(select(func.pg_notify(CHANNEL, f"{normalized_name} {token}")))
    elif len(names) == 1:
        path = ring_path(str(bind.engine.url))
        if path is not None:
            event.listen(
                session.sync_session, "after_commit", _append_after_commit(path), once=True
            )
    # A rollback must not leave the names behind for the session's next transaction.
    if len(names) == 1:
        event.listen(session.sync_session, "after_soft_rollback", _forget, once=True)
        event.listen(session.sync_session, "after_commit", _forget_after_commit, once=True)


def _forget(session: Session, _previous: Any) -> None:
    session.info.pop(SESSION_KEY, None)
    session.info.pop(TOKENS_KEY, None)


def _forget_after_commit(session: Session) -> None:
    names = session.info.pop(SESSION_KEY, None)
    if names:
        session.info[COMMITTED_NAMES_KEY] = names
    tokens = session.info.pop(TOKENS_KEY, None)
    if tokens:
        session.info[COMMITTED_KEY] = tokens


def committed_names(session: AsyncSession) -> set[str]:
    """The projects the last commit announced (taken: asked once)."""
    names: set[str] = session.info.pop(COMMITTED_NAMES_KEY, set())
    return names


def committed_tokens(session: AsyncSession) -> list[str]:
    """The tokens of the notifications the last commit sent (taken: asked once)."""
    tokens: list[str] = session.info.pop(COMMITTED_KEY, [])
    return tokens


def _append_after_commit(path: Path) -> Any:
    def append(session: Session) -> None:
        names = sorted(session.info.get(SESSION_KEY, ()))
        try:
            append_names(path, names)
        except OSError:  # the TTL still bounds how long other processes serve old pages
            log.exception("could not record changed projects in %s", path)

    return append


# -- SQLite: the shared ring file ----------------------------------------------------------


def ring_path(database_url: str) -> Path | None:
    """``<database file>-changes`` for a SQLite file database; None otherwise."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
        return None
    return Path(f"{url.database}-changes")


def _open_ring(path: Path) -> int:
    """The ring file's descriptor, the file created at its full size if new."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    if os.fstat(fd).st_size < FILE_SIZE:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if os.fstat(fd).st_size < FILE_SIZE:
                os.ftruncate(fd, FILE_SIZE)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    return fd


def _slot_offset(seq: int) -> int:
    return HEADER.size + (seq % SLOTS) * SLOT_SIZE


def append_names(path: Path, names: Sequence[str]) -> None:
    """Append changed names to the ring: slots first, then the sequence number."""
    fd = _open_ring(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        (seq,) = HEADER.unpack(os.pread(fd, HEADER.size, 0))
        for name in names:
            seq += 1
            raw = name.encode()
            slot = (
                bytes([len(raw)]) + raw
                if len(raw) < SLOT_SIZE and len(raw) != RESET
                else bytes([RESET])
            )
            os.pwrite(fd, slot, _slot_offset(seq))
        os.pwrite(fd, HEADER.pack(seq), 0)
    finally:
        os.close(fd)  # closing releases the lock


class RingReader:
    """One process's view of the ring: :meth:`poll` on every hot-path request."""

    def __init__(self, path: Path, subscribers: Sequence[Subscriber]) -> None:
        fd = _open_ring(path)
        try:
            self.map = mmap.mmap(fd, FILE_SIZE, mmap.MAP_SHARED, mmap.PROT_READ)
        finally:
            os.close(fd)
        self.subscribers = tuple(subscribers)
        self.seen: int = HEADER.unpack_from(self.map, 0)[0]

    def poll(self) -> None:
        """Invalidate what changed since the last poll (one shared-memory read if nothing)."""
        seq: int = HEADER.unpack_from(self.map, 0)[0]
        if seq != self.seen:
            self._catch_up(seq)

    def _catch_up(self, seq: int) -> None:
        names = self._names_since(seq)
        self.seen = seq
        for subscriber in self.subscribers:
            if names is None:
                subscriber.feed_state(True)
            else:
                for name in names:
                    subscriber.invalidate(name)

    def _names_since(self, seq: int) -> list[str] | None:
        """The names from ``seen`` to ``seq``; None when some are lost (forget everything)."""
        if seq - self.seen > SLOTS or seq < self.seen:
            return None
        names: list[str] = []
        for n in range(self.seen + 1, seq + 1):
            offset = _slot_offset(n)
            length = self.map[offset]
            if length == RESET:
                return None
            names.append(self.map[offset + 1 : offset + 1 + length].decode(errors="replace"))
        # A writer more than a ring ahead may have overwritten what was just read.
        if HEADER.unpack_from(self.map, 0)[0] - self.seen > SLOTS:
            return None
        return names

    def close(self) -> None:
        self.map.close()


# -- PostgreSQL: one LISTEN connection per process ---------------------------------------------


def asyncpg_dsn(database_url: str) -> str:
    """The SQLAlchemy URL as a DSN asyncpg understands."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class _PostgresLink:
    """A ``LISTEN`` connection (asyncpg) on both channels."""

    def __init__(self, conn: Any, timeout: float) -> None:
        self.conn = conn
        self.timeout = timeout
        self.ended = asyncio.Event()

    async def send(self, payload: str) -> None:
        await self.conn.execute(
            "SELECT pg_notify($1, $2)", ACK_CHANNEL, payload, timeout=self.timeout
        )

    async def close(self) -> None:
        self.conn.terminate()


class PostgresListener(AckingListener):
    """``LISTEN bastion_changes`` (and ``bastion_acks``) on one asyncpg connection."""

    kind = "change feed"

    def __init__(
        self,
        database_url: str,
        subscribers: Sequence[Subscriber],
        **timing: float,
    ) -> None:
        super().__init__(subscribers, **timing)  # keepalive, retry and settle seconds
        self.dsn = asyncpg_dsn(database_url)

    async def connect(self) -> _PostgresLink:
        import asyncpg

        conn = await asyncpg.connect(self.dsn, timeout=self.keepalive_seconds)
        link = _PostgresLink(conn, self.keepalive_seconds)
        try:
            conn.add_termination_listener(lambda _c: link.ended.set())
            await conn.add_listener(CHANNEL, lambda _c, _p, _ch, payload: self.on_change(payload))
            await conn.add_listener(
                ACK_CHANNEL, lambda _c, _p, _ch, payload: self.on_ack_channel(payload)
            )
        except BaseException:
            conn.terminate()
            raise
        return link


class ChangeFeed:
    """This process's listener: Redis pub/sub when configured, else PostgreSQL LISTEN, or
    the SQLite ring polled per request."""

    def __init__(
        self,
        database_url: str,
        subscribers: Sequence[Subscriber],
        *,
        keepalive_seconds: float = 10.0,
        retry_seconds: float = 1.0,
        settle_seconds: float = 1.0,
        redis_url: str = "",
        redis_prefix: str = "bastion",
    ) -> None:
        self.listener: AckingListener | None = None
        self.ring: RingReader | None = None
        timing = {
            "keepalive_seconds": keepalive_seconds,
            "retry_seconds": retry_seconds,
            "settle_seconds": settle_seconds,
        }
        if redis_url:
            from bastion.db.redis_feed import RedisListener

            self.listener = RedisListener(redis_url, redis_prefix, subscribers, **timing)
        elif make_url(database_url).get_backend_name() == "postgresql":
            self.listener = PostgresListener(database_url, subscribers, **timing)
        else:
            path = ring_path(database_url)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                self.ring = RingReader(path, subscribers)

    def start(self) -> None:
        if self.listener is not None:
            self.listener.start()

    async def stop(self) -> None:
        if self.listener is not None:
            await self.listener.stop()
        if self.ring is not None:
            self.ring.close()
            self.ring = None
