"""Fixtures for the upstream proxy: real upstreams on loopback and a proxying Bastion."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bastion.app import create_app
from bastion.clock import MovableClock
from bastion.config import Settings
from bastion.services import Services, build_services
from bastion.simple.upstream_state import upstream_proxy
from tests.support.servers import LiveServer, free_port, run_live_server
from tests.support.types import StartProxy

from .servers import StaticIndex, UpstreamBastion, static_index, upstream_bastion


@pytest.fixture
def static_upstream(tmp_path: Path) -> Iterator[StaticIndex]:
    with static_index(tmp_path / "static-index") as index:
        yield index


@pytest.fixture
def upstream_clock(clock: MovableClock) -> MovableClock:
    """The upstream Bastion's own clock (moved to backdate its uploads)."""
    return MovableClock(clock.now() - timedelta(days=30))


@pytest.fixture
def bastion_upstream(tmp_path: Path, upstream_clock: MovableClock) -> Iterator[UpstreamBastion]:
    with upstream_bastion(tmp_path / "upstream-bastion", upstream_clock) as upstream:
        yield upstream


@pytest.fixture
def start_proxy(services: Services, settings: Settings, clock: MovableClock) -> StartProxy:
    """``with start_proxy([url, ...], upstream_cooldown_days=3) as server:`` a Bastion
    on the test database that proxies the given upstream indexes."""

    @contextmanager
    def start(urls: list[str], **overrides: Any) -> Iterator[LiveServer]:
        port = free_port()
        server_settings = Settings(
            **{
                **settings.model_dump(),
                "base_url": f"http://127.0.0.1:{port}",
                "upstream_urls": urls,
                "upstream_timeout": 3.0,
                "embedded_jobs": False,
                **overrides,
            }
        )
        with run_live_server(server_settings, clock, port) as server:
            yield server

    return start


@pytest.fixture
async def proxy_services(
    services: Services, settings: Settings, clock: MovableClock, static_upstream: StaticIndex
) -> AsyncIterator[Services]:
    """Services on the test database that proxy ``static_upstream`` (served in-process
    by ``http``)."""
    proxied = build_services(
        settings.model_copy(update={"upstream_urls": [static_upstream.index_url]}), clock=clock
    )
    yield proxied
    await upstream_proxy(proxied).close()
    await proxied.close()


@pytest.fixture
async def http(proxy_services: Services) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(services=proxy_services))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c
