"""Headless Chromium loads /stats/2fa: the figures in the DOM match the JSON endpoint."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from playwright.async_api import async_playwright

from bastion.clock import MovableClock
from bastion.services import Services
from tests.support.browser import CHROMIUM_ARGS
from tests.support.population import MIXED, build, daily_snapshot
from tests.support.servers import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.one_backend]


async def test_stats_page_matches_json(
    live_server: LiveServer,
    services: Services,
    chromium: str,
    artifacts_dir: Path,
    clock: MovableClock,
) -> None:
    # Seed through ``services`` (this loop's engine), never live_server.services: its
    # engine belongs to the server's loop, and asyncpg connections hang across loops.
    await build(services, MIXED)
    for _ in range(5):  # a few days of history for the chart
        await daily_snapshot(services)
        clock.advance(timedelta(days=1))
    clock.advance(timedelta(days=-1))

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1100, "height": 1400})
            errors: list[str] = []  # console errors (a CSP violation would show here)
            failed: list[str] = []  # sub-resources that did not load (favicon aside)
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on(
                "response",
                lambda r: (
                    failed.append(r.url)
                    if r.status >= 400 and not r.url.endswith("/favicon.ico")
                    else None
                ),
            )
            response = await page.goto(f"{live_server.url}/stats/2fa")
            assert response is not None and response.status == 200
            counts = await page.eval_on_selector_all(
                "[data-figure]",
                "els => Object.fromEntries(els.map(e => [e.dataset.figure, e.dataset.value]))",
            )
            shares = await page.eval_on_selector_all(
                "[data-share]",
                "els => Object.fromEntries(els.map(e => [e.dataset.share, e.dataset.value]))",
            )
            chart = page.locator("svg#chart-2fa")
            assert await chart.count() == 1
            assert await chart.get_attribute("role") == "img"
            assert await chart.locator("polyline").count() == 2
            box = await chart.bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 100
            await page.screenshot(path=str(artifacts_dir / "stats-2fa.png"), full_page=True)
        finally:
            await browser.close()

    async with httpx.AsyncClient() as http:
        doc = (await http.get(f"{live_server.url}/stats/2fa.json")).json()
    assert counts and {k: int(v) for k, v in counts.items()} == {
        k: doc["figures"][k] for k in counts
    }
    assert counts["users"] == "7" and counts["critical_projects_all_2fa"] == "1"
    assert {k: float(v) for k, v in shares.items()} == {k: doc["figures"][k] for k in shares}
    assert len(doc["history"]) == 5
    assert not failed
    assert not [e for e in errors if not e.startswith("Failed to load resource")]
