"""The page refresher: cached pages re-checked in batches before their TTL runs out."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import event

from bastion import lifecycle
from bastion.services import Services
from bastion.simple.refresh import PageRefresher
from bastion.simple.upstream_state import upstream_proxy
from tests.support.factories import Seeder

HTML = "text/html"


def _refresher(services: Services, chunk: int = 500) -> PageRefresher:
    return PageRefresher(services.db, services.pages, upstream_proxy(services).rules, chunk=chunk)


async def _publish(seed: Seeder, name: str) -> None:
    await seed.release(name, "1.0")
    await seed.file(name, "1.0", f"{name}-1.0-py3-none-any.whl")


def _frozen(services: Services) -> list[float]:
    now = [1000.0]
    services.pages.monotonic = lambda: now[0]
    return now


def _count_queries(services: Services) -> list[str]:
    seen: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    event.listen(services.db.engine.sync_engine, "before_cursor_execute", count)
    return seen


async def test_unchanged_pages_live_on_without_a_request_query(
    client: httpx.AsyncClient, seed: Seeder, services: Services
) -> None:
    now = _frozen(services)
    ttl = services.settings.simple_cache_ttl
    for name in ("alpha", "beta", "gamma"):
        await _publish(seed, name)
        await client.get(f"/simple/{name}/")
    pages = {key: page for key, page in services.pages.pages.items()}
    now[0] += ttl / 2 + 1
    assert await _refresher(services).sweep() == (3, 0)
    now[0] += ttl / 2  # past the first TTL: each page was re-checked, none expired
    queries = _count_queries(services)
    for name in ("alpha", "beta", "gamma"):
        assert (await client.get(f"/simple/{name}/")).status_code == 200
    assert queries == []
    assert services.pages.pages == pages  # the same pages: nothing was re-rendered


async def test_a_change_the_feed_missed_drops_the_page(
    client: httpx.AsyncClient, seed: Seeder, services: Services
) -> None:
    now = _frozen(services)
    await _publish(seed, "alpha")
    await _publish(seed, "beta")
    await client.get("/simple/alpha/")
    await client.get("/simple/beta/")
    # Another process adds a file and its announcement is lost: nobody tells this cache.
    await seed.file("alpha", "1.0", "alpha-1.0-cp311-none-any.whl")
    now[0] += services.settings.simple_cache_ttl / 2 + 1
    assert await _refresher(services).sweep() == (1, 1)
    assert ("alpha", HTML) not in services.pages.pages
    assert "alpha-1.0-cp311-none-any.whl" in (await client.get("/simple/alpha/")).text


async def test_young_pages_are_left_alone(
    client: httpx.AsyncClient, seed: Seeder, services: Services
) -> None:
    now = _frozen(services)
    await _publish(seed, "alpha")
    await client.get("/simple/alpha/")
    expires = services.pages.pages[("alpha", HTML)].expires
    now[0] += services.settings.simple_cache_ttl / 2 - 1
    queries = _count_queries(services)
    assert await _refresher(services).sweep() == (0, 0)
    assert queries == []
    assert services.pages.pages[("alpha", HTML)].expires == expires


async def test_many_pages_are_checked_in_chunks(
    client: httpx.AsyncClient, seed: Seeder, services: Services
) -> None:
    now = _frozen(services)
    names = [f"pkg{i}" for i in range(7)]
    for name in names:
        await _publish(seed, name)
        await client.get(f"/simple/{name}/")
    await client.get("/simple/")
    now[0] += services.settings.simple_cache_ttl / 2 + 1
    queries = _count_queries(services)
    assert await _refresher(services, chunk=3).sweep() == (8, 0)
    serial_queries = [q for q in queries if "last_serial" in q]
    # Three chunks of project serials and one for the index's global serial.
    assert len(serial_queries) == 4


async def test_a_deleted_project_and_a_moved_index_are_dropped(
    client: httpx.AsyncClient, seed: Seeder, services: Services
) -> None:
    from sqlalchemy import delete

    from bastion.packaging.models import Project

    now = _frozen(services)
    await _publish(seed, "alpha")
    await client.get("/simple/alpha/")
    await client.get("/simple/")
    async with services.db.transaction() as session:
        await session.execute(delete(Project).where(Project.normalized_name == "alpha"))
    await _publish(seed, "beta")  # moves the global serial
    now[0] += services.settings.simple_cache_ttl / 2 + 1
    assert await _refresher(services).sweep() == (0, 2)
    assert services.pages.pages == {}
    assert (await client.get("/simple/alpha/")).status_code == 404


async def test_proxied_pages_and_a_dead_feed_are_not_its_business(
    client: httpx.AsyncClient, seed: Seeder, services: Services
) -> None:
    now = _frozen(services)
    await _publish(seed, "alpha")
    await client.get("/simple/alpha/")
    page = services.pages.pages[("alpha", HTML)]
    page.proxied = True  # made from an upstream page: it expires and is rebuilt
    now[0] += services.settings.simple_cache_ttl / 2 + 1
    assert await _refresher(services).sweep() == (0, 0)
    page.proxied = False
    services.pages.feed_state(False)  # every hit revalidates itself meanwhile
    assert await _refresher(services).sweep() == (0, 0)


async def test_the_server_runs_it_until_shutdown(services: Services) -> None:
    services.settings = services.settings.model_copy(update={"embedded_jobs": False})
    await lifecycle.startup(services)
    try:
        refresher = services.refresher
        assert refresher is not None and refresher.task is not None
        assert not refresher.task.done()
    finally:
        await lifecycle.shutdown(services)
    assert services.refresher is None
    await asyncio.sleep(0)
    assert refresher.task is None
