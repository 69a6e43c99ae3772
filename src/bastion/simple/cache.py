"""Rendered simple pages and file lookups, cached in memory by project serial.

A page is rendered once per (project, media type, serial): its body, ETag and every
response header are precomputed, so a warm request is a dict lookup and two ASGI sends.

Coherence: writers in this process call :meth:`PageCache.invalidate` after commit; the
process's change feed (:mod:`bastion.db.changes`) calls the same method for changes
made by any other process (worker, CLI, job), and :meth:`feed_state` when it loses or
regains the news. That is the whole invalidation interface: ``invalidate(name)``,
``feed_state(live)``, ``clear()``, plus ``watch`` (a no-query check the feed may ask to
run before each lookup). Entries also live at most ``ttl`` seconds, a safety net: after
that the next request re-reads only the project's serial and re-renders if it moved.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from bastion.serve.headers import NOSNIFF
from bastion.serve.reason import PreparedHeaders
from bastion.simple.negotiation import OFFERS

Headers = list[tuple[bytes, bytes]]

INDEX = ""  # The key name of the /simple/ index page; no project normalises to "".


@dataclass(slots=True)
class CachedPage:
    serial: int
    etag: bytes
    body: bytes
    headers: PreparedHeaders  # for a 200
    not_modified_headers: PreparedHeaders  # for a 304
    expires: float
    gzipped: CachedPage | None = None  # the same page gzip-encoded, for big pages
    # Made from more than the project's rows (upstream page, origin rules, cool-down):
    # its serial alone cannot tell whether it still holds, so it is rebuilt on expiry.
    proxied: bool = False
    # The origin rules it was rendered under (upstream.rules.RuleBook.fingerprint).
    rules: int = 0


@dataclass(slots=True)
class CachedFile:
    """A servable blob: where it is and the headers to send with it."""

    project: str
    filename: str
    blob_path: str
    etag: bytes
    media_type: str
    size: int | None
    is_metadata: bool
    local_path: str | None
    stat: os.stat_result | None
    headers: dict[str, str]
    expires: float


def page_etag(serial: int, media_type: str, body: bytes) -> bytes:
    """A strong ETag: the serial, the representation, and a digest of the bytes."""
    kind = media_type.rsplit("/", 1)[-1].replace("vnd.pypi.simple.", "").replace("+", "-")
    digest = hashlib.blake2b(body, digest_size=8).hexdigest()
    return f'"{serial}-{kind}-{digest}"'.encode()


def build_page(
    *,
    serial: int,
    media_type: str,
    body: bytes,
    max_age: int,
    expires: float,
    gzipped: bytes | None = None,
    private: bool = False,
) -> CachedPage:
    """The page with every header precomputed; ``gzipped`` adds a gzip-encoded variant.

    ``private`` (a private index): shared caches must not keep it.
    """
    etag = page_etag(serial, media_type, body)
    control = f"{'private' if private else 'public'}, max-age={max_age}".encode()
    page = _page(serial, media_type, body, etag, control, expires, encoding=None)
    if gzipped is not None:
        gz_etag = etag[:-1] + b'-gz"'
        page.gzipped = _page(serial, media_type, gzipped, gz_etag, control, expires, "gzip")
    return page


def _page(
    serial: int,
    media_type: str,
    body: bytes,
    etag: bytes,
    control: bytes,
    expires: float,
    encoding: str | None,
) -> CachedPage:
    common: Headers = [
        (b"etag", etag),
        (b"x-pypi-last-serial", str(serial).encode()),
        (b"vary", b"Accept, Accept-Encoding"),
        (b"cache-control", control),
        NOSNIFF,
    ]
    headers = [
        (b"content-type", media_type.encode()),
        (b"content-length", str(len(body)).encode()),
        *common,
    ]
    if encoding is not None:
        headers.append((b"content-encoding", encoding.encode()))
    return CachedPage(
        serial=serial,
        etag=etag,
        body=body,
        headers=PreparedHeaders(headers),
        not_modified_headers=PreparedHeaders(common),
        expires=expires,
    )


def etag_matches(if_none_match: bytes, etag: bytes) -> bool:
    """If-None-Match (weak comparison, lists and ``*``) against one strong ETag."""
    return etag in if_none_match or if_none_match.strip() == b"*"


class PageCache:
    """Per-process cache of rendered pages and of file lookups for ``/files/``."""

    def __init__(
        self,
        ttl: float = 60.0,
        *,
        max_files: int = 50_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_files = max_files
        self.monotonic = monotonic
        self.pages: dict[tuple[str, str], CachedPage] = {}
        self.files: dict[str, CachedFile] = {}
        # Bumped by every invalidation: a render that started before one is not stored.
        self.generation = 0
        # Called before each lookup when set: the SQLite feed's shared-memory check.
        self.watch: Callable[[], None] | None = None
        self._live_ttl = ttl

    def configure(self, *, ttl: float, max_files: int) -> None:
        self.ttl = self._live_ttl = ttl
        self.max_files = max_files

    def feed_state(self, live: bool) -> None:
        """The change feed is down (``False``): revalidate every hit by its serial until
        it is back; back (``True``): forget everything, changes may have been missed."""
        if live:
            self.ttl = self._live_ttl
            self.clear()
            return
        self.ttl = 0.0
        self.generation += 1
        for page in self.pages.values():
            page.expires = 0.0
        self.files.clear()

    def expiry(self) -> float:
        return self.monotonic() + self.ttl

    def fresh_page(self, name: str, media_type: str) -> CachedPage | None:
        if self.watch is not None:
            self.watch()
        page = self.pages.get((name, media_type))
        if page is not None and page.expires > self.monotonic():
            return page
        return None

    def store_page(self, name: str, media_type: str, page: CachedPage, generation: int) -> None:
        if generation == self.generation:
            self.pages[(name, media_type)] = page

    def drop_page(self, name: str, media_type: str) -> None:
        self.pages.pop((name, media_type), None)

    def fresh_file(self, path: str) -> CachedFile | None:
        if self.watch is not None:
            self.watch()
        entry = self.files.get(path)
        if entry is not None and entry.expires > self.monotonic():
            return entry
        return None

    def store_file(self, path: str, entry: CachedFile, generation: int) -> None:
        if generation != self.generation:
            return
        files = self.files
        if path not in files and len(files) >= self.max_files:
            del files[next(iter(files))]  # the oldest entry
        files[path] = entry

    def invalidate(self, normalized_name: str) -> None:
        """Forget everything cached about a project (and the index); call after commit."""
        self.generation += 1
        for media_type in OFFERS:
            self.pages.pop((normalized_name, media_type), None)
            self.pages.pop((INDEX, media_type), None)
        for path in [p for p, f in self.files.items() if f.project == normalized_name]:
            del self.files[path]

    def clear(self) -> None:
        self.generation += 1
        self.pages.clear()
        self.files.clear()
