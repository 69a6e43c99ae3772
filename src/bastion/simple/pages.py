"""``/simple/`` and ``/simple/<name>/`` as a bare ASGI app.

A warm request is: read two headers, a memoised negotiation, one dict lookup and two
sends, with no database query, no Request/Response objects and no middleware. A cold
(or expired) one reads the database once; concurrent misses for the same page share
one render.
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from urllib.parse import quote

import anyio
from packaging.utils import canonicalize_name
from starlette.types import Receive, Scope, Send

from bastion.errors import BastionError
from bastion.packaging.names import canonical_or_none
from bastion.serve.errors import plain_error
from bastion.serve.headers import NOSNIFF
from bastion.serve.reason import Answer, Lookup
from bastion.services import Services
from bastion.simple import queries, render
from bastion.simple.access import admit, read_access
from bastion.simple.cache import INDEX, CachedPage, build_page, etag_matches
from bastion.simple.negotiation import is_json, negotiate
from bastion.simple.proxied import Plan, audit_refusal, compose, plan_for
from bastion.simple.upstream_state import upstream_proxy

PREFIX = "/simple/"
PREFIX_BYTES = PREFIX.encode()
# Pages at least this big are also kept gzip-encoded (pip and uv ask for gzip).
GZIP_MIN_SIZE = 1024
GZIP_LEVEL = 6


def _answer(page: CachedPage, if_none_match: bytes | None, gzip_ok: bool) -> Answer:
    """Status, headers and body for ``page`` (gzip when asked, 304 when the ETag matches)."""
    if gzip_ok and page.gzipped is not None:
        page = page.gzipped
    if if_none_match is not None and etag_matches(if_none_match, page.etag):
        return 304, page.not_modified_headers, b""
    return 200, page.headers, page.body


_GZIP_OK: dict[bytes, bool] = {}  # Accept-Encoding value -> gzip welcome (a few distinct)


def _gzip_ok(encoding: bytes) -> bool:
    found = _GZIP_OK.get(encoding)
    if found is None:
        if len(_GZIP_OK) >= 256:
            _GZIP_OK.clear()
        found = _GZIP_OK[encoding] = b"gzip" in encoding and b"gzip;q=0" not in encoding.replace(
            b" ", b""
        )
    return found


def _request_headers(headers: Iterable[tuple[bytes, bytes]]) -> tuple[bytes, bool, bytes | None]:
    """``Accept``, whether gzip is welcome, and ``If-None-Match``."""
    accept = encoding = b""
    if_none_match = None
    for key, value in headers:
        if key == b"accept":
            accept = value
        elif key == b"accept-encoding":
            encoding = value
        elif key == b"if-none-match":
            if_none_match = value
    return accept, _gzip_ok(encoding), if_none_match


async def _send(scope: Scope, send: Send, answer: Answer) -> None:
    status, headers, body = answer
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


async def _redirect(scope: Scope, send: Send, location: str) -> None:
    query = scope.get("query_string", b"")
    target = quote(location).encode() + (b"?" + query if query else b"")
    await send(
        {
            "type": "http.response.start",
            "status": 301,
            "headers": [
                (b"location", target),
                (b"content-length", b"0"),
                (b"vary", b"Accept"),
                NOSNIFF,
            ],
        }
    )
    await send({"type": "http.response.body", "body": b""})


async def _error(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    message: str,
    headers: dict[str, str] | None = None,
) -> None:
    await plain_error(status, message, headers)(scope, receive, send)


class SimplePages:
    """The ASGI app behind ``/simple``."""

    def __init__(self, services: Services) -> None:
        self.db = services.db
        self.cache = services.pages
        self.fast_requests = services.metrics.fast_path
        self.max_age = services.settings.simple_cache_max_age
        self.services = services
        self.clock = services.clock
        self.proxy = upstream_proxy(services)
        self.access = read_access(services)
        self._inflight: dict[tuple[str, str], asyncio.Future[CachedPage | None]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if scope["method"] not in ("GET", "HEAD"):
            await _error(scope, receive, send, 405, "Method Not Allowed", {"Allow": "GET, HEAD"})
            return
        if path == "/simple":
            await _redirect(scope, send, PREFIX)
            return
        rest = path[len(PREFIX) :] if path.startswith(PREFIX) else None
        if (
            rest is None
            or rest == "/"
            or rest.count("/") > 1
            or (rest.count("/") == 1 and rest[-1] != "/")
        ):
            await _error(scope, receive, send, 404, "Not Found")
            return
        slash = rest == "" or rest[-1] == "/"
        name = rest[:-1] if slash else rest
        if (
            self.access is not None
            and await admit(
                self.access, scope, receive, send, canonicalize_name(name) if name else None
            )
            is None
        ):
            return
        accept, gzip_ok, if_none_match = _request_headers(scope["headers"])
        media_type = negotiate(accept, scope["query_string"])

        # The hot path: a canonical URL whose page is cached and fresh.
        if media_type is not None and slash:
            page = self.cache.fresh_page(name or INDEX, media_type)
            if page is not None:
                await _send(scope, send, _answer(page, if_none_match, gzip_ok))
                return

        if name:
            canonical = canonical_or_none(name)
            if canonical is None:
                await _error(scope, receive, send, 404, "Not Found")
                return
            if canonical != name or not slash:
                await _redirect(scope, send, f"{PREFIX}{canonical}/")
                return
        if media_type is None:
            await _error(
                scope,
                receive,
                send,
                406,
                "Not Acceptable: ask for text/html, "
                "application/vnd.pypi.simple.v1+html or "
                "application/vnd.pypi.simple.v1+json",
            )
            return
        key = name or INDEX
        try:
            page = await self._shared(key, media_type, self._build)
        except BastionError as exc:  # the upstream is down or slow: say so, fast
            await _error(scope, receive, send, exc.status_code, exc.message)
            return
        if page is None:
            await _error(scope, receive, send, 404, "Not Found")
            return
        await _send(scope, send, _answer(page, if_none_match, gzip_ok))

    def cached_lookup(self, path: bytes, headers: list[tuple[bytes, bytes]]) -> Lookup | None:
        """How to answer a GET of ``path`` (no query) from the cache, or None when only
        the ASGI path can: the same for the same request, so the server may keep it.

        What the server's protocol asks before it makes an ASGI request of it (serve.reason);
        calling the lookup gives the answer while the page is cached and fresh (no I/O).
        """
        if self.access is not None or not path.startswith(PREFIX_BYTES) or b"%" in path:
            return None
        rest = path[len(PREFIX_BYTES) :]  # b"" (the index) or b"<name>/"
        if rest and (rest[-1:] != b"/" or rest.count(b"/") != 1 or rest == b"/"):
            return None  # not a page URL (``/simple//`` is a 404, not the index)
        accept, gzip_ok, if_none_match = _request_headers(headers)
        media_type = negotiate(accept, b"")
        if media_type is None:
            return None
        try:
            name = rest[:-1].decode("ascii")  # INDEX is ""
        except UnicodeDecodeError:
            return None
        fresh_page, counter = self.cache.fresh_page, self.fast_requests

        def lookup() -> Answer | None:
            page = fresh_page(name, media_type)
            if page is None:
                return None
            counter.count += 1  # a request served by the fast path (metrics)
            return _answer(page, if_none_match, gzip_ok)

        return lookup

    async def _shared(
        self,
        name: str,
        media_type: str,
        build: Callable[[str, str], Awaitable[CachedPage | None]],
    ) -> CachedPage | None:
        """Build a page, or wait for the build another request already started."""
        key = (name, media_type)
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[CachedPage | None] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            page = await build(name, media_type)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody logs it twice
            raise
        else:
            future.set_result(page)
            return page
        finally:
            del self._inflight[key]

    async def _build(self, name: str, media_type: str) -> CachedPage | None:
        """The page from the cache if its serial still holds, else rendered anew."""
        cache = self.cache
        generation = cache.generation
        stale = cache.pages.get((name, media_type))
        plan: Plan | None = None
        async with self.db.session() as session:
            if name == INDEX:
                serial = await queries.global_serial(session)
                if stale is not None and stale.serial == serial:
                    stale.expires = cache.expiry()
                    return stale
                entries = await queries.index_entries(session)
                body = (
                    render.index_json(entries, serial)
                    if is_json(media_type)
                    else render.index_html(entries)
                )
                return await self._store(name, media_type, serial, body, generation)
            book = await self.proxy.rules(session)
            if stale is not None and not stale.proxied and stale.rules == book.fingerprint:
                current = await queries.project_serial(session, name)
                if current == stale.serial:
                    stale.expires = cache.expiry()
                    return stale
            listing = await queries.project_listing(session, name)
            plan = await plan_for(
                session, name, listing, book, proxy=self.proxy, settings=self.services.settings
            )
        if plan.refusal is not None:
            await audit_refusal(self.db, self.proxy, self.clock, name, plan.refusal)
        composed = await compose(
            name, plan, proxy=self.proxy, settings=self.services.settings, clock=self.clock
        )
        if composed is None:
            cache.drop_page(name, media_type)
            return None
        body = (
            render.project_json(composed.listing, composed.extras)
            if is_json(media_type)
            else render.project_html(composed.listing, composed.extras)
        )
        return await self._store(
            name,
            media_type,
            composed.listing.project.last_serial,
            body,
            generation,
            proxied=composed.proxied,
            rules=book.fingerprint,
        )

    async def _store(
        self,
        name: str,
        media_type: str,
        serial: int,
        body: bytes,
        generation: int,
        *,
        proxied: bool = False,
        rules: int = 0,
    ) -> CachedPage:
        gzipped = None
        if len(body) >= GZIP_MIN_SIZE:
            gzipped = await anyio.to_thread.run_sync(
                partial(gzip.compress, body, GZIP_LEVEL, mtime=0)
            )
        page = build_page(
            serial=serial,
            media_type=media_type,
            body=body,
            max_age=self.max_age,
            expires=self.cache.expiry(),
            gzipped=gzipped,
            private=self.access is not None,
        )
        page.proxied, page.rules = proxied, rules
        self.cache.store_page(name, media_type, page, generation)
        return page
