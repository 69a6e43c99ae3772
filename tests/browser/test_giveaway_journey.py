"""The security-key giveaway in Chromium at 390 px: the header keeps Sign out, the form
offers no more than the pool holds, a claim reads as success with the codes, Copy and the
vendor's redemption link."""

from __future__ import annotations

import pytest
from playwright.async_api import async_playwright

from bastion.clock import MovableClock
from bastion.critical.policy import mark
from bastion.packaging.models import Role
from bastion.services import Services
from tests.support.browser import CHROMIUM_ARGS
from tests.support.servers import LiveServer
from tests.support.types import MakeProgram, MakeUser

from .journeys import fits, seed_project, shoot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.one_backend]


async def test_claiming_keys_reads_as_success(
    live_server: LiveServer,
    services: Services,
    clock: MovableClock,
    chromium: str,
    make_user: MakeUser,
    make_program: MakeProgram,
) -> None:
    alice = await make_user("alice")
    await seed_project(services, clock, "vital", ["1.0"], {alice: Role.OWNER})
    async with services.db.transaction() as session:
        await mark(session, "vital", "the company's build tool", now=clock.now())
    await make_program(codes_loaded=1)
    live_server.services.settings = live_server.services.settings.model_copy(
        update={"giveaway_redeem_url": "https://vendor.example/redeem"}
    )
    base = live_server.url
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 390, "height": 844})
            await sign_in(page, base, "alice")
            await page.goto(f"{base}/account/security-keys/giveaway/")
            assert await page.locator("header >> text=Sign out").count() == 1
            options = await page.locator("select[name=quantity] option").all_inner_texts()
            assert options == ["1"]  # the pool holds one code, whatever the per-user limit
            assert "Only 1 promo code is left" in await page.inner_text("main")
            await page.click("button:has-text('Claim my keys')")
            main = await page.inner_text("main")
            assert "Your promo codes are below" in main and "You cannot claim" not in main
            assert await page.locator("button[data-copy^='codes-']").is_visible()
            link = page.locator("a:has-text('Redeem it with Yubico')")
            assert await link.get_attribute("href") == "https://vendor.example/redeem"
            assert await fits(page) == []
            await shoot(page, "giveaway-claimed-phone")
        finally:
            await browser.close()
