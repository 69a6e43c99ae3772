"""The change feed: announcements reach other processes' subscribers only after commit,
the SQLite ring catches up or resets, and the PostgreSQL listener falls back when down."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bastion.db.changes import (
    SLOTS,
    ChangeFeed,
    PostgresListener,
    RingReader,
    announce,
    append_names,
    ring_path,
)
from bastion.db.feed_acks import AckingListener
from bastion.services import Services
from tests.support.database import BACKEND
from tests.support.servers import free_port


class Recorder:
    def __init__(self) -> None:
        self.names: list[str] = []
        self.states: list[bool] = []

    def invalidate(self, normalized_name: str) -> None:
        self.names.append(normalized_name)

    def feed_state(self, live: bool) -> None:
        self.states.append(live)


def test_ring_catches_up_by_name(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3-changes"
    append_names(path, ["before"])  # older than the reader: not reported
    seen = Recorder()
    reader = RingReader(path, [seen])
    reader.poll()
    assert seen.names == [] and seen.states == []
    append_names(path, ["demo", "other"])
    append_names(path, ["demo"])
    reader.poll()
    assert seen.names == ["demo", "other", "demo"]
    reader.poll()
    assert len(seen.names) == 3
    reader.close()


def test_ring_resets_when_a_reader_falls_a_ring_behind_or_a_name_is_too_long(
    tmp_path: Path,
) -> None:
    path = tmp_path / "db.sqlite3-changes"
    seen = Recorder()
    reader = RingReader(path, [seen])
    append_names(path, [f"p{n}" for n in range(SLOTS + 1)])
    reader.poll()
    assert seen.names == [] and seen.states == [True]  # forget everything
    append_names(path, ["x" * 300])
    reader.poll()
    assert seen.states == [True, True]
    reader.close()


@pytest.mark.skipif(BACKEND != "sqlite", reason="the ring is the SQLite transport")
async def test_sqlite_announces_after_commit_only(services: Services) -> None:
    path = ring_path(services.settings.resolved_database_url)
    assert path is not None
    seen = Recorder()
    reader = RingReader(path, [seen])
    with pytest.raises(RuntimeError):
        async with services.db.transaction() as session:
            await announce(session, "rolled-back")
            raise RuntimeError
    reader.poll()
    assert seen.names == []
    async with services.db.transaction() as session:
        await announce(session, "demo")
        await announce(session, "demo")  # once per transaction
        reader.poll()
        assert seen.names == []  # not before the commit
    reader.poll()
    assert seen.names == ["demo"]
    reader.close()


@pytest.mark.skipif(BACKEND != "postgresql", reason="LISTEN/NOTIFY is PostgreSQL's")
async def test_postgresql_notifies_listeners_on_commit_only(services: Services) -> None:
    seen = Recorder()
    feed = ChangeFeed(services.settings.resolved_database_url, [seen], keepalive_seconds=0.5)
    feed.start()
    try:
        assert feed.listener is not None
        await asyncio.wait_for(feed.listener.connected.wait(), 10)
        with pytest.raises(RuntimeError):
            async with services.db.transaction() as session:
                await announce(session, "rolled-back")
                raise RuntimeError
        services.db.settle = feed.listener.settle
        async with services.db.transaction() as session:
            await announce(session, "demo")
        # The commit waited until this process heard its own notification.
        assert seen.names == ["demo"]
        assert not feed.listener.waiting
        assert seen.states == [False, True]  # revalidating until LISTEN held
    finally:
        services.db.settle = None
        await feed.stop()


@pytest.mark.skipif(BACKEND != "postgresql", reason="LISTEN/NOTIFY is PostgreSQL's")
async def test_a_write_answers_once_every_live_worker_dropped_the_page(
    services: Services,
) -> None:
    """Two listeners (two workers): the writer's commit returns only when the other one
    acknowledged, so a read through the other worker right after sees the change."""
    writer, other = Recorder(), Recorder()
    url = services.settings.resolved_database_url
    feeds = [ChangeFeed(url, [r], keepalive_seconds=5, settle_seconds=5) for r in (writer, other)]
    for feed in feeds:
        feed.start()
    try:
        mine, theirs = (f.listener for f in feeds)
        assert mine is not None and theirs is not None
        for _ in range(250):  # they introduce themselves to each other
            if theirs.ident in mine.peers and mine.ident in theirs.peers:
                break
            await asyncio.sleep(0.02)
        assert theirs.ident in mine.peers
        services.db.settle = mine.settle
        for n in range(5):
            async with services.db.transaction() as session:
                await announce(session, f"demo-{n}")
            assert other.names[-1] == f"demo-{n}"  # already, without waiting
        assert not mine.waiting and not mine.acks
    finally:
        services.db.settle = None
        for feed in feeds:
            await feed.stop()


async def never_live(listener: AckingListener, seen: Recorder) -> None:
    """Run ``listener`` against a server that is not there: it never goes live."""
    listener.start()
    await asyncio.sleep(0.3)
    await listener.stop()
    assert not listener.connected.is_set()
    assert seen.states and not any(seen.states)  # never live: serial checks throughout


async def test_listener_falls_back_while_the_database_is_unreachable() -> None:
    seen = Recorder()
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/x"
    await never_live(PostgresListener(url, [seen], keepalive_seconds=0.5, retry_seconds=0.05), seen)
