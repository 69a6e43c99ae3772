"""Headless Chromium with the DevTools virtual authenticator (ctap2 and u2f) drives the real
pages and /static/webauthn.js: sign up, TOTP, register a key, sign in with it, confirm with
it; a bogus signature and a cloned key (lower counter) are refused. Screenshots of each
account page go to the artifacts directory."""

from __future__ import annotations

import base64
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.async_api import CDPSession, Page, async_playwright

from bastion.clock import MovableClock
from tests.support.browser import CHROMIUM_ARGS
from tests.support.factories import PASSWORD
from tests.support.servers import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.one_backend]

USERNAME = "keyholder"
TIMEOUT_MS = 10_000


async def add_authenticator(cdp: CDPSession, protocol: str) -> str:
    options: dict[str, Any] = {
        "protocol": protocol,
        "transport": "usb",
        "hasResidentKey": False,
        "hasUserVerification": protocol == "ctap2",  # U2F keys have no user verification
        "isUserVerified": protocol == "ctap2",
        "automaticPresenceSimulation": True,
    }
    result = await cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})
    return str(result["authenticatorId"])


def other_private_key() -> str:
    """A new P-256 key as the DevTools protocol takes it (base64 PKCS#8 DER)."""
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return base64.b64encode(der).decode()


class Browser:
    """One page, its screenshots and what the console said."""

    def __init__(self, page: Page, base: str, shots: Path, prefix: str) -> None:
        self.page, self.base, self.shots, self.prefix = page, base, shots, prefix
        self.console_errors: list[str] = []
        page.on(
            "console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None
        )

    async def goto(self, path: str) -> None:
        response = await self.page.goto(self.base + path)
        assert response is not None and response.status == 200, path

    async def shot(self, name: str) -> None:
        await self.page.screenshot(
            path=str(self.shots / f"{self.prefix}-{name}.png"), full_page=True
        )

    async def wait_path(self, path: str) -> None:
        """Wait until the page is at ``path`` (any query string unless ``path`` has one)."""
        tail = "" if "?" in path else r"(\?.*)?"
        await self.page.wait_for_url(
            re.compile(f"^{re.escape(self.base + path)}{tail}$"), timeout=TIMEOUT_MS
        )

    async def error_text(self) -> str:
        box = self.page.locator("#webauthn-error")
        await box.wait_for(state="visible", timeout=TIMEOUT_MS)
        return await box.inner_text()

    async def sign_in_with_password(self) -> None:
        await self.goto("/account/login/")
        await self.page.fill("#f-username", USERNAME)
        await self.page.fill("#f-password", PASSWORD)
        await self.page.click("form[action='/account/login/'] button[type=submit]")
        await self.wait_path("/account/login/two-factor/")

    async def sign_out(self) -> None:
        await self.page.click("form[action='/account/logout/'] button")
        await self.page.wait_for_url(self.base + "/", timeout=TIMEOUT_MS)


@pytest.mark.parametrize("protocol", ["ctap2", "u2f"])
async def test_security_key_in_chromium(
    localhost_server: LiveServer,
    chromium: str,
    artifacts_dir: Path,
    clock: MovableClock,
    protocol: str,
) -> None:
    server = localhost_server
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1000, "height": 900})
            page = await context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            b = Browser(page, server.url, artifacts_dir, f"account-{protocol}")

            # Sign up through the pages (signed in at once).
            await b.goto("/account/register/")
            await page.fill("#f-username", USERNAME)
            await page.fill("#f-email", f"{USERNAME}@example.org")
            await page.fill("#f-password", PASSWORD)
            await page.fill("#f-password_confirm", PASSWORD)
            await page.click("form[action='/account/register/'] button[type=submit]")
            await b.wait_path("/account/")

            # Authenticator app: QR code, secret, confirm with the current code.
            await b.goto("/account/two-factor/")
            await b.shot("two-factor-off")
            await page.click("a[href='/account/two-factor/totp/']")
            await page.click("form[action='/account/two-factor/totp/'] button")
            assert await page.locator("#totp-qr svg").count() == 1
            secret = (await page.inner_text("#totp-secret")).strip()
            await b.shot("totp-setup")
            await page.fill("#f-code", pyotp.TOTP(secret).at(clock.now()))
            await page.click("form[action='/account/two-factor/totp/confirm/'] button")
            await page.wait_for_selector("#new-recovery-codes")
            assert await page.locator("ol.recovery-codes li").count() == 8
            await b.shot("recovery-codes")
            clock.advance(timedelta(seconds=30))

            # A security key through the DevTools virtual authenticator.
            cdp = await context.new_cdp_session(page)
            await cdp.send("WebAuthn.enable", {"enableUI": False})
            authenticator = await add_authenticator(cdp, protocol)
            await b.goto("/account/two-factor/keys/add/")
            await b.shot("security-key-add")
            await page.fill("#f-label", f"Virtual {protocol} key")
            await page.click("#webauthn-form button[type=submit]")
            await b.wait_path("/account/two-factor/?notice=key-added")
            assert await page.locator("#second-key-banner").count() == 1
            assert f"Virtual {protocol} key" in await page.inner_text("#security-keys")
            await b.shot("two-factor-on")
            credentials = (
                await cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
            )["credentials"]
            assert len(credentials) == 1
            remove_link = page.locator("#security-keys a.button-danger").first
            remove_path = await remove_link.get_attribute("href")
            assert remove_path
            await b.goto(remove_path)
            await b.shot("security-key-remove")
            await b.goto("/account/two-factor/recovery-codes/")
            await b.shot("recovery-codes-regenerate")

            # Sign out, then sign in again with the key.
            await b.sign_out()
            await b.sign_in_with_password()
            await b.shot("login-chooser")
            await page.click("a[href^='/account/login/two-factor/webauthn/']")
            await b.wait_path("/account/login/two-factor/webauthn/")
            await b.shot("login-security-key")
            await page.click("#webauthn-form button[type=submit]")
            await b.wait_path("/account/")
            assert USERNAME in await page.inner_text("header")

            # Fresh confirmation with the key (password + key).
            clock.advance(timedelta(minutes=server.services.settings.reauth_minutes + 1))
            await b.goto("/account/two-factor/keys/add/")
            await b.wait_path("/account/reauth/")
            await b.shot("reauth")
            await page.click("a[href^='/account/reauth/webauthn/']")
            await b.wait_path("/account/reauth/webauthn/")
            await b.shot("reauth-security-key")
            await page.fill("#f-password", PASSWORD)
            await page.click("#webauthn-form button[type=submit]")
            await b.wait_path("/account/two-factor/keys/add/")

            [original] = (
                await cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
            )["credentials"]
            assert original["signCount"] >= 2  # registration, sign-in and reauth
            copy = {
                key: original[key]
                for key in (
                    "credentialId",
                    "isResidentCredential",
                    "rpId",
                    "privateKey",
                    "userHandle",
                )
                if key in original
            }
            copy.setdefault("rpId", "localhost")  # U2F credentials come back without it

            # A bogus signature is refused.
            await b.sign_out()
            await b.sign_in_with_password()
            await b.goto("/account/login/two-factor/webauthn/")
            if protocol == "ctap2":
                await cdp.send(
                    "WebAuthn.setResponseOverrideBits",
                    {"authenticatorId": authenticator, "isBogusSignature": True},
                )
            else:
                # Chromium's virtual U2F device ignores isBogusSignature (its signature
                # stays valid): sign with another key under the same credential id instead.
                await cdp.send(
                    "WebAuthn.removeVirtualAuthenticator", {"authenticatorId": authenticator}
                )
                authenticator = await add_authenticator(cdp, protocol)
                await cdp.send(
                    "WebAuthn.addCredential",
                    {
                        "authenticatorId": authenticator,
                        "credential": {
                            **copy,
                            "privateKey": other_private_key(),
                            "signCount": original["signCount"] + 100,
                        },
                    },
                )
            await page.click("#webauthn-form button[type=submit]")
            assert "was not accepted" in await b.error_text()
            await b.shot("login-security-key-refused")

            # A cloned key: the same credential on a fresh authenticator, lower counter.
            await cdp.send(
                "WebAuthn.removeVirtualAuthenticator", {"authenticatorId": authenticator}
            )
            clone = await add_authenticator(cdp, protocol)
            await cdp.send(
                "WebAuthn.addCredential",
                {
                    "authenticatorId": clone,
                    "credential": {**copy, "signCount": 0},
                },
            )
            await page.reload()
            await page.click("#webauthn-form button[type=submit]")
            assert "counter went backwards" in await b.error_text()
            assert page.url.startswith(server.url + "/account/login/two-factor/webauthn/")
            response = await page.goto(server.url + "/account/")
            assert response is not None and "/account/login/" in page.url  # not signed in
        finally:
            await browser.close()
    csp_errors = [e for e in b.console_errors if "Content Security Policy" in e]
    assert not csp_errors
