"""Cached simple pages re-checked before their TTL runs out, many to a query.

The page cache's TTL is a safety net behind the change feed. Left to itself, a page that
reaches it costs the request that finds it one serial query, and pages cached together
(a deploy, a benchmark, a CI burst) expire together: a burst of queries on the hot path.
A :class:`PageRefresher` per process instead wakes every quarter TTL and re-reads, one
query per :attr:`chunk` names, the serial of every page past half its life. A page whose
serial still holds lives another TTL; one whose serial moved is dropped (its next request
renders it). Every page is still checked at least once per TTL, as before.

Left to expire on their own: pages made from more than the project's rows (the upstream
proxy's), and pages rendered under other origin rules. While the feed is down the cache's
TTL is 0 and every hit revalidates itself; the refresher then has nothing to do.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from bastion.db.engine import Database
from bastion.simple import queries
from bastion.simple.cache import INDEX, CachedPage, PageCache
from bastion.tasks import cancel
from bastion.upstream.rules import RuleBook

log = logging.getLogger(__name__)

Rules = Callable[[AsyncSession], Awaitable[RuleBook]]


class PageRefresher:
    """Keeps this process's cached pages fresh without a query per request."""

    def __init__(self, db: Database, cache: PageCache, rules: Rules, *, chunk: int = 500):
        self.db = db
        self.cache = cache
        self.rules = rules
        self.chunk = chunk
        self.task: asyncio.Task[None] | None = None

    def due(self) -> list[tuple[tuple[str, str], CachedPage]]:
        """The pages past half their life (expired ones included), proxied ones aside."""
        cache = self.cache
        horizon = cache.monotonic() + cache.ttl / 2
        return [
            (key, page)
            for key, page in cache.pages.items()
            if page.expires <= horizon and not page.proxied
        ]

    async def sweep(self) -> tuple[int, int]:
        """Re-check the due pages: how many were kept and how many dropped."""
        if self.cache.ttl <= 0:
            return 0, 0
        due = self.due()
        if not due:
            return 0, 0
        async with self.db.session() as session:
            fingerprint = (await self.rules(session)).fingerprint
            names = sorted({key[0] for key, page in due if key[0] != INDEX})
            serials: dict[str, int] = {}
            for start in range(0, len(names), self.chunk):
                chunk = names[start : start + self.chunk]
                serials.update(await queries.project_serials(session, chunk))
            if any(key[0] == INDEX for key, _ in due):
                serials[INDEX] = await queries.global_serial(session)
        kept = dropped = 0
        cache = self.cache
        for key, page in due:
            holds = serials.get(key[0]) == page.serial
            if key[0] != INDEX and page.rules != fingerprint:
                continue  # its next request re-renders it under the rules now in force
            if holds:
                page.expires = cache.expiry()
                kept += 1
            elif cache.pages.get(key) is page:
                cache.drop_page(*key)
                dropped += 1
        return kept, dropped

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="page-refresher")

    async def stop(self) -> None:
        task, self.task = self.task, None
        await cancel(task)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(max(self.cache.ttl, 4.0) / 4)
            try:
                await self.sweep()
            except Exception:  # the database is away: the pages expire and revalidate
                log.exception("re-checking cached simple pages failed")
