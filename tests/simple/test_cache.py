from __future__ import annotations

from bastion.simple.cache import (
    INDEX,
    CachedFile,
    CachedPage,
    PageCache,
    build_page,
    etag_matches,
)


def _page(serial: int, body: bytes = b"x", expires: float = 100.0) -> CachedPage:
    return build_page(serial=serial, media_type="text/html", body=body, max_age=5, expires=expires)


def _file(project: str) -> CachedFile:
    return CachedFile(
        project=project,
        filename="f",
        blob_path="p",
        etag=b'"e"',
        media_type="application/octet-stream",
        size=1,
        is_metadata=False,
        local_path=None,
        stat=None,
        headers={},
        expires=100.0,
    )


def test_page_headers_precomputed() -> None:
    page = _page(42, b"hello")
    headers = dict(page.headers)
    assert headers[b"content-type"] == b"text/html"
    assert headers[b"content-length"] == b"5"
    assert headers[b"x-pypi-last-serial"] == b"42"
    assert headers[b"etag"] == page.etag and page.etag.startswith(b'"42-html-')
    assert b"content-type" not in dict(page.not_modified_headers)


def test_etag_changes_with_body_and_serial() -> None:
    assert _page(1, b"a").etag != _page(1, b"b").etag
    assert _page(1, b"a").etag != _page(2, b"a").etag
    assert _page(1, b"a").etag == _page(1, b"a").etag


def test_etag_matching() -> None:
    assert etag_matches(b'"a"', b'"a"')
    assert etag_matches(b'W/"a"', b'"a"')
    assert etag_matches(b'"b", "a"', b'"a"')
    assert etag_matches(b"*", b'"a"')
    assert not etag_matches(b'"b"', b'"a"')


def test_ttl_and_invalidate() -> None:
    now = [0.0]
    cache = PageCache(ttl=10, monotonic=lambda: now[0])
    cache.store_page("demo", "text/html", _page(1, expires=cache.expiry()), cache.generation)
    cache.store_page(INDEX, "text/html", _page(1, expires=cache.expiry()), cache.generation)
    cache.store_page("other", "text/html", _page(1, expires=cache.expiry()), cache.generation)
    assert cache.fresh_page("demo", "text/html") is not None
    now[0] = 10.5
    assert cache.fresh_page("demo", "text/html") is None
    assert ("demo", "text/html") in cache.pages  # kept as stale, to re-check its serial
    cache.invalidate("demo")
    assert ("demo", "text/html") not in cache.pages
    assert (INDEX, "text/html") not in cache.pages
    assert ("other", "text/html") in cache.pages


def test_render_started_before_invalidate_is_not_stored() -> None:
    cache = PageCache()
    generation = cache.generation
    cache.invalidate("demo")
    cache.store_page("demo", "text/html", _page(1), generation)
    assert cache.pages == {}


def test_file_lookups_are_bounded_and_invalidated() -> None:
    cache = PageCache(max_files=2)
    cache.store_file("a", _file("one"), cache.generation)
    cache.store_file("b", _file("two"), cache.generation)
    cache.store_file("c", _file("two"), cache.generation)
    assert list(cache.files) == ["b", "c"]
    cache.invalidate("two")
    assert cache.files == {}


def test_feed_down_revalidates_every_hit_and_back_forgets_everything() -> None:
    from bastion.simple.cache import CachedFile, PageCache, build_page

    cache = PageCache(ttl=60)
    page = build_page(
        serial=1, media_type="text/html", body=b"x", max_age=1, expires=cache.expiry()
    )
    cache.store_page("demo", "text/html", page, cache.generation)
    cache.store_file(
        "p",
        CachedFile("demo", "f", "p", b"", "", None, False, None, None, {}, cache.expiry()),
        cache.generation,
    )
    cache.feed_state(False)
    assert cache.fresh_page("demo", "text/html") is None  # kept, but revalidated
    assert cache.pages and not cache.files
    assert cache.expiry() <= cache.monotonic()
    cache.feed_state(True)
    assert not cache.pages and cache.ttl == 60


def test_watch_runs_before_each_lookup() -> None:
    from bastion.simple.cache import PageCache

    cache = PageCache()
    calls: list[int] = []
    cache.watch = lambda: calls.append(1)
    cache.fresh_page("demo", "text/html")
    cache.fresh_file("x")
    assert calls == [1, 1]
