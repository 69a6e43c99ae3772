"""The change feed over Redis pub/sub: a commit publishes its changed projects, every
listener drops them and acknowledges, the write waits for them; a lost connection is
noticed (serial checks until it is back), and a Redis that is away never fails a write."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis

from bastion.db.changes import ChangeFeed, announce
from bastion.db.redis_feed import RedisListener, RedisPublisher
from bastion.services import Services
from tests.db.test_changes import Recorder, never_live
from tests.support.servers import free_port

pytestmark = pytest.mark.one_backend  # the database only commits; Redis carries the news

REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
def prefix() -> str:
    """Channels of this test's own (tests run in parallel on one Redis)."""
    return f"bastion-test-{uuid.uuid4().hex}"


@pytest.fixture
async def publishing(services: Services, prefix: str) -> AsyncIterator[RedisPublisher]:
    publisher = RedisPublisher(REDIS, prefix)
    services.db.publish = publisher.publish
    yield publisher
    services.db.publish = services.db.settle = None
    await publisher.close()


def _feed(prefix: str, recorder: Recorder, **timing: float) -> ChangeFeed:
    return ChangeFeed(
        "sqlite+aiosqlite://",
        [recorder],
        redis_url=REDIS,
        redis_prefix=prefix,
        **{"keepalive_seconds": 5.0, "settle_seconds": 5.0, **timing},
    )


async def _introduced(*listeners: RedisListener) -> None:
    for _ in range(250):
        if all(o.ident in m.peers for m in listeners for o in listeners if o is not m):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the listeners never heard of each other")


async def test_a_write_answers_once_every_worker_dropped_the_page(
    services: Services, prefix: str, publishing: RedisPublisher
) -> None:
    mine, other = Recorder(), Recorder()
    feeds = [_feed(prefix, mine), _feed(prefix, other)]
    for feed in feeds:
        feed.start()
    try:
        listeners = [f.listener for f in feeds]
        assert all(isinstance(x, RedisListener) for x in listeners)
        assert feeds[0].ring is None  # Redis replaces the ring too
        await _introduced(*listeners)  # type: ignore[arg-type]
        services.db.settle = listeners[0].settle  # type: ignore[union-attr]
        with pytest.raises(RuntimeError):
            async with services.db.transaction() as session:
                await announce(session, "rolled-back")
                raise RuntimeError
        for n in range(3):
            async with services.db.transaction() as session:
                await announce(session, f"demo-{n}")
            assert other.names[-1] == f"demo-{n}"  # already, without waiting
        assert "rolled-back" not in other.names + mine.names
        assert mine.names == other.names == ["demo-0", "demo-1", "demo-2"]
        assert other.states == mine.states == [False, True]
    finally:
        for feed in feeds:
            await feed.stop()


async def test_a_lost_subscription_is_noticed_and_remade(prefix: str) -> None:
    seen = Recorder()
    feed = _feed(prefix, seen, keepalive_seconds=0.5, retry_seconds=0.05)
    feed.start()
    listener = feed.listener
    assert isinstance(listener, RedisListener)
    try:
        await asyncio.wait_for(listener.connected.wait(), 10)
        admin = redis.Redis.from_url(REDIS)
        try:
            clients = await admin.client_list(_type="pubsub")
            (mine,) = [c for c in clients if c["name"] == f"bastion-feed-{listener.ident}"]
            await admin.client_kill_filter(_id=mine["id"])
            for _ in range(250):
                if seen.states[-2:] == [False, True] and len(seen.states) >= 4:
                    break
                await asyncio.sleep(0.02)
            # Down (serial checks), then back (the cache forgets all it may have missed).
            assert seen.states == [False, True, False, True]
            await asyncio.wait_for(listener.connected.wait(), 10)
            await admin.publish(f"{prefix}:changes", "after-reconnect 1.1")
            for _ in range(250):
                if "after-reconnect" in seen.names:
                    break
                await asyncio.sleep(0.02)
            assert "after-reconnect" in seen.names
        finally:
            await admin.aclose()
    finally:
        await feed.stop()


async def test_listener_falls_back_while_redis_is_unreachable(prefix: str) -> None:
    seen = Recorder()
    url = f"redis://127.0.0.1:{free_port()}/0"
    await never_live(
        RedisListener(url, prefix, [seen], keepalive_seconds=0.5, retry_seconds=0.05), seen
    )


async def test_a_redis_that_is_away_never_fails_a_write(
    services: Services, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    publisher = RedisPublisher(f"redis://127.0.0.1:{free_port()}/0", prefix, timeout=0.5)
    services.db.publish = publisher.publish
    try:
        async with services.db.transaction() as session:
            await announce(session, "demo")
        assert "could not publish ['demo'] to Redis" in caplog.text
    finally:
        services.db.publish = None
        await publisher.close()
