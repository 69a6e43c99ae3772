"""What every change-feed listener does, whatever carries its messages.

A listener holds one connection to a message channel (PostgreSQL ``LISTEN``, Redis
pub/sub), tells its subscribers (the page cache) of each changed project it hears of, and
acknowledges it, so that a writer can wait until every live worker dropped the page
(read-your-writes through any worker). The messages:

- on the changes channel: ``<name> <token>`` (the token names the writing process);
- on the acknowledgements channel: ``ack <token> <listener>``, ``hello <listener>`` (at
  connection and at every keep-alive ping: the live listeners know each other) and
  ``bye <listener>``.

:class:`AckingListener` keeps the peers, the acknowledgements and the reconnect loop; a
subclass only opens a :class:`Link`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import os
import socket
import time
from collections.abc import Sequence
from typing import Protocol

from bastion.tasks import cancel

log = logging.getLogger(__name__)

_tokens = itertools.count(1)


def new_token() -> str:
    """A token for one announced change, unique across processes: ``<pid>.<n>``."""
    return f"{os.getpid()}.{next(_tokens)}"


class Subscriber(Protocol):
    """What a per-process cache offers the feed."""

    def invalidate(self, normalized_name: str) -> None:
        """Forget what is cached about this project (it changed in some process)."""

    def feed_state(self, live: bool) -> None:
        """``False``: changes may go unseen, revalidate; ``True``: (re)connected, forget all."""


class Link(Protocol):
    """One open connection of a listener, already subscribed to both channels."""

    ended: asyncio.Event  # set when the connection is gone

    async def send(self, payload: str) -> None:
        """Publish ``payload`` on the acknowledgements channel."""

    async def close(self) -> None:
        """Close the connection (no error if it is already gone)."""


class AckingListener:
    """A background task holding a :class:`Link`; reconnects after failures.

    A writer's :meth:`settle` waits until every listener alive (this one included)
    acknowledged its notifications, at most ``settle_seconds``: when the upload or yank
    answers, every worker already serves the change. While the link is down the
    subscribers are told so (``feed_state(False)``) and revalidate every hit; on
    reconnecting they forget everything, as changes may have been missed meanwhile.
    """

    kind = "change feed"

    def __init__(
        self,
        subscribers: Sequence[Subscriber],
        *,
        keepalive_seconds: float,
        retry_seconds: float,
        settle_seconds: float = 1.0,
    ) -> None:
        self.subscribers = tuple(subscribers)
        self.keepalive_seconds = keepalive_seconds
        self.retry_seconds = retry_seconds
        self.settle_seconds = settle_seconds
        self.ident = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.connected = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.peers: dict[str, float] = {}  # other listeners -> when last heard of
        # token -> listeners that acknowledged it (this listener included once heard)
        self.acks: collections.OrderedDict[str, set[str]] = collections.OrderedDict()
        self.waiting: dict[str, tuple[asyncio.Future[None], frozenset[str]]] = {}
        self.outbox: asyncio.Queue[str] = asyncio.Queue()

    async def connect(self) -> Link:
        """Open a link on which :meth:`on_change` and :meth:`on_ack_channel` hear messages."""
        raise NotImplementedError

    def start(self) -> None:
        self._state(False)  # until the first subscription holds, revalidate
        self.task = asyncio.create_task(self._run(), name=self.kind)

    async def stop(self) -> None:
        task, self.task = self.task, None
        await cancel(task)

    def _state(self, live: bool) -> None:
        for subscriber in self.subscribers:
            subscriber.feed_state(live)

    def on_change(self, payload: str) -> None:
        name, _, token = payload.partition(" ")
        for subscriber in self.subscribers:
            subscriber.invalidate(name)
        if token:
            self._acked(token, self.ident)
            self.outbox.put_nowait(f"ack {token} {self.ident}")

    def on_ack_channel(self, payload: str) -> None:
        kind, _, rest = payload.partition(" ")
        if kind == "ack":
            token, _, ident = rest.partition(" ")
            if ident != self.ident:
                self.peers[ident] = time.monotonic()
                self._acked(token, ident)
        elif kind == "hello" and rest != self.ident:
            if rest not in self.peers:
                self.outbox.put_nowait(f"hello {self.ident}")  # introduce ourselves back
            self.peers[rest] = time.monotonic()
        elif kind == "bye":
            self.peers.pop(rest, None)

    def _acked(self, token: str, ident: str) -> None:
        if not token.startswith(f"{os.getpid()}."):
            return  # another process's write: its own listener waits for it
        acked = self.acks.setdefault(token, set())
        acked.add(ident)
        while len(self.acks) > 4096:
            self.acks.popitem(last=False)
        waiting = self.waiting.get(token)
        if waiting is not None and waiting[1] <= acked and not waiting[0].done():
            waiting[0].set_result(None)

    def _live_peers(self) -> frozenset[str]:
        horizon = time.monotonic() - 3 * self.keepalive_seconds
        return frozenset(p for p, seen in self.peers.items() if seen >= horizon)

    async def settle(self, tokens: Sequence[str]) -> None:
        """Wait (at most ``settle_seconds``) until every live listener, this process's
        included, acknowledged the notifications of a commit."""
        if not self.connected.is_set():
            return
        expected = self._live_peers() | {self.ident}
        loop = asyncio.get_running_loop()
        pending = []
        for token in tokens:
            if not expected <= self.acks.get(token, set()):
                waiter: asyncio.Future[None] = loop.create_future()
                self.waiting[token] = (waiter, expected)
                pending.append(waiter)
        if pending:
            _done, late = await asyncio.wait(pending, timeout=self.settle_seconds)
            if late:
                log.warning(
                    "%s: not every worker acknowledged within %gs", self.kind, self.settle_seconds
                )
        for token in tokens:
            self.waiting.pop(token, None)
            self.acks.pop(token, None)

    async def _pump(self, link: Link) -> None:
        """Send acks and hellos until the link ends (the hello is the keep-alive ping)."""
        self._state(True)
        self.connected.set()
        self.outbox.put_nowait(f"hello {self.ident}")
        ended = asyncio.ensure_future(link.ended.wait())
        try:
            while not link.ended.is_set():
                message = asyncio.ensure_future(self.outbox.get())
                done, _ = await asyncio.wait(
                    {message, ended},
                    timeout=self.keepalive_seconds,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if message in done:
                    payload = message.result()
                else:
                    message.cancel()
                    if link.ended.is_set():
                        break
                    payload = f"hello {self.ident}"
                await asyncio.wait_for(link.send(payload), self.keepalive_seconds)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(link.send(f"bye {self.ident}"), 1)
        finally:
            ended.cancel()

    async def _run(self) -> None:
        while True:
            link = None
            try:
                link = await self.connect()  # bounded by the client's connect timeout
                await self._pump(link)
            except asyncio.CancelledError:
                if link is not None and not link.ended.is_set():
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(link.send(f"bye {self.ident}"), 1)
                raise
            except Exception as exc:  # any failure: fall back, wait, reconnect
                log.warning("%s: %s; serial checks until it reconnects", self.kind, exc)
            finally:
                if link is not None:
                    with contextlib.suppress(Exception):
                        await link.close()
            if self.connected.is_set():
                self.connected.clear()
            self.peers.clear()
            self._state(False)
            await asyncio.sleep(self.retry_seconds)
