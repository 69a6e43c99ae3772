"""The proxy in-process: single-flight, stale-while-revalidate, the CLI contract."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bastion.app import create_app
from bastion.clock import MovableClock
from bastion.config import Settings
from bastion.services import Services, build_services
from bastion.simple.upstream_state import forget_rules, upstream_proxy
from tests.support.dists import Dist
from tests.support.types import CliRun

from .servers import StaticIndex, UpstreamBastion

JSON = {"accept": "application/vnd.pypi.simple.v1+json"}


@pytest.fixture
async def proxy_services(
    services: Services, settings: Settings, clock: MovableClock, static_upstream: StaticIndex
) -> AsyncIterator[Services]:
    proxied = build_services(
        settings.model_copy(
            update={"upstream_urls": [static_upstream.index_url], "upstream_ttl": 60.0}
        ),
        clock=clock,
    )
    yield proxied
    await upstream_proxy(proxied).close()
    await proxied.close()


@pytest.fixture
async def http(proxy_services: Services) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(services=proxy_services))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_concurrent_requests_for_one_uncached_name_make_one_upstream_request(
    http: httpx.AsyncClient, static_upstream: StaticIndex, tmp_path: Path
) -> None:
    static_upstream.publish("busy", Dist.wheel(tmp_path, "busy", "1.0").path)
    static_upstream.requests.delay = 0.3
    responses = await asyncio.gather(
        *(http.get("/simple/busy/", headers=JSON if i % 2 else {}) for i in range(20))
    )
    assert {r.status_code for r in responses} == {200}
    assert static_upstream.requests.about("/simple/busy/") == ["/simple/busy/"]


async def test_stale_pages_are_served_at_once_and_revalidated_in_the_background(
    http: httpx.AsyncClient,
    proxy_services: Services,
    static_upstream: StaticIndex,
    tmp_path: Path,
) -> None:
    static_upstream.publish("moving", Dist.wheel(tmp_path, "moving", "1.0").path)
    first = await http.get("/simple/moving/", headers=JSON)
    assert [f["filename"] for f in first.json()["files"]] == ["moving-1.0-py3-none-any.whl"]

    static_upstream.publish(
        "moving",
        Dist.wheel(tmp_path, "moving", "1.0").path,
        Dist.wheel(tmp_path, "moving", "2.0").path,
    )
    static_upstream.requests.delay = 0.5
    proxy = upstream_proxy(proxy_services)
    proxy._docs["moving"].fresh_until = 0  # the TTL has passed
    proxy_services.pages.clear()
    started = asyncio.get_running_loop().time()
    stale = await http.get("/simple/moving/", headers=JSON)
    assert asyncio.get_running_loop().time() - started < 0.4  # did not wait for upstream
    assert len(stale.json()["files"]) == 1
    for _ in range(50):  # the background revalidation lands and drops the cached page
        await asyncio.sleep(0.1)
        fresh = await http.get("/simple/moving/", headers=JSON)
        if len(fresh.json()["files"]) == 2:
            break
    assert [f["filename"] for f in fresh.json()["files"]] == [
        "moving-1.0-py3-none-any.whl",
        "moving-2.0-py3-none-any.whl",
    ]


async def test_names_blocked_upstream_never_reach_it_not_even_typos(
    http: httpx.AsyncClient,
    proxy_services: Services,
    static_upstream: StaticIndex,
    cli: CliRun,
) -> None:
    assert (await cli("origin", "set", "acme-*", "--upstream", "block")).exit_code == 0
    for name in ("acme-utils", "acme-utlis", "acme-internal-tools"):
        response = await http.get(f"/simple/{name}/")
        assert response.status_code == 200 and "reserved" in response.text
        missing = await http.get(f"/files/upstream/{name}/{'a' * 64}/{name}-1.0.tar.gz")
        assert missing.status_code == 404
    assert static_upstream.requests.paths == []
    assert (await http.get("/simple/not-anywhere/")).status_code == 404
    assert static_upstream.requests.paths == ["/simple/not-anywhere/"]


async def test_origin_cli_contract(cli: CliRun) -> None:
    result = await cli("origin", "set", "Acme_*", "--publish", "allow", "--upstream", "block")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "acme-*: publish=allow upstream=block"
    assert (
        await cli("origin", "set", "left-pad", "--upstream", "allow", "--cooldown-days", "7")
    ).exit_code == 0
    listing = await cli("origin", "list")
    assert listing.stdout.splitlines() == [
        "acme-* publish=allow upstream=block cooldown=default",
        "left-pad publish=default upstream=allow cooldown=7",
    ]
    assert (await cli("origin", "clear", "ACME-*")).stdout.strip() == "cleared acme-*"
    missing = await cli("origin", "clear", "acme-*")
    assert missing.exit_code == 1 and "no origin rule" in missing.output
    bad = await cli("origin", "set", "acme-*", "--publish", "maybe")
    assert bad.exit_code == 2
    nothing = await cli("origin", "set", "acme-*")
    assert nothing.exit_code == 1 and "Say what to set" in nothing.output


async def test_files_are_pulled_once_and_stop_being_served_when_upstream_is_blocked(
    http: httpx.AsyncClient,
    proxy_services: Services,
    static_upstream: StaticIndex,
    cli: CliRun,
    tmp_path: Path,
) -> None:
    wheel = Dist.wheel(tmp_path, "pulled", "1.0")
    static_upstream.publish("pulled", wheel.path)
    page = await http.get("/simple/pulled/", headers=JSON)
    url = page.json()["files"][0]["url"]
    first, second = await asyncio.gather(http.get(url), http.get(url))
    assert first.content == second.content == wheel.path.read_bytes()
    assert static_upstream.requests.about("/packages/") == [f"/packages/{wheel.filename}"]
    assert (await http.get(url + ".metadata")).status_code == 404  # the page gave none

    assert (await cli("origin", "set", "pulled", "--upstream", "block")).exit_code == 0
    forget_rules(proxy_services)
    blocked = await http.get(url)
    assert blocked.status_code == 404 and "not served from an upstream" in blocked.text
    assert (await http.get("/simple/pulled/")).status_code == 200  # reserved: empty page


async def test_revalidation_uses_the_upstream_etag(
    services: Services,
    settings: Settings,
    clock: MovableClock,
    bastion_upstream: UpstreamBastion,
    home: Path,
    tmp_path: Path,
) -> None:
    from tests.e2e.clients import run_twine
    from tests.support.factories import PASSWORD
    from tests.upstream.servers import add_publisher

    up = bastion_upstream
    await add_publisher(up.server.services, "bob")
    run_twine(
        Dist.wheel(tmp_path, "etagged", "1.0").path,
        upload_url=up.server.upload_url,
        username="bob",
        password=PASSWORD,
        home=home,
    ).check()
    proxied = build_services(
        settings.model_copy(update={"upstream_urls": [up.index_url]}), clock=clock
    )
    transport = httpx.ASGITransport(app=create_app(services=proxied))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            assert (await c.get("/simple/etagged/", headers=JSON)).status_code == 200
            proxy = upstream_proxy(proxied)
            first = proxy._docs["etagged"].doc
            assert first is not None and first.etag and first.serial > 0
            proxy._docs["etagged"].fresh_until = 0
            proxied.pages.clear()
            assert (await c.get("/simple/etagged/", headers=JSON)).status_code == 200
            await proxy.settle()
            assert proxy._docs["etagged"].doc is first  # 304 Not Modified: the same page
            assert len(up.requests.from_proxy("/simple/etagged/")) == 2
    finally:
        await upstream_proxy(proxied).close()
        await proxied.close()
