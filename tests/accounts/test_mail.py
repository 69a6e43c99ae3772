"""The mailer: a real SMTP client (against aiosmtpd on loopback), or the embedded mbox."""

from __future__ import annotations

import mailbox
from typing import cast

import pytest

from bastion.accounts.mail import Mailer
from bastion.config import Settings
from tests.accounts.smtp import Inbox


async def test_sends_through_smtp(smtp_settings: Settings, smtp_server: Inbox) -> None:
    await Mailer(smtp_settings).send("alice@example.org", "Hello", "Body text\n")
    (message,) = smtp_server.wait_for(1)
    assert message["To"] == "alice@example.org"
    assert message["From"] == "index@example.org"
    assert message["Subject"] == "Hello"
    assert "Body text" in cast(bytes, message.get_payload(decode=True)).decode()


async def test_unreachable_smtp_server_raises_oserror(settings: Settings) -> None:
    # Port 9 is discard: nothing listens.
    settings = settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": 9, "smtp_timeout": 2}
    )
    with pytest.raises(OSError):
        await Mailer(settings).send("alice@example.org", "Hello", "Body")


async def test_embedded_default_writes_an_mbox(settings: Settings) -> None:
    mailer = Mailer(settings)
    await mailer.send("alice@example.org", "One", "first")
    await mailer.send("bob@example.org", "Two", "second")
    box = mailbox.mbox(settings.data_dir / "mail.mbox")
    assert [m["Subject"] for m in box] == ["One", "Two"]
    assert mailer.mbox_path == settings.data_dir / "mail.mbox"
