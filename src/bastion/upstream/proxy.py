"""The per-process upstream state: page cache (stale-while-revalidate), rules, single-flight.

``doc(name)`` answers from memory while fresh; once older than ``upstream_ttl`` it still
answers at once with the stale page and revalidates in the background (with the
upstream's ETag). A process that has never seen the name reads the last good copy from
the database, so a restart or another worker keeps serving while the upstream is down.
Only a name nobody has fetched yet waits for the upstream, bounded by
``upstream_timeout``; concurrent requests for it share one upstream request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.clock import Clock
from bastion.config import Settings
from bastion.db.engine import Database
from bastion.errors import BastionError
from bastion.upstream.client import UpstreamTimeout, fetch_page, make_http
from bastion.upstream.documents import UpstreamDoc
from bastion.upstream.models import UpstreamProject
from bastion.upstream.rules import RuleBook, load_rules

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Entry:
    doc: UpstreamDoc | None  # None: no upstream has the name
    fresh_until: float


class UpstreamProxy:
    """What one process knows about upstream pages and origin rules."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        clock: Clock,
        *,
        on_change: Callable[[str], None] = lambda name: None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.urls = list(settings.upstream_urls)
        self.db = db
        self.clock = clock
        self.on_change = on_change
        self.monotonic = monotonic
        self._http: httpx.AsyncClient | None = None
        self._docs: dict[str, _Entry] = {}
        self._inflight: dict[str, asyncio.Future[UpstreamDoc | None]] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._rules: RuleBook | None = None
        self._rules_until = 0.0
        self.upstream_requests = 0  # page requests sent (benchmarks and tests read it)
        self._refusals: dict[str, float] = {}  # name -> when its refusal was last audited

    @property
    def enabled(self) -> bool:
        return bool(self.urls)

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = make_http(self.settings.upstream_timeout)
        return self._http

    async def close(self) -> None:
        await self.settle()
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # Rules: every rule in memory, re-read after simple_cache_ttl or when told.

    async def rules(self, session: AsyncSession) -> RuleBook:
        if self._rules is None or self._rules_until <= self.monotonic():
            self._rules = await load_rules(session)
            self._rules_until = self.monotonic() + self.settings.simple_cache_ttl
        return self._rules

    def forget_rules(self) -> None:
        self._rules = None

    def first_refusal_note(self, name: str) -> bool:
        """Whether a refused first pull of ``name`` is worth an audit event now: once per
        ``upstream_ttl`` per name, so a client retrying does not flood the audit log."""
        now = self.monotonic()
        last = self._refusals.get(name)
        if last is not None and now - last < self.settings.upstream_ttl:
            return False
        if len(self._refusals) >= 10_000:
            self._refusals.clear()
        self._refusals[name] = now
        return True

    # Pages.

    def forget(self, name: str) -> None:
        self._docs.pop(name, None)

    async def doc(self, name: str) -> UpstreamDoc | None:
        """The upstream page of ``name`` (None: no upstream has it); raises 502/504."""
        entry = self._docs.get(name)
        if entry is None:
            entry = await self._from_database(name)
        if entry is not None:
            if entry.fresh_until <= self.monotonic() and name not in self._inflight:
                self._revalidate_later(name, entry.doc)
            return entry.doc
        return await self._shared_refresh(name, None)

    async def _from_database(self, name: str) -> _Entry | None:
        async with self.db.session() as session:
            row = await session.get(UpstreamProject, name)
            if row is None:
                return None
            doc = UpstreamDoc.from_json(
                row.document, name=name, index_url=row.index_url, serial=row.serial, etag=row.etag
            )
            age = (self.clock.now() - row.fetched).total_seconds()
        entry = _Entry(doc, self.monotonic() + self.settings.upstream_ttl - max(age, 0.0))
        self._docs[name] = entry
        return entry

    def _revalidate_later(self, name: str, previous: UpstreamDoc | None) -> None:
        async def run() -> None:
            try:
                await self._shared_refresh(name, previous)
            except BastionError as exc:
                log.warning("upstream revalidation of %s failed: %s", name, exc.message)
                # Keep serving the stale page; try again after a short pause.
                entry = self._docs.get(name)
                if entry is not None:
                    entry.fresh_until = self.monotonic() + min(self.settings.upstream_ttl, 30.0)
            except Exception:
                log.exception("upstream revalidation of %s failed", name)

        self._spawn(run(), f"upstream-revalidate-{name}")

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def settle(self) -> None:
        """Wait for background revalidations and writes (tests, shutdown)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    async def _shared_refresh(self, name: str, previous: UpstreamDoc | None) -> UpstreamDoc | None:
        pending = self._inflight.get(name)
        if pending is not None:
            return await asyncio.shield(pending)
        return await self._single(name, lambda: self._refresh(name, previous))

    async def _single(
        self, name: str, work: Callable[[], Awaitable[UpstreamDoc | None]]
    ) -> UpstreamDoc | None:
        future: asyncio.Future[UpstreamDoc | None] = asyncio.get_running_loop().create_future()
        self._inflight[name] = future
        try:
            doc = await work()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()
            raise
        else:
            future.set_result(doc)
            return doc
        finally:
            del self._inflight[name]

    async def _refresh(self, name: str, previous: UpstreamDoc | None) -> UpstreamDoc | None:
        """Ask each upstream in turn; the first that has the name wins."""
        timeout = self.settings.upstream_timeout
        error: BastionError | None = None
        doc: UpstreamDoc | None = None
        try:
            async with asyncio.timeout(timeout):
                for url in self.urls:
                    etag = previous.etag if previous and previous.index_url == url else None
                    self.upstream_requests += 1
                    try:
                        result = await fetch_page(self.http, url, name, etag)
                    except BastionError as exc:
                        error = error or exc
                        continue
                    if result.not_modified and previous is not None:
                        doc = previous
                        break
                    if result.doc is not None:
                        doc = result.doc
                        break
        except TimeoutError:
            error = UpstreamTimeout(
                f"The upstream index did not answer within {timeout:g}s for {name!r}; "
                "try again later."
            )
            doc = None
        if doc is None and error is not None:
            raise error
        self._docs[name] = _Entry(doc, self.monotonic() + self.settings.upstream_ttl)
        if doc is not None:  # the last good copy is written off the request's path
            self._spawn(self._save(doc, changed=doc is not previous), f"upstream-save-{name}")
        if doc is not previous and previous is not None:
            self.on_change(name)
        return doc

    async def _save(self, doc: UpstreamDoc, *, changed: bool) -> None:
        """Keep the last good copy (and the moment the name was first pulled)."""
        now = self.clock.now()
        try:
            await self._write(doc, now, changed=changed)
        except IntegrityError:
            log.info("another process saved upstream page %s first", doc.name)
        except Exception:
            log.exception("could not save the upstream page of %s", doc.name)

    async def _write(self, doc: UpstreamDoc, now: datetime, *, changed: bool) -> None:
        async with self.db.transaction() as session:
            row = await session.get(UpstreamProject, doc.name)
            if row is None:
                row = UpstreamProject(
                    normalized_name=doc.name,
                    first_fetched=now,
                    index_url=doc.index_url,
                    fetched=now,
                )
                session.add(row)
            row.fetched = now
            if changed or not row.document:
                row.index_url, row.etag, row.serial = doc.index_url, doc.etag, doc.serial
                row.document = doc.to_json()
