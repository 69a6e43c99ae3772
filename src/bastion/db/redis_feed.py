"""The change feed over Redis pub/sub (``BASTION_REDIS_URL``), instead of ``LISTEN``.

For deployments whose PostgreSQL is reached through a transaction-pooling proxy
(PgBouncer in transaction mode does not pass ``LISTEN``), or that share one Redis already.
The same messages as the PostgreSQL feed (:mod:`bastion.db.feed_acks`), on the channels
``<prefix>:changes`` and ``<prefix>:acks``:

- every process that writes (workers, the CLI, jobs) publishes each changed project after
  its commit (:class:`RedisPublisher`, called by ``Database.transaction``);
- every server process holds one subscription (:class:`RedisListener`), drops the pages
  and acknowledges, so the write answers once every live worker serves the change.

Unlike ``NOTIFY``, a publish is not part of the transaction: a process that dies between
its commit and its publish leaves the other workers' pages to the page refresher, which
re-checks every cached page within ``BASTION_SIMPLE_CACHE_TTL``. A publish that fails
(Redis away) is logged and does not fail the write, for the same reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from bastion.db.feed_acks import AckingListener, Subscriber, new_token
from bastion.tasks import cancel

log = logging.getLogger(__name__)


def channels(prefix: str) -> tuple[str, str]:
    """The changes and acknowledgements channels under ``prefix``."""
    return f"{prefix}:changes", f"{prefix}:acks"


def _client(url: str, timeout: float, name: str) -> Any:
    """A client that reports a lost connection instead of reconnecting behind our back
    (a subscription silently re-made would have missed messages), named for ``CLIENT
    LIST``."""
    import redis.asyncio as redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    return redis.Redis.from_url(
        url,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        decode_responses=True,
        client_name=name,
    )


class RedisPublisher:
    """Tells every listener which projects a committed transaction changed."""

    def __init__(self, url: str, prefix: str, *, timeout: float = 2.0) -> None:
        self.url = url
        self.changes, _ = channels(prefix)
        self.timeout = timeout
        self._client: Any = None

    async def publish(self, names: Sequence[str]) -> list[str]:
        """Publish ``name token`` for each name; the tokens, or none if Redis is away."""
        tokens = [new_token() for _ in names]
        try:
            if self._client is None:
                self._client = _client(self.url, self.timeout, "bastion-publisher")
            async with self._client.pipeline(transaction=False) as pipe:
                for name, token in zip(names, tokens, strict=True):
                    pipe.publish(self.changes, f"{name} {token}")
                await asyncio.wait_for(pipe.execute(), self.timeout)
        except Exception as exc:  # committed already: the refresher bounds the staleness
            log.warning("change feed: could not publish %s to Redis: %s", list(names), exc)
            await self.close()
            return []
        return tokens

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.aclose()


class _RedisLink:
    """One subscription (and a client to publish acknowledgements with)."""

    def __init__(self, client: Any, pubsub: Any, acks: str, timeout: float) -> None:
        self.client = client
        self.pubsub = pubsub
        self.acks = acks
        self.timeout = timeout
        self.ended = asyncio.Event()
        self.reader: asyncio.Task[None] | None = None

    def watch(self) -> None:
        """Read messages in a task; the link ends when the subscription's connection does."""
        self.reader = asyncio.create_task(self.pubsub.run(poll_timeout=self.timeout))
        self.reader.add_done_callback(lambda _t: self.ended.set())

    async def send(self, payload: str) -> None:
        await self.client.publish(self.acks, payload)

    async def close(self) -> None:
        await cancel(self.reader)
        with contextlib.suppress(Exception):
            await self.pubsub.aclose()
        with contextlib.suppress(Exception):
            await self.client.aclose()


class RedisListener(AckingListener):
    """``SUBSCRIBE <prefix>:changes <prefix>:acks`` in a background task."""

    kind = "change feed (Redis)"

    def __init__(
        self,
        url: str,
        prefix: str,
        subscribers: Sequence[Subscriber],
        **timing: float,
    ) -> None:
        super().__init__(subscribers, **timing)  # keepalive, retry and settle seconds
        self.url = url
        self.changes_channel, self.acks_channel = channels(prefix)

    async def connect(self) -> _RedisLink:
        client = _client(self.url, self.keepalive_seconds, f"bastion-feed-{self.ident}")
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        link = _RedisLink(client, pubsub, self.acks_channel, self.keepalive_seconds)
        try:
            handlers: dict[str, Any] = {
                self.changes_channel: lambda message: self.on_change(message["data"]),
                self.acks_channel: lambda message: self.on_ack_channel(message["data"]),
            }
            await pubsub.subscribe(**handlers)
            link.watch()
        except BaseException:
            await link.close()
            raise
        return link
