"""The maintainer's journeys in Chromium: Your projects and Manage, flash messages,
Yank/Delete turned off with the reason, error pages that keep the header, the
collaborator invitation, deleting a release by its version; every page checked at 390 px
for tables that overflow, and screenshots at 1280 and 390 px (see journeys.SCREENSHOTS)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.async_api import async_playwright

from bastion.clock import MovableClock, today
from bastion.packaging.models import Role
from bastion.services import Services
from tests.support.browser import CHROMIUM_ARGS
from tests.support.servers import LiveServer
from tests.support.types import MakeUser

from .journeys import WIDTHS, fits, seed_project, shoot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.one_backend]


async def test_owner_finds_manages_and_invites(
    live_server: LiveServer,
    services: Services,
    clock: MovableClock,
    chromium: str,
    make_user: MakeUser,
) -> None:
    alice = await make_user("alice")
    await make_user("carol")
    await seed_project(services, clock, "tiny-tool", ["1.0", "1.1", "1.2"], {alice: Role.OWNER})
    base = live_server.url
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            owner = await browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            owner.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            await sign_in(owner, base, "alice")
            # Your projects from the header, then Manage.
            await owner.click("header >> text=Your projects")
            assert await owner.locator("#your-projects >> text=tiny-tool").count() == 1
            assert await owner.locator("#your-projects >> text=Owner").count() == 1
            await owner.click("#your-projects a.button:has-text('Manage')")
            await owner.wait_for_url("**/manage/project/tiny-tool/")
            # The public page lists the maintainers and links back to Manage.
            await owner.goto(f"{base}/project/tiny-tool/")
            assert await owner.locator("#maintainers >> text=alice").count() == 1
            first = await owner.locator(".install code").first.inner_text()
            assert first.startswith(f"pip install --index-url {base}/simple/")
            await owner.click("#manage-project")
            # Yank: a one-shot message.
            await owner.fill("#reason-1", "broken metadata")
            await owner.click("tr:has-text('1.2') >> button:has-text('Yank')")
            flash = owner.locator(".flash")
            assert "Yanked release 1.2 of tiny-tool" in await flash.inner_text()
            await owner.reload()
            assert await owner.locator(".flash").count() == 0
            # Deleting a release asks for its version.
            await owner.goto(f"{base}/manage/project/tiny-tool/release/1.0/delete/")
            await owner.fill("#confirm_name", "tiny-tool")
            await owner.click("button:has-text('Delete')")
            assert await owner.get_attribute("#confirm_name", "aria-invalid") == "true"
            assert (
                "type the version exactly"
                in await owner.locator("#confirm_name-error").inner_text()
            )
            await owner.fill("#confirm_name", "1.0")
            await owner.click("button:has-text('Delete')")
            assert "Deleted release 1.0 of tiny-tool" in await owner.locator(".flash").inner_text()
            # Invite carol.
            await owner.goto(f"{base}/manage/project/tiny-tool/collaborators/")
            await owner.fill("#username", "carol")
            await owner.click("button:has-text('Send invitation')")
            assert "Invited carol to be Maintainer" in await owner.locator(".flash").inner_text()
            assert await owner.locator("#pending-invitations >> text=carol").count() == 1

            invitee = await browser.new_page(viewport={"width": 390, "height": 844})
            await sign_in(invitee, base, "carol")
            await invitee.goto(f"{base}/manage/projects/")
            await invitee.click("#pending-invitations >> text=Review")
            assert await fits(invitee) == []
            await shoot(invitee, "invitations-phone")
            await invitee.click("button:has-text('Accept')")
            assert (
                "You are now Maintainer of tiny-tool"
                in await invitee.locator(".flash").inner_text()
            )
            assert await invitee.locator("#your-projects >> text=tiny-tool").count() == 1

            # Removing asks to confirm.
            await owner.goto(f"{base}/manage/project/tiny-tool/collaborators/")
            await owner.click("tr:has-text('carol') >> text=Remove…")
            assert "Remove carol from tiny-tool?" in await owner.locator("h1").inner_text()
            await owner.click("#confirm-remove")
            assert "Removed carol" in await owner.locator(".flash").inner_text()

            # Error pages keep the signed-in header; text starts with a capital.
            response = await owner.goto(f"{base}/project/no-such-thing/")
            assert response is not None and response.status == 404
            assert await owner.locator("header >> text=Sign out").count() == 1
            message = await owner.locator("#error-message").inner_text()
            assert message[0].isupper()
            response = await owner.goto(f"{base}/account/two-factor/keys/abc/remove/")
            assert response is not None and response.status == 422
            assert await owner.locator("header >> text=Sign out").count() == 1
            assert not [e for e in errors if "Content Security Policy" in e]
        finally:
            await browser.close()


async def test_mandate_turns_the_actions_off_with_the_reason(
    live_server: LiveServer,
    services: Services,
    clock: MovableClock,
    chromium: str,
    make_user: MakeUser,
) -> None:
    from bastion.critical.policy import mark

    alice = await make_user("alice")
    await seed_project(services, clock, "vital", ["1.0"], {alice: Role.OWNER})
    async with services.db.transaction() as session:
        await mark(session, "vital", "the company's build tool", now=clock.now())
    live_server.services.settings = live_server.services.settings.model_copy(
        update={"mandate_enforced_from": today(clock) - timedelta(days=1)}
    )
    base = live_server.url
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            await sign_in(page, base, "alice")
            await page.goto(f"{base}/manage/project/vital/")
            notice = page.locator("#actions-blocked")
            assert "Yank and Delete are turned off for you." in await notice.inner_text()
            assert await page.locator("button:has-text('Yank')").is_disabled()
            assert await page.locator("button:has-text('Delete project')").is_disabled()
            link = page.locator("#actions-blocked a.button")
            assert await link.get_attribute("href") == "/account/two-factor/"
            await page.goto(f"{base}/project/vital/")
            why = await page.locator("#critical-why").inner_text()
            assert "an administrator marked it critical: the company's build tool" in why
        finally:
            await browser.close()


PAGES = {
    "your-projects": "/manage/projects/",
    "project": "/project/tiny-tool/",
    "manage": "/manage/project/tiny-tool/",
    "release": "/manage/project/tiny-tool/release/1.1/",
    "collaborators": "/manage/project/tiny-tool/collaborators/",
    "project-history": "/project/tiny-tool/history/",
    "tokens": "/account/tokens/",
    "security-history": "/account/security-history/",
    "two-factor": "/account/two-factor/",
    "account": "/account/",
    "stats": "/stats/2fa",
    "giveaway": "/account/security-keys/giveaway/",
}


async def test_main_pages_fit_a_phone_and_are_photographed(
    live_server: LiveServer,
    services: Services,
    clock: MovableClock,
    chromium: str,
    make_user: MakeUser,
) -> None:
    alice = await make_user("alice")
    carol = await make_user("carol")
    await seed_project(
        services, clock, "tiny-tool", ["1.0", "1.1"], {alice: Role.OWNER, carol: Role.MAINTAINER}
    )
    base = live_server.url
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            for label, width in WIDTHS.items():
                page = await browser.new_page(viewport={"width": width, "height": 900})
                await sign_in(page, base, "alice")
                await page.goto(f"{base}/account/tokens/")  # something in the tables
                await page.fill("#f-name", "CI for tiny-tool")
                await page.click("button:has-text('Create token')")
                if "/account/reauth/" in page.url:
                    await page.fill("input[name=password]", "correct horse battery staple")
                    await page.click("button[type=submit]")
                for name, path in PAGES.items():
                    response = await page.goto(base + path)
                    assert response is not None and response.status == 200, (path, response)
                    assert await page.locator("header >> text=Sign out").count() == 1, path
                    if label == "phone":
                        assert await fits(page) == [], path
                    await shoot(page, f"{name}-{label}")
                await page.close()
        finally:
            await browser.close()
