"""Headless Chromium (Debian's package) driven by Playwright; screenshots kept as artifacts.

How to write a browser test (what works with pytest-asyncio in auto mode):

- Write an ``async def`` test and use ``playwright.async_api.async_playwright``. The
  ``live_server`` fixture depends on the async ``services`` fixture, so the test runs in
  pytest-asyncio's event loop, where Playwright's *sync* API refuses to start ("using
  Playwright Sync API inside the asyncio loop").
- ``live_server`` runs uvicorn in its own thread with its own loop, so awaiting the
  browser in the test's loop does not block the server.
- Seed data through the ``services`` fixture (same database as the server), NOT through
  ``live_server.services``: that one's engine is used by the server's loop, and on
  PostgreSQL (asyncpg) using it from the test's loop hangs. Both share ``clock``.
- Launch with ``p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)``;
  see tests/browser/test_metrics_page.py.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bastion.clock import MovableClock
from bastion.config import Settings
from bastion.services import Services
from tests.support.browser import ARTIFACTS, CHROMIUM
from tests.support.servers import LiveServer, free_port, run_live_server


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    """A session-wide Chromium browser (Playwright async API objects are per-test)."""
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (apt-get install chromium)")
    yield CHROMIUM


@pytest.fixture
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def localhost_server(
    services: Services, settings: Settings, clock: MovableClock
) -> Iterator[LiveServer]:
    """Like ``live_server``, but the site is http://localhost:<port>: a secure context for
    WebAuthn, with RP ID "localhost" and that origin (uvicorn still binds 127.0.0.1)."""
    port = free_port()
    url = f"http://localhost:{port}"
    server_settings = settings.model_copy(
        update={"base_url": url, "webauthn_rp_id": "localhost", "webauthn_origins": [url]}
    )
    with run_live_server(server_settings, clock, port) as server:
        yield server
