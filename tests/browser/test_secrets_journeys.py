"""Secrets shown once, in Chromium: authenticator setup keeps its secret across a reload,
recovery codes with working Copy and Download buttons and the type-one-back confirmation,
the recovery-code sign-in message, the token page's snippets (long token wraps at 390 px),
and the security history in sentences."""

from __future__ import annotations

from pathlib import Path

import pyotp
import pytest
from playwright.async_api import async_playwright

from bastion.clock import MovableClock
from bastion.packaging.models import Role
from bastion.services import Services
from tests.support.browser import CHROMIUM_ARGS
from tests.support.factories import PASSWORD
from tests.support.servers import LiveServer
from tests.support.types import MakeUser

from .journeys import fits, seed_project, shoot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.one_backend]


async def test_codes_and_tokens_are_shown_legibly_once(
    live_server: LiveServer,
    services: Services,
    clock: MovableClock,
    chromium: str,
    make_user: MakeUser,
) -> None:
    alice = await make_user("alice")
    await seed_project(services, clock, "tiny-tool", ["1.0"], {alice: Role.OWNER})
    base = live_server.url
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(
                viewport={"width": 1280, "height": 900}, accept_downloads=True
            )
            page = await context.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            await sign_in(page, base, "alice")

            # Authenticator app: the secret survives a reload.
            await page.goto(f"{base}/account/two-factor/totp/")
            await page.click("button:has-text('Show the QR code')")
            secret = (await page.inner_text("#totp-secret")).strip()
            await page.reload()
            assert (await page.inner_text("#totp-secret")).strip() == secret
            assert await page.locator("button[data-copy='totp-secret']").is_visible()
            await page.fill("#f-code", pyotp.TOTP(secret).at(clock.now()))
            await page.click("button:has-text('Turn on the authenticator app')")

            # Recovery codes: legible block, Copy and Download work, then type one back.
            await page.wait_for_selector("#recovery-codes")
            codes = [c.strip() for c in await page.locator("#recovery-codes li").all_inner_texts()]
            assert len(codes) == services.settings.recovery_code_count
            copy = page.locator("button[data-copy='recovery-codes']")
            assert await copy.is_visible()
            await copy.click()
            await page.wait_for_selector("button[data-copy='recovery-codes'][data-copied]")
            async with page.expect_download() as info:
                await page.click("button[data-download='recovery-codes']")
            download = await info.value
            assert download.suggested_filename.endswith("recovery-codes.txt")
            saved = Path(await download.path()).read_text().split()
            assert saved == codes
            await shoot(page, "recovery-codes-desktop")
            await page.fill("#f-confirm-code", "0000000000000000")
            await page.click("button:has-text('I have saved them')")
            assert await page.get_attribute("#f-confirm-code", "aria-invalid") == "true"
            await page.fill("#f-confirm-code", codes[2])
            await page.click("button:has-text('I have saved them')")
            assert "Your recovery codes are saved." in await page.locator(".flash").inner_text()

            # Signing in with a recovery code says how many are left.
            await page.click("header button:has-text('Sign out')")
            await page.goto(f"{base}/account/login/")
            await page.fill("input[name=username]", "alice")
            await page.fill("input[name=password]", PASSWORD)
            await page.click("button:has-text('Sign in')")
            await page.fill("#f-recovery-code", codes[0])
            await page.click("button:has-text('Use recovery code')")
            message = await page.locator(".flash").inner_text()
            assert f"{len(codes) - 1} codes left" in message
            assert (
                await page.locator(".flash a[href='/account/two-factor/recovery-codes/']").count()
                == 1
            )

            # A token: scope from the projects, snippets, Copy; the long token wraps at 390 px.
            await page.goto(f"{base}/account/tokens/")
            await page.fill("#f-name", "CI")
            await page.select_option("#f-project", "tiny-tool")
            await page.click("button:has-text('Create token')")
            if "/account/reauth/" in page.url:
                await page.fill("input[name=password]", PASSWORD)
                await page.click("button[type=submit]")
            token = (await page.inner_text("#new-token")).strip()
            assert token.startswith("bastion-")
            assert f"password = {token}" in await page.inner_text("#pypirc-snippet")
            assert await page.locator("button[data-copy='uv-snippet']").is_visible()
            await page.set_viewport_size({"width": 390, "height": 844})
            assert await fits(page) == []
            box = await page.locator("#new-token").bounding_box()
            assert box is not None and box["width"] <= 390
            await shoot(page, "new-token-phone")

            # Security history in sentences.
            await page.goto(f"{base}/account/security-history/")
            sentences = await page.locator(".event-what").all_inner_texts()
            assert "Created the API token “CI”" in sentences
            assert "Turned on the authenticator app" in sentences
            assert any(s.startswith("Signed in with a recovery code") for s in sentences)
            assert await page.locator("#history-events code").count() == 0
            assert await fits(page) == []
            await shoot(page, "security-history-sentences-phone")
            assert not [e for e in errors if "Content Security Policy" in e]
        finally:
            await browser.close()
