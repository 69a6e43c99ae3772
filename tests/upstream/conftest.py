"""Fixtures for the upstream proxy: real upstreams on loopback and a proxying Bastion."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bastion.clock import MovableClock
from bastion.config import Settings
from bastion.services import Services
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
        server_settings = Settings(**{
            **settings.model_dump(), "base_url": f"http://127.0.0.1:{port}",
            "upstream_urls": urls, "upstream_timeout": 3.0, "embedded_jobs": False,
            **overrides,
        })
        with run_live_server(server_settings, clock, port) as server:
            yield server

    return start
